/* The KIS WebSocket feed (kind: kis): tiers 1 and 2 from Korea Investment & Securities.
 *
 * One WebSocket session per app key (the venue allows one), each with its own 41-registration
 * ledger, coalescer and limiter. A session's life:
 *   approval key (POST /oauth2/Approval on the loop, once per process and key)
 *   → connect (libwebsockets on the runtime's libev loop) → the coalescer resends the whole
 *   desired set, paced by the limiter → acks into the ledger, data frames into ticks
 *   → on a drop, a stalled stream or a refused session: reconnect after an exponential,
 *   jittered, bounded backoff, and resubscribe everything again through the coalescer.
 * Data frames are decoded in place (kis_codec.c) with no allocation per frame; a message split
 * over several WebSocket fragments is reassembled first. PINGPONG is echoed as text; RFC 6455
 * pings are answered by libwebsockets. Encrypted frames (order-fill notices) are counted and
 * dropped with a rate-limited warning; malformed frames are counted and dropped.
 * Credentials come from the environment variables the config names and are never logged. */
#include "feed.h"
#include "kis_codec.h"
#include "core/http.h"
#include "core/log.h"
#include "core/timefmt.h" /* st_wall_now */
#include "subs/coalescer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KST_OFFSET (9 * 3600)
#define WARN_EVERY ST_MIN /* rate-limited warnings: at most one per kind per minute */

typedef struct kis_feed kis_feed_t;

typedef enum { C_IDLE, C_APPROVAL, C_CONNECTING, C_OPEN, C_WAIT } cstate_t;

typedef struct omsg {
    struct omsg *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes, then the text */
} omsg_t;

typedef struct {
    kis_feed_t *owner;
    int index;
    char *app_key, *app_secret; /* from the environment; never logged */
    char approval[64];
    st_coalescer_t co;
    st_limiter_t lim;
    st_timer_t flush, retry, stall;
    struct lws *wsi;
    cstate_t state;
    omsg_t *head, *tail;
    char *rx;
    size_t rxlen, rxcap;
    st_time_t last_rx, opened_at;
    int failures; /* consecutive, for the backoff; cleared when data or PINGPONG flows */
    bool in_use;  /* the venue said another session holds this app key */
    bool closing; /* we asked lws to close it */
} kis_conn_t;

struct kis_feed {
    st_feed_t base;
    struct lws_context *ctx;
    st_http_t *http;
    char url[512]; /* ws_url, parsed into the parts below */
    const char *host, *path_rest;
    char path[512];
    int port;
    bool tls;
    char *rest_url;
    const st_symtab_t *syms;
    size_t nsyms;
    uint8_t *is_index; /* by symbol id; 2 = not in the universe */
    kis_conn_t *conns;
    int nconns, budget;
    st_dur_t stall_timeout, reconnect_min, reconnect_max;
    uint64_t ticks, malformed, encrypted, unknown, rest_calls, rest_ok;
    uint64_t connects, drops, stalls, in_use_refusals, violations;
    st_time_t warned_encrypted, warned_malformed;
    uint64_t rng;
    bool running;
};

/* --- helpers ----------------------------------------------------------------------------- */

st_dur_t st_feed_backoff(st_dur_t min, st_dur_t max, int attempt, double r01)
{
    st_dur_t d = min;
    for (int i = 0; i < attempt && d < max; i++) d *= 2;
    if (d > max) d = max;
    return (st_dur_t)((double)d * (0.5 + 0.5 * r01));
}

static double rand01(kis_feed_t *kf)
{
    kf->rng ^= kf->rng << 13, kf->rng ^= kf->rng >> 7, kf->rng ^= kf->rng << 17;
    return (double)(kf->rng >> 11) / 9007199254740992.0;
}

static st_time_t now_of(kis_feed_t *kf)
{
    return st_clock_now(kf->base.clock);
}

static st_sym_t sym_of(kis_feed_t *kf, const char *code, size_t len)
{
    st_sym_t s = st_symtab_find(kf->syms, code, len);
    return s != ST_SYM_NONE && (size_t)s < kf->nsyms && kf->is_index[s] != 2 ? s : ST_SYM_NONE;
}

