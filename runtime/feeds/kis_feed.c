/* The KIS WebSocket feed (kind: kis): tiers 1 and 2 from Korea Investment & Securities.
 *
 * One WebSocket session (wsconn.c) per app key (the venue allows one), each with its own
 * 41-registration ledger, coalescer and limiter. A session's life:
 *   approval key (POST /oauth2/Approval on the loop, once per process and key)
 *   → connect → the coalescer resends the whole desired set, paced by the limiter → acks into
 *   the ledger, data frames into ticks → on a drop, a stalled stream or a refused session:
 *   reconnect after the backoff, and resubscribe everything again through the coalescer.
 * Data frames are decoded in place (kis_codec.c) with no allocation per frame. PINGPONG is
 * echoed as text; RFC 6455 pings are answered by libwebsockets. Encrypted frames (order-fill
 * notices) are counted and dropped with a rate-limited warning; malformed frames are counted
 * and dropped. Tier 3, and while a session is down its tier 1-2 symbols, go to REST polling on
 * the first app key (kis_rest.c).
 * Credentials come from the environment variables the config names and are never logged. */
#include "netfeed.h"
#include "kis_codec.h"
#include "kis_rest.h"
#include "rest_codec.h"
#include "subconn.h"
#include "core/http.h"
#include "core/log.h"
#include "subs/coalescer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KST_OFFSET (9 * 3600)

typedef struct kis_feed kis_feed_t;

typedef struct {
    st_subconn_t sc; /* first: the coalescer's callbacks get this struct */
    kis_feed_t *owner;
    char *app_key, *app_secret; /* from the environment; never logged */
    char approval[64];
    st_time_t approval_at; /* when the venue issued it */
} kis_conn_t;

/* An approval key older than this is asked for again before a session (re)connects: KIS's own
 * code re-issues it after a day; a long run must not reconnect with yesterday's. */
#define APPROVAL_RENEW (20 * ST_HOUR)

struct kis_feed {
    st_netfeed_t nf; /* first: the shared part, and the feed interface */
    kis_conn_t *conns; /* nf.conns[k] is &conns[k].sc */
    st_kis_rest_t *rest; /* tier 3, on the first app key */
    uint64_t encrypted, rest_calls, rest_ok, auth_failures;
    st_time_t warned_encrypted;
};

static st_time_t now_of(kis_feed_t *kf)
{
    return st_clock_now(kf->nf.base.clock);
}

static st_sym_t sym_of(kis_feed_t *kf, const char *code, size_t len)
{
    return st_feed_sym(kf->nf.syms, kf->nf.kinds, kf->nf.nsyms, code, len);
}

static st_channel_t channel_of(const char *tr_id)
{
    return strcmp(tr_id, "H0STASP0") == 0 ? ST_CH_BOOK : strcmp(tr_id, "H0UPCNT0") == 0 ? ST_CH_INDEX : ST_CH_TRADE;
}

/* --- the subscription path ----------------------------------------------------------------- */

static void co_refused(void *ctx, st_key_t key, st_ack_t ack, int cap)
{
    kis_conn_t *c = ctx;
    kis_feed_t *kf = c->owner;
    st_sym_t sym = ST_KEY_SYM(key);
    st_log_warn(FEED, "%s: %s %s refused on session %d: %s", kf->nf.base.name, st_kis_tr_id(ST_KEY_CH(key)),
                st_symtab_code(kf->nf.syms, sym), c->sc.ws.index,
                ack == ST_ACK_MAX_OVER ? "MAX SUBSCRIBE OVER" : "invalid tr_key");
    st_feed_t *f = &kf->nf.base;
    if (f->on_refused) f->on_refused(f, c->sc.ws.index, sym, ack, cap, f->tick_ctx);
}

/* --- the session --------------------------------------------------------------------------- */

