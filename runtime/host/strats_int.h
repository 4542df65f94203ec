/* The strategy host's own header, shared by its three files — strategies.c (the records, their
 * builds and the back ends, reload), strats_api.c (the host's side of the API, for Lua and C
 * alike) and strats_dispatch.c (the subscriber lists and the tick path) — and by no one else:
 * the rest of strata sees strategies.h. */
#ifndef ST_HOST_STRATS_INT_H
#define ST_HOST_STRATS_INT_H

#include "strategies.h"
#include "strata/plugin.h"

#define MAX_TIMERS 16
#define WATCHED 0x1u
#define BOOK_ASKED 0x2u /* an orderbook it asked for is on its way */

typedef struct strat strat_t;

/* One tick callback in this many is timed (a power of 2): at 64 the clock reads cost a C
 * plugin's dispatch 1 ns of its 6 (bench_strategies), at 256 a quarter of that. */
#define ST_STRATS_TIMED_EVERY 256

/* What a build starting on trial asked of the host: applied when the reload commits, dropped
 * when it is rolled back, so a failed reload changes nothing. */
enum { J_DEMAND, J_SCORE, J_EVERY, J_SIGNAL };
typedef struct {
    int op;
    st_sym_t sym;
    int prio;
    double v;
    st_dur_t interval;
    char *a, *b; /* every: name; signal: side, reason */
} jop_t;

typedef struct backend backend_t;

/* One loaded build of a strategy: the running one, or one staged by a reload. It is the context
 * (strata_ctx_t) its host calls come back with, from Lua and C alike. */
typedef struct strata_ctx inst_t;
struct strata_ctx {
    strat_t *rec;
    int kind; /* st_strategy_kind_t */
    const backend_t *be; /* its back end (Lua or C), and */
    void *impl;          /* … the back end's object: an st_lua_t or an st_plugin_t */
    bool live;            /* host calls are refused until it is swapped in, and after it is out */
    bool started;         /* init was called: shutdown will be */
    bool starting;        /* init/on_reload on trial: what it asks is journaled */
    jop_t *journal;
    size_t njournal;
    st_mark_t mark;       /* its config entry, while a reload runs */
    int index;            /* strategies[index] */
    uint64_t fingerprint; /* kind, path, params and the content of every file it loaded */
    char **keys, **values;
    size_t nparams;
};

/* What the host asks of a build, whatever runs it: a Lua state (lua_host.c) or a C plugin
 * (plugin.c). impl is the back end's own object. */
struct backend {
    const char *kind; /* "lua", "c" */
    int (*init)(inst_t *in); /* init(params); the build's host calls come back with `in` */
    int (*on_reload)(void *impl, void *old); /* the old build's state, of the same back end */
    int (*on_tick)(void *impl, const char *code, const st_tick_t *t); /* the hot path: called directly */
    void (*on_timer)(void *impl, const char *name);
    void (*on_timeslot)(void *impl, const char *slot);
    void (*close)(void *impl, bool started); /* shutdown if started, then free */
    void (*failure)(void *impl, const char *step, char *why, size_t whylen); /* why init/on_reload failed */
    const char *const *(*sources)(void *impl, size_t *n); /* the files it loaded; NULL: its path */
    const char *const *(*warnings)(void *impl, size_t *n); /* may be NULL */
    void (*stats)(void *impl, st_strat_info_t *out);     /* faults, memory, last error; may be NULL */
    void (*on_day)(void *impl, const char *date);        /* a market day began: "YYYY-MM-DD" */
    void (*on_emergency)(void *impl, const char *code, bool granted, const char *why); /* the owner's answer */
};

typedef struct {
    st_timer_t t;
    strat_t *rec;
    char name[48];
} every_t;

/* A strategy by name: what outlives a swap of its code (demands, subscriber lists, counters). */
struct strat {
    st_strats_t *h;
    char *name;
    int req; /* planner requester, or a negative error */
    inst_t *cur, *staged;
    bool keep;                  /* staged: still in the config */
    double weight, next_weight;
    bool all_symbols, next_all;
    bool quarantined; /* its code is not called (also while failed) */
    char *fail_reason; /* its init or on_reload failed at start-up: why (NULL: it did not) */
    uint8_t *watched; /* per symbol id: WATCHED (in that symbol's subscriber list), BOOK_ASKED */
    size_t watched_cap, nwatched;
    every_t *timers[MAX_TIMERS];
    int ntimers;
    uint64_t ticks, signals, emergencies, reloads;
    st_hist_t cb_ns; /* its tick callbacks' time: one in ST_STRATS_TIMED_EVERY */
};

/* Strategies to hand a symbol's ticks to; NULL entries are holes left by removals, so a list
 * can change while it is being walked. */
typedef struct {
    strat_t **v;
    uint32_t n, cap;
} sublist_t;

struct st_strats {
    st_strats_env_t env;
    strat_t **recs;
    size_t n;
    strat_t **fresh; /* staged: new names */
    size_t nfresh;
    sublist_t *subs; /* by symbol id */
    size_t nsubs;
    sublist_t all; /* all_symbols */
    st_tick_t *book_out; /* while asking for a book: where an answer given at once goes */
    st_sym_t book_sym;
    bool book_now;
};

/* --- subscriber lists and dispatch (strats_dispatch.c) ------------------------------------- */

void st_strats_sub_add(sublist_t *l, strat_t *r);
void st_strats_sub_remove(sublist_t *l, strat_t *r); /* leaves a hole: a list may be walked */
/* Sets flags (WATCHED, BOOK_ASKED) on r's byte for sym, growing the array as needed. */
void st_strats_mark(strat_t *r, st_sym_t sym, uint8_t flags);
/* r in sym's subscriber list (and marked WATCHED), or out of it. */
void st_strats_watch_sym(strat_t *r, st_sym_t sym);
void st_strats_unwatch_sym(strat_t *r, st_sym_t sym);
/* An orderbook r asked for, as on_orderbook (unless r is quarantined or has no build). */
void st_strats_deliver_book(strat_t *r, const st_tick_t *t);

/* --- the host's side of the API (strats_api.c) -------------------------------------------- */

/* The host's functions: the C plugins' ABI table, which the Lua binding calls too, with the
 * build (strata_ctx_t) as context. */
extern const strata_host_t st_strats_host;
/* A Lua build was quarantined: its record stops being called and lets go of what it held. */
void st_strats_quarantined(inst_t *ctx, const char *why);
/* What a build asked while starting on trial: done in order (the reload committed), or dropped. */
void st_strats_journal_apply(inst_t *in);
void st_strats_journal_free(inst_t *in);
/* r's demand for sym at prio (ST_PRIO_NONE: withdrawn), and its subscriber lists to match. */
int st_strats_demand(strat_t *r, st_sym_t sym, int prio);
/* Everything the strategy holds goes: demands, emergencies, subscriber lists, timers. */
void st_strats_release(strat_t *r);
void st_strats_stop_timers(strat_t *r);
/* The plan changed: the runtime replans before the loop waits. */
void st_strats_dirty(st_strats_t *h);

#endif
