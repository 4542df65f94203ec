/* `strata status`: asks a running strata for GET /status and prints it for a terminal. */
#include "status_cmd.h"
#include "conf/config.h"
#include "core/res.h"
#include "ops/report.h"
#include "ops/status.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY (8u << 20) /* a status document is kilobytes: more is not strata */
#define TIMEOUT_MS 5000L

typedef struct {
    char *p;
    size_t n, cap;
    bool too_big;
} buf_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    buf_t *b = ctx;
    size_t n = size * nmemb;
    if (b->n + n > MAX_BODY) {
        b->too_big = true;
        return 0; /* curl stops reading */
    }
    if (b->n + n + 1 > b->cap) { /* doubling: a large answer is not copied over and over */
        b->cap = ST_MAX2(b->cap * 2, b->n + n + 1);
        b->p = st_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

/* A number of the status document, 0 when absent (an older strata may not have it). */
static double dnum(const cJSON *o, const char *path)
{
    double v = st_status_number(o, path);
    return isnan(v) ? 0 : v;
}

/* A string of the status document, `none` when absent. */
static const char *dstr_or(const cJSON *o, const char *k, const char *none)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : none;
}

static const char *dstr(const cJSON *o, const char *k)
{
    return dstr_or(o, k, "");
}

static void print_status(const cJSON *s, const char *url)
{
    const cJSON *slot = cJSON_GetObjectItemCaseSensitive(s, "time_slot");
    char calls[32];
    st_format_count((uint64_t)dnum(s, "api_stats.total_calls"), calls, sizeof(calls));
    printf("strata at %s: generation %.0f, up %.0f s, market time %s\n", url, dnum(s, "generation"),
           dnum(s, "uptime_seconds"), dstr(s, "time"));
    printf("slot %s: realtime %.0f, semi-realtime %.0f, indices %.0f, reserve %.0f, poll x%.2f\n",
           dstr(slot, "name"), dnum(slot, "policy.realtime"), dnum(slot, "policy.semi_realtime"),
           dnum(slot, "policy.indices"), dnum(slot, "policy.reserve"), dnum(slot, "policy.poll_scale"));
    printf("monitored %.0f (%.0f stocks, %.0f indices) | websocket %.0f/%.0f (%.0f free) | api %s calls, %.1f%% ok, "
           "%.0f/%.0f per s | signals %.0f (%.0f suppressed, %.0f dropped) | promotions %.0f, emergencies %.0f\n",
           dnum(s, "monitored"), dnum(s, "total_stocks"), dnum(s, "total_indices"),
           dnum(s, "websocket_status.total_subscriptions"), dnum(s, "websocket_status.budget"),
           dnum(s, "websocket_status.available_slots"), calls, dnum(s, "api_stats.success_rate") * 100,
           dnum(s, "api_stats.calls_in_last_second"), dnum(s, "api_stats.limit_per_second"), dnum(s, "signals.total"),
           dnum(s, "signals.suppressed"), dnum(s, "signals.dropped"), dnum(s, "plan.promotions"),
           dnum(s, "plan.emergencies"));
    printf("\n%-16s %8s\n", "tier", "symbols");
    static const char *const tiers[][2] = {{"1 realtime", "tiers.realtime"},
                                           {"2 semi-realtime", "tiers.semi_realtime"},
                                           {"3 polling", "tiers.polling"},
                                           {"indices", "tiers.indices"}};
    for (size_t i = 0; i < 4; i++) printf("%-16s %8.0f\n", tiers[i][0], dnum(s, tiers[i][1]));
    const cJSON *conns = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "websocket_status"),
                                                          "connections");
    const cJSON *c;
    printf("\n%-10s %-12s %-7s %9s %8s %9s\n", "connection", "feed", "session", "held", "planned", "budget");
    cJSON_ArrayForEach(c, conns) {
        const cJSON *open = cJSON_GetObjectItemCaseSensitive(c, "open");
        printf("%-10.0f %-12s %-7s %9.0f %8.0f %9.0f\n", dnum(c, "connection"), dstr(c, "feed"),
               cJSON_IsTrue(open) ? "up" : "down", dnum(c, "subscriptions"), dnum(c, "planned"), dnum(c, "budget"));
    }
    const cJSON *strats = cJSON_GetObjectItemCaseSensitive(s, "strategies");
    size_t n = (size_t)cJSON_GetArraySize(strats), i = 0;
    st_strat_info_t *si = st_xcalloc(n + 1, sizeof(*si));
    cJSON_ArrayForEach(c, strats) si[i++] = (st_strat_info_t){
        .name = dstr(c, "name"), .kind = dstr(c, "kind"), .state = dstr(c, "state"),
        .ticks = (uint64_t)dnum(c, "ticks"), .signals = (uint64_t)dnum(c, "signals"),
        .emergencies = (uint64_t)dnum(c, "emergencies"), .faults = (uint64_t)dnum(c, "faults"),
        .watched = (size_t)dnum(c, "watched"), .callback_p99_ns = (uint64_t)(dnum(c, "callback_p99_us") * 1e3)};
    st_report_strategies(stdout, si, n, true);
    free(si);
}

