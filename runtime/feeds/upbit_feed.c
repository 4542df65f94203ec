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
 * message; TOO_MANY_REQUEST slows the limiter down.
 *
 * Tier 3: GET /v1/ticker?markets=A,B,… (up to 100 markets a call) through restpoll.h, paced by
 * the ticker group's 10 calls a second; Remaining-Req narrows the limiter, HTTP 429 slows it,
 * HTTP 418 stops every call until the ban ends (Retry-After, else a minute). */
#include "feed.h"
#include "upbit_codec.h"
#include "rest_codec.h"
#include "restpoll.h"
#include "subconn.h"
#include "core/http.h"
#include "core/log.h"
#include "subs/coalescer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEPALIVE (60 * ST_SEC) /* Upbit closes a connection idle for 120 s */

typedef struct upbit_feed upbit_feed_t;

typedef struct {
    st_subconn_t sc;
    upbit_feed_t *owner;
    st_timer_t keepalive;
} up_conn_t;

struct upbit_feed {
    st_feed_t base;
    struct lws_context *ctx;
    char url[512], host[256], path[256];
    const st_symtab_t *syms;
    size_t nsyms;
    uint8_t *known; /* by symbol id: st_feed_sym_kind_t */
    up_conn_t *conns;
    st_coalescer_t **cos; /* conns[k].sc.co, for st_feed_apply_subs */
    int nconns, budget;
    st_http_t *http;
    st_restpoll_t *rest; /* tier 3 */
    st_bookcache_t *books; /* orderbooks on demand */
    char *rest_url;
    st_dur_t default_poll, fallback_poll;
    uint8_t *fallback; /* by symbol: 1 + the session whose outage has it polled, 0 = none */
    uint64_t malformed, errors, violations; /* violations: what the venue said was too much */
    st_time_t warned_malformed;
    bool running;
};

static st_time_t now_of(upbit_feed_t *uf)
{
    return st_clock_now(uf->base.clock);
}

/* --- the session --------------------------------------------------------------------------- */

static void on_keepalive(st_timer_t *t, st_time_t now, void *ctx)
{
    up_conn_t *c = ctx;
    st_wsconn_send(&c->sc.ws, "PING", 4, false);
}

/* While a session is down its tier 1-2 markets are polled by REST (see feed.h). */
static void fallback_sync(upbit_feed_t *uf, up_conn_t *c)
{
    st_feed_fallback_sync(uf->rest, &c->sc.co.ledger, st_wsconn_down(&c->sc.ws), (uint8_t)(c->sc.ws.index + 1),
                          uf->fallback, uf->nsyms, uf->fallback_poll);
}

static void on_open(st_wsconn_t *w, void *ctx)
{
    up_conn_t *c = ctx;
    upbit_feed_t *uf = c->owner;
    st_time_t now = now_of(uf);
    st_log_info(FEED, "%s: session %d: subscribing %d keys", uf->base.name, w->index, c->sc.co.ledger.desired);
    st_subconn_opened(&c->sc); /* the whole desired set in the next message */
    st_clock_timer_start(uf->base.clock, &c->keepalive, now + KEEPALIVE, KEEPALIVE);
    fallback_sync(uf, c); /* handed back to the stream */
}

static void on_closed(st_wsconn_t *w, void *ctx)
{
    up_conn_t *c = ctx;
    if (w->peer_close == ST_UPBIT_CLOSE_POLICY) { /* closed for exceeding its limits */
        st_limiter_rate_error(&c->sc.lim, now_of(c->owner));
        c->owner->violations++;
        st_log_error(FEED, "%s: session %d: the venue closed it for a policy violation (1008): slowing down",
                     c->owner->base.name, w->index);
    }
    st_clock_timer_stop(c->owner->base.clock, &c->keepalive);
    st_subconn_closed(&c->sc); /* nothing streams any more */
    fallback_sync(c->owner, c);
}

static bool subscribed(st_wsconn_t *w, void *ctx)
{
    up_conn_t *c = ctx;
    return c->sc.co.ledger.confirmed > 0;
}

