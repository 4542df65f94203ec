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
#include "netfeed.h"
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
    st_netfeed_t nf; /* first: the shared part, and the feed interface */
    up_conn_t *conns; /* nf.conns[k] is &conns[k].sc */
    st_restpoll_t *rest; /* tier 3 */
    st_bookcache_t *books; /* orderbooks on demand */
    uint64_t errors, violations; /* violations: what the venue said was too much */
};

static st_time_t now_of(upbit_feed_t *uf)
{
    return st_clock_now(uf->nf.base.clock);
}

/* --- the session --------------------------------------------------------------------------- */

static void on_keepalive(st_timer_t *t, st_time_t now, void *ctx)
{
    up_conn_t *c = ctx;
    st_wsconn_send(&c->sc.ws, "PING", 4, false);
}

static void on_open(st_wsconn_t *w, void *ctx)
{
    up_conn_t *c = ctx;
    upbit_feed_t *uf = c->owner;
    st_time_t now = now_of(uf);
    st_log_info(FEED, "%s: session %d: subscribing %d keys", uf->nf.base.name, w->index, c->sc.co.ledger.desired);
    st_subconn_opened(&c->sc); /* the whole desired set in the next message */
    st_clock_timer_start(uf->nf.base.clock, &c->keepalive, now + KEEPALIVE, KEEPALIVE);
    st_netfeed_fallback_sync(&uf->nf, &c->sc); /* handed back to the stream */
}

static void on_closed(st_wsconn_t *w, void *ctx)
{
    up_conn_t *c = ctx;
    if (w->peer_close == ST_UPBIT_CLOSE_POLICY) { /* closed for exceeding its limits */
        st_limiter_rate_error(&c->sc.lim, now_of(c->owner));
        c->owner->violations++;
        st_log_error(FEED, "%s: session %d: the venue closed it for a policy violation (1008): slowing down",
                     c->owner->nf.base.name, w->index);
    }
    st_clock_timer_stop(c->owner->nf.base.clock, &c->keepalive);
    st_subconn_closed(&c->sc); /* nothing streams any more */
    st_netfeed_fallback_sync(&c->owner->nf, &c->sc);
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
        st_netfeed_malformed(&uf->nf, "message", buf, now);
        return;
    }
    switch (m.kind) {
    case ST_UPBIT_STATUS:
        st_wsconn_alive(w);
        return;
    case ST_UPBIT_ERROR:
        uf->errors++;
        st_log_error(FEED, "%s: session %d: the venue answered %s: %s (%d codes wanted)", uf->nf.base.name, w->index,
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
    st_sym_t sym = st_feed_sym(uf->nf.syms, uf->nf.kinds, uf->nf.nsyms, m.code, strlen(m.code));
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
    st_feed_deliver(&uf->nf.base, &m.tick);
}

/* --- the feed interface ---------------------------------------------------------------------- */

static int up_start(st_feed_t *f)
{
    upbit_feed_t *uf = (upbit_feed_t *)f;
    uf->nf.running = true;
    st_log_info(FEED, "%s: Upbit feed starting: %d session%s, %s", f->name, uf->nf.nconns, uf->nf.nconns == 1 ? "" : "s",
                uf->nf.url);
    for (int k = 0; k < uf->nf.nconns; k++) st_wsconn_start(&uf->conns[k].sc.ws);
    st_restpoll_start(uf->rest);
    return 0;
}

static void up_stop(st_feed_t *f)
{
    upbit_feed_t *uf = (upbit_feed_t *)f;
    if (!uf->nf.running) return;
    uf->nf.running = false;
    st_restpoll_stop(uf->rest);
    for (int k = 0; k < uf->nf.nconns; k++) st_clock_timer_stop(f->clock, &uf->conns[k].keepalive);
    st_netfeed_stop_sessions(&uf->nf);
}

static void up_destroy(st_feed_t *f)
{
    upbit_feed_t *uf = (upbit_feed_t *)f;
    up_stop(f);
    st_netfeed_close(&uf->nf);
    st_bookcache_destroy(uf->books);
    st_restpoll_destroy(uf->rest);
    for (int k = 0; k < uf->nf.nconns; k++) {
        up_conn_t *c = &uf->conns[k];
        st_clock_timer_stop(f->clock, &c->keepalive); /* a close during destroy may not restart it, but be sure */
        st_subconn_free(&c->sc);
    }
    st_netfeed_free(&uf->nf, uf->conns);
    free(uf);
}

static void up_stats(const st_feed_t *f, st_feed_stats_t *out)
{
    const upbit_feed_t *uf = (const upbit_feed_t *)f;
    st_netfeed_stats(&uf->nf, out);
    out->venue_errors = uf->errors;
    st_restpoll_stats_t rs;
    st_restpoll_stats(uf->rest, &rs);
    st_netfeed_add_restpoll(out, &rs);
    out->violations = uf->violations + rs.rate_errors + rs.bans; /* the venue's word: 429s and 418s too */
}

/* --- tier 3: /v1/ticker ------------------------------------------------------------------------ */

static void rest_request(void *ctx, const st_sym_t *syms, size_t n, char *url, size_t len, const char **hdr)
{
    upbit_feed_t *uf = ctx;
    int off = snprintf(url, len, "%s/v1/ticker?markets=", uf->nf.rest_url);
    for (size_t i = 0; i < n && off > 0 && (size_t)off < len; i++)
        off += snprintf(url + off, len - (size_t)off, "%s%s", i ? "," : "", st_symtab_code(uf->nf.syms, syms[i]));
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
        st_log_error(FEED, "%s: the venue banned quotation calls (HTTP 418): waiting %.0f s", uf->nf.base.name,
                     wait > 0 ? wait : 60);
        st_restpoll_ban(rp, now + (st_dur_t)((wait > 0 ? wait : 60) * ST_SEC));
        return ST_RP_BANNED;
    }
    const char *codes[ST_RESTPOLL_MAX_BATCH];
    for (size_t i = 0; i < n; i++) codes[i] = st_symtab_code(uf->nf.syms, syms[i]);
    if (st_upbit_tickers_parse(resp->status, resp->body, resp->body_len, codes, syms, n, now, ticker_row, rp) != ST_RQ_OK) {
        st_log_warn(FEED, "%s: /v1/ticker refused (HTTP %d): %.160s", uf->nf.base.name, resp->status, resp->body);
        return ST_RP_RETRY;
    }
    return ST_RP_OK;
}

