/* Replay speed (issue 17.3): a tape of the demo universe's market (every trade of every symbol,
 * the way a sim feed records it) replayed as recorded at speed 0 through the whole runtime to
 * one C plugin and to one trivial Lua strategy, both watching every symbol; beside them, in the
 * same run, reading the tape alone and bench_strategies' dispatch of one tick to the same kinds
 * of strategy (the baseline: what replay adds is the file, the clock and the runtime's tick
 * path). CPU time of st_runtime_run alone, and of the dispatch loops; medians of the runs.
 * Goals: 20 M ticks/s to a C plugin; Lua within 1.5x of its dispatch.
 *   bench_replay [--quick]   (--quick: 10 minutes of the market, one run, to keep it working in CI) */
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

static uint64_t replay_row(const char *label, const char *strategy, const char *stop, int runs)
{
    uint64_t *ps = malloc(sizeof(uint64_t) * (size_t)runs), ticks = 0;
    for (int r = 0; r < runs; r++) ps[r] = replay_once(strategy, stop, &ticks);
    char extra[48];
    snprintf(extra, sizeof(extra), "   (%llu ticks)", (unsigned long long)ticks);
    uint64_t med = bench_ps_row(label, ps, runs, extra);
    free(ps);
    return med;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int runs = quick ? 1 : 5;
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
    uint64_t c_dispatch = dispatch_row("dispatch to a C plugin (good.so), per tick", h, quick ? 3 : 15, quick ? 200000 : 5000000);
    st_strats_destroy(h);
    write_file("trivial.lua", "local M, n = {}, 0\n"
                              "function M.init() strata.watch('005930', 'high') end\n"
                              "function M.on_trade(sym, t) n = n + 1 end\nreturn M\n");
    h = load("  - {name: trivial, kind: lua, path: trivial.lua}\n");
    uint64_t lua_dispatch = dispatch_row("dispatch to a Lua strategy (trivial), per tick", h, quick ? 3 : 15,
                                         quick ? 20000 : 500000);
    st_strats_destroy(h);

    snprintf(entry, sizeof(entry),
             "  - {name: good, kind: c, path: %s, all_symbols: true, params: {threshold: 999999999}}\n", TEST_PLUGIN("good"));
    uint64_t c_replay = replay_row("replay to the C plugin, all symbols, per tick", entry, stop, runs);
    snprintf(entry, sizeof(entry), "  - {name: trivial, kind: lua, path: %s/trivial.lua, all_symbols: true}\n", dir);
    uint64_t lua_replay = replay_row("replay to the Lua strategy, all symbols, per tick", entry, stop, runs);

    printf("\nreplay to C: %.1f M ticks/s (goal 20 M), %.0fx its dispatch alone\n", 1e6 / (double)c_replay,
           (double)c_replay / (double)(c_dispatch ? c_dispatch : 1));
    printf("replay to Lua: %.2fx its dispatch alone (goal at most 1.5x)\n",
           (double)lua_replay / (double)(lua_dispatch ? lua_dispatch : 1));
    return bench_strats_teardown();
}
