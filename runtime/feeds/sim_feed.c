/* The embedded simulated market as a feed (kind: sim). The market evolves for every symbol,
 * watched or not, as an exchange does. The feed honours the plan the way a venue would:
 * - tier 1 (trade + orderbook) and tier 2 (trade) symbols, and index streams, receive every
 *   trade as it happens (one clock timer per subscribed symbol, at its next trade), tier-1
 *   symbols an orderbook after each trade;
 * - tier-3 symbols receive a REST-style snapshot when they enter the tier and then every
 *   polling interval the planner gives them (read at each poll, so a new time slot's scale
 *   applies at once), each counted as one API call;
 * - everything else is advanced silently once a simulated minute, so counters stay real.
 * Registrations are checked against each connection's budget like a venue would. */
#include "feed.h"
#include "simmkt.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUB_NONE  0
#define SUB_TRADE 1
#define SUB_BOOK  2 /* trade + orderbook */

typedef struct sim_feed sim_feed_t;

typedef struct {
    st_timer_t trade, poll;
    sim_feed_t *owner;
    st_sym_t sym;
    uint8_t sub, conn;
    bool polled;
} sim_sub_t;

struct sim_feed {
    st_feed_t base;
    st_simmkt_t *mkt;
    st_timer_t market_timer;
    sim_sub_t *subs; /* by symbol id */
    size_t nsubs;
    st_sym_t *all; /* every instrument */
    size_t nall;
    int nconns, budget;
    int used[ST_PLAN_MAX_CONNS];
    const st_planner_t *plan;
    uint64_t ticks, rest_calls, violations;
    st_time_t call_times[256]; /* ring of the latest REST call times: calls in the last second */
    size_t call_next;
    bool running;
};

/* First poll of a symbol entering tier 3: spread over its interval by a hash of its id, so a
 * whole universe entering at once does not poll in one burst. */
static st_dur_t poll_offset(st_sym_t sym, const st_planner_t *plan)
{
    const st_plan_entry_t *e = plan ? st_planner_entry(plan, sym) : NULL;
    st_dur_t every = e && e->poll > 0 ? e->poll : ST_MIN;
    return (st_dur_t)(((uint64_t)sym * 2654435761u) % (uint64_t)(every / ST_MSEC)) * ST_MSEC;
}

static void deliver(const st_tick_t *t, void *ctx)
{
    sim_sub_t *s = ctx;
    sim_feed_t *sf = s->owner;
    st_tick_t tick = *t;
    tick.feed = sf->base.index;
    tick.recv_time = st_clock_now(sf->base.clock);
    sf->ticks++;
    sf->base.on_tick(&tick, sf->base.tick_ctx);
    if (s->sub == SUB_BOOK) {
        st_tick_t book;
        st_simmkt_book(sf->mkt, s->sym, t->venue_time, &book);
        book.feed = sf->base.index;
        book.recv_time = tick.recv_time;
        sf->ticks++;
        sf->base.on_tick(&book, sf->base.tick_ctx);
    }
}

static void arm_trade(sim_sub_t *s)
{
    st_time_t next = st_simmkt_next_event(s->owner->mkt, s->sym);
    if (next != ST_TIME_NEVER) st_clock_timer_start(s->owner->base.clock, &s->trade, next, 0);
}

static void on_trade(st_timer_t *t, st_time_t now, void *ctx)
{
    sim_sub_t *s = ctx;
    st_simmkt_advance(s->owner->mkt, s->sym, now, deliver, s);
    if (s->sub != SUB_NONE) arm_trade(s);
}

static void on_poll(st_timer_t *t, st_time_t now, void *ctx)
{
    sim_sub_t *s = ctx;
    sim_feed_t *sf = s->owner;
    st_tick_t snap;
    st_simmkt_snapshot(sf->mkt, s->sym, now, &snap);
    snap.feed = sf->base.index;
    snap.recv_time = now;
    sf->rest_calls++;
    sf->call_times[sf->call_next++ % ST_ARRAY_SIZE(sf->call_times)] = now;
    sf->ticks++;
    sf->base.on_tick(&snap, sf->base.tick_ctx);
    const st_plan_entry_t *e = sf->plan ? st_planner_entry(sf->plan, s->sym) : NULL;
    if (e && e->tier == ST_TIER_POLL && e->poll > 0)
        st_clock_timer_start(sf->base.clock, &s->poll, now + e->poll, 0);
}

