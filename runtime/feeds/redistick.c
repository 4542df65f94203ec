#include "redistick.h"

#include "core/common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- encoding --------------------------------------------------------------------------------- */

static void field(st_redistick_t *e, const char *name, const char *v, size_t len)
{
    if (e->n == ST_REDISTICK_MAX_FIELDS) return;
    e->name[e->n] = name, e->value[e->n] = v, e->len[e->n++] = len;
}

static void field_s(st_redistick_t *e, const char *name, const char *v)
{
    field(e, name, v, strlen(v));
}

/* A formatted value, kept in e->buf. */
static void field_f(st_redistick_t *e, const char *name, const char *fmt, ...) ST_PRINTF(3, 4);
static void field_f(st_redistick_t *e, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->buf + e->used, sizeof(e->buf) - e->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(e->buf) - e->used) n = 0;
    field(e, name, e->buf + e->used, (size_t)n);
    e->used += (size_t)n + 1;
}

static void field_num(st_redistick_t *e, const char *name, double v)
{
    field_f(e, name, "%.15g", v);
}

static void field_levels(st_redistick_t *e, const char *name, const double *v)
{
    char *at = e->buf + e->used;
    size_t room = sizeof(e->buf) - e->used, n = 0;
    for (int i = 0; i < ST_BOOK_DEPTH && n < room; i++)
        n += (size_t)snprintf(at + n, room - n, "%s%.15g", i ? "," : "", v[i]);
    if (n >= room) n = 0;
    field(e, name, at, n);
    e->used += n + 1;
}

void st_redistick_encode(const st_tick_t *t, const char *code, st_redistick_t *e)
{
    e->n = e->used = 0;
    field_s(e, "sym", code);
    field_s(e, "kind", t->kind == ST_TICK_ORDERBOOK ? "book" : t->kind == ST_TICK_SNAPSHOT ? "snapshot" : "trade");
    field_f(e, "t", "%lld", (long long)t->venue_time);
    if (t->kind == ST_TICK_ORDERBOOK) {
        const st_book_t *b = &t->u.book;
        field_levels(e, "asks", b->ask);
        field_levels(e, "ask_qtys", b->ask_qty);
        field_levels(e, "bids", b->bid);
        field_levels(e, "bid_qtys", b->bid_qty);
        field_num(e, "total_ask_qty", b->total_ask_qty);
        field_num(e, "total_bid_qty", b->total_bid_qty);
    } else {
        const st_trade_t *x = &t->u.trade;
        field_num(e, "price", x->price);
        field_num(e, "volume", x->volume);
        field_s(e, "side", x->side == ST_SIDE_BUY ? "buy" : x->side == ST_SIDE_SELL ? "sell" : "");
        field_num(e, "cum_volume", x->cum_volume);
        field_num(e, "open", x->open);
        field_num(e, "high", x->high);
        field_num(e, "low", x->low);
        field_num(e, "prev_close", x->prev_close);
        field_num(e, "cum_value", x->cum_value);
        field_num(e, "best_bid", x->best_bid);
        field_num(e, "best_ask", x->best_ask);
    }
    field_f(e, "flags", "%u", t->flags);
}

/* --- decoding --------------------------------------------------------------------------------- */

/* A finite number filling v[0..len) exactly, as strtod reads it. */
static bool num(const char *v, size_t len, double *out)
{
    char b[64];
    if (!len || len >= sizeof(b)) return false;
    memcpy(b, v, len);
    b[len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(b, &end);
    if (end != b + len || errno || !isfinite(d)) return false;
    *out = d;
    return true;
}

/* A decimal integer filling v[0..len) exactly. */
static bool inum(const char *v, size_t len, long long *out)
{
    char b[32];
    if (!len || len >= sizeof(b)) return false;
    memcpy(b, v, len);
    b[len] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(b, &end, 10);
    if (end != b + len || errno) return false;
    *out = x;
    return true;
}

/* Up to ST_BOOK_DEPTH comma-separated numbers; the rest of out zero. */
static bool levels(const char *v, size_t len, double *out)
{
    memset(out, 0, sizeof(double) * ST_BOOK_DEPTH);
    if (!len) return true;
    size_t i = 0, k = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && v[j] != ',') j++;
        if (k == ST_BOOK_DEPTH || !num(v + i, j - i, &out[k++])) return false;
        i = j + 1;
    }
    return true;
}