static st_channel_t channel_of(const char *tr_id)
{
    return strcmp(tr_id, "H0STASP0") == 0 ? ST_CH_BOOK : strcmp(tr_id, "H0UPCNT0") == 0 ? ST_CH_INDEX : ST_CH_TRADE;
}

/* --- the subscription path ----------------------------------------------------------------- */

static void arm_flush(kis_conn_t *c)
{
    st_clock_t *clk = c->owner->base.clock;
    st_time_t due = c->state == C_OPEN ? st_coalescer_due(&c->co, st_clock_now(clk)) : ST_TIME_NEVER;
    if (due == ST_TIME_NEVER)
        st_clock_timer_stop(clk, &c->flush);
    else if (!st_timer_active(&c->flush) || c->flush.at != due)
        st_clock_timer_start(clk, &c->flush, due, 0);
}

static void on_flush(st_timer_t *t, st_time_t deadline, void *ctx)
{
    kis_conn_t *c = ctx;
    st_coalescer_flush(&c->co, now_of(c->owner)); /* the time messages really leave */
    arm_flush(c);
}

static int enqueue(kis_conn_t *c, const char *msg, size_t len)
{
    if (c->state != C_OPEN || !c->wsi) return -ENOTCONN;
    omsg_t *m = st_xmalloc(sizeof(*m) + LWS_PRE + len);
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, msg, len);
    if (c->tail) c->tail->next = m; else c->head = m;
    c->tail = m;
    lws_callback_on_writable(c->wsi);
    return 0;
}

static int co_send(void *ctx, const char *msg, size_t len)
{
    return enqueue(ctx, msg, len);
}

static const char *co_code(void *ctx, st_sym_t sym)
{
    kis_conn_t *c = ctx;
    return st_symtab_code(c->owner->syms, sym);
}

static void co_refused(void *ctx, st_key_t key, st_ack_t ack, int cap)
{
    kis_conn_t *c = ctx;
    kis_feed_t *kf = c->owner;
    st_sym_t sym = ST_KEY_SYM(key);
    st_log_warn(FEED, "%s: %s %s refused on session %d: %s", kf->base.name, st_kis_tr_id(ST_KEY_CH(key)),
                st_symtab_code(kf->syms, sym), c->index,
                ack == ST_ACK_MAX_OVER ? "MAX SUBSCRIBE OVER" : "invalid tr_key");
    if (kf->base.on_refused) kf->base.on_refused(&kf->base, c->index, sym, ack, cap, kf->base.tick_ctx);
}

static void drop_queue(kis_conn_t *c)
{
    for (omsg_t *m = c->head; m;) {
        omsg_t *n = m->next;
        free(m);
        m = n;
    }
    c->head = c->tail = NULL;
}

/* --- connecting ---------------------------------------------------------------------------- */

static void start_approval(kis_conn_t *c);

static void schedule_retry(kis_conn_t *c, const char *why)
{
    kis_feed_t *kf = c->owner;
    st_dur_t d = c->in_use ? kf->reconnect_max
                           : st_feed_backoff(kf->reconnect_min, kf->reconnect_max, c->failures, rand01(kf));
    c->failures++;
    c->state = C_WAIT;
    st_log_warn(FEED, "%s: session %d: %s; reconnecting in %.1f s", kf->base.name, c->index, why,
                (double)d / ST_SEC);
    st_clock_timer_start(kf->base.clock, &c->retry, now_of(kf) + d, 0);
}

static void connect_ws(kis_conn_t *c)
{
    kis_feed_t *kf = c->owner;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = kf->ctx;
    ci.address = kf->host;
    ci.port = kf->port;
    ci.path = kf->path;
    ci.host = kf->host;
    ci.origin = kf->host;
    ci.ssl_connection = kf->tls ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = "strata-kis";
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    c->state = C_CONNECTING;
    c->closing = false;
    if (!lws_client_connect_via_info(&ci)) {
        c->wsi = NULL;
        schedule_retry(c, "cannot start a connection");
    }
}

