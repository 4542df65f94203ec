#include "kis_codec.h"
#include "subs/ledger.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* --- header ------------------------------------------------------------------------------ */

static st_kis_tr_t tr_of(const char *id, size_t n)
{
    if (n != 8) return ST_KIS_TR_OTHER;
    if (memcmp(id, "H0STCNT0", 8) == 0) return ST_KIS_TR_TRADE;
    if (memcmp(id, "H0STASP0", 8) == 0) return ST_KIS_TR_BOOK;
    if (memcmp(id, "H0UPCNT0", 8) == 0) return ST_KIS_TR_INDEX;
    return ST_KIS_TR_OTHER;
}

int st_kis_frame_parse(const char *buf, size_t len, st_kis_frame_t *out)
{
    memset(out, 0, sizeof(*out));
    if (len == 0) return -EPROTO;
    if (buf[0] == '{') return 1;
    if ((buf[0] != '0' && buf[0] != '1') || len < 2 || buf[1] != '|') return -EPROTO;
    out->encrypted = buf[0] == '1';
    const char *p = buf + 2, *end = buf + len;
    const char *bar = memchr(p, '|', (size_t)(end - p));
    if (!bar || bar == p) return -EPROTO;
    out->tr_id = p;
    out->tr_id_len = (size_t)(bar - p);
    out->tr = tr_of(p, out->tr_id_len);
    p = bar + 1;
    bar = memchr(p, '|', (size_t)(end - p));
    if (!bar || bar == p || bar - p > 4) return -EPROTO;
    int count = 0;
    for (const char *q = p; q < bar; q++) {
        if (*q < '0' || *q > '9') return -EPROTO;
        count = count * 10 + (*q - '0');
    }
    if (count < 1) return -EPROTO;
    out->count = count;
    out->payload = bar + 1;
    out->payload_len = (size_t)(end - out->payload);
    return 0;
}

/* --- decoding ------------------------------------------------------------------------------ */

typedef struct {
    const char *p[ST_KIS_BOOK_FIELDS];
    uint8_t n[ST_KIS_BOOK_FIELDS];
} fields_t;

/* A decimal number, optionally signed, optionally with a fraction. */
static bool num(const char *s, size_t n, double *out)
{
    if (n == 0 || n > 24) return false;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-' || s[0] == '+') neg = s[0] == '-', i = 1;
    if (i == n) return false;
    int64_t ip = 0;
    for (size_t start = i; i < n && s[i] != '.'; i++) {
        if (s[i] < '0' || s[i] > '9' || i - start >= 18) return false; /* 18 digits fit int64 */
        ip = ip * 10 + (s[i] - '0');
    }
    double v = (double)ip;
    if (i < n) { /* '.' */
        double scale = 0.1;
        if (++i == n) return false;
        for (; i < n; i++, scale *= 0.1) {
            if (s[i] < '0' || s[i] > '9') return false;
            v += (s[i] - '0') * scale;
        }
    }
    *out = neg ? -v : v;
    return true;
}

static bool digits(const char *s, size_t n, size_t want, int *out)
{
    if (n != want) return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* YYYYMMDD + HHMMSS (local) → strata time. */
static bool local_time(const char *date, size_t dn, const char *hms, size_t hn, int32_t off, st_time_t *out)
{
    int ymd, h, m, s;
    if (!digits(date, dn, 8, &ymd) || hn != 6 || !digits(hms, 2, 2, &h) || !digits(hms + 2, 2, 2, &m) ||
        !digits(hms + 4, 2, 2, &s))
        return false;
    int y = ymd / 10000, mo = ymd / 100 % 100, d = ymd % 100;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || m > 59 || s > 59) return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + m * 60 + s - off;
    *out = secs * ST_SEC;
    return true;
}

#define F(i) f.p[i], f.n[i]

