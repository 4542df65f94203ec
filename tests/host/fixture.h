/* The strategy host's test fixture: a real planner, a simulated clock, a temporary directory
 * for configs and scripts, and helpers to load strategies, send ticks and read results back.
 * Included by test_strategies.c and test_attacks.c (one process per test file). */
#ifndef ST_TESTS_HOST_FIXTURE_H
#define ST_TESTS_HOST_FIXTURE_H

#include "../test.h"

#include "core/log.h"
#include "core/res.h"
#include "conf/world.h"
#include "host/lua_host.h"
#include "host/strategies.h"

#include <ev.h>
#include <math.h>

typedef struct {
    st_symtab_t syms;
    st_world_t *w;
    struct ev_loop *loop;
    st_clock_t clock;
    st_planner_t *planner;
    st_symview_t view;
    st_strats_t *h;
    char *dir;
    int dirty, emergencies, signals;
    int emergency_req;
    st_sym_t emergency_sym;
    double emergency_score;
    char sig_strategy[32], sig_code[16], sig_side[16], sig_reason[64];
    double sig_strength;
} fx_t;

static fx_t F;

static inline void on_dirty(void *ctx)
{
    F.dirty++;
}

static inline int on_emergency(void *ctx, int req, st_sym_t sym, double score, char *why, size_t whylen)
{
    F.emergencies++;
    F.emergency_req = req, F.emergency_sym = sym, F.emergency_score = score;
    return st_planner_emergency(F.planner, req, sym, score, st_clock_now(&F.clock), why, whylen);
}

static inline void on_signal(void *ctx, const char *strategy, uint64_t fingerprint, st_sym_t sym, const char *side, double strength,
                      const char *reason)
{
    F.signals++;
    snprintf(F.sig_strategy, sizeof(F.sig_strategy), "%s", strategy);
    snprintf(F.sig_code, sizeof(F.sig_code), "%s", st_symtab_code(&F.syms, sym));
    snprintf(F.sig_side, sizeof(F.sig_side), "%s", side);
    snprintf(F.sig_reason, sizeof(F.sig_reason), "%s", reason);
    F.sig_strength = strength;
}

/* Books: 005930's is at hand, any other is answered later through pend_cb. */
static st_book_cb pend_cb;
static void *pend_ctx;

static inline int on_book_ask(void *ctx, st_sym_t s, st_book_cb cb, void *cbctx)
{
    if (s == st_symtab_find(&F.syms, "005930", 6)) {
        st_tick_t b = {.kind = ST_TICK_ORDERBOOK, .sym = s};
        b.u.book.ask[0] = 73100;
        cb(&b, NULL, cbctx);
        return 1;
    }
    pend_cb = cb, pend_ctx = cbctx;
    return 0;
}

/* Writes the config with the given strategies: section and builds its world. */
static inline st_world_t *world(const char *strategies, st_diags_t *d)
{
    char yaml[8192];
    snprintf(yaml, sizeof(yaml),
             "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 09:00\", speed: 0}\n"
             "market:\n  universe: %s/config/universe.csv\n  indices: %s/config/indices.csv\n"
             "feeds:\n  - {name: sim, kind: sim, budget: 41}\n%s",
             STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, strategies);
    free(st_test_write(F.dir, "strata.yaml", yaml));
    char path[256];
    snprintf(path, sizeof(path), "%s/strata.yaml", F.dir);
    return st_world_build(path, &F.syms, d);
}

static inline void print_diags(const st_diags_t *d)
{
    for (size_t i = 0; i < d->n; i++) printf("# %s:%d:%d: %s\n", d->items[i].file, d->items[i].line, d->items[i].col, d->items[i].msg);
}

/* Stages, starts on trial (a reload: all or nothing, unless it is the start-up) and commits:
 * returns what commit returned, or -1 when staging or starting failed (the diagnostics go to *d
 * when given). */
