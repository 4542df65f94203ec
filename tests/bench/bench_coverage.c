/* Coverage with KIS real limits: the whole KRX list (2,777 symbols) in tier 3 by REST plus 41
 * realtime registrations (20 stocks with trades and orderbooks, the KOSPI index), one app key,
 * against strata-exsim (20 REST calls a second, 41 registrations) at x10. For each setting:
 * how often every symbol is refreshed (the time between two snapshots of one symbol: median,
 * p99, worst), symbols never refreshed, the most calls the venue saw in one second and its
 * refusals. Figures are simulated time, measured after a 30 s warm-up. An interval of 1 s asks
 * for more than the budget gives: its refresh is what the limiter achieves, shown against the
 * physical bound (calls needed for every polled symbol / 20 a second). "jitter" makes 10 % of
 * the calls reach the venue 10-50 ms late (strata-exsim --rest-jitter). --quick: one setting. */
#define SPEED "10"
#include "../feeds/feed_harness.h"
#include "bench_util.h"

#include <math.h>

#define KRX st_test_source_path("config/krx_universe.csv")

typedef struct {
    double p50;     /* s */
    double refused; /* quotation calls the venue refused for the rate */
} result_t;

static result_t run(const char *interval, const char *limiter, double minutes, const char *jitter)
{
    h_opt2 = jitter ? "--rest-jitter" : NULL, h_val2 = jitter;
    h_t *h = h_open(KRX, "", "--universe", KRX);
    h_opt2 = h_val2 = NULL;
    char extra[512];
    snprintf(extra, sizeof(extra),
             "    keys: [{app_key_env: KIS_TEST_KEY, app_secret_env: KIS_TEST_SECRET}]\n"
             "    token_dir: %s/tokens\n    limiter: %s\n    rest_rate: 20\n"
             "tiers: {polling: {medium: %s, min_interval: 1s}}\n",
             h->dir, limiter, interval);
    add_feed(h, "kis", "kis", "/", extra);
    for (size_t i = 0; i < h->uni.n; i++) set_tier(h, 0, h->uni.items[i].sym, ST_TIER_POLL);
    for (size_t i = 0; i < 20; i++) set_tier(h, 0, h->uni.items[i].sym, ST_TIER_REALTIME); /* 40 registrations */
    st_time_t t0 = st_clock_now(&h->clock), warm = t0 + 30 * ST_SEC;
    h->until = t0 + (st_dur_t)(minutes * ST_MIN);
    run_until(h, h_clock_past, "the measurement");

    st_time_t *last = calloc(h->syms.n + 1, sizeof(*last));
    uint64_t *gaps = malloc((h->nticks + 1) * sizeof(*gaps));
    size_t ngaps = 0, realtime = 0;
    for (size_t i = 0; i < h->nticks; i++) {
        const st_tick_t *t = &h->ticks[i];
        if (t->kind != ST_TICK_SNAPSHOT) {
            realtime++;
            continue;
        }
        if (last[t->sym] && t->recv_time > warm) gaps[ngaps++] = (uint64_t)(t->recv_time - last[t->sym]);
        last[t->sym] = t->recv_time;
    }
    size_t never = 0;
    for (size_t i = 20; i < h->uni.n; i++) never += !last[h->uni.items[i].sym];
    cJSON *j = exsim_get(h, "/control/stats"), *rest = cJSON_GetObjectItem(j, "rest");
    uint64_t p50 = ngaps ? bench_quantile(gaps, ngaps, 0.5) : 0, p99 = ngaps ? bench_quantile(gaps, ngaps, 0.99) : 0;
    uint64_t worst = ngaps ? gaps[ngaps - 1] : 0;
    double bound = ceil((double)(h->uni.n - 20) / 30) / 20; /* s: every polled symbol once at 20 calls/s */
    printf("%-9s %-13s %-7s %7zu %10.1f s %8.1f s %8.1f s %7.2fx %6zu %6.0f %8.0f %9zu\n", interval, limiter,
           jitter ? "jitter" : "quiet", h->uni.n, (double)p50 / ST_SEC, (double)p99 / ST_SEC, (double)worst / ST_SEC,
           (double)p50 / ST_SEC / bound, never, jnum(rest, "max_per_second"), jnum(rest, "refused_rate"), realtime);
    result_t r = {(double)p50 / ST_SEC, jnum(rest, "refused_rate")};
    cJSON_Delete(j);
    free(last);
    free(gaps);
    h_close(h);
    return r;
}

/* A goal is met by a run that refreshes within it and that the venue refused nothing. */
static void verdict(const char *what, result_t r, double goal)
{
    bool ok = r.p50 <= goal && r.refused == 0;
    printf("%s: refresh %.1f s (goal %.1f s), %.0f refused: %s\n", what, r.p50, goal, r.refused,
           ok ? "met" : r.refused ? "not met (the venue refused calls)" : "not met");
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_cpu_line();
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    printf("%-9s %-13s %-7s %7s %12s %10s %10s %8s %6s %6s %8s %9s\n", "interval", "limiter", "venue", "symbols",
           "refresh p50", "p99", "worst", "/bound", "never", "max/s", "refused", "rt ticks");
    if (quick) {
        run("10s", "conservative", 1, NULL);
        return 0;
    }
    run("10s", "conservative", 3, NULL);
    run("5s", "conservative", 3, NULL);
    run("5s", "aggressive", 3, NULL);
    result_t quiet = run("1s", "aggressive", 3, NULL);
    result_t jitter = run("1s", "aggressive", 3, "10:10ms-50ms");
    printf("\n");
    verdict("quiet venue", quiet, 5.0);
    verdict("jitter", jitter, 5.5);
    return 0;
}
