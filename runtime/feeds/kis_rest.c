#include "kis_rest.h"
#include "core/private.h"
#include "rest_codec.h"
#include "restpoll.h"
#include "core/log.h"
#include "core/res.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REFRESH_BEFORE ST_HOUR     /* re-issue this long before the token expires */
#define ISSUE_GAP (61 * ST_SEC)    /* KIS allows one token issue a minute */
#define MULTPRICE_MAX 30

struct st_kis_rest {
    st_kis_rest_cfg_t cfg; /* strings copied */
    char token_dir[512], token_name[64]; /* the cache; token_dir "" = none */
    bool token_dir_warned;
    char token[1024];
    st_time_t token_expires, last_issue;
    bool issuing, reissued; /* reissued: this token was already re-issued for EGW00121/123 */
    st_restpoll_t *rp;
    st_bookcache_t *books;
    char b_auth[1100];
    st_timer_t token_timer;
    char h_auth[1100], h_key[300], h_secret[300], h_trid[40]; /* the request's headers */
    uint64_t tokens_issued, tokens_reused, token_calls, auth_failures;
    bool running;
};

static st_time_t now_of(st_kis_rest_t *r)
{
    return st_clock_now(r->cfg.env.clock);
}

/* --- the token cache ------------------------------------------------------------------------ */

/* The cache's directory (token_dir, or the private default) and the file's name for a key;
 * false when there is no directory to use. */
static bool token_place(const char *token_dir, const char *app_key, char *dir, size_t dlen, char *name, size_t nlen)
{
    if (token_dir && *token_dir) snprintf(dir, dlen, "%s", token_dir);
    else if (st_private_default_dir(dir, dlen) != 0) return false;
    uint64_t h = 1469598103934665603ull; /* FNV-1a: the file is named by the key's hash, not the key */
    for (const char *p = app_key; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    snprintf(name, nlen, "kis-token-%016llx.json", (unsigned long long)h);
    return true;
}

void st_kis_token_path(const char *token_dir, const char *app_key, char *buf, size_t len)
{
    char dir[400], name[64];
    if (token_place(token_dir, app_key, dir, sizeof(dir), name, sizeof(name))) snprintf(buf, len, "%s/%s", dir, name);
    else buf[0] = '\0';
}

/* The cache directory, checked private; -1 after a warning (at most once a process). */
static int token_dir_open(st_kis_rest_t *r)
{
    char err[600];
    int fd = st_private_dir_open(r->token_dir, err, sizeof(err));
    if (fd < 0 && !r->token_dir_warned) {
        st_log_warn(FEED, "%s: the access token is not cached: %s", r->cfg.env.name, err);
        r->token_dir_warned = true;
    }
    return fd;
}

static void save_token(st_kis_rest_t *r)
{
    if (!r->token_dir[0]) return;
    int dfd = token_dir_open(r);
    if (dfd < 0) return;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "base_url", r->cfg.base_url);
    cJSON_AddStringToObject(j, "access_token", r->token);
    cJSON_AddNumberToObject(j, "expires_us", (double)r->token_expires);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    int rc = st_private_write(dfd, r->token_name, text, strlen(text));
    close(dfd);
    free(text);
    if (rc) st_log_warn(FEED, "%s: cannot write the token cache %s/%s: %s", r->cfg.env.name, r->token_dir, r->token_name,
                        strerror(-rc));
}

/* A cached token for this key and URL, valid for more than REFRESH_BEFORE. */
static bool load_token(st_kis_rest_t *r, st_time_t now)
{
    char *text;
    size_t len;
    if (!r->token_dir[0]) return false;
    int dfd = token_dir_open(r);
    if (dfd < 0) return false;
    int rc = st_private_read(dfd, r->token_name, &text, &len);
    close(dfd);
    if (rc == -EPERM || rc == -ELOOP)
        st_log_warn(FEED, "%s: ignoring the token cache %s/%s: not a private regular file of this user", r->cfg.env.name,
                    r->token_dir, r->token_name);
    if (rc) return false;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    cJSON *url = cJSON_GetObjectItem(j, "base_url"), *tok = cJSON_GetObjectItem(j, "access_token"),
          *exp = cJSON_GetObjectItem(j, "expires_us");
    bool ok = cJSON_IsString(url) && !strcmp(url->valuestring, r->cfg.base_url) && cJSON_IsString(tok) &&
              strlen(tok->valuestring) < sizeof(r->token) && cJSON_IsNumber(exp) &&
              (st_time_t)exp->valuedouble - now > REFRESH_BEFORE;
    if (ok) {
        snprintf(r->token, sizeof(r->token), "%s", tok->valuestring);
        r->token_expires = (st_time_t)exp->valuedouble;
    }
    cJSON_Delete(j);
    return ok;
}

