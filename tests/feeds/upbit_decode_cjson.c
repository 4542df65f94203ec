/* The Upbit decoder as it was before issue 19.2, on cJSON's tree: the oracle test_upbit_codec
 * holds the one-pass decoder to (the same return and the same bytes out, on every message). */
#include "feeds/upbit_codec.h"
#include "upbit_decode_cjson.h"
#include "feeds/upbit_fields.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static double num(const cJSON *x)
{
    return cJSON_IsNumber(x) ? x->valuedouble : 0;
}

/* A millisecond timestamp → strata time; false unless it is a plausible time (found by
 * fuzz_upbit: 1.7e45 overflowed the conversion). */
static bool ms_time(const cJSON *x, st_time_t *out)
{
    if (!cJSON_IsNumber(x)) return false;
    double ms = x->valuedouble;
    if (!(ms >= 0 && ms < 1e13)) return false; /* before the year 2286; NaN fails too */
    *out = (st_time_t)ms * ST_MSEC;
    return true;
}

static void book_units(const cJSON *units, st_book_t *b)
{
    int i = 0;
    const cJSON *u;
    if (!cJSON_IsArray(units)) return; /* an object here has members, not levels */
    cJSON_ArrayForEach(u, units)
    {
        if (i == ST_BOOK_DEPTH) break;
        if (!cJSON_IsObject(u)) continue; /* a level is an object; an array's items have no names */
        const cJSON *m;
        cJSON_ArrayForEach(m, u)
        {
            const char *k = m->string;
            if (!strcmp(k, "ask_price") || !strcmp(k, "ap")) b->ask[i] = num(m);
            else if (!strcmp(k, "bid_price") || !strcmp(k, "bp")) b->bid[i] = num(m);
            else if (!strcmp(k, "ask_size") || !strcmp(k, "as")) b->ask_qty[i] = num(m);
            else if (!strcmp(k, "bid_size") || !strcmp(k, "bs")) b->bid_qty[i] = num(m);
        }
        i++;
    }
}

int st_upbit_decode_cjson(const char *buf, size_t len, st_upbit_msg_t *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *j = cJSON_ParseWithLength(buf, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return -EPROTO;
    }
    int rc = 0;
    const cJSON *f[F_COUNT] = {0};
    const cJSON *m;
    cJSON_ArrayForEach(m, j)
    {
        int k = m->string ? st_upbit_field(m->string) : -1;
        if (k >= 0) f[k] = m;
    }
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (cJSON_IsObject(err)) {
        out->kind = ST_UPBIT_ERROR;
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(err, "name"), *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
        snprintf(out->error_name, sizeof(out->error_name), "%s", cJSON_IsString(n) ? n->valuestring : "");
        snprintf(out->error_message, sizeof(out->error_message), "%s", cJSON_IsString(msg) ? msg->valuestring : "");
        goto done;
    }
    if (cJSON_GetObjectItemCaseSensitive(j, "status")) {
        out->kind = ST_UPBIT_STATUS;
        goto done;
    }
    if (cJSON_GetObjectItemCaseSensitive(j, "method") || cJSON_GetObjectItemCaseSensitive(j, "mthd")) {
        out->kind = ST_UPBIT_LIST;
        goto done;
    }
    const char *type = cJSON_IsString(f[F_TYPE]) ? f[F_TYPE]->valuestring : "";
    if (!strcmp(type, "ticker")) out->kind = ST_UPBIT_TICKER;
    else if (!strcmp(type, "trade")) out->kind = ST_UPBIT_TRADE;
    else if (!strcmp(type, "orderbook")) out->kind = ST_UPBIT_ORDERBOOK;
    else {
        out->kind = ST_UPBIT_OTHER;
        goto done;
    }
    st_tick_t *t = &out->tick;
    if (!cJSON_IsString(f[F_CODE]) || !ms_time(f[F_TS], &t->venue_time) ||
        (f[F_TRADE_TS] && !ms_time(f[F_TRADE_TS], &t->venue_time))) {
        rc = -EPROTO;
        goto done;
    }
    snprintf(out->code, sizeof(out->code), "%s", f[F_CODE]->valuestring);
    out->snapshot = cJSON_IsString(f[F_STREAM]) && !strcmp(f[F_STREAM]->valuestring, "SNAPSHOT");
    if (out->snapshot) t->flags |= ST_TICK_REPLAY;
    if (out->kind == ST_UPBIT_ORDERBOOK) {
        t->kind = ST_TICK_ORDERBOOK;
        t->u.book.total_ask_qty = num(f[F_TAS]);
        t->u.book.total_bid_qty = num(f[F_TBS]);
        book_units(f[F_UNITS], &t->u.book);
        goto done;
    }
    if (!cJSON_IsNumber(f[F_PRICE])) {
        rc = -EPROTO;
        goto done;
    }
    t->kind = out->kind == ST_UPBIT_TRADE ? ST_TICK_TRADE : ST_TICK_SNAPSHOT;
    st_trade_t *q = &t->u.trade;
    q->price = num(f[F_PRICE]);
    q->volume = num(f[F_VOLUME]);
    q->prev_close = num(f[F_PREV]);
    q->open = num(f[F_OPEN]);
    q->high = num(f[F_HIGH]);
    q->low = num(f[F_LOW]);
    q->cum_volume = num(f[F_ACC_VOL]);
    q->cum_value = num(f[F_ACC_PRICE]);
    q->best_ask = num(f[F_BAP]);
    q->best_bid = num(f[F_BBP]);
    const char *ab = cJSON_IsString(f[F_ASK_BID]) ? f[F_ASK_BID]->valuestring : "";
    q->side = !strcmp(ab, "BID") ? ST_SIDE_BUY : !strcmp(ab, "ASK") ? ST_SIDE_SELL : ST_SIDE_NONE;
done:
    cJSON_Delete(j);
    return rc;
}

