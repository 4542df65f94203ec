/* Replay speed (issue 17.3): a tape of the demo universe's market (every trade of every symbol,
 * the way a sim feed records it) replayed as recorded at speed 0 through the whole runtime to
 * one C plugin and to one trivial Lua strategy, both watching every symbol; beside them, in the
 * same run, reading the tape alone and bench_strategies' dispatch of one tick to the same kinds
 * of strategy (the baseline: what replay adds is the file, the clock and the runtime's tick
 * path), a run of it before each replay: the ratio is each such pair's, its median printed (a
 * machine whose speed drifts moves both of a pair). CPU time of st_runtime_run alone, and of the
 * dispatch loops; medians of the runs (the C plugin is good.so, the Lua strategy a trivial one).
 * Goals: 20 M ticks/s to a C plugin; Lua within 1.5x of its dispatch.
 *   bench_replay [--quick]   (--quick: 10 minutes of the market, one pair, to keep it working in CI) */
#include "bench_strats.h"

#include "app/runtime.h"
#include "feeds/simmkt.h"
#include "record/recfile.h"

#include <time.h>


static char tape[300];

/* The tape: the references, then every trade from 08:50 to `minutes` after 09:00, in time order. */
static uint64_t write_tape(int minutes)
{
    st_world_t *w = world(""); /* its clock starts at 2026-11-23 09:00 */
    snprintf(tape, sizeof(tape), "%s/market.strata", dir);
    const st_session_cfg_t *ss = &w->cfg->market.session;
    st_time_t start = w->cfg->runtime.clock.start_time - 10 * ST_MIN;
    st_time_t until = w->cfg->runtime.clock.start_time + minutes * ST_MIN;
    st_simmkt_params_t p = {.seed = 20261123, .activity = 1, .volatility = 1, .halt_rate = 1, .pre_open = ss->pre_open,
                            .open = ss->open, .closing_auction = ss->closing_auction, .close = ss->close,
                            .utc_offset = 9 * 3600};
    st_simmkt_t *m = st_simmkt_create(&p, &w->universe, start);
    st_rec_writer_t *rw = st_rec_create(tape, start);
    if (!rw) exit(1);
    st_rec_set_span(rw, 0);
    for (size_t i = 0; i < w->universe.n; i++) {
        const st_instrument_t *ins = &w->universe.items[i];
        st_tick_t ref = {.kind = ST_TICK_SNAPSHOT, .sym = ins->sym, .venue_time = start, .recv_time = start};
        ref.u.trade.prev_close = st_simmkt_sym(m, ins->sym)->prev_close;
        st_rec_tick(rw, &ref, ins->code, ST_CONN_NONE);
    }
    st_tick_t t;
    uint64_t n = w->universe.n;
    while (st_simmkt_pop(m, until, &t)) {
        t.recv_time = t.venue_time;
        st_rec_tick(rw, &t, w->universe.items[w->universe.by_sym[t.sym]].code, ST_CONN_NONE);
        n++;
    }
    if (st_rec_close(rw)) exit(1);
    st_simmkt_destroy(m);
    st_world_free(w);
    return n;
}

/* Reading the tape alone: ps per item. */
static uint64_t decode_once(void)
{
    char err[256];
    st_rec_reader_t *r = st_rec_open(tape, err, sizeof(err));
    uint64_t n = 0, t0 = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    while (st_rec_read(r)) n++;
    uint64_t ps = (bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - t0) * 1000 / (n ? n : 1);
    st_rec_free(r);
    return ps;
}

/* One replay through the runtime to `strategy`: ps per tick delivered. */
static uint64_t replay_once(const char *strategy, const char *stop, uint64_t *ticks)
{
    char cfg[300], text[2048];
    snprintf(cfg, sizeof(cfg), "%s/replay.yaml", dir);
    snprintf(text, sizeof(text),
             "runtime:\n"
             "  clock: {mode: simulated, start: \"2026-11-23 08:50\", stop: \"%s\", speed: 0}\n"
             "  log: {level: error}\n  report_interval: 0\n  session_report: \"\"\n"
             "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv}\n"
             "feeds: [{name: tape, kind: replay, path: %s}]\n"
             "strategies:\n%s"
             "signals: {sinks: []}\nstatus: {enabled: false}\n",
             stop, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, tape, strategy);
    write_file("replay.yaml", text);
    FILE *out = fopen("/dev/null", "w");
    st_runtime_t rt;
    if (st_runtime_open(&rt, cfg, out, NULL)) exit(1); /* it says why */
    uint64_t t0 = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    st_runtime_run(&rt);
    uint64_t ns = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - t0;
    st_counters_t c;
    st_runtime_collect(&rt, &c);
    *ticks = c.ticks_delivered;
    st_runtime_free(&rt);
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    fclose(out);
    return ns * 1000 / (c.ticks_delivered ? c.ticks_delivered : 1);
}