static void on_approval(const st_http_response_t *r, void *ctx)
{
    kis_conn_t *c = ctx;
    kis_feed_t *kf = c->owner;
    kf->rest_calls++;
    cJSON *j = r->status == 200 ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "approval_key");
    if (cJSON_IsString(k) && *k->valuestring && strlen(k->valuestring) < sizeof(c->approval)) {
        kf->rest_ok++; /* an answer after a stop is still an answer: counted and kept for a restart */
        snprintf(c->approval, sizeof(c->approval), "%s", k->valuestring);
        snprintf(c->sc.co.approval_key, sizeof(c->sc.co.approval_key), "%s", c->approval);
        c->approval_at = now_of(kf);
        cJSON_Delete(j);
        if (kf->nf.running) st_wsconn_connect(&c->sc.ws);
        return;
    }
    cJSON_Delete(j);
    if (!kf->nf.running) return;
    char why[256];
    bool auth = !r->error && st_kis_auth_refused(r->status, r->body);
    if (r->error)
        snprintf(why, sizeof(why), "approval key request failed: %s", r->message);
    else /* the venue's own words (error_description / msg1) are in the body */
        snprintf(why, sizeof(why), "approval key refused (HTTP %d): %.160s", r->status, r->body);
    if (auth) { /* a wrong app key or secret: a person must act; retrying often changes nothing */
        kf->auth_failures++;
        st_log_alert(FEED, "%s: session %d: the venue refuses the credentials of keys[%d] (%.160s): check the "
                           "variables it names; retrying every %.0f s", kf->nf.base.name, c->sc.ws.index, c->sc.ws.index,
                     r->body, (double)c->sc.ws.backoff_max / ST_SEC);
    }
    st_wsconn_retry(&c->sc.ws, why, auth);
}

/* Before each connection: the approval key, asked for once and again when it is old (or the
 * venue said it no longer knows it). */
static void on_prepare(st_wsconn_t *w, void *ctx)
{
    kis_conn_t *c = ctx;
    kis_feed_t *kf = c->owner;
    if (c->approval[0] && now_of(kf) - c->approval_at >= APPROVAL_RENEW) {
        st_log_info(FEED, "%s: session %d: the approval key is %.0f h old: asking for a new one", kf->nf.base.name,
                    w->index, (double)(now_of(kf) - c->approval_at) / ST_HOUR);
        c->approval[0] = '\0';
    }
    if (c->approval[0]) {
        st_wsconn_connect(w);
        return;
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "grant_type", "client_credentials");
    cJSON_AddStringToObject(b, "appkey", c->app_key);
    cJSON_AddStringToObject(b, "secretkey", c->app_secret);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char url[600];
    snprintf(url, sizeof(url), "%s/oauth2/Approval", kf->nf.rest_url);
    static const char *const hdr[] = {"content-type: application/json; charset=utf-8", NULL};
    int rc = st_http_request(kf->nf.http, "POST", url, hdr, body, 10 * ST_SEC, on_approval, c);
    memset(body, 0, strlen(body)); /* it held the secret */
    free(body);
    if (rc) st_wsconn_retry(w, "cannot start the approval key request", false);
}

static void on_open(st_wsconn_t *w, void *ctx)
{
    kis_conn_t *c = ctx;
    st_log_info(FEED, "%s: session %d: subscribing %d keys", c->owner->nf.base.name, w->index, c->sc.co.ledger.desired);
    st_subconn_opened(&c->sc); /* everything desired is sent again, paced */
    st_netfeed_fallback_sync(&c->owner->nf, &c->sc); /* handed back to the stream */
}

static void on_closed(st_wsconn_t *w, void *ctx)
{
    kis_conn_t *c = ctx;
    st_subconn_closed(&c->sc); /* nothing is held any more */
    st_netfeed_fallback_sync(&c->owner->nf, &c->sc);
}

static bool subscribed(st_wsconn_t *w, void *ctx)
{
    kis_conn_t *c = ctx;
    return c->sc.co.ledger.confirmed > 0;
}

/* --- receiving ----------------------------------------------------------------------------- */

typedef struct {
    kis_feed_t *kf;
    st_time_t now;
} rx_ctx_t;