/* --- strata status --symbols ------------------------------------------------------------------ */

static void clock_of(const char *datetime, char *out, size_t len)
{
    const char *sp = strchr(datetime, ' '); /* "2026-11-23 09:15:32.123" → "09:15:32" */
    snprintf(out, len, "%.8s", sp ? sp + 1 : "-");
}

static bool jhas(const cJSON *o, const char *k)
{
    return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void print_symbol_row(const cJSON *e)
{
    char since[16], tier[8], conn[8], price[32], age[16], poll[16], flags[40] = "";
    clock_of(dstr_or(e, "since", "-"), since, sizeof(since));
    int t = (int)dnum(e, "tier");
    if (t) snprintf(tier, sizeof(tier), "%d", t);
    else snprintf(tier, sizeof(tier), "-");
    if (jhas(e, "connection")) snprintf(conn, sizeof(conn), "%.0f", dnum(e, "connection"));
    else snprintf(conn, sizeof(conn), "-");
    if (jhas(e, "last_price")) st_format_count((uint64_t)dnum(e, "last_price"), price, sizeof(price));
    else snprintf(price, sizeof(price), "-");
    if (jhas(e, "staleness_s")) snprintf(age, sizeof(age), "%.1fs", dnum(e, "staleness_s"));
    else snprintf(age, sizeof(age), "-");
    if (jhas(e, "poll_interval_s")) snprintf(poll, sizeof(poll), "%.0fs", dnum(e, "poll_interval_s"));
    else snprintf(poll, sizeof(poll), "-");
    static const char *const marks[] = {"pinned", "emergency", "excluded", "index"};
    for (size_t i = 0; i < ST_ARRAY_SIZE(marks); i++)
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, marks[i])))
            snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags), "%s%s", *flags ? "," : "", marks[i]);
    printf("%-8s %4s %4s %-10s %6.1f %-8s %-10s %12s %8s %9.0f %6s %-16s %s\n", dstr(e, "code"), tier, conn,
           dstr_or(e, "priority", "-"), dnum(e, "score"), since, dstr_or(e, "last_move", "-"), price, age,
           dnum(e, "ticks_per_minute"), poll, *flags ? flags : "-", dstr(e, "name"));
}

static const char symbols_head[] = "%-8s %4s %4s %-10s %6s %-8s %-10s %12s %8s %9s %6s %-16s %s\n";

static void print_symbols(const cJSON *s)
{
    printf("%.0f symbols at %s\n\n", dnum(s, "count"), dstr(s, "time"));
    printf(symbols_head, "code", "tier", "conn", "priority", "score", "since", "last move", "price", "age", "ticks/min",
           "poll", "flags", "name");
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "symbols")) print_symbol_row(e);
}

static void print_event(const cJSON *ev)
{
    char at[16], what[160];
    clock_of(dstr_or(ev, "at", "-"), at, sizeof(at));
    const char *kind = dstr(ev, "kind");
    if (!strcmp(kind, "tier"))
        snprintf(what, sizeof(what), "tier %s -> %s (%s)", st_tier_names[(int)dnum(ev, "from") & 3],
                 st_tier_names[(int)dnum(ev, "to") & 3],
                 dstr(ev, "why"));
    else if (!strcmp(kind, "signal"))
        snprintf(what, sizeof(what), "%s: %s, strength %.2f", dstr(ev, "strategy"), dstr(ev, "side"), dnum(ev, "strength"));
    else if (!strcmp(kind, "emergency"))
        snprintf(what, sizeof(what), "%s: score %.0f, %s%s", dstr(ev, "strategy"), dnum(ev, "score"),
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "granted")) ? "granted" : "refused: ",
                 dstr_or(ev, "why", ""));
    else
        snprintf(what, sizeof(what), "%s %s on connection %.0f", dstr(ev, "op"), dstr(ev, "channel"), dnum(ev, "connection"));
    printf("  %-8s %-12s %s\n", at, kind, what);
}

static void print_symbol(const cJSON *s)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "symbol");
    printf("%s %s (%s) at %s\n\n", dstr(e, "code"), dstr(e, "name"), dstr(e, "sector"), dstr(s, "time"));
    printf(symbols_head, "code", "tier", "conn", "priority", "score", "since", "last move", "price", "age", "ticks/min",
           "poll", "flags", "name");
    print_symbol_row(e);
    printf("\nasked for by:");
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(e, "requesters"))
        printf(" %s (%s%s)", dstr(r, "name"), dstr(r, "priority"),
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "emergency")) ? ", emergency" : "");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "excluded")))
        printf("\nexcluded until %s: %s", dstr_or(e, "excluded_until", "-"), dstr(e, "excluded_why"));
    printf("\n\nhistory (oldest first; %.0f older events not kept):\n", dnum(e, "history_dropped"));
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(e, "history")) print_event(r);
}

/* --- the request ------------------------------------------------------------------------------ */

