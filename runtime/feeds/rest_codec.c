#include "rest_codec.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- KIS: every value is a string ----------------------------------------------------------- */

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) && x->valuestring ? x->valuestring : NULL;
}

static double snum(const cJSON *o, const char *k)
{
    const char *s = str(o, k);
    return s ? strtod(s, NULL) : 0;
}

/* The envelope: rt_cd "0" with HTTP 200, or what went wrong. */
static st_rq_status_t kis_status(int http_status, const cJSON *j)
{
    const char *rt = str(j, "rt_cd"), *cd = str(j, "msg_cd");
    if (http_status == 429 || (cd && !strcmp(cd, "EGW00201"))) return ST_RQ_RATE;
    if (cd && !strcmp(cd, "EGW00123")) return ST_RQ_TOKEN_EXPIRED;
    if (cd && !strcmp(cd, "EGW00121")) return ST_RQ_TOKEN_INVALID;
    if (http_status != 200 || !rt || strcmp(rt, "0") != 0) return ST_RQ_REFUSED;
    return ST_RQ_OK;
}

/* One row (multprice or inquire-price) into a snapshot tick. */
static bool kis_row(const cJSON *o, bool multi, st_sym_t sym, st_time_t now, st_tick_t *t)
{
    memset(t, 0, sizeof(*t));
    const char *price = str(o, multi ? "inter2_prpr" : "stck_prpr");
    if (!price || !*price) return false;
    t->kind = ST_TICK_SNAPSHOT;
    t->sym = sym;
    t->venue_time = t->recv_time = now;
    st_trade_t *q = &t->u.trade;
    q->price = strtod(price, NULL);
    q->open = snum(o, multi ? "inter2_oprc" : "stck_oprc");
    q->high = snum(o, multi ? "inter2_hgpr" : "stck_hgpr");
    q->low = snum(o, multi ? "inter2_lwpr" : "stck_lwpr");
    q->prev_close = snum(o, multi ? "inter2_prdy_clpr" : "stck_sdpr");
    q->cum_volume = snum(o, "acml_vol");
    q->cum_value = snum(o, "acml_tr_pbmn");
    if (multi) q->best_ask = snum(o, "inter2_askp"), q->best_bid = snum(o, "inter2_bidp");
    const char *halt = str(o, "temp_stop_yn");
    if (halt && *halt == 'Y') t->flags |= ST_TICK_HALTED;
    return true;
}

st_rq_status_t st_kis_quotes_parse(int http_status, const char *body, size_t len, const char *const *codes,
                                   const st_sym_t *want, size_t n, st_time_t now, st_row_cb row, void *ctx)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    st_rq_status_t s = kis_status(http_status, j);
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(j, "output");
    bool multi = cJSON_IsArray(out);
    if (s == ST_RQ_OK && !multi && !cJSON_IsObject(out)) s = ST_RQ_REFUSED;
    for (size_t i = 0; s == ST_RQ_OK && i < n; i++) {
        const cJSON *r = NULL, *it;
        if (multi) { /* rows are keyed by their own code, not by position */
            cJSON_ArrayForEach(it, out) {
                const char *rc = cJSON_IsObject(it) ? str(it, "inter_shrn_iscd") : NULL;
                if (rc && !strcmp(rc, codes[i])) r = it;
            }
        } else if (n == 1) { /* inquire-price answers for the one code asked */
            r = out;
        }
        st_tick_t t;
        if (r && kis_row(r, multi, want[i], now, &t)) row(ctx, &t);
    }
    cJSON_Delete(j);
    return s;
}

st_rq_status_t st_kis_book_parse(int http_status, const char *body, size_t len, st_sym_t sym, st_time_t now,
                                 st_tick_t *t)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    st_rq_status_t s = kis_status(http_status, j);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "output1");
    if (s == ST_RQ_OK && (!cJSON_IsObject(o) || !str(o, "askp1"))) s = ST_RQ_REFUSED;
    if (s == ST_RQ_OK) {
        memset(t, 0, sizeof(*t));
        t->kind = ST_TICK_ORDERBOOK;
        t->sym = sym;
        t->venue_time = t->recv_time = now;
        st_book_t *b = &t->u.book;
        char k[32];
        for (int i = 0; i < ST_BOOK_DEPTH; i++) {
            snprintf(k, sizeof(k), "askp%d", i + 1), b->ask[i] = snum(o, k);
            snprintf(k, sizeof(k), "bidp%d", i + 1), b->bid[i] = snum(o, k);
            snprintf(k, sizeof(k), "askp_rsqn%d", i + 1), b->ask_qty[i] = snum(o, k);
            snprintf(k, sizeof(k), "bidp_rsqn%d", i + 1), b->bid_qty[i] = snum(o, k);
        }
        b->total_ask_qty = snum(o, "total_askp_rsqn");
        b->total_bid_qty = snum(o, "total_bidp_rsqn");
    }
    cJSON_Delete(j);
    return s;
}