static int on_record(const st_kis_record_t *r, void *ctx)
{
    rx_ctx_t *x = ctx;
    kis_feed_t *kf = x->kf;
    st_sym_t sym = sym_of(kf, r->code, r->code_len);
    if (sym == ST_SYM_NONE) return 0; /* a code outside the universe */
    st_tick_t t = r->tick;
    t.sym = sym;
    t.recv_time = x->now;
    st_feed_deliver(&kf->nf.base, &t);
    return 0;
}

static void on_control(kis_conn_t *c, const char *buf, size_t len, st_time_t now)
{
    kis_feed_t *kf = c->owner;
    int idx = c->sc.ws.index;
    st_kis_msg_t m;
    if (st_kis_msg_parse(buf, len, &m) != 0) {
        kf->nf.malformed++;
        return;
    }
    if (m.kind == ST_KIS_MSG_PINGPONG) {
        st_wsconn_alive(&c->sc.ws);
        st_wsconn_send(&c->sc.ws, buf, len, false); /* echo it */
        return;
    }
    if (m.kind != ST_KIS_MSG_ACK) {
        st_log_debug(FEED, "%s: session %d: %s %s %s", kf->nf.base.name, idx, m.tr_id, m.msg_cd, m.msg1);
        return;
    }
    if (strcmp(m.msg_cd, "OPSP8996") == 0) { /* ALREADY IN USE appkey */
        st_log_error(FEED, "%s: session %d refused by the venue: %s (%s): another program holds a session on "
                     "this app key (one session per key); keys[%d] needs its own app key", kf->nf.base.name, idx,
                     m.msg1, m.msg_cd, idx);
        c->sc.ws.long_wait = true;
        st_wsconn_close(&c->sc.ws, ST_WSCONN_CLOSE_REFUSED);
        return;
    }
    if (strcmp(m.msg_cd, "OPSP0011") == 0) { /* invalid approval: expired, or not the venue's */
        st_log_warn(FEED, "%s: session %d: the venue no longer knows its approval key (%s %s): reconnecting with a "
                    "new one", kf->nf.base.name, idx, m.msg_cd, m.msg1);
        c->approval[0] = '\0';
        st_wsconn_close(&c->sc.ws, ST_WSCONN_CLOSE_REFUSED);
        return;
    }
    st_sym_t sym = sym_of(kf, m.tr_key, strlen(m.tr_key));
    if (sym == ST_SYM_NONE) {
        st_log_warn(FEED, "%s: session %d: answer for unknown key %s %s: %s %s", kf->nf.base.name, idx, m.tr_id,
                    m.tr_key, m.msg_cd, m.msg1);
        return;
    }
    if (m.ack == ST_ACK_ERROR)
        st_log_warn(FEED, "%s: session %d: %s %s refused: %s %s (retried)", kf->nf.base.name, idx, m.tr_id, m.tr_key,
                    m.msg_cd, m.msg1);
    st_coalescer_ack(&c->sc.co, ST_KEY(sym, channel_of(m.tr_id)), (st_ack_t)m.ack, now);
    st_subconn_arm(&c->sc);
}

static void on_message(st_wsconn_t *w, const char *buf, size_t len, void *ctx)
{
    kis_conn_t *c = ctx;
    kis_feed_t *kf = c->owner;
    st_time_t now = now_of(kf);
    st_kis_frame_t f;
    int rc = st_kis_frame_parse(buf, len, &f);
    if (rc == 1) {
        on_control(c, buf, len, now);
        return;
    }
    if (rc == 0 && f.encrypted) {
        kf->encrypted++;
        if (st_feed_warn_due(&kf->warned_encrypted, now))
            st_log_warn(FEED, "%s: dropped %llu encrypted frame(s) (%.*s): order-fill notices are not supported",
                        kf->nf.base.name, (unsigned long long)kf->encrypted, (int)f.tr_id_len, f.tr_id);
        return;
    }
    rx_ctx_t x = {kf, now};
    if (rc == 0 && f.tr != ST_KIS_TR_OTHER) rc = st_kis_decode(&f, KST_OFFSET, now, on_record, &x);
    if (rc > 0) st_wsconn_alive(w); /* data flows: the next drop starts the backoff afresh */
    if (rc < 0 || f.tr == ST_KIS_TR_OTHER) st_netfeed_malformed(&kf->nf, "frame", buf, now);
}

