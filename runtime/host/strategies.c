#include "strategies.h"
#include "core/log.h"
#include "core/res.h"
#include "host/lua_host.h"
#include "host/plugin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TIMERS 16
#define WATCHED 0x1u
#define BOOK_ASKED 0x2u /* an orderbook it asked for is on its way */

typedef struct strat strat_t;

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
    void (*on_tick)(void *impl, const char *code, const st_tick_t *t);
    void (*on_timer)(void *impl, const char *name);
    void (*on_timeslot)(void *impl, const char *slot);
    void (*close)(void *impl, bool started); /* shutdown if started, then free */
    void (*failure)(void *impl, const char *step, char *why, size_t whylen); /* why init/on_reload failed */
    const char *const *(*sources)(void *impl, size_t *n); /* the files it loaded; NULL: its path */
    const char *const *(*warnings)(void *impl, size_t *n); /* may be NULL */
    void (*stats)(void *impl, st_strat_info_t *out);     /* faults, memory, last error; may be NULL */
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

/* --- subscriber lists ----------------------------------------------------------------------- */

static void sub_add(sublist_t *l, strat_t *r)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (!l->v[i]) {
            l->v[i] = r;
            return;
        }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = st_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = r;
}

static void sub_remove(sublist_t *l, strat_t *r)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i] == r) l->v[i] = NULL;
}

/* Sets flags on r's byte for sym, growing the array as needed. */
static void mark(strat_t *r, st_sym_t sym, uint8_t flags)
{
    if (sym >= r->watched_cap) {
        size_t n = ST_MAX2((size_t)sym + 1, r->watched_cap * 2);
        r->watched = st_xrealloc(r->watched, n);
        memset(r->watched + r->watched_cap, 0, n - r->watched_cap);
        r->watched_cap = n;
    }
    r->watched[sym] |= flags;
}

static void watch_sym(strat_t *r, st_sym_t sym)
{
    st_strats_t *h = r->h;
    if (sym >= h->nsubs) {
        size_t n = ST_MAX2((size_t)sym + 1, h->nsubs * 2);
        h->subs = st_xrealloc(h->subs, n * sizeof(*h->subs));
        memset(h->subs + h->nsubs, 0, (n - h->nsubs) * sizeof(*h->subs));
        h->nsubs = n;
    }
    mark(r, sym, 0);
    if (r->watched[sym] & WATCHED) return;
    r->watched[sym] |= WATCHED;
    r->nwatched++;
    sub_add(&h->subs[sym], r);
}

static void unwatch_sym(strat_t *r, st_sym_t sym)
{
    if (sym >= r->watched_cap || !(r->watched[sym] & WATCHED)) return;
    r->watched[sym] &= (uint8_t)~WATCHED;
    r->nwatched--;
    sub_remove(&r->h->subs[sym], r);
}

/* --- the host's side of the API (both Lua and plugins) -------------------------------------- */

/* The strategy behind a host call, if its code may act now: the running build, or a build
 * starting on trial (whose demands are journaled). */
static strat_t *acting(inst_t *in)
{
    return in->starting || (in->live && !in->rec->quarantined) ? in->rec : NULL;
}

static int journal(inst_t *in, jop_t op)
{
    in->journal = st_xrealloc(in->journal, (in->njournal + 1) * sizeof(*in->journal));
    in->journal[in->njournal++] = op;
    return 0;
}

static void journal_free(inst_t *in)
{
    for (size_t i = 0; i < in->njournal; i++) free(in->journal[i].a), free(in->journal[i].b);
    free(in->journal);
    in->journal = NULL;
    in->njournal = 0;
}

static st_sym_t lookup(const strat_t *r, const char *code)
{
    return code ? st_symtab_find(r->h->env.syms, code, strlen(code)) : ST_SYM_NONE;
}

static void dirty(st_strats_t *h)
{
    if (h->env.plan_dirty) h->env.plan_dirty(h->env.ctx);
}

static int demand_sym(strat_t *r, st_sym_t sym, int prio)
{
    if (r->req < 0) return r->req;
    int rc = st_planner_demand(r->h->env.planner, r->req, sym, prio);
    if (rc) return rc;
    if (prio == ST_PRIO_NONE) unwatch_sym(r, sym);
    else watch_sym(r, sym);
    dirty(r->h);
    return 0;
}

