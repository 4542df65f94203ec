/* The running strategies of a strata process: Lua scripts and C plugins, each a planner
 * requester, fed the ticks of the symbols they watch, reloaded in two phases.
 *
 * Dispatch: a strategy that watches a symbol (watch, upgrade_priority, emergency_subscribe) is
 * added to that symbol's subscriber list; a tick goes to that list and to the strategies with
 * all_symbols, nothing else; no allocation per tick.
 *
 * Host calls change the planner's inputs at once (an emergency takes effect in the planner
 * within the call) and tell the runtime through env.plan_dirty; the runtime replans and tells
 * the feeds after the current callback, never from inside one.
 *
 * Reload: st_strats_stage compiles every new or changed strategy (a changed file, or one of
 * the modules it required, its kind, path or params) next to the running ones; st_strats_start
 * runs the new builds' init and on_reload while the old ones still run; nothing running is
 * touched until both passed for every strategy, and a failure leaves everything as it was
 * (st_strats_abort). st_strats_commit then swaps the started builds in, stops removed ones and
 * releases their demands. A strategy's demands and subscriber lists belong to its name: an
 * unchanged strategy keeps them, a swapped one holds what its new code asked for while starting
 * (what it asks for again does not move; the rest is released), as after a fresh start. */
#ifndef ST_HOST_STRATEGIES_H
#define ST_HOST_STRATEGIES_H

#include "core/clock.h"
#include "conf/config.h"
#include "ops/report.h" /* st_strat_info_t: what operations see of a strategy */
#include "ops/symview.h"
#include "feeds/bookcache.h"
#include "market/symtab.h"
#include "market/tick.h"
#include "plan/planner.h"

typedef struct st_strats st_strats_t;

typedef struct {
    st_clock_t *clock;
    const st_symtab_t *syms;
    st_planner_t *planner;
    const st_symview_t *view; /* each symbol's latest tick (strata.symbol); may be NULL */
    /* The planner's inputs changed: replan and apply soon (not from inside this call). */
    void (*plan_dirty)(void *ctx);
    /* emergency_subscribe for requester req: the planner's emergency, now. */
    int (*emergency)(void *ctx, int req, st_sym_t sym, double score, char *why, size_t whylen);
    /* sym's orderbook: cb now (returns 0) or later (ST_PENDING), or an error (-ENOTSUP: no feed has
     * one); may be NULL. */
    int (*orderbook)(void *ctx, st_sym_t sym, st_book_cb cb, void *cbctx);
    /* A strategy's signal (the signal sinks), with its build's fingerprint (kind, path, params
     * and the content of every file it loaded); may be NULL. */
    void (*signal)(void *ctx, const char *strategy, uint64_t fingerprint, st_sym_t sym, const char *side, double strength,
                   const char *reason);
    void *ctx;
    /* A warning about a strategy's code ("file:line: strata.buy is not a strata function");
     * may be NULL (then it is logged). */
    void (*warn)(void *ctx, const char *msg);
} st_strats_env_t;

st_strats_t *st_strats_create(const st_strats_env_t *env);
/* Shuts every strategy down (shutdown callbacks run) and frees everything. */
void st_strats_destroy(st_strats_t *h);

/* Phase one of a (re)load: compiles what cfg adds or changes. Each failure is a diagnostic at
 * the strategy's config entry with the file:line of the error. Returns 0 or ST_ECONFIG (the
 * staged ones are then already dropped). */
int st_strats_stage(st_strats_t *h, const st_config_t *cfg, st_diags_t *d);
/* Phase two: starts every staged build on trial while the running builds still run: init(params),
 * then on_reload(the old build's state). What a build asks of the host while starting (watch,
 * scores, every, signals) is journaled, and emergency_subscribe is refused, so nothing moves
 * yet. all_or_nothing (a reload): any failure is a diagnostic at its config entry with the
 * strategy's file:line, everything staged is dropped (st_strats_abort) and ST_ECONFIG returned.
 * Otherwise (start-up) a strategy that fails is kept in state "failed" with the reason and
 * never called. */
int st_strats_start(st_strats_t *h, bool all_or_nothing, st_diags_t *d);
/* Phase three: the builds started on trial replace the running ones (the old build's timers
 * stop, its shutdown runs, then the journal of the new one is applied); removed strategies
 * release everything. Starts (not all or nothing) what was not started yet. Returns the number
 * of strategies started or swapped. */
int st_strats_commit(st_strats_t *h);
void st_strats_abort(st_strats_t *h);

void st_strats_tick(st_strats_t *h, const st_tick_t *t);
void st_strats_timeslot(st_strats_t *h, const char *slot);
/* A market day began (each trading day, the run's first included): on_day(date), "YYYY-MM-DD". */
void st_strats_day(st_strats_t *h, const char *date);

/* The answer of the instance holding the venue sessions to a forwarded emergency_subscribe of
 * strategy `name` (app/forward.c): its on_emergency(code, granted, why). -ENOENT: no such
 * running strategy (it was removed or quarantined since). */
int st_strats_emergency_answer(st_strats_t *h, const char *name, const char *code, bool granted, const char *why);

size_t st_strats_count(const st_strats_t *h);
void st_strats_info(const st_strats_t *h, size_t i, st_strat_info_t *out);
/* The Lua state of a running strategy, or NULL (tests, status). */
struct st_lua *st_strats_lua(const st_strats_t *h, const char *name);
/* Whether the strategy `name` is in sym's subscriber list (tests, status). */
bool st_strats_watching(const st_strats_t *h, const char *name, st_sym_t sym);
/* Signals raised by the running strategies. */
uint64_t st_strats_signals(const st_strats_t *h);

#endif