/* --- the token ------------------------------------------------------------------------------ */

static void issue_token(st_kis_rest_t *r);

static void token_ready(st_kis_rest_t *r, st_time_t now)
{
    r->reissued = false;
    st_dur_t life = r->token_expires - now;
    st_time_t refresh = r->token_expires - (life > 2 * REFRESH_BEFORE ? REFRESH_BEFORE : life / 10);
    st_clock_timer_start(r->cfg.env.clock, &r->token_timer, refresh, 0);
    st_restpoll_kick(r->rp);
}

static void on_token(const st_http_response_t *resp, void *ctx)
{
    st_kis_rest_t *r = ctx;
    r->issuing = false;
    r->token_calls++;
    st_time_t now = now_of(r);
    cJSON *j = resp->status == 200 ? cJSON_ParseWithLength(resp->body, resp->body_len) : NULL;
    cJSON *tok = cJSON_GetObjectItem(j, "access_token"), *ttl = cJSON_GetObjectItem(j, "expires_in");
    if (cJSON_IsString(tok) && *tok->valuestring && strlen(tok->valuestring) < sizeof(r->token) &&
        cJSON_IsNumber(ttl) && ttl->valuedouble > 0) {
        double secs = ttl->valuedouble;
        snprintf(r->token, sizeof(r->token), "%s", tok->valuestring);
        r->token_expires = now + (st_time_t)(secs * ST_SEC);
        r->tokens_issued++;
        cJSON_Delete(j);
        st_log_info(FEED, "%s: access token issued, valid for %.0f s", r->cfg.env.name, secs);
        save_token(r); /* even when it lands after a stop: KIS issues one a minute */
        if (r->running) token_ready(r, now);
        return;
    }
    cJSON_Delete(j);
    if (!r->running) return;
    if (resp->error)
        st_log_warn(FEED, "%s: access token request failed: %s; retrying in a minute", r->cfg.env.name, resp->message);
    else if (st_kis_auth_refused(resp->status, resp->body)) {
        r->auth_failures++; /* a wrong app key or secret */
        st_log_alert(FEED, "%s: the venue refuses the credentials for an access token (%.160s): check the "
                           "variables keys[] names; retrying in a minute", r->cfg.env.name, resp->body);
    } else
        st_log_warn(FEED, "%s: access token refused (HTTP %d): %.160s; retrying in a minute", r->cfg.env.name,
                    resp->status, resp->body);
    st_clock_timer_start(r->cfg.env.clock, &r->token_timer, now + ISSUE_GAP, 0);
}

static void issue_token(st_kis_rest_t *r)
{
    st_time_t now = now_of(r);
    if (r->issuing) return;
    if (r->last_issue && now - r->last_issue < ISSUE_GAP) { /* one issue a minute */
        st_clock_timer_start(r->cfg.env.clock, &r->token_timer, r->last_issue + ISSUE_GAP, 0);
        return;
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "grant_type", "client_credentials");
    cJSON_AddStringToObject(b, "appkey", r->cfg.app_key);
    cJSON_AddStringToObject(b, "appsecret", r->cfg.app_secret);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char url[600];
    snprintf(url, sizeof(url), "%s/oauth2/tokenP", r->cfg.base_url);
    static const char *const hdr[] = {"content-type: application/json; charset=utf-8", NULL};
    r->last_issue = now;
    r->issuing = st_http_request(r->cfg.env.http, "POST", url, hdr, body, 10 * ST_SEC, on_token, r) == 0;
    memset(body, 0, strlen(body)); /* it held the secret */
    free(body);
    if (!r->issuing) st_clock_timer_start(r->cfg.env.clock, &r->token_timer, now + ISSUE_GAP, 0);
}

static void on_token_timer(st_timer_t *t, st_time_t now, void *ctx)
{
    st_kis_rest_t *r = ctx;
    if (r->running) issue_token(r);
}

/* --- quotations ------------------------------------------------------------------------------ */

static bool ready(void *ctx)
{
    st_kis_rest_t *r = ctx;
    return r->token[0] != '\0';
}

