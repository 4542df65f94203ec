/* One Lua 5.4 strategy: its own lua_State, sandboxed, budgeted, called only through one
 * guarded path.
 *
 * A strategy is a text chunk (binary chunks are refused) that returns a table of callbacks:
 * init(params), on_trade(sym, t), on_orderbook(sym, ob), on_snapshot(sym, s), on_timeslot(slot), on_day(date),
 * on_emergency(sym, granted, why), on_timer(name), on_reload(old_state), shutdown(). It sees an allow-listed standard library (base without dofile,
 * loadfile and load; string, table, math, utf8, coroutine; os.time/os.clock/os.date only; no io,
 * no package) and a `strata` module bound to the host's functions; `require` loads text modules
 * from the strategy's directory only.
 *
 * Every call goes through one guarded path: a traceback message handler, lua_pcall, an
 * instruction budget per callback (a count hook that, once tripped, fires on every instruction
 * of every thread, so no pcall or coroutine in the script can swallow it; allocation, the
 * collector and library work done in C are charged to it too), and a soft memory cap (past it
 * the strategy's garbage is collected on its budget; still pinned near the cap is a fault). The
 * callback is looked up, and its tick table filled, with raw operations or inside the protected
 * call, so no strategy code ever runs outside it. No finalizers (`__gc`) are allowed. A failed
 * call logs "name: callback(symbol): file:line: ..." once (repeats are counted) and counts a
 * fault; `quarantine_after` faults within `quarantine_window` calls quarantine the strategy
 * (its callbacks are no longer called; the host is told). Ticks reach Lua in one table per kind
 * reused for every call, never a fresh one. */
#ifndef ST_HOST_LUA_HOST_H
#define ST_HOST_LUA_HOST_H

#include "ops/report.h" /* st_fault_cause_t */
#include "market/tick.h"
#include "strata/plugin.h"

typedef struct st_lua st_lua_t;


typedef struct {
    const char *name;        /* for log lines */
    const char *path;        /* the strategy file */
    size_t mem_cap;          /* bytes the state may hold; 0 = 64 MiB */
    uint64_t budget;         /* Lua instructions per callback; 0 = 10 million */
    int quarantine_after;    /* K: K faults within quarantine_window calls quarantine it; 0 = 5 */
    int quarantine_window;   /* calls; 0 = 100 (at least K) */
    /* What the strategy can ask of the host: the same table and functions C plugins get, called
     * with ctx (every call returns 0 or a negative error; the Lua side then returns nil and a
     * message). NULL functions answer -ENOTSUP. */
    const strata_host_t *host;
    strata_ctx_t *ctx;
    void (*quarantined)(strata_ctx_t *ctx, const char *why); /* the strategy stopped being called */
} st_lua_cfg_t;

/* Compiles and runs the file; it must return a table. Returns 0, or a negative error with
 * "file:line: message" in err. */
int st_lua_open(st_lua_t **out, const st_lua_cfg_t *cfg, char *err, size_t errlen);
void st_lua_close(st_lua_t *s);

/* init(params) with params a table of the given string pairs (n of them). */
int st_lua_init(st_lua_t *s, const char *const *keys, const char *const *values, size_t n);
/* on_trade / on_orderbook / on_snapshot by the tick's kind; code is the symbol's. Returns 0,
 * 1 when the strategy has no such callback or is quarantined, or ST_EFAULT after a fault. */
int st_lua_tick(void *s, const char *code, const st_tick_t *t); /* (the back end's entry: no wrapper) */
static inline int st_lua_on_tick(st_lua_t *s, const char *code, const st_tick_t *t)
{
    return st_lua_tick(s, code, t);
}
int st_lua_on_timer(st_lua_t *s, const char *name);
int st_lua_on_timeslot(st_lua_t *s, const char *slot);
int st_lua_on_day(st_lua_t *s, const char *date);
/* The venue owner's answer to a forwarded emergency_subscribe: on_emergency(sym, granted, why). */
int st_lua_on_emergency(st_lua_t *s, const char *code, bool granted, const char *why);
int st_lua_shutdown(st_lua_t *s);
/* on_reload(old_state) on s, the strategy replacing old: old_state is a copy of old's module
 * field `state` (plain data: booleans, numbers, strings and tables of them; anything else
 * becomes nil). 1 when s has no on_reload. */
int st_lua_on_reload(st_lua_t *s, st_lua_t *old);
/* The number at the module's state[key] (tests, status); -ENOENT if there is none. */
int st_lua_state_number(st_lua_t *s, const char *key, double *out);
/* "file:line: strata.<name> is not a strata function" for each such use in its files. */
const char *const *st_lua_warnings(const st_lua_t *s, size_t *n);
/* The files the strategy loaded: its own, then each module it required. */
const char *const *st_lua_sources(const st_lua_t *s, size_t *n);

typedef struct {
    uint64_t calls, faults, faults_in_row;
    double fault_rate; /* faults among the last quarantine_window calls, per call */
    size_t mem;       /* bytes held now */
    bool quarantined;
    const char *last_error; /* the latest fault's message and traceback, "" if none */
    uint64_t faults_by[ST_FAULT_CAUSES]; /* faults by cause */
} st_lua_stats_t;
void st_lua_stats(const st_lua_t *s, st_lua_stats_t *out);

/* The budgeted library (lua_patterns.c): string.find, match, gmatch and gsub on a matcher that
 * charges its steps, and table.sort charged by its size. */
struct lua_State;
void st_lua_patterns_install(struct lua_State *L);
/* Charges units of work done in C to the running callback's instruction budget; past it, the
 * callback ends (raises). */
void st_lua_charge(struct lua_State *L, uint64_t units);

#endif
