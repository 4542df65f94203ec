#include "upbit_codec.h"
#include "upbit_fields.h"
#include "core/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The member names of the fields strata reads, DEFAULT and SIMPLE (protocols.md 2.3), bucketed
 * by length, so a member costs about one memcmp (a ticker has ~35 members, most of them fields
 * strata does not read). test_upbit_codec decodes every message type in both formats field by
 * field, so a name in the wrong place fails there. */
#define MAX_NAME 24
static const struct {
    int n;
    int8_t field[12];
    const char *name[12];
} by_len[MAX_NAME + 1] = {
    [2] = {9, {F_TYPE, F_CODE, F_OPEN, F_HIGH, F_LOW, F_PRICE, F_VOLUME, F_ASK_BID, F_STREAM}, {"ty", "cd", "op", "hp", "lp", "tp", "tv", "ab", "st"}},
    [3] = {9, {F_PREV, F_ACC_VOL, F_ACC_PRICE, F_TS, F_BAP, F_BBP, F_TAS, F_TBS, F_UNITS}, {"pcp", "atv", "atp", "tms", "bap", "bbp", "tas", "tbs", "obu"}},
    [4] = {3, {F_TYPE, F_CODE, F_TRADE_TS}, {"type", "code", "ttms"}},
    [7] = {1, {F_ASK_BID}, {"ask_bid"}},
    [9] = {2, {F_LOW, F_TS}, {"low_price", "timestamp"}},
    [10] = {1, {F_HIGH}, {"high_price"}},
    [11] = {2, {F_PRICE, F_STREAM}, {"trade_price", "stream_type"}},
    [12] = {1, {F_VOLUME}, {"trade_volume"}},
    [13] = {1, {F_OPEN}, {"opening_price"}},
    [14] = {4, {F_BAP, F_BBP, F_TAS, F_TBS}, {"best_ask_price", "best_bid_price", "total_ask_size", "total_bid_size"}},
    [15] = {3, {F_ACC_PRICE, F_TRADE_TS, F_UNITS}, {"acc_trade_price", "trade_timestamp", "orderbook_units"}},
    [16] = {1, {F_ACC_VOL}, {"acc_trade_volume"}},
    [18] = {1, {F_PREV}, {"prev_closing_price"}},
};

int st_upbit_field(const char *key)
{
    size_t l = strlen(key);
    if (l > MAX_NAME) return -1;
    for (int i = 0; i < by_len[l].n; i++)
        if (memcmp(key, by_len[l].name[i], l) == 0) return by_len[l].field[i];
    return -1;
}

/* --- one pass over the message ------------------------------------------------------------
 * The JSON is read once, without building a tree: the members strata reads are kept (by field,
 * the last of a name winning, as a walk over a tree would leave them), every other value is
 * checked and skipped. What it accepts and what it reads are cJSON's, rule for rule (whitespace
 * is any byte up to 32, a number is what strtod reads of a run of [0-9+-eE.] starting with - or
 * a digit, \u escapes as cJSON decodes them, nesting up to 1000): test_upbit_codec compares
 * the two decoders on mutated messages, byte for byte of their output. */

#define NESTING 1000
#define STR_KEEP 64 /* string values kept: type, code, ask_bid, stream_type, the error's name */

enum { V_NONE, V_NUM, V_STR, V_OBJ, V_ARR, V_LIT };

typedef struct {
    uint8_t type;
    double num;
    size_t len;          /* the string's length up to its first NUL byte (as C reads it) */
    char str[STR_KEEP];  /* …its first STR_KEEP - 1 bytes of those */
} val_t;

typedef struct {
    const unsigned char *s;
    size_t len, off;
    int depth;
} jp_t;

static void skip_ws(jp_t *p)
{
    while (p->off < p->len && p->s[p->off] <= 32) p->off++;
}

static unsigned hex4(const unsigned char *h)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = h[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else return 0;
        v = (v << 4) | d;
    }
    return v;
}

/* Appends byte c to a C string being decoded into out[cap] (out may be NULL): kept up to its
 * first NUL and cap - 1 bytes; *n counts the bytes up to that NUL. */
static void put(char *out, size_t cap, size_t *n, bool *ended, unsigned char c)
{
    if (*ended) return;
    if (c == 0) {
        *ended = true;
        return;
    }
    if (out && *n + 1 < cap) {
        out[*n] = (char)c;
        out[*n + 1] = '\0';
    }
    (*n)++;
}

/* The \u escape at q (q[0] == '\\'), before end: its UTF-8 put into out; the escape's length,
 * or 0 when it is not one. */