static void request(void *ctx, const st_sym_t *syms, size_t n, char *url, size_t len, const char **hdr)
{
    st_kis_rest_t *r = ctx;
    if (!r->cfg.paper) {
        int off = snprintf(url, len, "%s/uapi/domestic-stock/v1/quotations/intstock-multprice?", r->cfg.base_url);
        for (size_t i = 0; i < n && off > 0 && (size_t)off < len; i++)
            off += snprintf(url + off, len - (size_t)off, "%sFID_COND_MRKT_DIV_CODE_%zu=J&FID_INPUT_ISCD_%zu=%s",
                            i ? "&" : "", i + 1, i + 1, st_symtab_code(r->cfg.env.syms, syms[i]));
    } else {
        snprintf(url, len, "%s/uapi/domestic-stock/v1/quotations/inquire-price?FID_COND_MRKT_DIV_CODE=J"
                 "&FID_INPUT_ISCD=%s", r->cfg.base_url, st_symtab_code(r->cfg.env.syms, syms[0]));
    }
    snprintf(r->h_auth, sizeof(r->h_auth), "authorization: Bearer %s", r->token);
    snprintf(r->h_trid, sizeof(r->h_trid), "tr_id: %s", r->cfg.paper ? "FHKST01010100" : "FHKST11300006");
    const char *h[] = {"content-type: application/json; charset=utf-8", r->h_auth, r->h_key, r->h_secret,
                       r->h_trid, "custtype: P", NULL};
    memcpy(hdr, h, sizeof(h));
}

static void quote_row(void *ctx, const st_tick_t *t)
{
    st_restpoll_row(ctx, t);
}

/* The venue's view of the token: re-issue it once (EGW00121 invalid, EGW00123 expired). */
static void token_refused(st_kis_rest_t *r, st_rq_status_t s)
{
    st_log_warn(FEED, "%s: the venue says the access token is %s (%s): issuing a new one", r->cfg.env.name,
                s == ST_RQ_TOKEN_EXPIRED ? "expired" : "invalid", s == ST_RQ_TOKEN_EXPIRED ? "EGW00123" : "EGW00121");
    if (!r->reissued) {
        r->reissued = true;
        r->token[0] = '\0';
        issue_token(r);
    }
}

static st_rp_outcome_t answer(void *ctx, st_restpoll_t *rp, const st_http_response_t *resp, const st_sym_t *syms,
                              size_t n)
{
    st_kis_rest_t *r = ctx;
    if (resp->error) return ST_RP_RETRY;
    const char *codes[ST_RESTPOLL_MAX_BATCH];
    for (size_t i = 0; i < n; i++) codes[i] = st_symtab_code(r->cfg.env.syms, syms[i]);
    st_rq_status_t s = st_kis_quotes_parse(resp->status, resp->body, resp->body_len, codes, syms, n, now_of(r),
                                           quote_row, rp);
    switch (s) {
    case ST_RQ_OK: return ST_RP_OK;
    case ST_RQ_RATE: return ST_RP_RATE;
    case ST_RQ_TOKEN_EXPIRED:
    case ST_RQ_TOKEN_INVALID: token_refused(r, s); return ST_RP_RETRY;
    default:
        st_log_warn(FEED, "%s: quotation refused (HTTP %d): %.160s", r->cfg.env.name, resp->status, resp->body);
        return ST_RP_RETRY;
    }
}

/* --- orderbooks on demand: inquire-asking-price-exp-ccn (FHKST01010200) ---------------------- */

static bool book_request(void *ctx, st_sym_t sym, char *url, size_t len, const char **hdr)
{
    st_kis_rest_t *r = ctx;
    if (!r->token[0]) return false;
    snprintf(url, len, "%s/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn?FID_COND_MRKT_DIV_CODE=J"
             "&FID_INPUT_ISCD=%s", r->cfg.base_url, st_symtab_code(r->cfg.env.syms, sym));
    snprintf(r->b_auth, sizeof(r->b_auth), "authorization: Bearer %s", r->token);
    const char *h[] = {"content-type: application/json; charset=utf-8", r->b_auth, r->h_key, r->h_secret,
                       "tr_id: FHKST01010200", "custtype: P", NULL};
    memcpy(hdr, h, sizeof(h));
    return true;
}

static const char *book_parse(void *ctx, const st_http_response_t *resp, st_sym_t sym, st_tick_t *t)
{
    st_kis_rest_t *r = ctx;
    st_rq_status_t s = st_kis_book_parse(resp->status, resp->body, resp->body_len, sym, now_of(r), t);
    if (s == ST_RQ_RATE) st_limiter_rate_error(st_restpoll_limiter(r->rp), now_of(r));
    if (s == ST_RQ_TOKEN_EXPIRED || s == ST_RQ_TOKEN_INVALID) token_refused(r, s);
    return s == ST_RQ_OK ? NULL : s == ST_RQ_RATE ? "the venue's rate limit (EGW00201)"
                                                   : "the venue refused the orderbook request";
}

int st_kis_rest_orderbook(st_kis_rest_t *r, st_sym_t sym, st_book_cb cb, void *ctx)
{
    return st_bookcache_get(r->books, sym, cb, ctx);
}

