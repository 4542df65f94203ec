/* The Upbit WebSocket feed (kind: upbit): tiers 1 and 2 for KRW crypto markets.
 *
 * One or more sessions (wsconn.c) to wss://api.upbit.com/websocket/v1 (ws:// for loopback),
 * each with its own ledger, coalescer and limiter (5 requests per second, 100 per minute).
 * Upbit has no register/unregister: each request replaces the whole set, so the coalescer
 * (Upbit mode) sends the latest desired set as one message, new codes with a snapshot, codes
 * already streaming with is_only_realtime. A key counts as held from its first data. Tier 1 is
 * trade + orderbook, tier 2 trade.
 * Frames are JSON in text or binary frames, DEFAULT or SIMPLE naming (upbit_codec.c). A `PING`
 * text goes out every keepalive interval so the venue's 120 s idle close never comes; its
 * {"status":"UP"} answer counts as life. Error objects are logged with the venue's name and
 * message; TOO_MANY_REQUEST slows the limiter down. */
#include "feed.h"
#include "upbit_codec.h"
#include "wsconn.h"
#include "core/log.h"
#include "subs/coalescer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEPALIVE (60 * ST_SEC) /* Upbit closes a connection idle for 120 s */
#define WARN_EVERY ST_MIN

typedef struct upbit_feed upbit_feed_t;

typedef struct {
    st_wsconn_t ws;
    upbit_feed_t *owner;
    st_coalescer_t co;
    st_limiter_t lim;
    st_timer_t flush, keepalive;
} up_conn_t;

struct upbit_feed {
    st_feed_t base;
    struct lws_context *ctx;
    char url[512], host[256], path[256];
    const st_symtab_t *syms;
    size_t nsyms;
    uint8_t *known; /* by symbol id; 2 = not in the universe */
    up_conn_t *conns;
    int nconns, budget;
    uint64_t ticks, malformed, unknown, errors, pings;
    st_time_t warned_malformed;
    bool running;
};

static st_time_t now_of(upbit_feed_t *uf)
{
    return st_clock_now(uf->base.clock);
}

/* --- the subscription path ----------------------------------------------------------------- */

static void arm_flush(up_conn_t *c)
{
    st_clock_t *clk = c->owner->base.clock;
    st_time_t due = st_wsconn_open(&c->ws) ? st_coalescer_due(&c->co, st_clock_now(clk)) : ST_TIME_NEVER;
    if (due == ST_TIME_NEVER)
        st_clock_timer_stop(clk, &c->flush);
    else if (!st_timer_active(&c->flush) || c->flush.at != due)
        st_clock_timer_start(clk, &c->flush, due, 0);
}

static void on_flush(st_timer_t *t, st_time_t deadline, void *ctx)
{
    up_conn_t *c = ctx;
    st_coalescer_flush(&c->co, now_of(c->owner)); /* the time messages really leave */
    arm_flush(c);
}

static int co_send(void *ctx, const char *msg, size_t len)
{
    up_conn_t *c = ctx;
    return st_wsconn_send(&c->ws, msg, len, false);
}

static const char *co_code(void *ctx, st_sym_t sym)
{
    up_conn_t *c = ctx;
    return st_symtab_code(c->owner->syms, sym);
}

/* --- the session --------------------------------------------------------------------------- */

static void on_keepalive(st_timer_t *t, st_time_t now, void *ctx)
{
    up_conn_t *c = ctx;
    if (st_wsconn_send(&c->ws, "PING", 4, false) == 0) c->owner->pings++;
}

static void on_open(st_wsconn_t *w, void *ctx)
{
    up_conn_t *c = ctx;
    upbit_feed_t *uf = c->owner;
    st_time_t now = now_of(uf);
    st_log_info(FEED, "%s: session %d: subscribing %d keys", uf->base.name, w->index, c->co.ledger.desired);
    st_coalescer_reset(&c->co, now); /* the whole desired set in the next message */
    arm_flush(c);
    st_clock_timer_start(uf->base.clock, &c->keepalive, now + KEEPALIVE, KEEPALIVE);
}

static void on_closed(st_wsconn_t *w, void *ctx)
{
    up_conn_t *c = ctx;
    st_clock_timer_stop(c->owner->base.clock, &c->flush);
    st_clock_timer_stop(c->owner->base.clock, &c->keepalive);
    st_coalescer_reset(&c->co, now_of(c->owner)); /* nothing streams any more */
}

static bool subscribed(st_wsconn_t *w, void *ctx)
{
    up_conn_t *c = ctx;
    return c->co.ledger.confirmed > 0;
}