static int demand(inst_t *in, const char *code, int prio)
{
    strat_t *r = acting(in);
    if (!r) return -ECANCELED;
    st_sym_t sym = lookup(r, code);
    if (prio < 0 || prio > ST_PRIO_NONE) return -EINVAL;
    if (sym == ST_SYM_NONE) return -ENOENT;
    if (in->starting) return journal(in, (jop_t){.op = J_DEMAND, .sym = sym, .prio = prio});
    return demand_sym(r, sym, prio);
}

static int h_watch(inst_t *ctx, const char *code, int prio)
{
    return prio == ST_PRIO_NONE ? -EINVAL : demand(ctx, code, prio);
}

static int h_unwatch(inst_t *ctx, const char *code)
{
    return demand(ctx, code, ST_PRIO_NONE);
}

static int h_emergency(inst_t *ctx, const char *code, double score, char *why, size_t whylen)
{
    strat_t *r = acting(ctx);
    if (!r) return -ECANCELED;
    if (ctx->starting) {
        if (why)
            snprintf(why, whylen, "emergency_subscribe is not available in init or on_reload (the reload may "
                                  "still be rolled back): demand 'critical', or call it from a callback");
        return -EAGAIN;
    }
    if (r->req < 0) return r->req;
    st_sym_t sym = lookup(r, code);
    if (sym == ST_SYM_NONE) {
        if (why) snprintf(why, whylen, "unknown symbol %s", code ? code : "(null)");
        return -ENOENT;
    }
    const st_strats_env_t *e = &r->h->env;
    int rc = e->emergency ? e->emergency(e->ctx, r->req, sym, score, why, whylen) : -ENOTSUP;
    if (rc == 0) {
        watch_sym(r, sym);
        r->emergencies++;
    }
    dirty(r->h);
    return rc;
}

static int h_score(inst_t *ctx, const char *code, double score)
{
    strat_t *r = acting(ctx);
    if (!r) return -ECANCELED;
    st_sym_t sym = lookup(r, code);
    if (sym == ST_SYM_NONE) return -ENOENT;
    if (!(score >= 0 && score <= 100)) return -EINVAL;
    if (ctx->starting) return journal(ctx, (jop_t){.op = J_SCORE, .sym = sym, .v = score});
    return st_planner_score(r->h->env.planner, sym, score);
}

static void signal_sym(strat_t *r, st_sym_t sym, const char *side, double strength, const char *reason)
{
    r->signals++;
    const st_strats_env_t *e = &r->h->env;
    if (e->signal) e->signal(e->ctx, r->name, sym, side, strength, reason);
}

static int h_signal(inst_t *ctx, const char *code, int side_enum, double strength, const char *reason)
{
    strat_t *r = acting(ctx);
    if (!r) return -ECANCELED;
    st_sym_t sym = lookup(r, code);
    if (sym == ST_SYM_NONE) return -ENOENT;
    if (side_enum != ST_SIDE_NONE && side_enum != ST_SIDE_BUY && side_enum != ST_SIDE_SELL) return -EINVAL;
    const char *side = side_enum == ST_SIDE_BUY ? "buy" : side_enum == ST_SIDE_SELL ? "sell" : "";
    reason = reason ? reason : "";
    if (ctx->starting)
        return journal(ctx, (jop_t){.op = J_SIGNAL, .sym = sym, .v = strength, .a = st_xstrdup(side),
                                    .b = st_xstrdup(reason)});
    signal_sym(r, sym, side, strength, reason);
    return 0;
}

static void on_every(st_timer_t *t, st_time_t now, void *ctx)
{
    every_t *e = ctx;
    strat_t *r = e->rec;
    if (r->quarantined || !r->cur) return;
    r->cur->be->on_timer(r->cur->impl, e->name);
}

static int every_named(strat_t *r, int64_t interval, const char *name)
{
    every_t *e = NULL;
    for (int i = 0; i < r->ntimers && !e; i++)
        if (!strcmp(r->timers[i]->name, name)) e = r->timers[i];
    if (!e) {
        if (r->ntimers == MAX_TIMERS) return -ENOSPC;
        e = r->timers[r->ntimers++] = st_xcalloc(1, sizeof(*e));
        e->rec = r;
        snprintf(e->name, sizeof(e->name), "%s", name);
        st_timer_init(&e->t, on_every, e);
    }
    st_clock_t *c = r->h->env.clock;
    st_clock_timer_start(c, &e->t, st_clock_now(c) + interval, interval);
    return 0;
}