static void on_approval(const st_http_response_t *r, void *ctx)
{
    kis_conn_t *c = ctx;
    kis_feed_t *kf = c->owner;
    kf->rest_calls++;
    if (!kf->running) return;
    cJSON *j = r->status == 200 ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "approval_key");
    if (cJSON_IsString(k) && *k->valuestring && strlen(k->valuestring) < sizeof(c->approval)) {
        kf->rest_ok++;
        snprintf(c->approval, sizeof(c->approval), "%s", k->valuestring);
        snprintf(c->co.approval_key, sizeof(c->co.approval_key), "%s", c->approval);
        cJSON_Delete(j);
        connect_ws(c);
        return;
    }
    cJSON_Delete(j);
    char why[256];
    if (r->error)
        snprintf(why, sizeof(why), "approval key request failed: %s", r->message);
    else /* the venue's own words (error_description / msg1) are in the body */
        snprintf(why, sizeof(why), "approval key refused (HTTP %d): %.160s", r->status, r->body);
    schedule_retry(c, why);
}

static void start_approval(kis_conn_t *c)
{
    kis_feed_t *kf = c->owner;
    if (c->approval[0]) { /* issued once per process; valid for a day */
        connect_ws(c);
        return;
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "grant_type", "client_credentials");
    cJSON_AddStringToObject(b, "appkey", c->app_key);
    cJSON_AddStringToObject(b, "secretkey", c->app_secret);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char url[600];
    snprintf(url, sizeof(url), "%s/oauth2/Approval", kf->rest_url);
    static const char *const hdr[] = {"content-type: application/json; charset=utf-8", NULL};
    c->state = C_APPROVAL;
    int rc = st_http_request(kf->http, "POST", url, hdr, body, 10 * ST_SEC, on_approval, c);
    memset(body, 0, strlen(body)); /* it held the secret */
    free(body);
    if (rc) schedule_retry(c, "cannot start the approval key request");
}

static void on_retry(st_timer_t *t, st_time_t now, void *ctx)
{
    kis_conn_t *c = ctx;
    if (c->owner->running) start_approval(c);
}

static void arm_stall(kis_conn_t *c)
{
    kis_feed_t *kf = c->owner;
    st_clock_timer_start(kf->base.clock, &c->stall, c->last_rx + kf->stall_timeout, 0);
}

static void close_conn(kis_conn_t *c)
{
    if (c->wsi && !c->closing) {
        c->closing = true;
        lws_callback_on_writable(c->wsi); /* closes from the writeable callback, at once */
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC); /* in case it never is */
    }
}

static void on_stall(st_timer_t *t, st_time_t now, void *ctx)
{
    kis_conn_t *c = ctx;
    kis_feed_t *kf = c->owner;
    if (c->state != C_OPEN) return;
    if (now - c->last_rx < kf->stall_timeout) {
        arm_stall(c);
        return;
    }
    if (c->co.ledger.confirmed == 0) { /* nothing subscribed: quiet is fine */
        c->last_rx = now;
        arm_stall(c);
        return;
    }
    kf->stalls++;
    st_log_warn(FEED, "%s: session %d: stalled stream: no frame for %.1f s with %d registrations",
                kf->base.name, c->index, (double)(now - c->last_rx) / ST_SEC, c->co.ledger.confirmed);
    close_conn(c);
}

static void on_open(kis_conn_t *c)
{
    kis_feed_t *kf = c->owner;
    st_time_t now = now_of(kf);
    c->state = C_OPEN;
    c->opened_at = c->last_rx = now;
    kf->connects++;
    st_log_info(FEED, "%s: session %d connected to %s:%d; subscribing %d keys", kf->base.name, c->index, kf->host,
                kf->port, c->co.ledger.desired);
    st_coalescer_reset(&c->co, now); /* everything desired is sent again, paced */
    arm_flush(c);
    arm_stall(c);
}

