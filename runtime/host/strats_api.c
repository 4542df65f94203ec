/* The host's side of the strategy API: the functions of strata_host_t, called by C plugins and by
 * the Lua binding with the build (strata_ctx_t) that asks. A build starting on trial has what it
 * asks journaled (applied when the reload commits); a quarantined or retired one is refused. */
#include "strats_int.h"
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void st_strats_journal_free(inst_t *in)
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

void st_strats_dirty(st_strats_t *h)
{
    if (h->env.plan_dirty) h->env.plan_dirty(h->env.ctx);
}

int st_strats_demand(strat_t *r, st_sym_t sym, int prio)
{
    if (r->req < 0) return r->req;
    int rc = st_planner_demand(r->h->env.planner, r->req, sym, prio);
    if (rc) return rc;
    if (prio == ST_PRIO_NONE) st_strats_unwatch_sym(r, sym);
    else st_strats_watch_sym(r, sym);
    st_strats_dirty(r->h);
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
    return st_strats_demand(r, sym, prio);
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
        st_strats_watch_sym(r, sym);
        r->emergencies++;
    }
    st_strats_dirty(r->h);
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
    if (e->signal) e->signal(e->ctx, r->name, r->cur ? r->cur->fingerprint : 0, sym, side, strength, reason);
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
void st_strats_journal_apply(inst_t *in)
{
    strat_t *r = in->rec;
    for (size_t i = 0; i < in->njournal; i++) {
        const jop_t *j = &in->journal[i];
        int rc = 0;
        switch (j->op) {
        case J_DEMAND: rc = st_strats_demand(r, j->sym, j->prio); break;
        case J_SCORE: rc = st_planner_score(r->h->env.planner, j->sym, j->v); break;
        case J_EVERY: rc = every_named(r, j->interval, j->a); break;
        case J_SIGNAL: signal_sym(r, j->sym, j->a, j->v, j->b); break;
        }
        if (rc < 0) st_log_warn(HOST, "%s: a request made while starting failed: %s", r->name, st_strerror(rc));
    }
    st_strats_journal_free(in);
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
    st_strats_mark(r, sym, BOOK_ASKED);
    return STRATA_PENDING;
}

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
        if (book) st_strats_deliver_book(r, book);
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

static int h_symbol(inst_t *ctx, const char *code, strata_symbol_t *out)
{
    if (!out || out->size < sizeof(out->size)) return -EINVAL;
    const st_strats_env_t *env = &ctx->rec->h->env;
    st_sym_t sym = lookup(ctx->rec, code);
    const st_plan_entry_t *e = st_planner_entry(env->planner, sym);
    if (!e) return -ENOENT;
    const st_sv_sym_t *v = env->view ? st_symview_get(env->view, sym) : NULL;
    strata_symbol_t s = {.size = out->size, .tier = e->tier, .prio = e->prio < ST_PRIO_COUNT ? e->prio : -1,
                         .poll_interval_us = e->tier == ST_TIER_POLL ? e->poll : 0, .staleness_us = -1};
    s.flags = (e->flags & ST_PLAN_PINNED ? STRATA_SYMBOL_PINNED : 0) | (e->flags & ST_PLAN_EMERGENCY ? STRATA_SYMBOL_EMERGENCY : 0) |
              (e->flags & ST_PLAN_EXCLUDED ? STRATA_SYMBOL_EXCLUDED : 0) | (e->flags & ST_PLAN_INDEX ? STRATA_SYMBOL_INDEX : 0);
    if (v && v->last_tick) {
        s.last_tick = v->last_tick;
        s.staleness_us = st_clock_now(env->clock) - v->last_tick;
        s.last_price = v->last_price;
    }
    memcpy(out, &s, ST_MIN2((size_t)out->size, sizeof(s)));
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

void st_strats_stop_timers(strat_t *r)
{
    for (int i = 0; i < r->ntimers; i++) {
        st_clock_timer_stop(r->h->env.clock, &r->timers[i]->t);
        free(r->timers[i]);
    }
    r->ntimers = 0;
}

/* Everything the strategy holds goes: demands, emergencies, subscriber lists, timers. */
void st_strats_release(strat_t *r)
{
    st_strats_t *h = r->h;
    if (r->req >= 0) st_planner_release(h->env.planner, r->req);
    for (size_t s = 0; s < r->watched_cap; s++) st_strats_unwatch_sym(r, (st_sym_t)s);
    st_strats_sub_remove(&h->all, r);
    st_strats_stop_timers(r);
    st_strats_dirty(h);
}

void st_strats_quarantined(inst_t *ctx, const char *why)
{
    if (!ctx->live || ctx->rec->quarantined) return;
    ctx->rec->quarantined = true;
    st_strats_release(ctx->rec);
}

/* The host's table: the C plugins' ABI, and what the Lua binding calls too. */
const strata_host_t st_strats_host = {
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
    .symbol = h_symbol,
};