static int h_every(inst_t *ctx, int64_t interval, const char *name)
{
    strat_t *r = acting(ctx);
    if (!r) return -ECANCELED;
    if (interval <= 0 || !name || strlen(name) >= sizeof(r->timers[0]->name)) return -EINVAL;
    if (ctx->starting)
        return journal(ctx, (jop_t){.op = J_EVERY, .interval = interval, .a = st_xstrdup(name)});
    return every_named(r, interval, name);
}

/* The trial is over and the build is live: what it asked for while starting happens now, in
 * order. */
static void journal_apply(inst_t *in)
{
    strat_t *r = in->rec;
    for (size_t i = 0; i < in->njournal; i++) {
        const jop_t *j = &in->journal[i];
        int rc = 0;
        switch (j->op) {
        case J_DEMAND: rc = demand_sym(r, j->sym, j->prio); break;
        case J_SCORE: rc = st_planner_score(r->h->env.planner, j->sym, j->v); break;
        case J_EVERY: rc = every_named(r, j->interval, j->a); break;
        case J_SIGNAL: signal_sym(r, j->sym, j->a, j->v, j->b); break;
        }
        if (rc < 0) st_log_warn(HOST, "%s: a request made while starting failed: %s", r->name, st_strerror(rc));
    }
    journal_free(in);
}

static int64_t h_now(inst_t *ctx)
{
    return st_clock_now(ctx->rec->h->env.clock);
}

/* A book arrives: at once (the ask is still on the stack), or later for every strategy that
 * asked for it since, as on_orderbook. */
static void on_book(const st_tick_t *book, const char *err, void *ctx);

static int h_orderbook(inst_t *ctx, const char *code, strata_tick_t *out)
{
    strat_t *r = acting(ctx);
    if (!r) return -ECANCELED;
    st_strats_t *h = r->h;
    st_sym_t sym = lookup(r, code);
    if (sym == ST_SYM_NONE) return -ENOENT;
    if (!h->env.orderbook) return -ENOTSUP;
    h->book_out = (st_tick_t *)(void *)out, h->book_sym = sym, h->book_now = false; /* one layout (plugin.c) */
    int rc = h->env.orderbook(h->env.ctx, sym, on_book, h);
    h->book_out = NULL;
    if (rc < 0) return rc;
    if (h->book_now) return 0;
    mark(r, sym, BOOK_ASKED);
    return STRATA_PENDING;
}

static void deliver_book(strat_t *r, const st_tick_t *t);

static void on_book(const st_tick_t *book, const char *err, void *ctx)
{
    st_strats_t *h = ctx;
    st_sym_t sym = book ? book->sym : h->book_sym;
    if (h->book_out && book && sym == h->book_sym) {
        *h->book_out = *book;
        h->book_now = true;
        return;
    }
    for (size_t i = 0; i < h->n; i++) {
        strat_t *r = h->recs[i];
        if (sym >= r->watched_cap || !(r->watched[sym] & BOOK_ASKED)) continue;
        r->watched[sym] &= (uint8_t)~BOOK_ASKED;
        if (book) deliver_book(r, book);
        else if (err) st_log_warn(HOST, "%s: the orderbook it asked for did not come: %s", r->name, err);
    }
}

/* Fills what fits in out->size (the caller's build of the struct), leaving size as it was. */
static int h_status(inst_t *ctx, strata_status_t *out)
{
    if (!out || out->size < sizeof(out->size)) return -EINVAL;
    const strat_t *r = ctx->rec;
    st_plan_stats_t ps;
    st_planner_stats(r->h->env.planner, &ps);
    strata_status_t st = {.size = out->size};
    st.slot = st_planner_policy_name(r->h->env.planner);
    st.tier1 = ps.tier_count[ST_TIER_REALTIME];
    st.tier2 = ps.tier_count[ST_TIER_SEMI];
    st.tier3 = ps.tier_count[ST_TIER_POLL];
    st.indices = ps.indices;
    for (int i = 0; i < ps.nconns; i++) st.ws_used += ps.used[i], st.ws_budget += ps.budget[i];
    st.ticks = r->ticks;
    st.signals = r->signals;
    st.emergencies = r->emergencies;
    st.watched = r->nwatched;
    memcpy(out, &st, ST_MIN2((size_t)out->size, sizeof(st)));
    return 0;
}