static int decode_trade(const fields_t *fp, int32_t off, st_kis_record_t *r)
{
    const fields_t f = *fp;
    st_trade_t *t = &r->tick.u.trade;
    double change, side;
    r->tick.kind = ST_TICK_TRADE;
    if (!num(F(2), &t->price) || !num(F(4), &change) || !num(F(7), &t->open) || !num(F(8), &t->high) ||
        !num(F(9), &t->low) || !num(F(10), &t->best_ask) || !num(F(11), &t->best_bid) ||
        !num(F(12), &t->volume) || !num(F(13), &t->cum_volume) || !num(F(14), &t->cum_value) ||
        !num(F(21), &side) || !local_time(F(33), F(1), off, &r->tick.venue_time))
        return -EPROTO;
    t->prev_close = t->price - change;
    t->side = side == 1 ? ST_SIDE_BUY : side == 5 ? ST_SIDE_SELL : ST_SIDE_NONE;
    if (f.n[35] == 1 && f.p[35][0] == 'Y') r->tick.flags |= ST_TICK_HALTED;
    if (side == 3) r->tick.flags |= ST_TICK_AUCTION;
    return 0;
}

static int decode_book(const fields_t *fp, int32_t off, st_time_t day_hint, st_kis_record_t *r)
{
    const fields_t f = *fp;
    st_book_t *b = &r->tick.u.book;
    r->tick.kind = ST_TICK_ORDERBOOK;
    for (int i = 0; i < ST_BOOK_DEPTH; i++) {
        if (!num(F(3 + i), &b->ask[i]) || !num(F(13 + i), &b->bid[i]) || !num(F(23 + i), &b->ask_qty[i]) ||
            !num(F(33 + i), &b->bid_qty[i]))
            return -EPROTO;
    }
    if (!num(F(43), &b->total_ask_qty) || !num(F(44), &b->total_bid_qty)) return -EPROTO;
    /* H0STASP0 carries no date: the time of day is placed on the day of `day_hint`. */
    int h, m, s;
    if (f.n[1] != 6 || !digits(f.p[1], 2, 2, &h) || !digits(f.p[1] + 2, 2, 2, &m) ||
        !digits(f.p[1] + 4, 2, 2, &s) || h > 23 || m > 59 || s > 59)
        return -EPROTO;
    int64_t local_day = (day_hint / ST_SEC + off) / 86400;
    r->tick.venue_time = (local_day * 86400 + h * 3600 + m * 60 + s - off) * ST_SEC;
    return 0;
}

int st_kis_decode(const st_kis_frame_t *fr, int32_t utc_offset, st_time_t now, st_kis_record_cb cb,
                  void *ctx)
{
    if (fr->encrypted || (fr->tr != ST_KIS_TR_TRADE && fr->tr != ST_KIS_TR_BOOK && fr->tr != ST_KIS_TR_INDEX))
        return -EPROTO;
    int nf = fr->tr == ST_KIS_TR_BOOK ? ST_KIS_BOOK_FIELDS : ST_KIS_TRADE_FIELDS;
    const char *p = fr->payload, *end = fr->payload + fr->payload_len;
    for (int rec = 0; rec < fr->count; rec++) {
        fields_t f;
        for (int i = 0; i < nf; i++) {
            const char *q = p;
            while (q < end && *q != '^') q++;
            if (q - p > 255) return -EPROTO;
            f.p[i] = p;
            f.n[i] = (uint8_t)(q - p);
            bool last = rec == fr->count - 1 && i == nf - 1;
            if (last ? q != end : q == end) return -EPROTO; /* count x fields values exactly */
            p = q + 1;
        }
        st_kis_record_t r;
        memset(&r, 0, sizeof(r));
        r.code = f.p[0];
        r.code_len = f.n[0];
        if (r.code_len == 0) return -EPROTO;
        int rc = fr->tr == ST_KIS_TR_BOOK ? decode_book(&f, utc_offset, now, &r)
                                          : decode_trade(&f, utc_offset, &r);
        if (rc) return rc;
        if (cb(&r, ctx)) return rec + 1;
    }
    return fr->count;
}

/* --- control messages ---------------------------------------------------------------------- */

static void copy_str(cJSON *parent, const char *name, char *dst, size_t len)
{
    cJSON *x = cJSON_GetObjectItemCaseSensitive(parent, name);
    snprintf(dst, len, "%s", cJSON_IsString(x) ? x->valuestring : "");
}