/* --- Upbit: numbers ------------------------------------------------------------------------- */

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : 0;
}

/* Milliseconds since the epoch, when plausible. */
static st_time_t ms_or(const cJSON *o, const char *k, st_time_t fallback)
{
    double ms = jnum(o, k);
    return ms > 0 && ms < 1e14 ? (st_time_t)ms * ST_MSEC : fallback;
}

st_rq_status_t st_upbit_tickers_parse(int http_status, const char *body, size_t len, const char *const *codes,
                                   const st_sym_t *want, size_t n, st_time_t now, st_row_cb row, void *ctx)
{
    if (http_status == 429) return ST_RQ_RATE;
    cJSON *j = http_status == 200 ? cJSON_ParseWithLength(body, len) : NULL;
    if (!cJSON_IsArray(j)) {
        cJSON_Delete(j);
        return ST_RQ_REFUSED;
    }
    const cJSON *r;
    cJSON_ArrayForEach(r, j) {
        if (!cJSON_IsObject(r)) continue;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "market");
        if (!cJSON_IsString(m) || !m->valuestring || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r, "trade_price")))
            continue;
        size_t i = 0;
        while (i < n && strcmp(codes[i], m->valuestring) != 0) i++;
        if (i == n) continue; /* not asked for */
        st_tick_t t;
        memset(&t, 0, sizeof(t));
        t.kind = ST_TICK_SNAPSHOT;
        t.sym = want[i];
        t.venue_time = ms_or(r, "trade_timestamp", now);
        t.recv_time = now;
        st_trade_t *q = &t.u.trade;
        q->price = jnum(r, "trade_price");
        q->open = jnum(r, "opening_price");
        q->high = jnum(r, "high_price");
        q->low = jnum(r, "low_price");
        q->prev_close = jnum(r, "prev_closing_price");
        q->cum_volume = jnum(r, "acc_trade_volume");
        q->cum_value = jnum(r, "acc_trade_price");
        row(ctx, &t);
    }
    cJSON_Delete(j);
    return ST_RQ_OK;
}

st_rq_status_t st_upbit_book_parse(int http_status, const char *body, size_t len, st_sym_t sym, st_time_t now,
                                st_tick_t *t)
{
    if (http_status == 429) return ST_RQ_RATE;
    cJSON *j = http_status == 200 ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *o = cJSON_GetArrayItem(j, 0), *units = cJSON_GetObjectItemCaseSensitive(o, "orderbook_units");
    if (!cJSON_IsArray(j) || !cJSON_IsObject(o) || !cJSON_IsArray(units)) {
        cJSON_Delete(j);
        return ST_RQ_REFUSED;
    }
    memset(t, 0, sizeof(*t));
    t->kind = ST_TICK_ORDERBOOK;
    t->sym = sym;
    t->recv_time = now;
    t->venue_time = ms_or(o, "timestamp", now);
    st_book_t *b = &t->u.book;
    int i = 0;
    const cJSON *u;
    cJSON_ArrayForEach(u, units) {
        if (i == ST_BOOK_DEPTH) break;
        if (!cJSON_IsObject(u)) continue;
        b->ask[i] = jnum(u, "ask_price"), b->bid[i] = jnum(u, "bid_price");
        b->ask_qty[i] = jnum(u, "ask_size"), b->bid_qty[i] = jnum(u, "bid_size");
        i++;
    }
    b->total_ask_qty = jnum(o, "total_ask_size");
    b->total_bid_qty = jnum(o, "total_bid_size");
    cJSON_Delete(j);
    return ST_RQ_OK;
}

bool st_kis_auth_refused(int http_status, const char *body)
{
    return (http_status == 401 || http_status == 403) && body && strstr(body, "EGW0010") != NULL;
}