static void h_log(inst_t *ctx, int level, const char *fmt, ...) ST_PRINTF(3, 4);
static void h_log(inst_t *ctx, int level, const char *fmt, ...)
{
    const char *name = ctx->rec->name;
    char msg[1024] = "";
    va_list ap;
    va_start(ap, fmt);
    if (fmt) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    switch (level) {
    case STRATA_LOG_DEBUG: st_log_debug(HOST, "%s: %s", name, msg); break;
    case STRATA_LOG_INFO: st_log_info(HOST, "%s: %s", name, msg); break;
    case STRATA_LOG_WARN: st_log_warn(HOST, "%s: %s", name, msg); break;
    default: st_log_error(HOST, "%s: %s", name, msg); break;
    }
}

static void stop_timers(strat_t *r)
{
    for (int i = 0; i < r->ntimers; i++) {
        st_clock_timer_stop(r->h->env.clock, &r->timers[i]->t);
        free(r->timers[i]);
    }
    r->ntimers = 0;
}

/* Everything the strategy holds goes: demands, emergencies, subscriber lists, timers. */
static void release(strat_t *r)
{
    st_strats_t *h = r->h;
    if (r->req >= 0) st_planner_release(h->env.planner, r->req);
    for (size_t s = 0; s < r->watched_cap; s++) unwatch_sym(r, (st_sym_t)s);
    sub_remove(&h->all, r);
    stop_timers(r);
    dirty(h);
}

static void h_quarantined(inst_t *ctx, const char *why)
{
    if (!ctx->live || ctx->rec->quarantined) return;
    ctx->rec->quarantined = true;
    release(ctx->rec);
}

/* The host's table: the C plugins' ABI, and what the Lua binding calls too. */
static const strata_host_t host_table = {
    .size = sizeof(strata_host_t),
    .abi_major = STRATA_ABI_MAJOR,
    .abi_minor = STRATA_ABI_MINOR,
    .watch = h_watch,
    .unwatch = h_unwatch,
    .upgrade_priority = h_watch,
    .emergency_subscribe = h_emergency,
    .update_performance_score = h_score,
    .signal = h_signal,
    .every = h_every,
    .now = h_now,
    .log = h_log,
    .orderbook = h_orderbook,
    .status = h_status,
};

/* --- the two back ends ------------------------------------------------------------------------- */


static int lua_init(inst_t *in)
{
    return st_lua_init(in->impl, (const char *const *)in->keys, (const char *const *)in->values, in->nparams);
}
static int lua_reload(void *impl, void *old) { return st_lua_on_reload(impl, old); }
static void lua_tick(void *impl, const char *code, const st_tick_t *t) { st_lua_on_tick(impl, code, t); }
static void lua_timer(void *impl, const char *name) { st_lua_on_timer(impl, name); }
static void lua_timeslot(void *impl, const char *slot) { st_lua_on_timeslot(impl, slot); }
static void lua_close(void *impl, bool started)
{
    if (started) st_lua_shutdown(impl);
    st_lua_close(impl);
}
static void lua_failure(void *impl, const char *step, char *why, size_t whylen)
{
    st_lua_stats_t ls;
    st_lua_stats(impl, &ls);
    snprintf(why, whylen, "%s failed: %s", step, ls.last_error);
}
static const char *const *lua_sources(void *impl, size_t *n) { return st_lua_sources(impl, n); }
static const char *const *lua_warnings(void *impl, size_t *n) { return st_lua_warnings(impl, n); }
static void lua_info(void *impl, st_strat_info_t *out)
{
    st_lua_stats_t ls;
    st_lua_stats(impl, &ls);
    out->faults = ls.faults;
    out->fault_rate = ls.fault_rate;
    out->mem = ls.mem;
    out->last_error = ls.last_error;
}

static const backend_t lua_backend = {"lua",     lua_init,    lua_reload,  lua_tick,     lua_timer,    lua_timeslot,
                                      lua_close, lua_failure, lua_sources, lua_warnings, lua_info};

static int plugin_init(inst_t *in)
{
    return st_plugin_init(in->impl, &host_table, in, (const char *const *)in->keys, (const char *const *)in->values,
                          in->nparams);
}
static int plugin_reload(void *impl, void *old) { return st_plugin_on_reload(impl, old); }
static void plugin_tick(void *impl, const char *code, const st_tick_t *t) { st_plugin_on_tick(impl, code, t); }
static void plugin_timer(void *impl, const char *name) { st_plugin_on_timer(impl, name); }
static void plugin_timeslot(void *impl, const char *slot) { st_plugin_on_timeslot(impl, slot); }
static void plugin_close(void *impl, bool started) { st_plugin_close(impl); /* it knows whether it started */ }
static void plugin_failure(void *impl, const char *step, char *why, size_t whylen)
{
    snprintf(why, whylen, "%s refused to start (it returned NULL)", step);
}