static int utf16_escape(const unsigned char *q, const unsigned char *end, char *out, size_t cap, size_t *n,
                        bool *ended)
{
    if (end - q < 6) return 0;
    unsigned first = hex4(q + 2), cp;
    int seq = 6;
    if (first >= 0xDC00 && first <= 0xDFFF) return 0;
    if (first >= 0xD800 && first <= 0xDBFF) {
        const unsigned char *second = q + 6;
        if (end - second < 6 || second[0] != '\\' || second[1] != 'u') return 0;
        unsigned lo = hex4(second + 2);
        if (lo < 0xDC00 || lo > 0xDFFF) return 0;
        cp = 0x10000 + (((first & 0x3FF) << 10) | (lo & 0x3FF));
        seq = 12;
    } else {
        cp = first;
    }
    unsigned char b[4];
    int l = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char mark[5] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (int i = l - 1; i > 0; i--) {
        b[i] = (unsigned char)((cp | 0x80) & 0xBF);
        cp >>= 6;
    }
    b[0] = l > 1 ? (unsigned char)((cp | mark[l]) & 0xFF) : (unsigned char)(cp & 0x7F);
    for (int i = 0; i < l; i++) put(out, cap, n, ended, b[i]);
    return seq;
}

/* The string at p->off (a '"'), decoded into out[cap] (NULL: checked only); *n (may be NULL)
 * its length as C reads it. */
static bool parse_str(jp_t *p, char *out, size_t cap, size_t *n)
{
    if (p->off >= p->len || p->s[p->off] != '"') return false;
    const unsigned char *start = p->s + p->off + 1, *end = start, *limit = p->s + p->len;
    while (end < limit && *end != '"') {
        if (*end == '\\') {
            if (end + 1 >= limit) return false;
            end++;
        }
        end++;
    }
    if (end >= limit) return false;
    size_t got = 0;
    bool ended = false;
    if (out && cap) out[0] = '\0';
    for (const unsigned char *q = start; q < end;) {
        if (*q != '\\') {
            put(out, cap, &got, &ended, *q++);
            continue;
        }
        int seq = 2;
        switch (q[1]) {
        case 'b': put(out, cap, &got, &ended, '\b'); break;
        case 'f': put(out, cap, &got, &ended, '\f'); break;
        case 'n': put(out, cap, &got, &ended, '\n'); break;
        case 'r': put(out, cap, &got, &ended, '\r'); break;
        case 't': put(out, cap, &got, &ended, '\t'); break;
        case '"': case '\\': case '/': put(out, cap, &got, &ended, q[1]); break;
        case 'u':
            if ((seq = utf16_escape(q, end, out, cap, &got, &ended)) == 0) return false;
            break;
        default: return false;
        }
        q += seq;
    }
    if (n) *n = got;
    p->off = (size_t)(end - p->s) + 1;
    return true;
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool num_char(unsigned char c)
{
    return digit((char)c) || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.';
}

/* How much of b[0..run) (of [0-9+-eE.] only) strtod reads as a decimal number: a sign, digits
 * with at most one point and at least one digit, then an exponent only if it has digits. */
static size_t strtod_len(const char *b, size_t run)
{
    size_t i = 0, digits = 0;
#define AT(k) ((k) < run ? b[k] : '\0')
    if (AT(i) == '+' || AT(i) == '-') i++;
    for (; digit(AT(i)); i++) digits++;
    if (AT(i) == '.')
        for (i++; digit(AT(i)); i++) digits++;
    if (!digits) return 0;
    if (AT(i) == 'e' || AT(i) == 'E') {
        size_t j = i + 1;
        if (AT(j) == '+' || AT(j) == '-') j++;
        if (digit(AT(j))) {
            while (digit(AT(j))) j++;
            i = j;
        }
    }
#undef AT
    return i;
}

/* b[0..n), a number strtod_len measured, as strtod converts it: exactly, without strtod, when
 * its digits make an integer below 2^53 and its power of ten is within 10^±22 (both exact
 * doubles, so one multiplication or division rounds once, as strtod does: Clinger's fast
 * path); by strtod otherwise. */
static double to_double(const char *b, size_t n)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    bool neg = b[0] == '-';
    if (b[0] == '+' || b[0] == '-') i++;
    uint64_t m = 0; /* the first 19 significant digits */
    int e = 0, kept = 0;
    bool exact = true; /* no nonzero digit dropped */
    for (; i < n && digit(b[i]); i++) {
        if (kept < 19) {
            m = m * 10 + (uint64_t)(b[i] - '0');
            kept += m != 0;
        } else {
            e++;
            exact = exact && b[i] == '0';
        }
    }
    if (i < n && b[i] == '.') {
        for (i++; i < n && digit(b[i]); i++) {
            if (kept < 19) {
                m = m * 10 + (uint64_t)(b[i] - '0');
                kept += m != 0;
                e--;
            } else {
                exact = exact && b[i] == '0';
            }
        }
    }
    if (i < n) { /* the exponent */
        i++;
        bool eneg = b[i] == '-';
        if (b[i] == '+' || b[i] == '-') i++;
        int x = 0;
        for (; i < n; i++) x = x < 10000 ? x * 10 + (b[i] - '0') : x;
        e += eneg ? -x : x;
    }
    if (!exact || m > (1ull << 53) || e < -22 || e > 22) { /* strtod, on a terminated copy */
        char tmp[64], *t = n < sizeof(tmp) ? tmp : st_xmalloc(n + 1);
        memcpy(t, b, n);
        t[n] = '\0';
        double v = strtod(t, NULL);
        if (t != tmp) free(t);
        return v;
    }
    double v = e < 0 ? (double)m / pow10[-e] : (double)m * pow10[e];
    return neg ? -v : v;
}