static void on_message(st_wsconn_t *w, const char *buf, size_t len, void *ctx)
{
    up_conn_t *c = ctx;
    upbit_feed_t *uf = c->owner;
    st_time_t now = now_of(uf);
    st_upbit_msg_t m;
    if (st_upbit_decode(buf, len, &m) != 0) {
        uf->malformed++;
        if (st_feed_warn_due(&uf->warned_malformed, now))
            st_log_warn(FEED, "%s: dropped a malformed message (%llu so far): %.60s", uf->base.name,
                        (unsigned long long)uf->malformed, buf);
        return;
    }
    switch (m.kind) {
    case ST_UPBIT_STATUS:
        st_wsconn_alive(w);
        return;
    case ST_UPBIT_ERROR:
        uf->errors++;
        st_log_error(FEED, "%s: session %d: the venue answered %s: %s (%d codes wanted)", uf->base.name, w->index,
                     m.error_name, m.error_message, c->sc.co.ledger.desired);
        if (st_upbit_error_is_rate(m.error_name)) { /* by meaning, not by one spelling */
            st_limiter_rate_error(&c->sc.lim, now);
            uf->violations++;
        }
        return;
    case ST_UPBIT_TICKER:
    case ST_UPBIT_TRADE:
    case ST_UPBIT_ORDERBOOK:
        break;
    default:
        return;
    }
    st_sym_t sym = st_feed_sym(uf->syms, uf->known, uf->nsyms, m.code, strlen(m.code));
    if (sym == ST_SYM_NONE) return; /* a market outside the universe */
    st_wsconn_alive(w);
    st_channel_t ch = m.kind == ST_UPBIT_TRADE ? ST_CH_TRADE : m.kind == ST_UPBIT_ORDERBOOK ? ST_CH_BOOK : ST_CH_TICKER;
    st_key_t key = ST_KEY(sym, ch);
    if (st_ledger_state(&c->sc.co.ledger, key) & ST_LK_SUBBING) { /* the first data is the answer */
        st_coalescer_ack(&c->sc.co, key, ST_ACK_SUBSCRIBED, now);
        st_subconn_arm(&c->sc);
    }
    m.tick.sym = sym;
    m.tick.recv_time = now;
    st_feed_deliver(&uf->base, &m.tick);
}

/* --- the feed interface ---------------------------------------------------------------------- */

static int up_apply(st_feed_t *f, const st_plan_change_t *ch, size_t n, int conn_base, const st_planner_t *plan)
{
    upbit_feed_t *uf = (upbit_feed_t *)f;
    st_feed_apply_subs(ch, n, conn_base, uf->cos, uf->nconns, uf->known, uf->nsyms, now_of(uf));
    for (size_t i = 0; i < n; i++) /* polled for itself now */
        if ((size_t)ch[i].sym < uf->nsyms && ch[i].to_tier == ST_TIER_POLL) uf->fallback[ch[i].sym] = 0;
    st_feed_poll_apply(uf->rest, ch, n, plan, uf->default_poll, uf->fallback, uf->nsyms);
    for (int k = 0; k < uf->nconns; k++) {
        st_subconn_arm(&uf->conns[k].sc);
        if (!st_wsconn_open(&uf->conns[k].sc.ws)) fallback_sync(uf, &uf->conns[k]);
    }
    return 0;
}

static int up_start(st_feed_t *f)
{
    upbit_feed_t *uf = (upbit_feed_t *)f;
    uf->running = true;
    st_log_info(FEED, "%s: Upbit feed starting: %d session%s, %s", f->name, uf->nconns, uf->nconns == 1 ? "" : "s",
                uf->url);
    for (int k = 0; k < uf->nconns; k++) st_wsconn_start(&uf->conns[k].sc.ws);
    st_restpoll_start(uf->rest);
    return 0;
}

static void up_stop(st_feed_t *f)
{
    upbit_feed_t *uf = (upbit_feed_t *)f;
    if (!uf->running) return;
    uf->running = false;
    st_restpoll_stop(uf->rest);
    for (int k = 0; k < uf->nconns; k++) {
        st_clock_timer_stop(f->clock, &uf->conns[k].sc.flush);
        st_clock_timer_stop(f->clock, &uf->conns[k].keepalive);
        st_wsconn_stop(&uf->conns[k].sc.ws);
    }
}

static void up_destroy(st_feed_t *f)
{
    upbit_feed_t *uf = (upbit_feed_t *)f;
    up_stop(f);
    st_http_destroy(uf->http);
    st_wsconn_context_destroy(uf->ctx);
    st_bookcache_destroy(uf->books);
    st_restpoll_destroy(uf->rest);
    free(uf->rest_url);
    free(uf->fallback);
    for (int k = 0; k < uf->nconns; k++) {
        up_conn_t *c = &uf->conns[k];
        st_clock_timer_stop(f->clock, &c->keepalive); /* a close during destroy may not restart it, but be sure */
        st_subconn_free(&c->sc);
    }
    free(uf->conns);
    free(uf->cos);
    free(uf->known);
    free(f->name);
    free(uf);
}