static const backend_t plugin_backend = {"c",          plugin_init,    plugin_reload, plugin_tick, plugin_timer,
                                         plugin_timeslot, plugin_close, plugin_failure, NULL,        NULL,
                                         NULL};

/* --- builds --------------------------------------------------------------------------------- */

static void add_param(inst_t *in, const char *key, const char *value)
{
    in->keys = st_xrealloc(in->keys, (in->nparams + 1) * sizeof(char *));
    in->values = st_xrealloc(in->values, (in->nparams + 1) * sizeof(char *));
    in->keys[in->nparams] = st_xstrdup(key);
    in->values[in->nparams++] = st_xstrdup(value);
}

static void scalar_text(const st_value_t *v, char *buf, size_t len)
{
    switch (v->type) {
    case ST_V_BOOL: snprintf(buf, len, "%s", v->u.b ? "true" : "false"); break;
    case ST_V_INT: snprintf(buf, len, "%" PRId64, v->u.i); break;
    case ST_V_DOUBLE: snprintf(buf, len, "%.17g", v->u.d); break;
    case ST_V_STRING: snprintf(buf, len, "%s", v->u.s); break;
    default: buf[0] = '\0'; break;
    }
}

/* params as key/value strings: nested mappings become "a.b" keys, lists of scalars "x,y,z". */
static void flatten(inst_t *in, const st_value_t *v, const char *prefix)
{
    char buf[1024];
    if (v->type == ST_V_MAP) {
        for (size_t i = 0; i < v->u.c.n; i++) {
            char key[256];
            snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", v->u.c.keys[i]);
            flatten(in, &v->u.c.items[i], key);
        }
    } else if (v->type == ST_V_LIST) {
        size_t n = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < v->u.c.n && n < sizeof(buf); i++) {
            char one[256];
            scalar_text(&v->u.c.items[i], one, sizeof(one));
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "," : "", one);
        }
        if (*prefix) add_param(in, prefix, buf);
    } else if (*prefix) {
        scalar_text(v, buf, sizeof(buf));
        add_param(in, prefix, buf);
    }
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* What identifies a build: kind, path, params, and the bytes of every file it loaded; 0 when a
 * file cannot be read (a good fingerprint is never 0, and 0 never matches: it counts as
 * changed). */
static uint64_t fingerprint(const inst_t *in, const char *path, const char *const *files, size_t nfiles)
{
    uint64_t h = fnv(14695981039346656037ull, &in->kind, sizeof(in->kind));
    h = fnv(h, path, strlen(path) + 1);
    for (size_t i = 0; i < in->nparams; i++) {
        h = fnv(h, in->keys[i], strlen(in->keys[i]) + 1);
        h = fnv(h, in->values[i], strlen(in->values[i]) + 1);
    }
    for (size_t i = 0; i < nfiles; i++) {
        char *data;
        size_t len;
        if (st_file_read(files[i], &data, &len) != 0) return 0;
        h = fnv(h, data, len);
        free(data);
    }
    return h ? h : 1;
}

/* The fingerprint of `params`'s kind and params over the files `loaded` read (its Lua sources,
 * or the plugin at path). */
static uint64_t fingerprint_of(const inst_t *params, const inst_t *loaded, const char *path)
{
    size_t n = 1;
    const char *const *files = loaded->be->sources ? loaded->be->sources(loaded->impl, &n) : &path;
    return fingerprint(params, path, files, n);
}

static void inst_free(inst_t *in)
{
    if (!in) return;
    if (in->be) in->be->close(in->impl, in->started);
    journal_free(in);
    for (size_t i = 0; i < in->nparams; i++) free(in->keys[i]), free(in->values[i]);
    free(in->keys);
    free(in->values);
    free(in);
}

static inst_t *inst_new(strat_t *rec, const st_strategy_cfg_t *sc)
{
    inst_t *in = st_xcalloc(1, sizeof(*in));
    in->rec = rec;
    in->kind = sc->kind;
    in->mark = sc->mark;
    if (sc->params) flatten(in, sc->params, "");
    return in;
}

