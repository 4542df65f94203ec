#include "kis_rest.h"
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
#define CALL_TIMEOUT (5 * ST_SEC)
#define POLL_SHARE 0.9             /* of the key's rate; the rest for tokens and orderbooks */
#define MULTPRICE_MAX 30

typedef struct {
    st_kis_rest_t *r;
    size_t n;
    st_sym_t syms[MULTPRICE_MAX];
} call_t;

struct st_kis_rest {
    st_kis_rest_cfg_t cfg; /* strings copied */
    char token_path[512];
    char token[1024];
    st_time_t token_expires, last_issue;
    bool issuing, reissued; /* reissued: this token was already re-issued for EGW00121/123 */
    double stretch_logged;
    st_poller_t poller;
    st_limiter_t lim;
    st_timer_t poll_timer, token_timer;
    uint8_t *misses;
    st_time_t call_times[64];
    size_t call_next;
    st_kis_rest_stats_t st;
    bool running;
};

static st_time_t now_of(st_kis_rest_t *r)
{
    return st_clock_now(r->cfg.clock);
}

/* --- the token cache ------------------------------------------------------------------------ */

void st_kis_token_path(const char *token_dir, const char *app_key, char *buf, size_t len)
{
    char dir[400];
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (token_dir && *token_dir)
        snprintf(dir, sizeof(dir), "%s", token_dir);
    else if (xdg && *xdg)
        snprintf(dir, sizeof(dir), "%s/strata", xdg);
    else
        snprintf(dir, sizeof(dir), "%s/.cache/strata", home && *home ? home : "/tmp");
    uint64_t h = 1469598103934665603ull; /* FNV-1a: the file is named by the key's hash, not the key */
    for (const char *p = app_key; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    snprintf(buf, len, "%s/kis-token-%016llx.json", dir, (unsigned long long)h);
}

static void mkdirs(const char *path)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(buf, 0700);
        *p = '/';
    }
}

static void save_token(st_kis_rest_t *r)
{
    if (!r->token_path[0]) return;
    mkdirs(r->token_path);
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", r->token_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        st_log_warn(FEED, "%s: cannot write the token cache %s: %s", r->cfg.name, tmp, strerror(errno));
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "base_url", r->cfg.base_url);
    cJSON_AddStringToObject(j, "access_token", r->token);
    cJSON_AddNumberToObject(j, "expires_us", (double)r->token_expires);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len;
    ok = fsync(fd) == 0 && ok;
    close(fd);
    free(text);
    if (!ok || rename(tmp, r->token_path) != 0) {
        st_log_warn(FEED, "%s: cannot write the token cache %s", r->cfg.name, r->token_path);
        unlink(tmp);
    }
}