/* A number: the run of [0-9+-eE.] (as long as it goes, as Debian's cJSON copies it) and what
 * strtod reads of it; converted only when it is kept (v). */
static bool parse_num(jp_t *p, double *v)
{
    const char *b = (const char *)p->s + p->off;
    size_t run = 0;
    while (p->off + run < p->len && num_char(p->s[p->off + run])) run++;
    size_t n = strtod_len(b, run);
    if (n == 0) return false;
    if (v) *v = to_double(b, n);
    p->off += n;
    return true;
}

static bool parse_value(jp_t *p, val_t *v);

/* An array or object (its bracket at p->off), each item handed to item(ctx, p, key, keylen),
 * which parses the value: key is NULL in an array, the member's name in an object (its first
 * 31 bytes; keylen its length up to its first NUL). */
typedef bool (*item_fn)(void *ctx, jp_t *p, const char *key, size_t keylen);

static bool parse_compound(jp_t *p, bool object, item_fn item, void *ctx)
{
    if (p->depth >= NESTING) return false;
    p->depth++;
    p->off++; /* the bracket */
    skip_ws(p);
    if (p->off < p->len && p->s[p->off] == (object ? '}' : ']')) {
        p->off++;
        p->depth--;
        return true;
    }
    if (p->off >= p->len) return false;
    p->off--;
    do {
        p->off++;
        skip_ws(p);
        char key[32];
        size_t keylen = 0;
        if (object) {
            if (!parse_str(p, key, sizeof(key), &keylen)) return false;
            skip_ws(p);
            if (p->off >= p->len || p->s[p->off] != ':') return false;
            p->off++;
            skip_ws(p);
        }
        if (!item(ctx, p, object ? key : NULL, keylen)) return false;
        skip_ws(p);
    } while (p->off < p->len && p->s[p->off] == ',');
    if (p->off >= p->len || p->s[p->off] != (object ? '}' : ']')) return false;
    p->off++;
    p->depth--;
    return true;
}

static bool skip_item(void *ctx, jp_t *p, const char *key, size_t keylen)
{
    return parse_value(p, NULL);
}

/* Any value, kept in v (NULL: checked only). */
static bool parse_value(jp_t *p, val_t *v)
{
    val_t dummy;
    bool keep = v != NULL;
    if (!v) v = &dummy;
    v->type = V_NONE;
    size_t left = p->len - p->off;
    const unsigned char *c = p->s + p->off;
    if (left >= 4 && (!memcmp(c, "null", 4) || !memcmp(c, "true", 4))) {
        p->off += 4;
        v->type = V_LIT;
        return true;
    }
    if (left >= 5 && !memcmp(c, "false", 5)) {
        p->off += 5;
        v->type = V_LIT;
        return true;
    }
    if (!left) return false;
    if (*c == '"') {
        v->type = V_STR;
        return parse_str(p, keep ? v->str : NULL, STR_KEEP, &v->len);
    }
    if (*c == '-' || (*c >= '0' && *c <= '9')) {
        v->type = V_NUM;
        return parse_num(p, keep ? &v->num : NULL);
    }
    if (*c == '[' || *c == '{') {
        v->type = *c == '[' ? V_ARR : V_OBJ;
        return parse_compound(p, *c == '{', skip_item, NULL);
    }
    return false;
}

static bool key_is(const char *key, size_t keylen, const char *name)
{
    return keylen == strlen(name) && !memcmp(key, name, keylen);
}