/* --- the feed interface ---------------------------------------------------------------------- */

static int kis_start(st_feed_t *f)
{
    kis_feed_t *kf = (kis_feed_t *)f;
    kf->nf.running = true;
    st_log_info(FEED, "%s: KIS feed starting: %d session%s x %d registrations, %s", f->name, kf->nf.nconns,
                kf->nf.nconns == 1 ? "" : "s", kf->nf.budget, kf->nf.url);
    for (int k = 0; k < kf->nf.nconns; k++) st_wsconn_start(&kf->conns[k].sc.ws);
    st_kis_rest_start(kf->rest);
    return 0;
}

static void kis_stop(st_feed_t *f)
{
    kis_feed_t *kf = (kis_feed_t *)f;
    if (!kf->nf.running) return;
    kf->nf.running = false;
    st_kis_rest_stop(kf->rest);
    st_netfeed_stop_sessions(&kf->nf);
}

static void kis_destroy(st_feed_t *f)
{
    kis_feed_t *kf = (kis_feed_t *)f;
    kis_stop(f);
    st_netfeed_close(&kf->nf); /* closing sessions may still reach the REST side: it goes after */
    st_kis_rest_destroy(kf->rest);
    for (int k = 0; k < kf->nf.nconns; k++) {
        kis_conn_t *c = &kf->conns[k];
        st_subconn_free(&c->sc);
        if (c->app_secret) memset(c->app_secret, 0, strlen(c->app_secret));
        free(c->app_key);
        free(c->app_secret);
    }
    st_netfeed_free(&kf->nf, kf->conns);
    free(kf);
}

static void kis_stats(const st_feed_t *f, st_feed_stats_t *out)
{
    const kis_feed_t *kf = (const kis_feed_t *)f;
    st_netfeed_stats(&kf->nf, out);
    out->encrypted = kf->encrypted;
    st_kis_rest_stats_t rs;
    st_kis_rest_stats(kf->rest, &rs);
    out->rest_calls = kf->rest_calls + rs.token_calls; /* approval keys, access tokens, */
    out->rest_ok = kf->rest_ok + rs.tokens_issued;      /* and (below) quotations */
    st_netfeed_add_restpoll(out, &rs.rp);
    out->violations = rs.rp.rate_errors + rs.rp.bans; /* EGW00201 and the like: the venue's word */
    out->auth_failures = kf->auth_failures + rs.auth_failures;
}

static int kis_orderbook(st_feed_t *f, st_sym_t sym, st_book_cb cb, void *ctx)
{
    return st_kis_rest_orderbook(((kis_feed_t *)f)->rest, sym, cb, ctx);
}

static const st_feed_vtable_t kis_vtable = {"kis",     kis_start, kis_stop,         kis_destroy,
                                            kis_stats, NULL,      st_netfeed_apply, kis_orderbook};

/* KIS's endpoints (the paper-trading ones on other ports) and its one session per app key. */
const st_feed_limits_t st_kis_limits = {.budget = 41, .rest_rate = 20, .ws_rate = 5, .ws_rate_minute = 0};

