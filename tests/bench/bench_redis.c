/* outputs.redis (issue 22): what publishing costs.
 * 1. Throughput: ticks published to a local redis-server by st_redisout (XADD MAXLEN ~, one
 *    connection, pipelined) until Redis answered them all, then read back by a consumer (XRANGE
 *    COUNT 10000 on a blocking hiredis client): ticks a second each way, median of the runs.
 * 2. Latency: the KIS feed against strata-exsim at x1 with 40 realtime keys, exsim send -> the
 *    tick's callback (as bench_feed_latency), runs alternating without and with every tick
 *    published after its callback (as the runtime does): the p50 of each run, the medians, and
 *    their ratio (the goal: publishing adds at most 10 % to the p50).
 * --quick: 1 run each, 20,000 ticks, 2 s of latency (it only keeps the benchmark working). */
#define SPEED "1"
#include "../feeds/feed_harness.h"
#include "../redis_server.h"
#include "bench_util.h"
#include "ops/redisout.h"

#include <ev.h>

static st_test_redis_t redis;

static st_redisout_t *open_out(struct ev_loop *loop, const char *prefix)
{
    st_redis_cfg_t c = {.url = (char *)"x", .prefix = (char *)prefix, .ticks = ST_REDIS_TICKS_PER_FEED,
                        .maxlen = 10000000, .queue = 10000000, .status_every = ST_SEC, .reconnect_max = ST_SEC,
                        .host = (char *)"127.0.0.1", .port = redis.port};
    const char *feeds[] = {"bench"};
    st_redisout_t *r = st_redisout_create(&c, loop, feeds, 1);
    st_redisout_stats_t s;
    do { /* connected before the clock starts */
        ev_run(loop, EVRUN_ONCE);
        st_redisout_stats(r, &s);
    } while (!s.connected);
    return r;
}

/* Publishes n trades, waits for Redis's answers; returns ns for the whole. */
static uint64_t publish(size_t n, const char *prefix)
{
    struct ev_loop *loop = ev_loop_new(0);
    st_redisout_t *r = open_out(loop, prefix);
    st_tick_t t = {.kind = ST_TICK_TRADE, .feed = 0, .venue_time = 1795392000000000};
    t.u.trade = (st_trade_t){.price = 71200, .volume = 13, .open = 70900, .high = 71500, .low = 70800,
                             .prev_close = 70500, .cum_volume = 1234567, .side = ST_SIDE_BUY};
    st_time_t t0 = st_mono_now();
    for (size_t i = 0; i < n; i++) {
        t.venue_time += 1000, t.u.trade.price += (i & 1) ? 100 : -100;
        st_redisout_tick(r, &t, "005930");
        if ((i & 1023) == 1023) ev_run(loop, EVRUN_NOWAIT); /* the loop turns, as a feed's would */
    }
    st_redisout_stats_t s;
    do {
        ev_run(loop, EVRUN_ONCE);
        st_redisout_stats(r, &s);
    } while (s.inflight);
    uint64_t ns = (uint64_t)(st_mono_now() - t0) * 1000u;
    if (s.published != n) printf("# published %llu of %zu\n", (unsigned long long)s.published, n);
    st_redisout_destroy(r, 0);
    ev_loop_destroy(loop);
    return ns;
}

/* Reads the stream back; returns ns. */
static uint64_t read_back(size_t n, const char *prefix)
{
    redisContext *c = st_test_redis_client(&redis);
    char key[64], from[64] = "-";
    snprintf(key, sizeof(key), "%s:ticks:bench", prefix);
    size_t got = 0;
    st_time_t t0 = st_mono_now();
    for (;;) {
        redisReply *r = redisCommand(c, "XRANGE %s %s + COUNT 10000", key, from);
        size_t k = r->elements;
        got += k - (got && k ? 1 : 0);
        if (k) snprintf(from, sizeof(from), "%s", r->element[k - 1]->element[0]->str);
        freeReplyObject(r);
        if (k < 10000) break;
    }
    uint64_t ns = (uint64_t)(st_mono_now() - t0) * 1000u;
    if (got != n) printf("# read %zu of %zu\n", got, n);
    redisFree(c);
    return ns;
}