static int inst_compile(inst_t *in, const st_strategy_cfg_t *sc, char *err, size_t errlen)
{
    int rc;
    if (sc->kind == ST_STRAT_LUA) {
        st_lua_cfg_t lc = {.name = sc->name, .path = sc->path, .mem_cap = (size_t)sc->memory_mb << 20,
                           .budget = (uint64_t)sc->instruction_budget, .quarantine_after = (int)sc->quarantine_after,
                           .quarantine_window = (int)sc->quarantine_window, .host = &host_table, .ctx = in,
                           .quarantined = h_quarantined};
        st_lua_t *lua = NULL;
        rc = st_lua_open(&lua, &lc, err, errlen);
        if (rc == 0) in->be = &lua_backend, in->impl = lua;
    } else {
        st_plugin_t *plugin = NULL;
        rc = st_plugin_open(&plugin, sc->name, sc->path, err, errlen);
        if (rc == 0) in->be = &plugin_backend, in->impl = plugin;
    }
    if (rc == 0) in->fingerprint = fingerprint_of(in, in, sc->path);
    return rc;
}

/* Starts a staged build on trial while the running one (old, or NULL) still runs: init(params),
 * then on_reload(old's state). What it asks of the host is journaled. Returns 0, or the back
 * end's negative error with the reason (the strategy's file:line and traceback for Lua) in why. */
static int inst_trial(inst_t *in, inst_t *old, char *why, size_t whylen)
{
    in->starting = in->started = true;
    const char *step = "init";
    int rc = in->be->init(in);
    if (rc >= 0 && old && old->be == in->be) { /* a new kind starts afresh */
        step = "on_reload";
        rc = in->be->on_reload(in->impl, old->impl);
    }
    in->starting = false;
    if (rc >= 0) return 0;
    in->started = false; /* it did not start: no shutdown for it */
    in->be->failure(in->impl, step, why, whylen);
    journal_free(in);
    return rc;
}

/* --- the set of strategies ------------------------------------------------------------------ */

st_strats_t *st_strats_create(const st_strats_env_t *env)
{
    st_strats_t *h = st_xcalloc(1, sizeof(*h));
    h->env = *env;
    return h;
}

static strat_t *find(const st_strats_t *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->recs[i]->name, name)) return h->recs[i];
    return NULL;
}

static void rec_free(strat_t *r)
{
    if (r->cur) r->cur->live = false; /* its shutdown may not change demands any more */
    inst_free(r->cur);
    inst_free(r->staged);
    free(r->watched);
    free(r->fail_reason);
    free(r->name);
    free(r);
}

/* A strategy leaves: everything it held is released, then its code shuts down (its host calls
 * refused by then). */
static void rec_remove(strat_t *r)
{
    st_log_info(HOST, "%s: stopped (removed from the config)", r->name);
    release(r);
    rec_free(r);
}

void st_strats_abort(st_strats_t *h)
{
    for (size_t i = 0; i < h->n; i++) {
        inst_free(h->recs[i]->staged);
        h->recs[i]->staged = NULL;
    }
    for (size_t i = 0; i < h->nfresh; i++) rec_free(h->fresh[i]);
    h->nfresh = 0;
}

int st_strats_stage(st_strats_t *h, const st_config_t *cfg, st_diags_t *d)
{
    st_strats_abort(h);
    size_t errors = d->n;
    for (size_t i = 0; i < h->n; i++) h->recs[i]->keep = false;
    for (size_t i = 0; i < cfg->strategies.n; i++) {
        const st_strategy_cfg_t *sc = ST_LIST_AT(cfg->strategies, st_strategy_cfg_t, i);
        if (!sc->enabled) continue;
        strat_t *r = find(h, sc->name);
        if (!r) {
            r = st_xcalloc(1, sizeof(*r));
            r->h = h;
            r->name = st_xstrdup(sc->name);
            r->req = -ENOENT;
            h->fresh = st_xrealloc(h->fresh, (h->nfresh + 1) * sizeof(*h->fresh));
            h->fresh[h->nfresh++] = r;
        }
        r->keep = true;
        r->next_weight = sc->weight;
        r->next_all = sc->all_symbols;
        inst_t *in = inst_new(r, sc);
        in->index = (int)i;
        /* Unchanged (same kind, path, params and file contents): keeps running as it is. */
        uint64_t fp = r->cur && r->cur->kind == sc->kind ? fingerprint_of(in, r->cur, sc->path) : 0;
        if (fp && fp == r->cur->fingerprint) {
            inst_free(in);
            continue;
        }
        char err[1536] = "";
        if (inst_compile(in, sc, err, sizeof(err)) != 0) {
            st_diags_add(d, sc->mark.file, sc->mark.line, sc->mark.col, "strategies[%zu] \"%s\": %s", i, sc->name,
                         err);
            inst_free(in);
            continue;
        }
        r->staged = in;
        size_t nw = 0;
        const char *const *w = in->be->warnings ? in->be->warnings(in->impl, &nw) : NULL;
        for (size_t k = 0; k < nw; k++) {
            if (h->env.warn) h->env.warn(h->env.ctx, w[k]);
            else st_log_warn(HOST, "%s: %s", sc->name, w[k]);
        }
    }
    if (d->n > errors) {
        st_strats_abort(h);
        return ST_ECONFIG;
    }
    return 0;
}