void st_kis_conf_merge(st_config_t *cfg, st_feed_cfg_t *f, size_t i, st_diags_t *d)
{
    st_feed_limits_t lim = st_kis_limits;
    if (f->paper) lim.rest_rate = 2; /* the official samples pace a paper account at 0.5 s */
    if (f->budget > st_kis_limits.budget)
        ST_CONF_ERR(d, &f->mark, "feeds[%zu].budget: a KIS session holds at most %lld registrations (past them: "
                    "OPSP0008 MAX SUBSCRIBE OVER), got %lld", i, (long long)st_kis_limits.budget, (long long)f->budget);
    st_feed_limits_default(f, &lim);
    if (!*f->ws_url)
        f->ws_url = st_arena_strdup(cfg->arena, f->paper ? "ws://ops.koreainvestment.com:31000"
                                                         : "ws://ops.koreainvestment.com:21000");
    if (!*f->rest_url)
        f->rest_url = st_arena_strdup(cfg->arena, f->paper ? "https://openapivts.koreainvestment.com:29443"
                                                           : "https://openapi.koreainvestment.com:9443");
    if (f->keys.n == 0)
        ST_CONF_ERR(d, &f->mark, "feeds[%zu]: a kis feed needs keys: one {app_key_env, app_secret_env} per WebSocket "
                    "session", i);
    else if ((size_t)f->connections != f->keys.n)
        ST_CONF_ERR(d, &f->mark, "feeds[%zu]: a kis feed opens one session per app key: %zu key%s, but connections is "
                    "%lld", i, f->keys.n, f->keys.n == 1 ? "" : "s", (long long)f->connections);
    /* A second session on an app key would be refused (ALREADY IN USE). */
    for (size_t k = 0; k < f->keys.n; k++) {
        const st_cred_cfg_t *c = ST_LIST_AT(f->keys, st_cred_cfg_t, k);
        for (size_t j = 0; j <= i && !c->mark.bad; j++) {
            const st_feed_cfg_t *g = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, j);
            for (size_t m = 0; m < g->keys.n && (j < i || m < k); m++)
                if (strcmp(ST_LIST_AT(g->keys, st_cred_cfg_t, m)->app_key_env, c->app_key_env) == 0)
                    ST_CONF_ERR(d, &c->mark, "feeds[%zu].keys[%zu]: app key %s is already used by feeds[%zu].keys[%zu]; "
                                "the venue allows one session per app key", i, k, c->app_key_env, j, m);
        }
    }
}

int st_kis_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out, char *err,
                       size_t errlen)
{
    if (fc->connections > ST_PLAN_MAX_CONNS || (size_t)fc->connections != fc->keys.n) {
        snprintf(err, errlen, "feed \"%s\": one session per app key, at most %d", fc->name, ST_PLAN_MAX_CONNS);
        return -EINVAL;
    }
    kis_feed_t *kf = st_xcalloc(1, sizeof(*kf));
    int rc = st_netfeed_init(&kf->nf, &kis_vtable, fc, env, (void **)&kf->conns, sizeof(*kf->conns), err, errlen);
    if (rc) {
        free(kf);
        return rc;
    }
    for (int k = 0; k < kf->nf.nconns; k++) {
        kis_conn_t *c = &kf->conns[k];
        const st_cred_cfg_t *cred = ST_LIST_AT(fc->keys, st_cred_cfg_t, k);
        const char *key = getenv(cred->app_key_env), *secret = getenv(cred->app_secret_env);
        c->owner = kf;
        c->app_key = st_xstrdup(key ? key : "");
        c->app_secret = st_xstrdup(secret ? secret : "");
        st_netfeed_session(&kf->nf, k, ST_VENUE_KIS, fc, co_refused,
                           (st_wsconn_cbs_t){on_prepare, on_open, on_message, on_closed, subscribed}, c);
    }
    const st_cred_cfg_t *first = ST_LIST_AT(fc->keys, st_cred_cfg_t, 0);
    const char *key = getenv(first->app_key_env), *secret = getenv(first->app_secret_env);
    st_kis_rest_cfg_t rc_cfg = {
        .env = st_netfeed_rest_env(&kf->nf, fc, env), .base_url = kf->nf.rest_url, .app_key = key ? key : "", .app_secret = secret ? secret : "",
        .token_dir = fc->token_dir, .paper = fc->paper, .rate = fc->rest_rate, .limiter_mode = fc->limiter,
        .failure_threshold = (int)env->cfg->risk.failure_threshold, .orderbook_ttl = fc->orderbook_cache,
        .on_snapshot = st_feed_rest_snapshot,
        .on_failure = st_feed_rest_failure, .ctx = kf, /* its st_feed_t first */
    };
    kf->rest = st_kis_rest_create(&rc_cfg);
    kf->nf.poller = st_kis_rest_poller(kf->rest);
    *out = &kf->nf.base;
    return 0;
}
