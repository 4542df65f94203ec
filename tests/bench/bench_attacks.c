/* How long a hostile strategy can hold the loop (issue 15). A good strategy and an attacker
 * (tests/host/attacks/) get a trade every 2 ms from a libev timer while a 1 ms timer must keep
 * firing; the longest gap between two of its firings, until the attacker is quarantined, is
 * the stall that attack causes. The baseline, measured in the same run, is a plain runaway
 * loop (`while true do end`), which spends exactly its instruction budget: the budget's time.
 * Goal: every attack's stall within about 2x the baseline's.
 *   bench_attacks [--quick]   (quick: a 1 M instruction budget, one run) */
#include "bench_strats.h"

#define ATTACKS st_test_source_path("tests/host/attacks/")

static st_strats_t *host;
static uint64_t last_beat, max_gap;
static int ticks, max_ticks;
static st_sym_t sym005930;

static bool attacker_done(void)
{
    for (size_t i = 0; i < st_strats_count(host); i++) {
        st_strat_info_t si;
        st_strats_info(host, i, &si);
        if (!strcmp(si.name, "bad")) return strcmp(si.state, "running") != 0;
    }
    return true;
}

static void on_beat(struct ev_loop *loop, ev_timer *w, int revents)
{
    uint64_t now = bench_ns();
    if (last_beat && now - last_beat > max_gap) max_gap = now - last_beat;
    last_beat = now;
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    st_tick_t t = {.kind = ST_TICK_TRADE, .sym = sym005930, .venue_time = st_clock_now(&clock_)};
    t.u.trade = (st_trade_t){.price = 73100 + ticks % 7 * 100, .volume = 10, .prev_close = 73000};
    st_strats_tick(host, &t);
    if (++ticks >= max_ticks || attacker_done()) ev_break(loop, EVBREAK_ONE);
}

/* The longest gap (ns) between two firings of the 1 ms timer while the attack runs. */
static uint64_t stall(const char *path, const char *params, uint64_t budget)
{
    char cfg[1024];
    snprintf(cfg, sizeof(cfg),
             "  - {name: good, kind: lua, path: good.lua, all_symbols: true}\n"
             "  - {name: bad, kind: lua, path: %s, all_symbols: true, instruction_budget: %llu, memory_mb: 64%s}\n",
             path, (unsigned long long)budget, params ? params : "");
    host = load(cfg);
    ev_timer beat, tick;
    ev_timer_init(&beat, on_beat, 0.001, 0.001);
    ev_timer_init(&tick, on_tick, 0.002, 0.002);
    ev_timer_start(bench_loop, &beat);
    ev_timer_start(bench_loop, &tick);
    last_beat = max_gap = 0;
    ticks = 0;
    max_ticks = 40;
    ev_now_update(bench_loop);
    ev_run(bench_loop, 0);
    ev_timer_stop(bench_loop, &beat);
    ev_timer_stop(bench_loop, &tick);
    st_strats_destroy(host);
    return max_gap;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int runs = quick ? 1 : 5;
    uint64_t budget = quick ? 1000000 : 10000000;
    bench_strats_setup();
    sym005930 = st_symtab_find(&syms, "005930", 6);
    write_file("good.lua", "local M, n = {}, 0\nfunction M.on_trade() n = n + 1 end\nreturn M\n");
    write_file("runaway.lua", "local M = {}\nfunction M.on_trade() while true do end end\nreturn M\n");
    static const struct {
        const char *label, *file, *params;
    } attacks[] = {
        {"runaway loop (baseline)", NULL, NULL},
        {"__index that loops (15.3)", "index_loop.lua", NULL},
        {"budget tripped in a coroutine, pcall loop (15.4)", "coroutine.lua", NULL},
        {"__gc finalizer (15.5)", "finalizer.lua", NULL},
        {"string.find a*a*a*a*b (15.6)", "library.lua", ", params: {attack: find}"},
        {"string.gsub a*a*a*a*b (15.6)", "library.lua", ", params: {attack: gsub}"},
        {"table.sort in a loop (15.6)", "library.lua", ", params: {attack: sort}"},
        {"table.move of 10^12 (15.6)", "library.lua", ", params: {attack: move}"},
        {"heap pinned at its 64 MiB cap (15.7)", "memory.lua", NULL},
        {"strata.buy (15.8)", "unknown.lua", NULL},
        {"metatables on tick tables (15.3)", "tick_meta.lua", NULL},
    };
    bench_cpu_line();
    printf("instruction budget %llu per callback; stall = the longest gap of a 1 ms timer\n",
           (unsigned long long)budget);
    printf("%-50s %5s %12s %12s\n", "attack", "runs", "median stall", "vs baseline");
    uint64_t base = 0;
    for (size_t a = 0; a < sizeof(attacks) / sizeof(attacks[0]); a++) {
        char path[512];
        snprintf(path, sizeof(path), "%s%s", attacks[a].file ? ATTACKS : "", attacks[a].file ? attacks[a].file : "runaway.lua");
        uint64_t ns[8];
        for (int r = 0; r < runs; r++) ns[r] = stall(path, attacks[a].params, budget);
        uint64_t med = bench_quantile(ns, (size_t)runs, 0.5);
        if (a == 0) base = med;
        printf("%-50s %5d %9.1f ms %11.2fx\n", attacks[a].label, runs, (double)med / 1e6,
               base ? (double)med / (double)base : 0);
    }
    return bench_strats_teardown();
}