static void on_closed(kis_conn_t *c, const char *why)
{
    kis_feed_t *kf = c->owner;
    bool was_open = c->state == C_OPEN;
    c->wsi = NULL;
    drop_queue(c);
    c->rxlen = 0;
    st_clock_timer_stop(kf->base.clock, &c->flush);
    st_clock_timer_stop(kf->base.clock, &c->stall);
    st_coalescer_reset(&c->co, now_of(kf)); /* nothing is held any more */
    if (was_open) kf->drops++;
    if (!kf->running) {
        c->state = C_IDLE;
        return;
    }
    schedule_retry(c, why);
}

/* --- receiving ----------------------------------------------------------------------------- */

typedef struct {
    kis_conn_t *c;
    st_time_t now;
} rx_ctx_t;

static int on_record(const st_kis_record_t *r, void *ctx)
{
    rx_ctx_t *x = ctx;
    kis_feed_t *kf = x->c->owner;
    st_sym_t sym = sym_of(kf, r->code, r->code_len);
    if (sym == ST_SYM_NONE) {
        kf->unknown++;
        return 0;
    }
    st_tick_t t = r->tick;
    t.sym = sym;
    t.feed = kf->base.index;
    t.recv_time = x->now;
    kf->ticks++;
    kf->base.on_tick(&t, kf->base.tick_ctx);
    return 0;
}

static bool warn_due(kis_feed_t *kf, st_time_t *last, st_time_t now)
{
    if (*last && now - *last < WARN_EVERY) return false;
    *last = now;
    return true;
}

static void on_control(kis_conn_t *c, const char *buf, size_t len, st_time_t now)
{
    kis_feed_t *kf = c->owner;
    st_kis_msg_t m;
    if (st_kis_msg_parse(buf, len, &m) != 0) {
        kf->malformed++;
        return;
    }
    if (m.kind == ST_KIS_MSG_PINGPONG) {
        c->failures = 0; /* the stream is alive */
        enqueue(c, buf, len); /* echo it */
        return;
    }
    if (m.kind != ST_KIS_MSG_ACK) {
        st_log_debug(FEED, "%s: session %d: %s %s %s", kf->base.name, c->index, m.tr_id, m.msg_cd, m.msg1);
        return;
    }
    if (strcmp(m.msg_cd, "OPSP8996") == 0) { /* ALREADY IN USE appkey */
        kf->in_use_refusals++;
        c->in_use = true;
        st_log_error(FEED, "%s: session %d refused by the venue: %s (%s): another program holds a session on "
                     "this app key (one session per key); keys[%d] needs its own app key", kf->base.name,
                     c->index, m.msg1, m.msg_cd, c->index);
        close_conn(c);
        return;
    }
    st_sym_t sym = sym_of(kf, m.tr_key, strlen(m.tr_key));
    if (sym == ST_SYM_NONE) {
        st_log_warn(FEED, "%s: session %d: answer for unknown key %s %s: %s %s", kf->base.name, c->index, m.tr_id,
                    m.tr_key, m.msg_cd, m.msg1);
        return;
    }
    if (m.ack == ST_ACK_ERROR)
        st_log_warn(FEED, "%s: session %d: %s %s refused: %s %s (retried)", kf->base.name, c->index, m.tr_id, m.tr_key,
                    m.msg_cd, m.msg1);
    else if (m.ack == ST_ACK_SUBSCRIBED)
        c->in_use = false; /* the venue took this session */
    st_coalescer_ack(&c->co, ST_KEY(sym, channel_of(m.tr_id)), (st_ack_t)m.ack, now);
    arm_flush(c);
}