static bool is_str(const val_t *v, const char *s)
{
    return v->type == V_STR && key_is(v->str, v->len, s);
}

/* --- what the members say ------------------------------------------------------------------- */

typedef struct {
    val_t f[F_COUNT];
    double book[4][ST_BOOK_DEPTH]; /* ask, bid, ask_qty, bid_qty of the last orderbook_units */
    int level;                     /* the level being read */
    bool units, error_seen, error_obj, name_seen, message_seen, status, method;
    val_t err_name;
    st_upbit_msg_t *out; /* error_message is read into it */
} scan_t;

static bool level_member(void *ctx, jp_t *p, const char *key, size_t keylen)
{
    scan_t *sc = ctx;
    val_t v;
    if (!parse_value(p, &v)) return false;
    int a = key_is(key, keylen, "ask_price") || key_is(key, keylen, "ap")   ? 0
            : key_is(key, keylen, "bid_price") || key_is(key, keylen, "bp") ? 1
            : key_is(key, keylen, "ask_size") || key_is(key, keylen, "as")  ? 2
            : key_is(key, keylen, "bid_size") || key_is(key, keylen, "bs")  ? 3
                                                                             : -1;
    if (a >= 0) sc->book[a][sc->level] = v.type == V_NUM ? v.num : 0;
    return true;
}

/* orderbook_units' items: the first ST_BOOK_DEPTH objects are the levels (other items count
 * for nothing), the rest is checked only. */
static bool unit_item(void *ctx, jp_t *p, const char *key, size_t keylen)
{
    scan_t *sc = ctx;
    if (sc->level < ST_BOOK_DEPTH && p->off < p->len && p->s[p->off] == '{') {
        if (!parse_compound(p, true, level_member, sc)) return false;
        sc->level++;
        return true;
    }
    return parse_value(p, NULL);
}

/* The error object's members: the first "name" and the first "message" count. */
static bool error_member(void *ctx, jp_t *p, const char *key, size_t keylen)
{
    scan_t *sc = ctx;
    if (key_is(key, keylen, "name") && !sc->name_seen) {
        sc->name_seen = true;
        return parse_value(p, &sc->err_name);
    }
    if (key_is(key, keylen, "message") && !sc->message_seen) {
        sc->message_seen = true;
        if (p->off < p->len && p->s[p->off] == '"') /* (cleared again if the message is refused) */
            return parse_str(p, sc->out->error_message, sizeof(sc->out->error_message), NULL);
    }
    return parse_value(p, NULL);
}

static bool top_member(void *ctx, jp_t *p, const char *key, size_t keylen)
{
    scan_t *sc = ctx;
    if (key_is(key, keylen, "status")) sc->status = true;
    if (key_is(key, keylen, "method") || key_is(key, keylen, "mthd")) sc->method = true;
    if (key_is(key, keylen, "error") && !sc->error_seen) { /* the first "error" decides */
        sc->error_seen = true;
        if (p->off < p->len && p->s[p->off] == '{') {
            sc->error_obj = true;
            return parse_compound(p, true, error_member, sc);
        }
    }
    int k = keylen <= MAX_NAME ? st_upbit_field(key) : -1;
    if (k == F_UNITS) { /* the last one counts: its levels, or none */
        memset(sc->book, 0, sizeof(sc->book));
        sc->level = 0;
        sc->units = true;
        return p->off < p->len && p->s[p->off] == '[' ? parse_compound(p, false, unit_item, sc) : parse_value(p, NULL);
    }
    return parse_value(p, k >= 0 ? &sc->f[k] : NULL);
}

static double num(const val_t *v)
{
    return v->type == V_NUM ? v->num : 0;
}

/* A millisecond timestamp → strata time; false unless it is a plausible time (found by
 * fuzz_upbit: 1.7e45 overflowed the conversion). */
static bool ms_time(const val_t *v, st_time_t *out)
{
    if (v->type != V_NUM) return false;
    double ms = v->num;
    if (!(ms >= 0 && ms < 1e13)) return false; /* before the year 2286; NaN fails too */
    *out = (st_time_t)ms * ST_MSEC;
    return true;
}

/* A kept string into to[cap] as snprintf("%s") would write it (nothing for a non-string). */
static void copy_str(char *to, size_t cap, const val_t *v)
{
    size_t n = v->type == V_STR ? ST_MIN2(v->len, ST_MIN2(cap - 1, (size_t)STR_KEEP - 1)) : 0;
    memcpy(to, v->str, n);
    to[n] = '\0';
}

