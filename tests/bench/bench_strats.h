/* The strategy benchmarks' setup: a temporary directory, a config with a strategies section
 * turned into a world, and a strategy host over a real planner and a simulated clock. */
#ifndef ST_BENCH_STRATS_H
#define ST_BENCH_STRATS_H

#include "bench_util.h"

#include "core/log.h"
#include "conf/world.h"
#include "host/strategies.h"

#include <ev.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/strata-bench-strats-XXXXXX";
static st_symtab_t syms;
static st_clock_t clock_;
static st_planner_t *planner;

static inline void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    if (!fp || fputs(text, fp) < 0) exit(1);
    fclose(fp);
}

static inline st_world_t *world(const char *strategies)
{
    static char yaml[16384];
    snprintf(yaml, sizeof(yaml),
             "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 09:00\", speed: 0}\n"
             "market:\n  universe: %s/config/universe.csv\n  indices: %s/config/indices.csv\n"
             "feeds:\n  - {name: sim, kind: sim, budget: 41}\nstrategies:\n%s",
             STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, strategies);
    write_file("strata.yaml", yaml);
    char path[256];
    snprintf(path, sizeof(path), "%s/strata.yaml", dir);
    st_diags_t d;
    st_diags_init(&d);
    st_world_t *w = st_world_build(path, &syms, &d);
    if (!w) {
        for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.items[i].msg);
        exit(1);
    }
    st_diags_free(&d);
    return w;
}

static inline st_strats_t *load(const char *strategies)
{
    st_strats_env_t env = {.clock = &clock_, .syms = &syms, .planner = planner};
    st_strats_t *h = st_strats_create(&env);
    st_world_t *w = world(strategies);
    st_diags_t d;
    st_diags_init(&d);
    if (st_strats_stage(h, w->cfg, &d) != 0) {
        for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.items[i].msg);
        exit(1);
    }
    st_diags_free(&d);
    st_strats_commit(h);
    st_world_free(w);
    return h;
}

/* ps per tick over `iters` ticks of 005930 handed to st_strats_tick: the thread's CPU time, as
 * bench_replay's replays are measured (wall time would count what the machine's other work
 * takes from it: on a busy machine, a slower baseline and a flattering ratio). */
static inline uint64_t dispatch_once(st_strats_t *h, int iters)
{
    st_tick_t t = {.kind = ST_TICK_TRADE, .sym = st_symtab_find(&syms, "005930", 6)};
    t.u.trade = (st_trade_t){.price = 73100, .volume = 12, .prev_close = 73600, .side = ST_SIDE_BUY};
    uint64_t t0 = bench_cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < iters; i++) {
        t.u.trade.price = 73100 + (i & 15) * 100;
        st_strats_tick(h, &t);
    }
    return (bench_cpu_ns(CLOCK_THREAD_CPUTIME_ID) - t0) * 1000 / (uint64_t)iters;
}

/* dispatch_once's median of runs (in picoseconds, returned), printed as a row. */
static inline uint64_t dispatch_row(const char *label, st_strats_t *h, int runs, int iters)
{
    uint64_t *ps = malloc(sizeof(uint64_t) * (size_t)runs);
    for (int r = 0; r < runs; r++) ps[r] = dispatch_once(h, iters);
    uint64_t med = bench_ps_row(label, ps, runs, NULL);
    free(ps);
    return med;
}

static struct ev_loop *bench_loop;

/* The temporary directory, the symbols, a simulated clock at 09:00 and the planner. */
static inline void bench_strats_setup(void)
{
    if (!mkdtemp(dir)) exit(1);
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    st_symtab_init(&syms);
    st_world_t *w = world("");
    bench_loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_init_sim(&clock_, bench_loop, w->cfg->runtime.clock.start_time, 0);
    st_planner_cfg_t pc;
    st_planner_cfg_from(&pc, w->cfg);
    planner = st_planner_create(&pc, &w->universe);
    st_world_free(w);
}

/* Frees what setup made and removes the directory; the exit code. */
static inline int bench_strats_teardown(void)
{
    st_planner_destroy(planner);
    st_clock_free(&clock_);
    ev_loop_destroy(bench_loop);
    st_symtab_free(&syms);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}

#endif