/* A kind of strategy's rows: `runs` replays through the runtime to `entry`, each after a run of
 * the same kind's dispatch (h, `iters` ticks) — the pairs one after the other, so a machine whose
 * speed drifts moves both of a pair — the medians of each, and of the pairs' ratios (x1000),
 * returned with their range. */
typedef struct {
    uint64_t dispatch, replay, ratio, ratio_min, ratio_max;
} pairs_t;

static pairs_t replay_rows(const char *kind, st_strats_t *h, int iters, const char *entry, const char *stop, int runs)
{
    uint64_t *d = malloc(sizeof(uint64_t) * (size_t)runs), *p = malloc(sizeof(uint64_t) * (size_t)runs),
             *x = malloc(sizeof(uint64_t) * (size_t)runs), ticks = 0;
    for (int r = 0; r < runs; r++) {
        d[r] = dispatch_once(h, iters);
        p[r] = replay_once(entry, stop, &ticks);
        x[r] = p[r] * 1000 / (d[r] ? d[r] : 1);
    }
    char label[96], extra[48];
    pairs_t out;
    snprintf(label, sizeof(label), "dispatch to %s, per tick", kind);
    out.dispatch = bench_ps_row(label, d, runs, NULL);
    snprintf(label, sizeof(label), "replay to %s, all symbols, per tick", kind);
    snprintf(extra, sizeof(extra), "   (%llu ticks)", (unsigned long long)ticks);
    out.replay = bench_ps_row(label, p, runs, extra);
    out.ratio = bench_quantile(x, (size_t)runs, 0.5), out.ratio_min = x[0], out.ratio_max = x[runs - 1];
    free(d), free(p), free(x);
    return out;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int runs = quick ? 1 : 7;
    const char *stop = quick ? "09:10" : "15:30";
    bench_strats_setup();
    bench_cpu_line();
    uint64_t items = write_tape(quick ? 10 : 390);
    printf("tape: the demo universe's market 08:50-%s, %llu items\n\n", stop, (unsigned long long)items);
    printf(BENCH_PS_HEADER);

    uint64_t *ps = malloc(sizeof(uint64_t) * (size_t)runs);
    for (int r = 0; r < runs; r++) ps[r] = decode_once();
    bench_ps_row("reading the tape (st_rec_read), per item", ps, runs, NULL);
    free(ps);

    char entry[512];
    snprintf(entry, sizeof(entry), "  - {name: good, kind: c, path: %s, params: {threshold: 999999999}}\n", TEST_PLUGIN("good"));
    st_strats_t *h = load(entry);
    snprintf(entry, sizeof(entry),
             "  - {name: good, kind: c, path: %s, all_symbols: true, params: {threshold: 999999999}}\n", TEST_PLUGIN("good"));
    pairs_t c = replay_rows("the C plugin", h, quick ? 200000 : 5000000, entry, stop, runs);
    st_strats_destroy(h);
    write_file("trivial.lua", "local M, n = {}, 0\n"
                              "function M.init() strata.watch('005930', 'high') end\n"
                              "function M.on_trade(sym, t) n = n + 1 end\nreturn M\n");
    h = load("  - {name: trivial, kind: lua, path: trivial.lua}\n");
    snprintf(entry, sizeof(entry), "  - {name: trivial, kind: lua, path: %s/trivial.lua, all_symbols: true}\n", dir);
    pairs_t lua = replay_rows("the Lua strategy", h, quick ? 20000 : 2000000, entry, stop, runs);
    st_strats_destroy(h);

    printf("\nreplay to C: %.1f M ticks/s (goal 20 M), %.1fx its dispatch alone (median of the pairs' ratios)\n",
           1e6 / (double)(c.replay ? c.replay : 1), (double)c.ratio / 1000);
    printf("replay to Lua: %.2fx its dispatch alone (median of %d pairs' ratios, %.2f-%.2f; goal at most 1.5x)\n",
           (double)lua.ratio / 1000, runs, (double)lua.ratio_min / 1000, (double)lua.ratio_max / 1000);
    return bench_strats_teardown();
}