static void on_message(st_wsconn_t *w, const char *buf, size_t len, void *ctx)
{
    up_conn_t *c = ctx;
    upbit_feed_t *uf = c->owner;
    st_time_t now = now_of(uf);
    st_up_msg_t m;
    if (st_up_decode(buf, len, &m) != 0) {
        uf->malformed++;
        if (!uf->warned_malformed || now - uf->warned_malformed >= WARN_EVERY) {
            uf->warned_malformed = now;
            st_log_warn(FEED, "%s: dropped a malformed message (%llu so far): %.60s", uf->base.name,
                        (unsigned long long)uf->malformed, buf);
        }
        return;
    }
    switch (m.kind) {
    case ST_UP_STATUS:
        st_wsconn_alive(w);
        return;
    case ST_UP_ERROR:
        uf->errors++;
        st_log_error(FEED, "%s: session %d: the venue answered %s: %s (%d codes wanted)", uf->base.name, w->index,
                     m.error_name, m.error_message, c->co.ledger.desired);
        if (strcmp(m.error_name, "TOO_MANY_REQUEST") == 0) st_limiter_rate_error(&c->lim, now);
        return;
    case ST_UP_TICKER:
    case ST_UP_TRADE:
    case ST_UP_ORDERBOOK:
        break;
    default:
        return;
    }
    st_sym_t sym = st_symtab_find(uf->syms, m.code, strlen(m.code));
    if (sym == ST_SYM_NONE || (size_t)sym >= uf->nsyms || uf->known[sym] == 2) {
        uf->unknown++;
        return;
    }
    st_wsconn_alive(w);
    st_channel_t ch = m.kind == ST_UP_TRADE ? ST_CH_TRADE : m.kind == ST_UP_ORDERBOOK ? ST_CH_BOOK : ST_CH_TICKER;
    st_key_t key = ST_KEY(sym, ch);
    if (st_ledger_state(&c->co.ledger, key) & ST_LK_SUBBING) { /* the first data is the answer */
        st_coalescer_ack(&c->co, key, ST_ACK_SUBSCRIBED, now);
        arm_flush(c);
    }
    m.tick.sym = sym;
    m.tick.feed = uf->base.index;
    m.tick.recv_time = now;
    uf->ticks++;
    uf->base.on_tick(&m.tick, uf->base.tick_ctx);
}

/* --- the feed interface ---------------------------------------------------------------------- */

static void want_tier(upbit_feed_t *uf, int conn, st_sym_t sym, uint8_t tier, bool on, st_time_t now)
{
    if (conn < 0 || conn >= uf->nconns || (tier != ST_TIER_REALTIME && tier != ST_TIER_SEMI)) return;
    st_coalescer_t *co = &uf->conns[conn].co;
    st_coalescer_want(co, ST_KEY(sym, ST_CH_TRADE), on, now);
    if (tier == ST_TIER_REALTIME) st_coalescer_want(co, ST_KEY(sym, ST_CH_BOOK), on, now);
}

static int up_apply(st_feed_t *f, const st_plan_change_t *ch, size_t n, int conn_base, const st_planner_t *plan)
{
    upbit_feed_t *uf = (upbit_feed_t *)f;
    st_time_t now = now_of(uf);
    for (size_t i = 0; i < n; i++) {
        const st_plan_change_t *c = &ch[i];
        if ((size_t)c->sym >= uf->nsyms || uf->known[c->sym] == 2) continue;
        want_tier(uf, c->from_conn == 0xFF ? -1 : c->from_conn - conn_base, c->sym, c->from_tier, false, now);
        want_tier(uf, c->to_conn == 0xFF ? -1 : c->to_conn - conn_base, c->sym, c->to_tier, true, now);
    }
    for (int k = 0; k < uf->nconns; k++) arm_flush(&uf->conns[k]);
    return 0;
}

static int up_start(st_feed_t *f)
{
    upbit_feed_t *uf = (upbit_feed_t *)f;
    uf->running = true;
    st_log_info(FEED, "%s: Upbit feed starting: %d session%s, %s", f->name, uf->nconns, uf->nconns == 1 ? "" : "s",
                uf->url);
    for (int k = 0; k < uf->nconns; k++) st_wsconn_start(&uf->conns[k].ws);
    return 0;
}

static void up_stop(st_feed_t *f)
{
    upbit_feed_t *uf = (upbit_feed_t *)f;
    if (!uf->running) return;
    uf->running = false;
    for (int k = 0; k < uf->nconns; k++) {
        st_clock_timer_stop(f->clock, &uf->conns[k].flush);
        st_clock_timer_stop(f->clock, &uf->conns[k].keepalive);
        st_wsconn_stop(&uf->conns[k].ws);
    }
}