static void apply_settings(strat_t *r)
{
    st_strats_t *h = r->h;
    if (r->req < 0 || r->weight != r->next_weight) {
        r->req = st_planner_requester(h->env.planner, r->name, r->next_weight);
        if (r->req < 0) st_log_error(HOST, "%s: the planner has no room for another requester; its demands are refused", r->name);
        r->weight = r->next_weight;
    }
    if (r->all_symbols != r->next_all || !r->cur) {
        sub_remove(&h->all, r);
        if (r->next_all) sub_add(&h->all, r);
        r->all_symbols = r->next_all;
    }
}

/* The staged build, started on trial, replaces the running one: the old code's timers stop,
 * it shuts down and goes (its plugin handle is closed last), then the new build is live and
 * what it asked for while starting happens. */
static void swap(strat_t *r)
{
    inst_t *old = r->cur, *neu = r->staged;
    r->staged = NULL;
    stop_timers(r);
    if (r->quarantined) { /* new code, a new chance: a quarantined one holds nothing now */
        r->quarantined = false;
        free(r->fail_reason);
        r->fail_reason = NULL;
        sub_remove(&r->h->all, r);
        if (r->all_symbols) sub_add(&r->h->all, r);
    }
    if (old) old->live = false;
    inst_free(old);
    r->cur = neu;
    neu->live = true;
    /* The new build's demands are what it asked for while starting, as after a fresh start:
     * what the old build held and the new one did not ask for again is released; what it asks
     * for again does not move the plan. */
    for (size_t sym = 0; sym < r->watched_cap; sym++) {
        if (!(r->watched[sym] & WATCHED)) continue;
        bool again = false;
        for (size_t i = 0; i < neu->njournal && !again; i++)
            again = neu->journal[i].op == J_DEMAND && neu->journal[i].sym == (st_sym_t)sym;
        if (!again) demand_sym(r, (st_sym_t)sym, ST_PRIO_NONE);
    }
    journal_apply(neu);
    r->reloads++;
}

/* A build that did not start at start-up: the strategy is kept by name, failed, never called;
 * a reload with new code tries again. */
static void fail(strat_t *r, const char *why)
{
    st_log_error(HOST, "%s: did not start: %s", r->name, why);
    inst_free(r->cur);
    r->cur = r->staged;
    r->staged = NULL;
    r->quarantined = true;
    free(r->fail_reason);
    r->fail_reason = st_xstrdup(why);
}

int st_strats_start(st_strats_t *h, bool all_or_nothing, st_diags_t *d)
{
    size_t nfailed = 0;
    char why[2400];
    for (size_t k = 0; k < h->n + h->nfresh; k++) {
        strat_t *r = k < h->n ? h->recs[k] : h->fresh[k - h->n];
        if (!r->keep || !r->staged || r->staged->started) continue;
        if (inst_trial(r->staged, r->fail_reason ? NULL : r->cur, why, sizeof(why)) == 0) continue;
        nfailed++;
        if (all_or_nothing) {
            const st_mark_t *m = &r->staged->mark;
            st_diags_add(d, m->file, m->line, m->col, "strategies[%d] \"%s\": %s", r->staged->index, r->name, why);
        } else {
            fail(r, why);
        }
    }
    if (nfailed && all_or_nothing) {
        st_strats_abort(h);
        return ST_ECONFIG;
    }
    return 0;
}

