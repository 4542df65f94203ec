/* Loopback latency from strata-exsim's send to strata's tick, for the KIS and Upbit feeds:
 * the simulator (x1, real time) records when it queued each data record for sending (--record,
 * wall clock), the feed in this process stamps each tick as it reaches on_tick, and the two
 * lists are paired in order (the feed tests prove the ticks are exactly a prefix of the record).
 * The figure includes the simulator's own queueing and both processes' scheduling: an upper
 * bound on what strata adds. --quick runs 2 s per venue instead of 30 s. */
#define SPEED "1"
#include "../feeds/feed_harness.h"
#include "bench_util.h"

/* Pairs record lines with the ticks received (replays skipped) and prints the row. */
static void report(h_t *h, const char *rec, const char *name)
{
    FILE *fp = fopen(rec, "r");
    if (!fp) {
        perror(rec);
        exit(1);
    }
    uint64_t *lat = malloc((h->nticks + 1) * sizeof(*lat));
    size_t n = 0;
    char line[512];
    for (size_t i = 0; i < h->nticks; i++) {
        if (h->ticks[i].flags & ST_TICK_REPLAY) continue;
        if (!fgets(line, sizeof(line), fp)) break;
        const char *at = strchr(line, '@');
        if (!at) continue;
        long long sent = atoll(at + 1);
        if (h->walls[i] >= sent) lat[n++] = (uint64_t)(h->walls[i] - sent) * 1000u; /* ns */
    }
    fclose(fp);
    unlink(rec);
    if (n) bench_row(name, lat, n);
    free(lat);
}

static int dropped_total;

static void run(const char *venue, double secs)
{
    char rec[96];
    snprintf(rec, sizeof(rec), "/tmp/strata-latency-%s-%d.txt", venue, (int)getpid());
    bool kis = strcmp(venue, "kis") == 0;
    h_t *h = h_open(kis ? st_test_source_path("config/universe.csv") : st_test_source_path("config/upbit_markets.csv"),
                    kis ? st_test_source_path("config/indices.csv") : "", "--record", rec);
    if (kis) {
        char more[512]; /* the token cached in the run's own directory, not the user's */
        snprintf(more, sizeof(more), "    keys: [{app_key_env: KIS_TEST_KEY, app_secret_env: KIS_TEST_SECRET}]\n"
                 "    token_dir: %s/tokens\n", h->dir);
        add_feed(h, "kis", "kis", "/", more);
        for (size_t i = 0; i < 20; i++) set_tier(h, 0, h->uni.items[i].sym, ST_TIER_REALTIME); /* 40 keys */
    } else {
        add_feed(h, "upbit", "upbit", "/websocket/v1", NULL);
        for (size_t i = 0; i < 10 && i < h->uni.n; i++) set_tier(h, 0, h->uni.items[i].sym, ST_TIER_REALTIME);
    }
    h->until = st_clock_now(&h->clock) + (st_dur_t)(secs * ST_SEC);
    run_until(h, h_clock_past, "the measurement");
    st_feed_stop(h->feed[0]);
    cJSON *j = exsim_get(h, "/control/stats"); /* a simulator that dropped frames measured itself */
    int dropped = (int)jnum(j, "frames_dropped");
    cJSON_Delete(j);
    if (dropped) printf("# %s: the simulator dropped %d frames (it could not keep up): not a measure of strata\n", venue, dropped);
    dropped_total += dropped;
    exsim_reap(h->pid); /* flushes the record */
    h->pid = 0;
    char name[64];
    snprintf(name, sizeof(name), "%s: exsim send -> strata tick", venue);
    report(h, rec, name);
    h_close(h);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_cpu_line();
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    bench_header();
    run("kis", quick ? 2 : 30);
    run("upbit", quick ? 2 : 30);
    if (dropped_total) {
        fprintf(stderr, "bench_feed_latency: the simulator dropped %d frames: the figures are not strata's\n",
                dropped_total);
        if (!quick) return 1; /* (--quick only keeps the benchmark working: under the sanitizers it may drop) */
    }
    return 0;
}