static void on_message(kis_conn_t *c, const char *buf, size_t len)
{
    kis_feed_t *kf = c->owner;
    st_time_t now = now_of(kf);
    c->last_rx = now;
    st_kis_frame_t f;
    int rc = st_kis_frame_parse(buf, len, &f);
    if (rc == 1) {
        on_control(c, buf, len, now);
        return;
    }
    if (rc == 0 && f.encrypted) {
        kf->encrypted++;
        if (warn_due(kf, &kf->warned_encrypted, now))
            st_log_warn(FEED, "%s: dropped %llu encrypted frame(s) (%.*s): order-fill notices are not supported",
                        kf->base.name, (unsigned long long)kf->encrypted, (int)f.tr_id_len, f.tr_id);
        return;
    }
    rx_ctx_t x = {c, now};
    if (rc == 0 && f.tr != ST_KIS_TR_OTHER) rc = st_kis_decode(&f, KST_OFFSET, now, on_record, &x);
    if (rc > 0) c->failures = 0; /* data flows: the next drop starts the backoff afresh */
    if (rc < 0 || f.tr == ST_KIS_TR_OTHER) {
        kf->malformed++;
        if (warn_due(kf, &kf->warned_malformed, now))
            st_log_warn(FEED, "%s: dropped a malformed frame (%llu so far): %.60s", kf->base.name,
                        (unsigned long long)kf->malformed, buf);
    }
}