static void up_stats(const st_feed_t *f, st_feed_stats_t *out)
{
    const upbit_feed_t *uf = (const upbit_feed_t *)f;
    memset(out, 0, sizeof(*out));
    out->ticks_delivered = uf->base.ticks;
    out->market_trades = uf->base.trades; /* the trades received */
    out->malformed = uf->malformed;
    out->venue_errors = uf->errors;
    out->ws_budget = (int64_t)uf->budget * uf->nconns;
    out->penalty = 1.0;
    st_restpoll_stats_t rs;
    st_restpoll_stats(uf->rest, &rs);
    st_feed_stats_add_restpoll(out, &rs);
    out->violations = uf->violations + rs.rate_errors + rs.bans; /* the venue's word: 429s and 418s too */
    out->sessions = uf->nconns;
    st_time_t now = st_clock_now(f->clock);
    for (int k = 0; k < uf->nconns; k++) st_feed_stats_add_subconn(out, &uf->conns[k].sc, now);
}

/* --- tier 3: /v1/ticker ------------------------------------------------------------------------ */

static void rest_request(void *ctx, const st_sym_t *syms, size_t n, char *url, size_t len, const char **hdr)
{
    upbit_feed_t *uf = ctx;
    int off = snprintf(url, len, "%s/v1/ticker?markets=", uf->rest_url);
    for (size_t i = 0; i < n && off > 0 && (size_t)off < len; i++)
        off += snprintf(url + off, len - (size_t)off, "%s%s", i ? "," : "", st_symtab_code(uf->syms, syms[i]));
    hdr[0] = "accept: application/json";
    hdr[1] = NULL;
}

static void ticker_row(void *ctx, const st_tick_t *t)
{
    st_restpoll_row(ctx, t);
}

static st_rp_outcome_t rest_answer(void *ctx, st_restpoll_t *rp, const st_http_response_t *resp, const st_sym_t *syms,
                                   size_t n)
{
    upbit_feed_t *uf = ctx;
    if (resp->error) return ST_RP_RETRY;
    st_time_t now = now_of(uf);
    char v[64];
    int sec;
    if (st_http_header(resp->headers, "Remaining-Req", v, sizeof(v)) && st_parse_remaining_req(v, &sec) == 0)
        st_limiter_remaining(st_restpoll_limiter(rp), now, sec);
    if (resp->status == 429) return ST_RP_RATE;
    if (resp->status == 418) {
        double wait = st_http_header(resp->headers, "Retry-After", v, sizeof(v)) ? atof(v) : 60;
        st_log_error(FEED, "%s: the venue banned quotation calls (HTTP 418): waiting %.0f s", uf->base.name,
                     wait > 0 ? wait : 60);
        st_restpoll_ban(rp, now + (st_dur_t)((wait > 0 ? wait : 60) * ST_SEC));
        return ST_RP_BANNED;
    }
    const char *codes[ST_RESTPOLL_MAX_BATCH];
    for (size_t i = 0; i < n; i++) codes[i] = st_symtab_code(uf->syms, syms[i]);
    if (st_upbit_tickers_parse(resp->status, resp->body, resp->body_len, codes, syms, n, now, ticker_row, rp) != ST_RQ_OK) {
        st_log_warn(FEED, "%s: /v1/ticker refused (HTTP %d): %.160s", uf->base.name, resp->status, resp->body);
        return ST_RP_RETRY;
    }
    return ST_RP_OK;
}

/* --- orderbooks on demand: /v1/orderbook ------------------------------------------------------ */

static bool book_request(void *ctx, st_sym_t sym, char *url, size_t len, const char **hdr)
{
    upbit_feed_t *uf = ctx;
    snprintf(url, len, "%s/v1/orderbook?markets=%s", uf->rest_url, st_symtab_code(uf->syms, sym));
    hdr[0] = "accept: application/json";
    hdr[1] = NULL;
    return true;
}