int st_strats_commit(st_strats_t *h)
{
    st_strats_start(h, false, NULL); /* what was not started on trial yet (start-up) */
    int started = 0;
    size_t k = 0;
    for (size_t i = 0; i < h->n; i++) {
        strat_t *r = h->recs[i];
        if (!r->keep) {
            rec_remove(r);
            continue;
        }
        h->recs[k++] = r;
    }
    h->n = k;
    for (size_t i = 0; i < h->n; i++) {
        strat_t *r = h->recs[i];
        apply_settings(r);
        if (r->staged && r->staged->started) {
            st_log_info(HOST, "%s: new code swapped in", r->name);
            swap(r);
            started++;
        }
    }
    h->recs = st_xrealloc(h->recs, (h->n + h->nfresh) * sizeof(*h->recs));
    for (size_t i = 0; i < h->nfresh; i++) {
        strat_t *r = h->fresh[i];
        h->recs[h->n++] = r;
        apply_settings(r);
        if (r->fail_reason) continue;
        st_log_info(HOST, "%s: started", r->name);
        swap(r);
        started++;
    }
    h->nfresh = 0;
    dirty(h);
    return started;
}

void st_strats_destroy(st_strats_t *h)
{
    if (!h) return;
    st_strats_abort(h);
    for (size_t i = 0; i < h->n; i++) {
        stop_timers(h->recs[i]);
        rec_free(h->recs[i]);
    }
    for (size_t i = 0; i < h->nsubs; i++) free(h->subs[i].v);
    free(h->subs);
    free(h->all.v);
    free(h->recs);
    free(h->fresh);
    free(h);
}

/* --- dispatch ------------------------------------------------------------------------------- */

static inline void deliver(strat_t *r, const char *code, const st_tick_t *t)
{
    r->ticks++;
    r->cur->be->on_tick(r->cur->impl, code, t);
}

static void deliver_book(strat_t *r, const st_tick_t *t)
{
    if (!r->quarantined && r->cur) deliver(r, st_symtab_code(r->h->env.syms, t->sym), t);
}

void st_strats_tick(st_strats_t *h, const st_tick_t *t)
{
    const char *code = NULL;
    st_sym_t sym = t->sym;
    /* by index: a callback may add to a list (and grow it) while it is walked */
    for (uint32_t i = 0; sym < h->nsubs && i < h->subs[sym].n; i++) {
        strat_t *r = h->subs[sym].v[i];
        if (!r || r->all_symbols) continue; /* it gets every tick below */
        if (!code) code = st_symtab_code(h->env.syms, sym);
        deliver(r, code, t);
    }
    for (uint32_t i = 0; i < h->all.n; i++) {
        strat_t *r = h->all.v[i];
        if (!r || r->quarantined) continue;
        if (!code) code = st_symtab_code(h->env.syms, sym);
        deliver(r, code, t);
    }
}

void st_strats_timeslot(st_strats_t *h, const char *slot)
{
    for (size_t i = 0; i < h->n; i++) {
        strat_t *r = h->recs[i];
        if (r->quarantined || !r->cur) continue;
        r->cur->be->on_timeslot(r->cur->impl, slot);
    }
}

/* --- what is running ------------------------------------------------------------------------ */

size_t st_strats_count(const st_strats_t *h)
{
    return h->n;
}

void st_strats_info(const st_strats_t *h, size_t i, st_strat_info_t *out)
{
    const strat_t *r = h->recs[i];
    memset(out, 0, sizeof(*out));
    out->name = r->name;
    out->kind = r->cur ? r->cur->be->kind : "c";
    out->state = r->fail_reason ? "failed" : r->quarantined ? "quarantined" : "running";
    out->ticks = r->ticks;
    out->signals = r->signals;
    out->emergencies = r->emergencies;
    out->reloads = r->reloads ? r->reloads - 1 : 0;
    out->watched = r->nwatched;
    out->last_error = "";
    if (r->cur && r->cur->be->stats) r->cur->be->stats(r->cur->impl, out);
    if (r->fail_reason) out->last_error = r->fail_reason;
}

struct st_lua *st_strats_lua(const st_strats_t *h, const char *name)
{
    const strat_t *r = find(h, name);
    return r && r->cur && r->cur->be == &lua_backend ? r->cur->impl : NULL;
}

bool st_strats_watching(const st_strats_t *h, const char *name, st_sym_t sym)
{
    const strat_t *r = find(h, name);
    if (!r || sym >= r->watched_cap || !(r->watched[sym] & WATCHED)) return false;
    const sublist_t *l = sym < h->nsubs ? &h->subs[sym] : NULL;
    for (uint32_t i = 0; l && i < l->n; i++)
        if (l->v[i] == r) return true;
    return false; /* marked but not listed: a bug the tests catch */
}

uint64_t st_strats_signals(const st_strats_t *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i < h->n; i++) n += h->recs[i]->signals;
    return n;
}