int st_kis_msg_parse(const char *buf, size_t len, st_kis_msg_t *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *j = cJSON_ParseWithLength(buf, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return -EPROTO;
    }
    cJSON *header = cJSON_GetObjectItemCaseSensitive(j, "header");
    cJSON *body = cJSON_GetObjectItemCaseSensitive(j, "body");
    copy_str(header, "tr_id", out->tr_id, sizeof(out->tr_id));
    copy_str(header, "tr_key", out->tr_key, sizeof(out->tr_key));
    copy_str(body, "rt_cd", out->rt_cd, sizeof(out->rt_cd));
    copy_str(body, "msg_cd", out->msg_cd, sizeof(out->msg_cd));
    copy_str(body, "msg1", out->msg1, sizeof(out->msg1));
    cJSON_Delete(j);
    if (strcmp(out->tr_id, "PINGPONG") == 0) {
        out->kind = ST_KIS_MSG_PINGPONG;
        return 0;
    }
    if (!out->msg_cd[0]) {
        out->kind = ST_KIS_MSG_OTHER;
        return 0;
    }
    out->kind = ST_KIS_MSG_ACK;
    static const struct {
        const char *cd;
        int ack;
    } map[] = {{"OPSP0000", ST_ACK_SUBSCRIBED},   {"OPSP0002", ST_ACK_SUBSCRIBED},
               {"OPSP0001", ST_ACK_UNSUBSCRIBED}, {"OPSP0003", ST_ACK_UNSUBSCRIBED},
               {"OPSP0008", ST_ACK_MAX_OVER},     {"OPSP8991", ST_ACK_INVALID},
               {"OPSP8992", ST_ACK_INVALID}};
    out->ack = ST_ACK_ERROR;
    for (size_t i = 0; i < ST_ARRAY_SIZE(map); i++)
        if (strcmp(out->msg_cd, map[i].cd) == 0) out->ack = map[i].ack;
    /* An unknown success: KIS's own client tells the two apart by msg1 starting "UNSUB". */
    if (out->ack == ST_ACK_ERROR && strcmp(out->rt_cd, "0") == 0)
        out->ack = strncmp(out->msg1, "UNSUB", 5) == 0 ? ST_ACK_UNSUBSCRIBED : ST_ACK_SUBSCRIBED;
    return 0;
}

void st_kis_request_parse(const char *buf, size_t len, st_kis_request_t *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *j = cJSON_ParseWithLength(buf, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        out->err_cd = "OPSP9999", out->err_msg = "JSON PARSING ERROR : invalid json format";
        return;
    }
    cJSON *header = cJSON_GetObjectItemCaseSensitive(j, "header");
    cJSON *input = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "body"), "input");
    char type[4];
    copy_str(header, "tr_type", type, sizeof(type));
    copy_str(header, "approval_key", out->approval_key, sizeof(out->approval_key));
    copy_str(input, "tr_id", out->tr_id, sizeof(out->tr_id));
    copy_str(input, "tr_key", out->tr_key, sizeof(out->tr_key));
    char hid[16];
    copy_str(header, "tr_id", hid, sizeof(hid));
    bool has_key = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(input, "tr_key"));
    cJSON_Delete(j);
    if (strcmp(hid, "PINGPONG") == 0) {
        out->pingpong = true;
        return;
    }
    if (!header) out->err_cd = "OPSP9998", out->err_msg = "JSON PARSING ERROR : header not found";
    else if (!out->approval_key[0]) out->err_cd = "OPSP9996", out->err_msg = "JSON PARSING ERROR : appkey not found";
    else if (!input) out->err_cd = "OPSP9991", out->err_msg = "JSON PARSING ERROR : input not found";
    else if (strcmp(type, "1") && strcmp(type, "2")) out->err_cd = "OPSP8997", out->err_msg = "JSON PARSING ERROR : invalid tr_type";
    else if (!has_key) out->err_cd = "OPSP9990", out->err_msg = "JSON PARSING ERROR : tr_key not found";
    out->on = type[0] == '1';
    out->tr = tr_of(out->tr_id, strlen(out->tr_id));
}