static void on_market_timer(st_timer_t *t, st_time_t now, void *ctx)
{
    sim_feed_t *sf = ctx;
    for (size_t i = 0; i < sf->nall; i++)
        if (sf->subs[sf->all[i]].sub == SUB_NONE) st_simmkt_advance(sf->mkt, sf->all[i], now, NULL, NULL);
}

static int sim_apply(st_feed_t *f, const st_plan_change_t *ch, size_t n, int conn_base,
                     const st_planner_t *plan)
{
    sim_feed_t *sf = (sim_feed_t *)f;
    st_time_t now = st_clock_now(f->clock);
    int rc = 0;
    sf->plan = plan;
    for (size_t i = 0; i < n; i++) {
        const st_plan_change_t *c = &ch[i];
        if ((size_t)c->sym >= sf->nsubs) continue;
        sim_sub_t *s = &sf->subs[c->sym];
        if (s->sub != SUB_NONE) { /* unregister */
            sf->used[s->conn] -= s->sub == SUB_BOOK ? 2 : 1;
            s->sub = SUB_NONE;
            st_clock_timer_stop(f->clock, &s->trade);
        }
        if (c->to_tier == ST_TIER_REALTIME || c->to_tier == ST_TIER_SEMI) {
            int conn = c->to_conn - conn_base;
            int cost = c->to_tier == ST_TIER_REALTIME ? 2 : 1;
            if (conn < 0 || conn >= sf->nconns || sf->used[conn] + cost > sf->budget) {
                sf->violations++;
                st_log_error(FEED, "%s: registration of symbol %u refused: connection %d would hold %d of %d",
                             f->name, c->sym, conn, conn >= 0 && conn < sf->nconns ? sf->used[conn] + cost : -1,
                             sf->budget);
                rc = -ENOSPC;
                continue;
            }
            /* What happened before the subscription is history: catch up silently. */
            st_simmkt_advance(sf->mkt, c->sym, now, NULL, NULL);
            s->sub = c->to_tier == ST_TIER_REALTIME ? SUB_BOOK : SUB_TRADE;
            s->conn = (uint8_t)conn;
            sf->used[conn] += cost;
            st_clock_timer_stop(f->clock, &s->poll);
            if (sf->running) arm_trade(s);
        } else if (c->to_tier == ST_TIER_POLL) {
            if (sf->running && !st_timer_active(&s->poll))
                st_clock_timer_start(f->clock, &s->poll, now + poll_offset(c->sym, plan), 0);
        } else {
            st_clock_timer_stop(f->clock, &s->poll);
        }
    }
    return rc;
}

static int sim_start(st_feed_t *f)
{
    sim_feed_t *sf = (sim_feed_t *)f;
    st_time_t now = st_clock_now(f->clock);
    st_time_t first = (now / ST_MIN + 1) * ST_MIN;
    st_clock_timer_start(f->clock, &sf->market_timer, first, ST_MIN);
    sf->running = true;
    for (size_t i = 0; i < sf->nsubs; i++) { /* a plan applied before the start */
        sim_sub_t *s = &sf->subs[i];
        if (s->sub != SUB_NONE) arm_trade(s);
        const st_plan_entry_t *e = sf->plan ? st_planner_entry(sf->plan, (st_sym_t)i) : NULL;
        if (s->sub == SUB_NONE && e && e->tier == ST_TIER_POLL)
            st_clock_timer_start(f->clock, &s->poll, now + poll_offset((st_sym_t)i, sf->plan), 0);
    }
    st_log_info(FEED, "%s: simulated market started", f->name);
    return 0;
}

static void sim_stop(st_feed_t *f)
{
    sim_feed_t *sf = (sim_feed_t *)f;
    if (!sf->running) return;
    st_clock_timer_stop(f->clock, &sf->market_timer);
    for (size_t i = 0; i < sf->nsubs; i++) {
        st_clock_timer_stop(f->clock, &sf->subs[i].trade);
        st_clock_timer_stop(f->clock, &sf->subs[i].poll);
    }
    st_simmkt_advance_all(sf->mkt, st_clock_now(f->clock));
    sf->running = false;
}