/* A cached token for this key and URL, valid for more than REFRESH_BEFORE. */
static bool load_token(st_kis_rest_t *r, st_time_t now)
{
    char *text;
    size_t len;
    if (!r->token_path[0] || st_file_read(r->token_path, &text, &len) != 0) return false;
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

static void arm_poll(st_kis_rest_t *r);
static void issue_token(st_kis_rest_t *r);

static void token_ready(st_kis_rest_t *r, st_time_t now)
{
    r->reissued = false;
    st_dur_t life = r->token_expires - now;
    st_time_t refresh = r->token_expires - (life > 2 * REFRESH_BEFORE ? REFRESH_BEFORE : life / 10);
    st_clock_timer_start(r->cfg.clock, &r->token_timer, refresh, 0);
    arm_poll(r);
}

static void on_token(const st_http_response_t *resp, void *ctx)
{
    st_kis_rest_t *r = ctx;
    r->issuing = false;
    if (!r->running) return;
    st_time_t now = now_of(r);
    cJSON *j = resp->status == 200 ? cJSON_ParseWithLength(resp->body, resp->body_len) : NULL;
    cJSON *tok = cJSON_GetObjectItem(j, "access_token"), *ttl = cJSON_GetObjectItem(j, "expires_in");
    if (cJSON_IsString(tok) && *tok->valuestring && strlen(tok->valuestring) < sizeof(r->token) &&
        cJSON_IsNumber(ttl) && ttl->valuedouble > 0) {
        double secs = ttl->valuedouble;
        snprintf(r->token, sizeof(r->token), "%s", tok->valuestring);
        r->token_expires = now + (st_time_t)(secs * ST_SEC);
        r->st.tokens_issued++;
        cJSON_Delete(j);
        st_log_info(FEED, "%s: access token issued, valid for %.0f s", r->cfg.name, secs);
        save_token(r);
        token_ready(r, now);
        return;
    }
    cJSON_Delete(j);
    if (resp->error)
        st_log_warn(FEED, "%s: access token request failed: %s; retrying in a minute", r->cfg.name, resp->message);
    else
        st_log_warn(FEED, "%s: access token refused (HTTP %d): %.160s; retrying in a minute", r->cfg.name,
                    resp->status, resp->body);
    st_clock_timer_start(r->cfg.clock, &r->token_timer, now + ISSUE_GAP, 0);
}

static void issue_token(st_kis_rest_t *r)
{
    st_time_t now = now_of(r);
    if (r->issuing) return;
    if (r->last_issue && now - r->last_issue < ISSUE_GAP) { /* one issue a minute */
        st_clock_timer_start(r->cfg.clock, &r->token_timer, r->last_issue + ISSUE_GAP, 0);
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
    r->issuing = st_http_request(r->cfg.http, "POST", url, hdr, body, 10 * ST_SEC, on_token, r) == 0;
    memset(body, 0, strlen(body)); /* it held the secret */
    free(body);
    if (!r->issuing) st_clock_timer_start(r->cfg.clock, &r->token_timer, now + ISSUE_GAP, 0);
}

static void on_token_timer(st_timer_t *t, st_time_t now, void *ctx)
{
    st_kis_rest_t *r = ctx;
    if (r->running) issue_token(r);
}

/* --- polling -------------------------------------------------------------------------------- */

static const char *str(cJSON *o, const char *k)
{
    cJSON *x = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static double num(cJSON *o, const char *k)
{
    const char *s = str(o, k);
    return s ? strtod(s, NULL) : 0;
}

/* One row (multprice or inquire-price) into a snapshot tick. */
static bool row_tick(cJSON *o, bool multi, st_sym_t sym, st_time_t now, st_tick_t *t)
{
    memset(t, 0, sizeof(*t));
    const char *price = str(o, multi ? "inter2_prpr" : "stck_prpr");
    if (!price || !*price) return false;
    t->kind = ST_TICK_SNAPSHOT;
    t->sym = sym;
    t->venue_time = now; /* quotations carry no time: the answer's */
    t->recv_time = now;
    st_trade_t *q = &t->u.trade;
    q->price = strtod(price, NULL);
    q->open = num(o, multi ? "inter2_oprc" : "stck_oprc");
    q->high = num(o, multi ? "inter2_hgpr" : "stck_hgpr");
    q->low = num(o, multi ? "inter2_lwpr" : "stck_lwpr");
    q->prev_close = num(o, multi ? "inter2_prdy_clpr" : "stck_sdpr");
    q->cum_volume = num(o, "acml_vol");
    q->cum_value = num(o, "acml_tr_pbmn");
    if (multi) q->best_ask = num(o, "inter2_askp"), q->best_bid = num(o, "inter2_bidp");
    const char *halt = str(o, "temp_stop_yn");
    if (halt && *halt == 'Y') t->flags |= ST_TICK_HALTED;
    return true;
}

static void missed(st_kis_rest_t *r, st_sym_t sym, st_time_t now)
{
    if (++r->misses[sym] == r->cfg.failure_threshold) {
        r->st.failures++;
        st_log_warn(FEED, "%s: %s missing from %d quotation answers in a row", r->cfg.name,
                    st_symtab_code(r->cfg.syms, sym), r->cfg.failure_threshold);
        if (r->cfg.on_failure) r->cfg.on_failure(r->cfg.ctx, sym);
    }
    st_poller_retry(&r->poller, sym, now);
}

static void retry_all(st_kis_rest_t *r, const call_t *c, st_time_t now)
{
    for (size_t i = 0; i < c->n; i++) st_poller_retry(&r->poller, c->syms[i], now);
}

static void on_quote(const st_http_response_t *resp, void *ctx)
{
    call_t *c = ctx;
    st_kis_rest_t *r = c->r;
    st_time_t now = now_of(r);
    cJSON *j = resp->status ? cJSON_ParseWithLength(resp->body, resp->body_len) : NULL;
    const char *rt = str(j, "rt_cd"), *cd = str(j, "msg_cd");
    if (!r->running) {
        /* stopped meanwhile: nothing to do */
    } else if (resp->error) {
        r->st.timeouts++;
        retry_all(r, c, now);
    } else if (resp->status == 429 || (cd && !strcmp(cd, "EGW00201"))) {
        r->st.rate_errors++;
        st_limiter_rate_error(&r->lim, now);
        retry_all(r, c, now);
    } else if (cd && (!strcmp(cd, "EGW00123") || !strcmp(cd, "EGW00121"))) {
        st_log_warn(FEED, "%s: the venue says the access token is %s (%s): issuing a new one", r->cfg.name,
                    !strcmp(cd, "EGW00123") ? "expired" : "invalid", cd);
        if (!r->reissued) {
            r->reissued = true;
            r->token[0] = '\0';
            issue_token(r);
        }
        retry_all(r, c, now);
    } else if (resp->status != 200 || !rt || strcmp(rt, "0") != 0) {
        r->st.malformed++;
        st_log_warn(FEED, "%s: quotation refused (HTTP %d): %.160s", r->cfg.name, resp->status, resp->body);
        retry_all(r, c, now);
    } else {
        r->st.ok++;
        cJSON *out = cJSON_GetObjectItem(j, "output");
        bool multi = cJSON_IsArray(out);
        bool got[MULTPRICE_MAX] = {false};
        for (size_t i = 0; i < c->n; i++) {
            cJSON *row = NULL;
            if (multi) { /* rows are keyed by their own code, not by position */
                const char *code = st_symtab_code(r->cfg.syms, c->syms[i]);
                cJSON *it;
                cJSON_ArrayForEach(it, out) {
                    const char *rc = str(it, "inter_shrn_iscd");
                    if (rc && !strcmp(rc, code)) row = it;
                }
            } else if (cJSON_IsObject(out)) {
                row = out;
            }
            st_tick_t t;
            if (row && row_tick(row, multi, c->syms[i], now, &t)) {
                got[i] = true;
                r->misses[c->syms[i]] = 0;
                if (r->cfg.on_snapshot) r->cfg.on_snapshot(r->cfg.ctx, &t);
            }
        }
        for (size_t i = 0; i < c->n; i++)
            if (!got[i]) missed(r, c->syms[i], now);
    }
    cJSON_Delete(j);
    free(c);
    arm_poll(r);
}

static void poll_now(st_kis_rest_t *r, st_time_t now)
{
    call_t *c = st_xcalloc(1, sizeof(*c));
    c->r = r;
    c->n = st_poller_take(&r->poller, now, c->syms);
    if (!c->n) {
        free(c);
        return;
    }
    char url[4096];
    int off = 0;
    bool multi = !r->cfg.paper;
    if (multi) {
        off = snprintf(url, sizeof(url), "%s/uapi/domestic-stock/v1/quotations/intstock-multprice?", r->cfg.base_url);
        for (size_t i = 0; i < c->n && off < (int)sizeof(url); i++)
            off += snprintf(url + off, sizeof(url) - (size_t)off, "%sFID_COND_MRKT_DIV_CODE_%zu=J&FID_INPUT_ISCD_%zu=%s",
                            i ? "&" : "", i + 1, i + 1, st_symtab_code(r->cfg.syms, c->syms[i]));
    } else {
        snprintf(url, sizeof(url), "%s/uapi/domestic-stock/v1/quotations/inquire-price?FID_COND_MRKT_DIV_CODE=J"
                 "&FID_INPUT_ISCD=%s", r->cfg.base_url, st_symtab_code(r->cfg.syms, c->syms[0]));
    }
    char auth[1100], key[300], secret[300], trid[40];
    snprintf(auth, sizeof(auth), "authorization: Bearer %s", r->token);
    snprintf(key, sizeof(key), "appkey: %s", r->cfg.app_key);
    snprintf(secret, sizeof(secret), "appsecret: %s", r->cfg.app_secret);
    snprintf(trid, sizeof(trid), "tr_id: %s", multi ? "FHKST11300006" : "FHKST01010100");
    const char *hdr[] = {"content-type: application/json; charset=utf-8", auth, key, secret, trid, "custtype: P", NULL};
    r->st.calls++;
    r->call_times[r->call_next++ % ST_ARRAY_SIZE(r->call_times)] = now;
    if (st_http_request(r->cfg.http, "GET", url, hdr, NULL, CALL_TIMEOUT, on_quote, c) != 0) {
        r->st.timeouts++;
        retry_all(r, c, now);
        free(c);
    }
    memset(secret, 0, sizeof(secret));
}

/* Demand over the budget is said out loud, once per 10 % change of the stretch. */
static void check_stretch(st_kis_rest_t *r)
{
    double s = r->poller.stretch;
    if (s <= 1.0 && r->stretch_logged <= 1.0) return;
    if (s > r->stretch_logged * 0.9 && s < r->stretch_logged * 1.1) return;
    r->stretch_logged = s;
    if (s > 1.0)
        st_log_warn(FEED, "%s: tier-3 demand (%zu symbols, %.0f refreshes a second) exceeds the REST budget "
                    "(%.1f calls a second x %d symbols): every polling interval stretched x%.2f",
                    r->cfg.name, r->poller.n, r->poller.demand, r->poller.rate, r->poller.batch, s);
    else
        st_log_info(FEED, "%s: tier-3 polling back within the REST budget", r->cfg.name);
}

static void on_poll_timer(st_timer_t *t, st_time_t deadline, void *ctx)
{
    st_kis_rest_t *r = ctx;
    st_time_t now = now_of(r); /* the call leaves now */
    check_stretch(r);
    if (r->token[0] && st_poller_next(&r->poller) <= now && st_limiter_try(&r->lim, now)) poll_now(r, now);
    arm_poll(r);
}

static void arm_poll(st_kis_rest_t *r)
{
    st_clock_t *clk = r->cfg.clock;
    st_time_t due = st_poller_next(&r->poller);
    if (!r->running || !r->token[0] || due == ST_TIME_NEVER) {
        st_clock_timer_stop(clk, &r->poll_timer);
        return;
    }
    st_time_t now = st_clock_now(clk), gate = st_limiter_next(&r->lim, now > due ? now : due);
    if (gate > due) due = gate;
    if (!st_timer_active(&r->poll_timer) || r->poll_timer.at != due) st_clock_timer_start(clk, &r->poll_timer, due, 0);
}

/* --- life cycle ----------------------------------------------------------------------------- */

st_kis_rest_t *st_kis_rest_create(const st_kis_rest_cfg_t *cfg)
{
    st_kis_rest_t *r = st_xcalloc(1, sizeof(*r));
    r->cfg = *cfg;
    r->cfg.name = st_xstrdup(cfg->name);
    r->cfg.base_url = st_xstrdup(cfg->base_url);
    r->cfg.app_key = st_xstrdup(cfg->app_key);
    r->cfg.app_secret = st_xstrdup(cfg->app_secret);
    if (r->cfg.failure_threshold < 1) r->cfg.failure_threshold = 3;
    if (!cfg->token_dir || strcmp(cfg->token_dir, "none") != 0) {
        char salted[1024]; /* one file per key and venue URL (real, paper, a simulator) */
        snprintf(salted, sizeof(salted), "%s|%s", cfg->app_key, cfg->base_url);
        st_kis_token_path(cfg->token_dir, salted, r->token_path, sizeof(r->token_path));
    }
    st_rl_tuning_t tune;
    st_rl_mode_tuning((st_rl_mode_t)cfg->limiter_mode, &tune);
    st_window_t w = {(int)cfg->rate < 1 ? 1 : (int)cfg->rate, ST_SEC};
    st_limiter_init(&r->lim, &w, 1, &tune);
    st_poller_init(&r->poller, cfg->nsyms, cfg->paper ? 1 : MULTPRICE_MAX, cfg->rate * tune.fraction * POLL_SHARE);
    r->misses = st_xcalloc(cfg->nsyms ? cfg->nsyms : 1, 1);
    st_timer_init(&r->poll_timer, on_poll_timer, r);
    st_timer_init(&r->token_timer, on_token_timer, r);
    return r;
}

void st_kis_rest_start(st_kis_rest_t *r)
{
    r->running = true;
    st_time_t now = now_of(r);
    if (load_token(r, now)) {
        r->st.tokens_reused++;
        st_log_info(FEED, "%s: reusing the cached access token (valid %.0f s more)", r->cfg.name,
                    (double)(r->token_expires - now) / ST_SEC);
        token_ready(r, now);
    } else {
        issue_token(r);
    }
}

void st_kis_rest_stop(st_kis_rest_t *r)
{
    r->running = false;
    st_clock_timer_stop(r->cfg.clock, &r->poll_timer);
    st_clock_timer_stop(r->cfg.clock, &r->token_timer);
}

void st_kis_rest_destroy(st_kis_rest_t *r)
{
    if (!r) return;
    st_kis_rest_stop(r);
    st_poller_free(&r->poller);
    st_limiter_free(&r->lim);
    free(r->misses);
    memset(r->token, 0, sizeof(r->token));
    memset((char *)r->cfg.app_secret, 0, strlen(r->cfg.app_secret));
    free((char *)r->cfg.name);
    free((char *)r->cfg.base_url);
    free((char *)r->cfg.app_key);
    free((char *)r->cfg.app_secret);
    free(r);
}

void st_kis_rest_poll(st_kis_rest_t *r, st_sym_t sym, st_dur_t interval, int cls)
{
    st_poller_set(&r->poller, sym, interval, cls, now_of(r));
    if (r->running) arm_poll(r);
}

void st_kis_rest_stats(st_kis_rest_t *r, st_kis_rest_stats_t *out)
{
    *out = r->st;
    st_time_t now = now_of(r);
    out->calls_last_second = 0;
    for (size_t i = 0; i < ST_ARRAY_SIZE(r->call_times) && i < r->call_next; i++)
        out->calls_last_second += r->call_times[i] > now - ST_SEC;
    out->penalty = st_limiter_penalty(&r->lim, now);
    out->poller = &r->poller;
}