static const char *book_parse(void *ctx, const st_http_response_t *resp, st_sym_t sym, st_tick_t *t)
{
    upbit_feed_t *uf = ctx;
    st_rq_status_t s = st_upbit_book_parse(resp->status, resp->body, resp->body_len, sym, now_of(uf), t);
    if (s == ST_RQ_RATE) st_limiter_rate_error(st_restpoll_limiter(uf->rest), now_of(uf));
    return s == ST_RQ_OK ? NULL : s == ST_RQ_RATE ? "the venue's rate limit (HTTP 429)"
                                                   : "the venue refused the orderbook request";
}

static int up_orderbook(st_feed_t *f, st_sym_t sym, st_book_cb cb, void *ctx)
{
    return st_bookcache_get(((upbit_feed_t *)f)->books, sym, cb, ctx);
}

static const st_feed_vtable_t upbit_vtable = {"upbit",  up_start, up_stop,  up_destroy,
                                              up_stats, NULL,     up_apply, up_orderbook};

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
    if (st_wsconn_url_parse(fc->ws_url, uf->host, sizeof(uf->host), &port, uf->path, sizeof(uf->path), &tls)) {
        snprintf(err, errlen, "feed \"%s\": cannot parse ws_url \"%s\"", fc->name, fc->ws_url);
        free(uf);
        return -EINVAL;
    }
    uf->ctx = st_wsconn_context_create(env->clock->loop, tls, fc->tls_ca_file);
    uf->http = st_http_create(env->clock->loop);
    if (uf->http) st_http_set_ca(uf->http, fc->tls_ca_file);
    if (!uf->ctx || !uf->http) {
        snprintf(err, errlen, "feed \"%s\": cannot create the WebSocket/HTTP context", fc->name);
        st_wsconn_context_destroy(uf->ctx);
        st_http_destroy(uf->http);
        free(uf);
        return -ENOMEM;
    }
    uf->rest_url = st_feed_base_url(fc->rest_url);
    snprintf(uf->url, sizeof(uf->url), "%s", fc->ws_url);
    uf->syms = env->syms;
    uf->nconns = (int)fc->connections;
    uf->budget = (int)fc->budget;
    uf->known = st_feed_index_map(env->universe, &uf->nsyms);
    uf->default_poll = env->cfg->tiers.polling.medium;
    uf->fallback_poll = env->cfg->tiers.polling.min_interval;
    uf->fallback = st_xcalloc(uf->nsyms ? uf->nsyms : 1, 1);
    st_restpoll_cfg_t pc = {
        .name = fc->name, .clock = env->clock, .http = uf->http, .syms = env->syms, .nsyms = uf->nsyms,
        .batch = ST_RESTPOLL_MAX_BATCH, .rate = fc->rest_rate, .limiter_mode = fc->limiter,
        .failure_threshold = (int)env->cfg->risk.failure_threshold, .request = rest_request,
        .answer = rest_answer, .on_snapshot = st_feed_rest_snapshot, .on_failure = st_feed_rest_failure,
        .ctx = uf, /* its st_feed_t first */
    };
    uf->rest = st_restpoll_create(&pc);
    st_bookcache_cfg_t bc = {fc->name, env->clock, uf->http, st_restpoll_limiter(uf->rest), fc->orderbook_cache,
                             uf->nsyms, book_request, book_parse, uf};
    uf->books = st_bookcache_create(&bc);

    uf->conns = st_xcalloc((size_t)uf->nconns, sizeof(*uf->conns));
    uf->cos = st_xcalloc((size_t)uf->nconns, sizeof(*uf->cos));
    for (int k = 0; k < uf->nconns; k++) uf->cos[k] = &uf->conns[k].sc.co;
    for (int k = 0; k < uf->nconns; k++) {
        up_conn_t *c = &uf->conns[k];
        c->owner = uf;
        st_subconn_init(&c->sc, ST_VENUE_UPBIT, fc, env->syms, uf->nsyms, NULL);
        c->sc.feed = &uf->base;
        snprintf(c->sc.co.ticket, sizeof(c->sc.co.ticket), "strata-%s-%d", fc->name, k);
        st_timer_init(&c->keepalive, on_keepalive, c);
        st_feed_wsconn_setup(&c->sc.ws, fc, k, uf->ctx, uf->host, uf->path, port, tls, env->clock);
        c->sc.ws.cb = (st_wsconn_cbs_t){NULL, on_open, on_message, on_closed, subscribed};
        c->sc.ws.cb_ctx = c;
        st_wsconn_init(&c->sc.ws);
    }
    *out = &uf->base;
    return 0;
}