static void throughput(int runs, size_t n)
{
    uint64_t w[8], rd[8];
    for (int i = 0; i < runs; i++) {
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "b%d", i);
        w[i] = publish(n, prefix) / n, rd[i] = read_back(n, prefix) / n;
    }
    uint64_t mw = bench_quantile(w, (size_t)runs, 0.5), mr = bench_quantile(rd, (size_t)runs, 0.5);
    printf("%-44s %8d %9.2f us %9.0f k ticks/s\n", "redis: publish a tick (until answered)", runs, (double)mw / 1e3,
           1e6 / (double)(mw ? mw : 1));
    printf("%-44s %8d %9.2f us %9.0f k ticks/s\n", "redis: read a tick back (XRANGE)", runs, (double)mr / 1e3,
           1e6 / (double)(mr ? mr : 1));
}

static void publish_tick(const st_tick_t *t, void *ctx)
{
    st_redisout_tick(ctx, t, "005930");
}

/* One latency run: the p50 (and p99) of exsim send -> callback, ns. */
static uint64_t latency_run(bool with, double secs, uint64_t *p99)
{
    char rec[96];
    snprintf(rec, sizeof(rec), "/tmp/strata-redis-latency-%d.txt", (int)getpid());
    h_t *h = h_open(st_test_source_path("config/universe.csv"), st_test_source_path("config/indices.csv"), "--record", rec);
    char more[512];
    snprintf(more, sizeof(more), "    keys: [{app_key_env: KIS_TEST_KEY, app_secret_env: KIS_TEST_SECRET}]\n"
             "    token_dir: %s/tokens\n", h->dir);
    add_feed(h, "kis", "kis", "/", more);
    st_redisout_t *out = with ? open_out(h->loop, "lat") : NULL;
    h->after_tick = with ? publish_tick : NULL, h->after_ctx = out;
    for (size_t i = 0; i < 20; i++) set_tier(h, 0, h->uni.items[i].sym, ST_TIER_REALTIME);
    h->until = st_clock_now(&h->clock) + (st_dur_t)(secs * ST_SEC);
    run_until(h, h_clock_past, "the measurement");
    st_feed_stop(h->feed[0]);
    exsim_reap(h->pid);
    h->pid = 0;
    FILE *fp = fopen(rec, "r");
    uint64_t *lat = malloc((h->nticks + 1) * sizeof(*lat));
    size_t n = 0;
    char line[512];
    for (size_t i = 0; fp && i < h->nticks; i++) {
        if (!fgets(line, sizeof(line), fp)) break;
        const char *at = strchr(line, '@');
        long long sent = at ? atoll(at + 1) : 0;
        if (at && h->walls[i] >= sent) lat[n++] = (uint64_t)(h->walls[i] - sent) * 1000u;
    }
    if (fp) fclose(fp);
    unlink(rec);
    uint64_t p50 = n ? bench_quantile(lat, n, 0.5) : 0;
    *p99 = n ? bench_quantile(lat, n, 0.99) : 0;
    free(lat);
    if (out) st_redisout_destroy(out, 1.0);
    h->after_tick = NULL;
    h_close(h);
    return p50;
}

static void latency(int runs, double secs)
{
    uint64_t off[8], on[8], p99_off[8], p99_on[8];
    for (int i = 0; i < runs; i++) { /* alternating: the machine's drift falls on both */
        off[i] = latency_run(false, secs, &p99_off[i]);
        on[i] = latency_run(true, secs, &p99_on[i]);
    }
    size_t n = (size_t)runs;
    uint64_t a = bench_quantile(off, n, 0.5), b = bench_quantile(on, n, 0.5);
    uint64_t a99 = bench_quantile(p99_off, n, 0.5), b99 = bench_quantile(p99_on, n, 0.5);
    printf("%-44s %8d %9.2f us %9.2f us\n", "kis tick p50 / p99, not publishing", runs, (double)a / 1e3, (double)a99 / 1e3);
    printf("%-44s %8d %9.2f us %9.2f us\n", "kis tick p50 / p99, publishing to redis", runs, (double)b / 1e3,
           (double)b99 / 1e3);
    printf("publishing / not: p50 x%.2f (goal <= x1.10), p99 x%.2f\n", (double)b / (double)(a ? a : 1),
           (double)b99 / (double)(a99 ? a99 : 1));
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_cpu_line();
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    if (!st_test_redis_start(&redis)) return 1;
    printf("%-44s %8s %12s %12s\n", "benchmark", "runs", "median", "p99 / rate");
    throughput(quick ? 1 : 5, quick ? 20000 : 500000);
    latency(quick ? 1 : 3, quick ? 2 : 20);
    st_test_redis_stop(&redis);
    return 0;
}