static void up_destroy(st_feed_t *f)
{
    upbit_feed_t *uf = (upbit_feed_t *)f;
    up_stop(f);
    st_ws_context_destroy(uf->ctx);
    for (int k = 0; k < uf->nconns; k++) {
        up_conn_t *c = &uf->conns[k];
        st_clock_timer_stop(f->clock, &c->keepalive); /* a close during destroy may not restart it, but be sure */
        st_wsconn_free(&c->ws);
        st_coalescer_free(&c->co);
        st_limiter_free(&c->lim);
    }
    free(uf->conns);
    free(uf->known);
    free(f->name);
    free(uf);
}

static void up_stats(const st_feed_t *f, st_feed_stats_t *out)
{
    const upbit_feed_t *uf = (const upbit_feed_t *)f;
    memset(out, 0, sizeof(*out));
    out->ticks_delivered = uf->ticks;
    out->malformed = uf->malformed;
    out->venue_errors = uf->errors;
    out->ws_budget = (int64_t)uf->budget * uf->nconns;
    out->penalty = 1.0;
    out->sessions = uf->nconns;
    st_time_t now = st_clock_now(f->clock);
    for (int k = 0; k < uf->nconns; k++) {
        up_conn_t *c = &uf->conns[k];
        out->reconnects += c->ws.drops;
        out->stalls += c->ws.stalls;
        out->sessions_open += st_wsconn_open(&c->ws);
        st_feed_stats_add_coalescer(out, &c->co, &c->lim, now);
    }
}

static const st_feed_vtable_t upbit_vtable = {"upbit", up_start, up_stop, up_destroy, up_stats, NULL, up_apply};

int st_upbit_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out, char *err,
                         size_t errlen)
{
    if (fc->connections > ST_PLAN_MAX_CONNS) {
        snprintf(err, errlen, "feed \"%s\": at most %d connections", fc->name, ST_PLAN_MAX_CONNS);
        return -EINVAL;
    }
    upbit_feed_t *uf = st_xcalloc(1, sizeof(*uf));
    uf->base.vt = &upbit_vtable;
    int port;
    bool tls;
    if (st_ws_url_parse(fc->ws_url, uf->host, sizeof(uf->host), &port, uf->path, sizeof(uf->path), &tls)) {
        snprintf(err, errlen, "feed \"%s\": cannot parse ws_url \"%s\"", fc->name, fc->ws_url);
        free(uf);
        return -EINVAL;
    }
    uf->ctx = st_ws_context_create(env->clock->loop, tls);
    if (!uf->ctx) {
        snprintf(err, errlen, "feed \"%s\": cannot create the WebSocket context", fc->name);
        free(uf);
        return -ENOMEM;
    }
    snprintf(uf->url, sizeof(uf->url), "%s", fc->ws_url);
    uf->syms = env->syms;
    uf->nconns = (int)fc->connections;
    uf->budget = (int)fc->budget;
    uf->known = st_feed_index_map(env->universe, &uf->nsyms);

    st_rl_tuning_t tune;
    st_rl_mode_tuning((st_rl_mode_t)fc->limiter, &tune);
    st_window_t win[2] = {{(int)fc->ws_rate, ST_SEC}, {(int)fc->ws_rate_minute, ST_MIN}};
    uf->conns = st_xcalloc((size_t)uf->nconns, sizeof(*uf->conns));
    for (int k = 0; k < uf->nconns; k++) {
        up_conn_t *c = &uf->conns[k];
        c->owner = uf;
        st_limiter_init(&c->lim, win, fc->ws_rate_minute > 0 ? 2 : 1, &tune);
        st_coalescer_io_t io = {co_send, co_code, NULL, c};
        st_coalescer_init(&c->co, ST_VENUE_UPBIT, uf->nsyms, uf->budget, &c->lim, fc->debounce, &io);
        snprintf(c->co.ticket, sizeof(c->co.ticket), "strata-%s-%d", fc->name, k);
        st_timer_init(&c->flush, on_flush, c);
        st_timer_init(&c->keepalive, on_keepalive, c);
        st_feed_wsconn_setup(&c->ws, fc, k, uf->ctx, uf->host, uf->path, port, tls, env->clock);
        c->ws.cb = (st_wsconn_cbs_t){NULL, on_open, on_message, on_closed, subscribed};
        c->ws.cb_ctx = c;
        st_wsconn_init(&c->ws);
    }
    *out = &uf->base;
    return 0;
}