/* --- orderbooks on demand: /v1/orderbook ------------------------------------------------------ */

static bool book_request(void *ctx, st_sym_t sym, char *url, size_t len, const char **hdr)
{
    upbit_feed_t *uf = ctx;
    snprintf(url, len, "%s/v1/orderbook?markets=%s", uf->nf.rest_url, st_symtab_code(uf->nf.syms, sym));
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

static const st_feed_vtable_t upbit_vtable = {"upbit",  up_start, up_stop,          up_destroy,
                                              up_stats, NULL,     st_netfeed_apply, up_orderbook};

/* Upbit's endpoints and limits: 5 subscription messages a second and 100 a minute, 10 quotation
 * calls a second; quotation data is public, so no keys. */
void st_upbit_conf_merge(st_config_t *cfg, st_feed_cfg_t *f, size_t i, st_diags_t *d)
{
    if (!*f->ws_url) f->ws_url = st_arena_strdup(cfg->arena, "wss://api.upbit.com/websocket/v1");
    if (!*f->rest_url) f->rest_url = st_arena_strdup(cfg->arena, "https://api.upbit.com");
    /* Upbit publishes no registration cap: 41 keeps the allocation tables' arithmetic (each
     * slot fills 41). 5 subscription messages a second and 100 a minute per connection; 10
     * quotation calls a second per address. */
    static const st_feed_limits_t upbit_limits = {.budget = 41, .rest_rate = 10, .ws_rate = 5, .ws_rate_minute = 100};
    if (f->rest_rate > upbit_limits.rest_rate)
        ST_CONF_ERR(d, &f->mark, "feeds[%zu].rest_rate: Upbit allows %g quotation calls a second from one address "
                    "(past them: HTTP 429, then a ban), got %g", i, upbit_limits.rest_rate, f->rest_rate);
    st_feed_limits_default(f, &upbit_limits);
    if (f->keys.n) ST_CONF_ERR(d, &f->mark, "feeds[%zu]: an upbit feed takes no keys (quotation data is public)", i);
}

int st_upbit_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out, char *err,
                         size_t errlen)
{
    if (fc->connections > ST_PLAN_MAX_CONNS) {
        snprintf(err, errlen, "feed \"%s\": at most %d connections", fc->name, ST_PLAN_MAX_CONNS);
        return -EINVAL;
    }
    upbit_feed_t *uf = st_xcalloc(1, sizeof(*uf));
    int rc = st_netfeed_init(&uf->nf, &upbit_vtable, fc, env, (void **)&uf->conns, sizeof(*uf->conns), err, errlen);
    if (rc) {
        free(uf);
        return rc;
    }
    st_restpoll_cfg_t pc = {
        .env = st_netfeed_rest_env(&uf->nf, fc, env), .batch = ST_RESTPOLL_MAX_BATCH, .rate = fc->rest_rate, .limiter_mode = fc->limiter,
        .failure_threshold = (int)env->cfg->risk.failure_threshold, .request = rest_request,
        .answer = rest_answer, .on_snapshot = st_feed_rest_snapshot, .on_failure = st_feed_rest_failure,
        .ctx = uf, /* its st_feed_t first */
    };
    uf->rest = st_restpoll_create(&pc);
    uf->nf.poller = uf->rest;
    st_bookcache_cfg_t bc = {pc.env, st_restpoll_limiter(uf->rest), fc->orderbook_cache, book_request, book_parse, uf};
    uf->books = st_bookcache_create(&bc);
    for (int k = 0; k < uf->nf.nconns; k++) {
        up_conn_t *c = &uf->conns[k];
        c->owner = uf;
        st_timer_init(&c->keepalive, on_keepalive, c);
        st_netfeed_session(&uf->nf, k, ST_VENUE_UPBIT, fc, NULL,
                           (st_wsconn_cbs_t){NULL, on_open, on_message, on_closed, subscribed}, c);
        snprintf(c->sc.co.ticket, sizeof(c->sc.co.ticket), "strata-%s-%d", fc->name, k);
    }
    *out = &uf->nf.base;
    return 0;
}