static void sim_destroy(st_feed_t *f)
{
    sim_feed_t *sf = (sim_feed_t *)f;
    sim_stop(f);
    st_simmkt_destroy(sf->mkt);
    free(sf->subs);
    free(sf->all);
    free(f->name);
    free(sf);
}

static void sim_stats(const st_feed_t *f, st_feed_stats_t *out)
{
    const sim_feed_t *sf = (const sim_feed_t *)f;
    st_simmkt_stats_t ms;
    st_simmkt_stats(sf->mkt, &ms);
    memset(out, 0, sizeof(*out));
    out->market_trades = ms.trades;
    out->halts = ms.halts;
    out->bursts = ms.bursts;
    out->shocks = ms.shocks;
    out->ticks_delivered = sf->ticks;
    out->ws_budget = (int64_t)sf->budget * sf->nconns;
    for (int c = 0; c < sf->nconns; c++) out->ws_used += sf->used[c];
    out->rest_calls = out->rest_ok = sf->rest_calls;
    st_time_t now = st_clock_now(f->clock);
    for (size_t i = 0; i < ST_ARRAY_SIZE(sf->call_times) && i < sf->call_next; i++)
        out->rest_last_second += sf->call_times[i] > now - ST_SEC;
    out->violations = sf->violations;
}

static void sim_sync(st_feed_t *f, st_time_t now)
{
    /* Events stamped exactly `now` belong to what starts now (a slot opening at 09:00 owns the
     * 09:00:00 opening prints), so sync stops just short of it. Subscribed symbols are kept
     * current by their own timers. */
    sim_feed_t *sf = (sim_feed_t *)f;
    for (size_t i = 0; i < sf->nall; i++)
        if (sf->subs[sf->all[i]].sub == SUB_NONE) st_simmkt_advance(sf->mkt, sf->all[i], now - 1, NULL, NULL);
}

static const st_feed_vtable_t sim_vtable = {"sim", sim_start, sim_stop, sim_destroy, sim_stats,
                                            sim_sync, sim_apply};

int st_sim_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out,
                       char *err, size_t errlen)
{
    const st_session_cfg_t *ss = &env->cfg->market.session;
    st_time_t now = st_clock_now(env->clock);
    time_t secs = (time_t)(now / ST_SEC);
    struct tm tm;
    localtime_r(&secs, &tm);
    st_simmkt_params_t p = {
        .seed = (uint64_t)fc->seed,
        .activity = fc->activity,
        .volatility = fc->volatility,
        .halt_rate = fc->halt_rate,
        .pre_open = ss->pre_open,
        .open = ss->open,
        .closing_auction = ss->closing_auction,
        .close = ss->close,
        .utc_offset = (int32_t)tm.tm_gmtoff,
    };
    if (fc->connections > ST_PLAN_MAX_CONNS) {
        snprintf(err, errlen, "feed \"%s\": at most %d connections", fc->name, ST_PLAN_MAX_CONNS);
        return -EINVAL;
    }
    sim_feed_t *sf = st_xcalloc(1, sizeof(*sf));
    sf->base.vt = &sim_vtable;
    sf->mkt = st_simmkt_create(&p, env->universe, now);
    sf->nconns = (int)fc->connections;
    sf->budget = (int)fc->budget;
    sf->nsubs = env->universe->by_sym_len;
    sf->subs = st_xcalloc(sf->nsubs ? sf->nsubs : 1, sizeof(*sf->subs));
    for (size_t i = 0; i < sf->nsubs; i++) {
        sim_sub_t *s = &sf->subs[i];
        s->owner = sf;
        s->sym = (st_sym_t)i;
        st_timer_init(&s->trade, on_trade, s);
        st_timer_init(&s->poll, on_poll, s);
    }
    sf->nall = env->universe->n;
    sf->all = st_xmalloc((sf->nall ? sf->nall : 1) * sizeof(st_sym_t));
    for (size_t i = 0; i < sf->nall; i++) sf->all[i] = env->universe->items[i].sym;
    st_timer_init(&sf->market_timer, on_market_timer, sf);
    *out = &sf->base;
    return 0;
}

struct st_simmkt *st_sim_feed_market(st_feed_t *f)
{
    return f->vt == &sim_vtable ? ((sim_feed_t *)f)->mkt : NULL;
}