/* The data message the members describe (kind set): its tick. */
static int data_tick(const scan_t *sc, st_upbit_msg_t *out)
{
    const val_t *f = sc->f;
    st_tick_t *t = &out->tick;
    if (f[F_CODE].type != V_STR || !ms_time(&f[F_TS], &t->venue_time) ||
        (f[F_TRADE_TS].type != V_NONE && !ms_time(&f[F_TRADE_TS], &t->venue_time)))
        return -EPROTO;
    copy_str(out->code, sizeof(out->code), &f[F_CODE]);
    out->snapshot = is_str(&f[F_STREAM], "SNAPSHOT");
    if (out->snapshot) t->flags |= ST_TICK_REPLAY;
    if (out->kind == ST_UPBIT_ORDERBOOK) {
        t->kind = ST_TICK_ORDERBOOK;
        t->u.book.total_ask_qty = num(&f[F_TAS]);
        t->u.book.total_bid_qty = num(&f[F_TBS]);
        if (sc->units) {
            memcpy(t->u.book.ask, sc->book[0], sizeof(t->u.book.ask));
            memcpy(t->u.book.bid, sc->book[1], sizeof(t->u.book.bid));
            memcpy(t->u.book.ask_qty, sc->book[2], sizeof(t->u.book.ask_qty));
            memcpy(t->u.book.bid_qty, sc->book[3], sizeof(t->u.book.bid_qty));
        }
        return 0;
    }
    if (f[F_PRICE].type != V_NUM) return -EPROTO;
    t->kind = out->kind == ST_UPBIT_TRADE ? ST_TICK_TRADE : ST_TICK_SNAPSHOT;
    st_trade_t *q = &t->u.trade;
    q->price = num(&f[F_PRICE]);
    q->volume = num(&f[F_VOLUME]);
    q->prev_close = num(&f[F_PREV]);
    q->open = num(&f[F_OPEN]);
    q->high = num(&f[F_HIGH]);
    q->low = num(&f[F_LOW]);
    q->cum_volume = num(&f[F_ACC_VOL]);
    q->cum_value = num(&f[F_ACC_PRICE]);
    q->best_ask = num(&f[F_BAP]);
    q->best_bid = num(&f[F_BBP]);
    q->side = is_str(&f[F_ASK_BID], "BID") ? ST_SIDE_BUY : is_str(&f[F_ASK_BID], "ASK") ? ST_SIDE_SELL : ST_SIDE_NONE;
    return 0;
}

int st_upbit_decode(const char *buf, size_t len, st_upbit_msg_t *out)
{
    memset(out, 0, sizeof(*out));
    jp_t p = {(const unsigned char *)buf, buf ? len : 0, 0, 0};
    if (p.len > 4 && !memcmp(p.s, "\xEF\xBB\xBF", 3)) p.off = 3; /* a UTF-8 byte order mark */
    skip_ws(&p);
    scan_t sc;
    for (int k = 0; k < F_COUNT; k++) sc.f[k].type = V_NONE;
    sc.units = sc.error_seen = sc.error_obj = sc.name_seen = sc.message_seen = sc.status = sc.method = false;
    sc.err_name.type = V_NONE;
    sc.out = out;
    if (p.off >= p.len || p.s[p.off] != '{' || !parse_compound(&p, true, top_member, &sc)) {
        memset(out, 0, sizeof(*out)); /* (an error message may have been read) */
        return -EPROTO;
    }
    if (sc.error_obj) {
        out->kind = ST_UPBIT_ERROR;
        copy_str(out->error_name, sizeof(out->error_name), &sc.err_name);
        return 0;
    }
    if (sc.status) {
        out->kind = ST_UPBIT_STATUS;
        return 0;
    }
    if (sc.method) {
        out->kind = ST_UPBIT_LIST;
        return 0;
    }
    const val_t *type = &sc.f[F_TYPE];
    out->kind = is_str(type, "ticker")      ? ST_UPBIT_TICKER
                : is_str(type, "trade")     ? ST_UPBIT_TRADE
                : is_str(type, "orderbook") ? ST_UPBIT_ORDERBOOK
                                            : ST_UPBIT_OTHER;
    return out->kind == ST_UPBIT_OTHER ? 0 : data_tick(&sc, out);
}

bool st_upbit_error_is_rate(const char *name)
{
    static const char *const validation[] = {"WRONG_FORMAT", "NO_TICKET", "NO_TYPE", "NO_CODES", "INVALID_PARAM",
                                             "INVALID_AUTH"};
    for (size_t i = 0; i < sizeof(validation) / sizeof(validation[0]); i++)
        if (!strcmp(name, validation[i])) return false;
    return true;
}