/* path: "/status", "/symbols?…" or "/symbols/CODE" (q's values escaped). */
static void request_path(const st_status_query_t *q, CURL *h, char *out, size_t len)
{
    if (!q || (!q->symbols && !q->symbol)) {
        snprintf(out, len, "/status");
        return;
    }
    if (q->symbol) {
        char *code = curl_easy_escape(h, q->symbol, 0);
        snprintf(out, len, "/symbols/%s", code);
        curl_free(code);
        return;
    }
    size_t n = (size_t)snprintf(out, len, "/symbols");
    const char *keys[] = {"tier", "strategy", "q"};
    char tier[16] = "";
    if (q->tier >= 0) snprintf(tier, sizeof(tier), "%d", q->tier);
    const char *vals[] = {*tier ? tier : NULL, q->strategy, q->find};
    for (size_t i = 0; i < 3; i++) {
        if (!vals[i] || n >= len) continue;
        char *v = curl_easy_escape(h, vals[i], 0);
        n += (size_t)snprintf(out + n, len - n, "%c%s=%s", strchr(out, '?') ? '&' : '?', keys[i], v);
        curl_free(v);
    }
}

/* Where to ask: url_opt, or where config's status section says a strata listens (with the
 * bearer token of the variable it names in auth). Returns 0, or 1 with the config's errors
 * printed. */
static int endpoint(const char *config, const char *url_opt, char *url, size_t urllen, char *auth, size_t authlen)
{
    if (url_opt) {
        snprintf(url, urllen, "%s", url_opt);
    } else {
        st_config_t *cfg = NULL;
        st_diags_t d;
        st_diags_init(&d);
        if (st_config_load(config, &cfg, &d) != 0) {
            for (size_t i = 0; i < d.n; i++) {
                char line[1400];
                st_diag_format(&d.items[i], line, sizeof(line));
                fprintf(stderr, "%s\n", line);
            }
            st_diags_free(&d);
            return 1;
        }
        st_diags_free(&d);
        const char *host = !strcmp(cfg->status.listen, "0.0.0.0") ? "127.0.0.1"
                           : !strcmp(cfg->status.listen, "::")    ? "::1"
                                                                  : cfg->status.listen;
        bool v6 = strchr(host, ':') != NULL;
        snprintf(url, urllen, "http://%s%s%s:%lld", v6 ? "[" : "", host, v6 ? "]" : "", (long long)cfg->status.port);
        const char *token = *cfg->status.token_env ? getenv(cfg->status.token_env) : NULL;
        if (token) snprintf(auth, authlen, "Authorization: Bearer %s", token);
        st_config_free(cfg);
    }
    return 0;
}

int st_cmd_status(const char *config, const char *url_opt, const st_status_query_t *q)
{
    char url[512], auth[600] = "";
    if (endpoint(config, url_opt, url, sizeof(url), auth, sizeof(auth))) return 1;
    size_t n = strlen(url);
    while (n && url[n - 1] == '/') url[--n] = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    char path[512], full[1100];
    request_path(q, h, path, sizeof(path));
    snprintf(full, sizeof(full), "%s%s", url, path);
    buf_t body = {0};
    struct curl_slist *hdrs = *auth ? curl_slist_append(NULL, auth) : NULL;
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TIMEOUT_MS); /* the whole answer, however slowly it trickles */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_BODY);
    if (hdrs) curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    int exit_code = 1;
    cJSON *s = NULL;
    if (body.too_big || rc == CURLE_FILESIZE_EXCEEDED)
        fprintf(stderr, "strata status: %s answered more than %u MiB: that is not a strata status\n", full,
                MAX_BODY >> 20);
    else if (rc == CURLE_OPERATION_TIMEDOUT && code)
        fprintf(stderr, "strata status: %s did not finish answering within %ld s\n", full, TIMEOUT_MS / 1000);
    else if (rc != CURLE_OK)
        fprintf(stderr, "strata status: no strata answers at %s: %s\n", full, curl_easy_strerror(rc));
    else if (code == 401)
        fprintf(stderr, "strata status: %s wants a bearer token: set the variable status.token_env names\n", full);
    else if (code == 404 && q && q->symbol)
        fprintf(stderr, "strata status: no symbol %s in the universe of the strata at %s\n", q->symbol, url);
    else if (code == 400)
        fprintf(stderr, "strata status: %s: %s", full, body.p ? body.p : "bad request\n");
    else if (code != 200)
        fprintf(stderr, "strata status: %s answered HTTP %ld\n", full, code);
    else if (!(s = cJSON_ParseWithLength(body.p ? body.p : "", body.n)))
        fprintf(stderr, "strata status: %s did not answer with a JSON document (or one nested deeper than %d)\n",
                full, CJSON_NESTING_LIMIT);
    else if (!cJSON_IsObject(s))
        fprintf(stderr, "strata status: %s answered JSON that is not a status object\n", full);
    else {
        if (q && q->symbol) print_symbol(s);
        else if (q && q->symbols) print_symbols(s);
        else print_status(s, url);
        exit_code = 0;
    }
    cJSON_Delete(s);
    free(body.p);
    return exit_code;
}