static void snapshot_up(void *ctx, const st_tick_t *t)
{
    st_kis_rest_t *r = ctx;
    if (r->cfg.on_snapshot) r->cfg.on_snapshot(r->cfg.ctx, t);
}

static void failure_up(void *ctx, st_sym_t sym)
{
    st_kis_rest_t *r = ctx;
    if (r->cfg.on_failure) r->cfg.on_failure(r->cfg.ctx, sym);
}

/* --- life cycle ----------------------------------------------------------------------------- */

st_kis_rest_t *st_kis_rest_create(const st_kis_rest_cfg_t *cfg)
{
    st_kis_rest_t *r = st_xcalloc(1, sizeof(*r));
    r->cfg = *cfg;
    r->cfg.env.name = st_xstrdup(cfg->env.name); /* (the poller and the cache copy theirs) */
    r->cfg.base_url = st_xstrdup(cfg->base_url);
    r->cfg.app_key = st_xstrdup(cfg->app_key);
    r->cfg.app_secret = st_xstrdup(cfg->app_secret);
    if (!cfg->token_dir || strcmp(cfg->token_dir, "none") != 0) {
        char salted[1024]; /* one file per key and venue URL (real, paper, a simulator) */
        snprintf(salted, sizeof(salted), "%s|%s", cfg->app_key, cfg->base_url);
        if (!token_place(cfg->token_dir, salted, r->token_dir, sizeof(r->token_dir), r->token_name,
                         sizeof(r->token_name)))
            st_log_warn(FEED, "%s: neither XDG_RUNTIME_DIR, XDG_CACHE_HOME nor HOME is set: the access token is "
                              "not cached (feeds[].token_dir names a directory)", cfg->env.name);
    }
    snprintf(r->h_key, sizeof(r->h_key), "appkey: %s", cfg->app_key);
    snprintf(r->h_secret, sizeof(r->h_secret), "appsecret: %s", cfg->app_secret);
    st_restpoll_cfg_t pc = {
        .env = cfg->env,
        .batch = cfg->paper ? 1 : MULTPRICE_MAX, .rate = cfg->rate, .limiter_mode = cfg->limiter_mode,
        .failure_threshold = cfg->failure_threshold, .request = request, .answer = answer, .ready = ready,
        .on_snapshot = snapshot_up, .on_failure = failure_up, .ctx = r,
    };
    r->rp = st_restpoll_create(&pc);
    st_bookcache_cfg_t bc = {cfg->env, st_restpoll_limiter(r->rp), cfg->orderbook_ttl, book_request, book_parse, r};
    r->books = st_bookcache_create(&bc);
    st_timer_init(&r->token_timer, on_token_timer, r);
    return r;
}

void st_kis_rest_start(st_kis_rest_t *r)
{
    r->running = true;
    st_restpoll_start(r->rp);
    st_time_t now = now_of(r);
    if (load_token(r, now)) {
        r->tokens_reused++;
        st_log_info(FEED, "%s: reusing the cached access token (valid %.0f s more)", r->cfg.env.name,
                    (double)(r->token_expires - now) / ST_SEC);
        token_ready(r, now);
    } else {
        issue_token(r);
    }
}

void st_kis_rest_stop(st_kis_rest_t *r)
{
    r->running = false;
    st_restpoll_stop(r->rp);
    st_clock_timer_stop(r->cfg.env.clock, &r->token_timer);
}

void st_kis_rest_destroy(st_kis_rest_t *r)
{
    if (!r) return;
    st_kis_rest_stop(r);
    st_bookcache_destroy(r->books);
    st_restpoll_destroy(r->rp);
    memset(r->token, 0, sizeof(r->token));
    memset(r->h_auth, 0, sizeof(r->h_auth));
    memset(r->b_auth, 0, sizeof(r->b_auth));
    memset(r->h_secret, 0, sizeof(r->h_secret));
    memset((char *)r->cfg.app_secret, 0, strlen(r->cfg.app_secret));
    free((char *)r->cfg.env.name);
    free((char *)r->cfg.base_url);
    free((char *)r->cfg.app_key);
    free((char *)r->cfg.app_secret);
    free(r);
}

st_restpoll_t *st_kis_rest_poller(st_kis_rest_t *r)
{
    return r->rp;
}

void st_kis_rest_stats(st_kis_rest_t *r, st_kis_rest_stats_t *out)
{
    st_restpoll_stats(r->rp, &out->rp);
    out->tokens_issued = r->tokens_issued;
    out->tokens_reused = r->tokens_reused;
    out->token_calls = r->token_calls;
    out->auth_failures = r->auth_failures;
}