static bool is(const char *name, const char *want)
{
    return !strcmp(name, want);
}

int st_redistick_decode(size_t n, const char *const *names, const char *const *values, const size_t *lens,
                        st_tick_t *out, char *code, size_t codecap, const char **why)
{
    memset(out, 0, sizeof(*out));
    const char *kind = NULL, *sym = NULL;
    size_t kind_len = 0, sym_len = 0;
    bool have_t = false;
    for (size_t i = 0; i < n; i++) { /* the kind first: it says which fields mean what */
        if (is(names[i], "kind")) kind = values[i], kind_len = lens[i];
        else if (is(names[i], "sym")) sym = values[i], sym_len = lens[i];
    }
    if (!sym || !sym_len || sym_len >= codecap || memchr(sym, '\0', sym_len)) {
        *why = "no sym, or one too long";
        return -1;
    }
    if (kind && kind_len == 4 && !memcmp(kind, "book", 4)) out->kind = ST_TICK_ORDERBOOK;
    else if (kind && kind_len == 5 && !memcmp(kind, "trade", 5)) out->kind = ST_TICK_TRADE;
    else if (kind && kind_len == 8 && !memcmp(kind, "snapshot", 8)) out->kind = ST_TICK_SNAPSHOT;
    else {
        *why = "no kind (trade, snapshot or book)";
        return -1;
    }
    memcpy(code, sym, sym_len);
    code[sym_len] = '\0';
    st_book_t *b = &out->u.book;
    st_trade_t *x = &out->u.trade;
    bool book = out->kind == ST_TICK_ORDERBOOK;
    for (size_t i = 0; i < n; i++) {
        const char *f = names[i], *v = values[i];
        size_t len = lens[i];
        long long k = 0;
        bool ok = true;
        if (is(f, "t")) {
            ok = have_t = inum(v, len, &k); /* (a number read, then stored: never a cast of garbage) */
            if (ok) out->venue_time = (st_time_t)k;
        } else if (is(f, "flags")) {
            ok = inum(v, len, &k) && k >= 0 && k <= 255;
            if (ok) out->flags = (uint8_t)k;
        } else if (book) {
            if (is(f, "asks")) ok = levels(v, len, b->ask);
            else if (is(f, "ask_qtys")) ok = levels(v, len, b->ask_qty);
            else if (is(f, "bids")) ok = levels(v, len, b->bid);
            else if (is(f, "bid_qtys")) ok = levels(v, len, b->bid_qty);
            else if (is(f, "total_ask_qty")) ok = num(v, len, &b->total_ask_qty);
            else if (is(f, "total_bid_qty")) ok = num(v, len, &b->total_bid_qty);
        } else if (is(f, "side")) {
            if (len == 3 && !memcmp(v, "buy", 3)) x->side = ST_SIDE_BUY;
            else if (len == 4 && !memcmp(v, "sell", 4)) x->side = ST_SIDE_SELL;
            else ok = len == 0;
        } else {
            static const struct {
                const char *name;
                size_t off;
            } nums[] = {{"price", offsetof(st_trade_t, price)},         {"volume", offsetof(st_trade_t, volume)},
                        {"cum_volume", offsetof(st_trade_t, cum_volume)}, {"open", offsetof(st_trade_t, open)},
                        {"high", offsetof(st_trade_t, high)},           {"low", offsetof(st_trade_t, low)},
                        {"prev_close", offsetof(st_trade_t, prev_close)}, {"cum_value", offsetof(st_trade_t, cum_value)},
                        {"best_bid", offsetof(st_trade_t, best_bid)},   {"best_ask", offsetof(st_trade_t, best_ask)}};
            for (size_t j = 0; j < sizeof(nums) / sizeof(nums[0]); j++)
                if (is(f, nums[j].name)) ok = num(v, len, (double *)((char *)x + nums[j].off));
        }
        if (!ok) {
            *why = "a field that is not what its name says";
            return -1;
        }
    }
    if (!have_t) {
        *why = "no t (the venue's time)";
        return -1;
    }
    return 0;
}