static void on_fragment(kis_conn_t *c, struct lws *wsi, const char *in, size_t len)
{
    bool last = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (last && c->rxlen == 0) { /* the usual case: the whole message at once, no copy */
        on_message(c, in, len);
        return;
    }
    if (c->rxlen + len + 1 > c->rxcap) {
        c->rxcap = (c->rxlen + len + 1) * 2;
        c->rx = st_xrealloc(c->rx, c->rxcap);
    }
    memcpy(c->rx + c->rxlen, in, len);
    c->rxlen += len;
    if (!last) return;
    c->rx[c->rxlen] = '\0';
    on_message(c, c->rx, c->rxlen);
    c->rxlen = 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    kis_conn_t *c = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c) on_open(c);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (c) on_fragment(c, wsi, in, len);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        if (c) c->last_rx = now_of(c->owner);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (!c || c->closing) return c && c->closing ? -1 : 0;
        omsg_t *m = c->head;
        if (!m) break;
        if (lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len) return -1;
        c->head = m->next;
        if (!c->head) c->tail = NULL;
        free(m);
        if (c->head) lws_callback_on_writable(wsi);
        break;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        if (!c) break;
        char why[200];
        snprintf(why, sizeof(why), "cannot connect to %s:%d: %.120s", c->owner->host, c->owner->port,
                 in ? (const char *)in : "connection error");
        lws_set_opaque_user_data(wsi, NULL);
        on_closed(c, why);
        break;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (!c) break;
        lws_set_opaque_user_data(wsi, NULL);
        on_closed(c, c->in_use ? "session refused (app key in use)"
                     : c->closing ? "connection closed by strata" : "connection closed by the venue");
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"strata-kis", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_to_log(int level, const char *line)
{
    size_t n = strlen(line);
    st_log_warn(FEED, "libwebsockets: %.*s", (int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
}

/* --- the feed interface ---------------------------------------------------------------------- */

static void want_tier(kis_feed_t *kf, int conn, st_sym_t sym, uint8_t tier, bool on, st_time_t now)
{
    if (conn < 0 || conn >= kf->nconns || (tier != ST_TIER_REALTIME && tier != ST_TIER_SEMI)) return;
    st_coalescer_t *co = &kf->conns[conn].co;
    if (kf->is_index[sym] == 1) {
        st_coalescer_want(co, ST_KEY(sym, ST_CH_INDEX), on, now);
        return;
    }
    st_coalescer_want(co, ST_KEY(sym, ST_CH_TRADE), on, now);
    if (tier == ST_TIER_REALTIME) st_coalescer_want(co, ST_KEY(sym, ST_CH_BOOK), on, now);
}

static int kis_apply(st_feed_t *f, const st_plan_change_t *ch, size_t n, int conn_base, const st_planner_t *plan)
{
    kis_feed_t *kf = (kis_feed_t *)f;
    st_time_t now = now_of(kf);
    for (size_t i = 0; i < n; i++) {
        const st_plan_change_t *c = &ch[i];
        if ((size_t)c->sym >= kf->nsyms || kf->is_index[c->sym] == 2) continue;
        want_tier(kf, c->from_conn == 0xFF ? -1 : c->from_conn - conn_base, c->sym, c->from_tier, false, now);
        want_tier(kf, c->to_conn == 0xFF ? -1 : c->to_conn - conn_base, c->sym, c->to_tier, true, now);
    }
    for (int k = 0; k < kf->nconns; k++) arm_flush(&kf->conns[k]);
    return 0;
}

static int kis_start(st_feed_t *f)
{
    kis_feed_t *kf = (kis_feed_t *)f;
    kf->running = true;
    st_log_info(FEED, "%s: KIS feed starting: %d session%s x %d registrations, %s", f->name, kf->nconns,
                kf->nconns == 1 ? "" : "s", kf->budget, kf->url);
    for (int k = 0; k < kf->nconns; k++) start_approval(&kf->conns[k]);
    return 0;
}

static void kis_stop(st_feed_t *f)
{
    kis_feed_t *kf = (kis_feed_t *)f;
    if (!kf->running) return;
    kf->running = false;
    for (int k = 0; k < kf->nconns; k++) {
        kis_conn_t *c = &kf->conns[k];
        st_clock_timer_stop(f->clock, &c->flush);
        st_clock_timer_stop(f->clock, &c->retry);
        st_clock_timer_stop(f->clock, &c->stall);
        close_conn(c);
    }
}

static void kis_destroy(st_feed_t *f)
{
    kis_feed_t *kf = (kis_feed_t *)f;
    kis_stop(f);
    st_http_destroy(kf->http);
    if (kf->ctx) lws_context_destroy(kf->ctx); /* closes what is left; callbacks see running = false */
    for (int k = 0; k < kf->nconns; k++) {
        kis_conn_t *c = &kf->conns[k];
        drop_queue(c);
        st_coalescer_free(&c->co);
        st_limiter_free(&c->lim);
        free(c->rx);
        if (c->app_secret) memset(c->app_secret, 0, strlen(c->app_secret));
        free(c->app_key);
        free(c->app_secret);
    }
    free(kf->conns);
    free(kf->is_index);
    free(kf->rest_url);
    free(f->name);
    free(kf);
}

static void kis_stats(const st_feed_t *f, st_feed_stats_t *out)
{
    const kis_feed_t *kf = (const kis_feed_t *)f;
    memset(out, 0, sizeof(*out));
    out->ticks_delivered = kf->ticks;
    out->malformed = kf->malformed;
    out->encrypted = kf->encrypted;
    out->ws_budget = (int64_t)kf->budget * kf->nconns;
    out->rest_calls = kf->rest_calls;
    out->rest_ok = kf->rest_ok;
    out->violations = kf->violations;
    out->reconnects = kf->drops;
    out->stalls = kf->stalls;
    out->penalty = 1.0;
    st_time_t now = st_clock_now(f->clock);
    for (int k = 0; k < kf->nconns; k++) {
        const kis_conn_t *c = &kf->conns[k];
        out->ws_used += c->co.ledger.confirmed;
        out->ws_desired += c->co.ledger.desired;
        out->subs_requests += c->co.st.requests;
        out->subs_messages += c->co.st.messages;
        out->sessions_open += c->state == C_OPEN;
        if (c->co.st.lat_max > out->subs_latency_max) out->subs_latency_max = c->co.st.lat_max;
        st_dur_t p99 = st_coalescer_latency(&c->co, 0.99);
        if (p99 > out->subs_latency_p99) out->subs_latency_p99 = p99;
        double pen = st_limiter_penalty(&kf->conns[k].lim, now);
        if (pen < out->penalty) out->penalty = pen;
    }
}

static const st_feed_vtable_t kis_vtable = {"kis", kis_start, kis_stop, kis_destroy, kis_stats, NULL, kis_apply};

int st_kis_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out, char *err,
                       size_t errlen)
{
    if (fc->connections > ST_PLAN_MAX_CONNS || (size_t)fc->connections != fc->keys.n) {
        snprintf(err, errlen, "feed \"%s\": one session per app key, at most %d", fc->name, ST_PLAN_MAX_CONNS);
        return -EINVAL;
    }
    kis_feed_t *kf = st_xcalloc(1, sizeof(*kf));
    kf->base.vt = &kis_vtable;
    kf->syms = env->syms;
    kf->nconns = (int)fc->connections;
    kf->budget = (int)fc->budget;
    kf->stall_timeout = fc->stall_timeout;
    kf->reconnect_min = fc->reconnect_min;
    kf->reconnect_max = fc->reconnect_max;
    kf->rng = (uint64_t)st_wall_now() | 1;
    kf->rest_url = st_xstrdup(fc->rest_url);
    size_t rl = strlen(kf->rest_url);
    while (rl && kf->rest_url[rl - 1] == '/') kf->rest_url[--rl] = '\0';
    snprintf(kf->url, sizeof(kf->url), "%s", fc->ws_url);
    char parse[512];
    snprintf(parse, sizeof(parse), "%s", fc->ws_url);
    const char *prot = NULL, *host = NULL, *path = NULL;
    if (lws_parse_uri(parse, &prot, &host, &kf->port, &path) || !*host) {
        snprintf(err, errlen, "feed \"%s\": cannot parse ws_url \"%s\"", fc->name, fc->ws_url);
        free(kf->rest_url);
        free(kf);
        return -EINVAL;
    }
    kf->tls = strcmp(prot, "wss") == 0;
    /* host points into parse[]: keep a copy after the path */
    snprintf(kf->path, sizeof(kf->path), "/%s", path);
    size_t hl = strlen(kf->path) + 1;
    snprintf(kf->path + hl, sizeof(kf->path) - hl, "%s", host);
    kf->host = kf->path + hl;

    const st_universe_t *u = env->universe;
    kf->nsyms = u->by_sym_len;
    kf->is_index = st_xmalloc(kf->nsyms ? kf->nsyms : 1);
    memset(kf->is_index, 2, kf->nsyms ? kf->nsyms : 1);
    for (size_t i = 0; i < u->n; i++) kf->is_index[u->items[i].sym] = u->items[i].market == ST_MKT_INDEX;

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_to_log);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    void *loops[1] = {env->clock->loop};
    info.options = LWS_SERVER_OPTION_LIBEV | (kf->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    info.foreign_loops = loops;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    kf->ctx = lws_create_context(&info);
    kf->http = st_http_create(env->clock->loop);
    if (!kf->ctx || !kf->http) {
        snprintf(err, errlen, "feed \"%s\": cannot create the WebSocket/HTTP context", fc->name);
        if (kf->ctx) lws_context_destroy(kf->ctx);
        st_http_destroy(kf->http);
        free(kf->is_index);
        free(kf->rest_url);
        free(kf);
        return -ENOMEM;
    }

    st_rl_tuning_t tune;
    st_rl_mode_tuning((st_rl_mode_t)fc->limiter, &tune);
    st_window_t win[2] = {{(int)fc->ws_rate, ST_SEC}, {(int)fc->ws_rate_minute, ST_MIN}};
    kf->conns = st_xcalloc((size_t)kf->nconns, sizeof(*kf->conns));
    for (int k = 0; k < kf->nconns; k++) {
        kis_conn_t *c = &kf->conns[k];
        const st_cred_cfg_t *cred = ST_LIST_AT(fc->keys, st_cred_cfg_t, k);
        const char *key = getenv(cred->app_key_env), *secret = getenv(cred->app_secret_env);
        c->owner = kf;
        c->index = k;
        c->app_key = st_xstrdup(key ? key : "");
        c->app_secret = st_xstrdup(secret ? secret : "");
        st_limiter_init(&c->lim, win, fc->ws_rate_minute > 0 ? 2 : 1, &tune);
        st_coalescer_io_t io = {co_send, co_code, co_refused, c};
        st_coalescer_init(&c->co, ST_VENUE_KIS, kf->nsyms, kf->budget, &c->lim, fc->debounce, &io);
        st_timer_init(&c->flush, on_flush, c);
        st_timer_init(&c->retry, on_retry, c);
        st_timer_init(&c->stall, on_stall, c);
    }
    *out = &kf->base;
    return 0;
}