static inline int load_as(const char *strategies, bool all_or_nothing, st_diags_t *out)
{
    st_diags_t d;
    st_diags_init(&d);
    st_world_t *w = world(strategies, &d);
    if (!w) print_diags(&d);
    assert_non_null(w);
    int rc = st_strats_stage(F.h, w->cfg, &d);
    if (rc == 0 && all_or_nothing) rc = st_strats_start(F.h, true, &d);
    if (rc == 0) rc = st_strats_commit(F.h);
    else rc = -1;
    st_world_free(F.w);
    F.w = w;
    if (out) *out = d;
    else st_diags_free(&d);
    return rc;
}

static inline int load(const char *strategies, st_diags_t *out)
{
    return load_as(strategies, true, out);
}

static inline int setup(void **state)
{
    memset(&F, 0, sizeof(F));
    st_log_open(ST_LL_WARN, ST_LOG_TEXT, NULL);
    F.dir = st_test_tmpdir();
    st_symtab_init(&F.syms);
    st_diags_t d;
    st_diags_init(&d);
    F.w = world("", &d);
    assert_non_null(F.w);
    st_diags_free(&d);
    F.loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_init_sim(&F.clock, F.loop, F.w->cfg->runtime.clock.start_time, 0);
    st_planner_cfg_t pc;
    st_planner_cfg_from(&pc, F.w->cfg);
    F.planner = st_planner_create(&pc, &F.w->universe);
    st_policy_t pol = {.name = "test", .realtime = 10, .semi = 10, .indices = 5, .reserve = 5, .poll_scale = 1};
    st_planner_set_policy(F.planner, &pol, st_clock_now(&F.clock));
    st_symview_init(&F.view, F.syms.n);
    st_strats_env_t env = {.clock = &F.clock, .syms = &F.syms, .planner = F.planner, .view = &F.view, .plan_dirty = on_dirty,
                           .emergency = on_emergency, .orderbook = on_book_ask, .signal = on_signal};
    F.h = st_strats_create(&env);
    return 0;
}

static inline int teardown(void **state)
{
    st_strats_destroy(F.h);
    st_planner_destroy(F.planner);
    st_symview_free(&F.view);
    st_clock_free(&F.clock);
    ev_loop_destroy(F.loop);
    st_world_free(F.w);
    st_symtab_free(&F.syms);
    assert_int_equal(st_test_rmtree(F.dir), 0);
    free(F.dir);
    st_log_close();
    return 0;
}

static inline st_sym_t sym(const char *code)
{
    return st_symtab_find(&F.syms, code, strlen(code));
}

static inline void trade(const char *code, double price)
{
    st_tick_t t = {.kind = ST_TICK_TRADE, .sym = sym(code), .venue_time = st_clock_now(&F.clock),
                   .recv_time = st_clock_now(&F.clock)};
    t.u.trade.price = t.u.trade.open = price;
    t.u.trade.prev_close = 1000;
    t.u.trade.volume = 10;
    st_symview_tick(&F.view, &t); /* as the runtime's tick path: the view first */
    st_strats_tick(F.h, &t);
}

static inline int prio(const char *code)
{
    st_planner_replan(F.planner, st_clock_now(&F.clock));
    return st_planner_entry(F.planner, sym(code))->prio;
}

static inline double state_num(const char *strategy, const char *key)
{
    st_lua_t *l = st_strats_lua(F.h, strategy);
    assert_non_null(l);
    double v = -1;
    if (st_lua_state_number(l, key, &v) != 0) return NAN;
    return v;
}

static inline const st_strat_info_t *info(const char *name)
{
    static st_strat_info_t si;
    for (size_t i = 0; i < st_strats_count(F.h); i++) {
        st_strats_info(F.h, i, &si);
        if (!strcmp(si.name, name)) return &si;
    }
    return NULL;
}

static inline char *script(const char *name, const char *text)
{
    return st_test_write(F.dir, name, text);
}
static bool run_done;
static inline void on_run_done(st_timer_t *t, st_time_t now, void *ctx)
{
    run_done = true;
}

/* Runs the simulated clock d further (every timer due by then fires, none after). */
static inline void run_for(st_dur_t d)
{
    st_timer_t stop;
    st_timer_init(&stop, on_run_done, NULL);
    st_clock_timer_start(&F.clock, &stop, st_clock_now(&F.clock) + d, 0);
    for (run_done = false; !run_done;) ev_run(F.loop, EVRUN_ONCE);
}

#endif
