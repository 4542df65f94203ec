/* KIS data frames for the tests and benchmarks (tests/feeds/kis_encode.h): strata only decodes
 * them; the exchange simulator has its own encoder (tools/exsim/kis_frames.c), written by field
 * name, which test_kis_frames holds to these bytes. */
#include "kis_encode.h"

#include <stdarg.h>
#include <stdio.h>

typedef struct {
    char *buf;
    size_t len, off;
    bool over;
} enc_t;

static void put(enc_t *e, const char *fmt, ...) ST_PRINTF(2, 3);
static void put(enc_t *e, const char *fmt, ...)
{
    if (e->over) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->buf + e->off, e->len - e->off, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= e->len - e->off) e->over = true;
    else e->off += (size_t)n;
}

static int sign_code(double change, double price, double prev)
{
    if (change == 0) return 3;
    double limit = prev * 0.3;
    if (change > 0) return price >= prev + limit - 1e-9 ? 1 : 2;
    return price <= prev - limit + 1e-9 ? 4 : 5;
}

static void local_parts(st_time_t t, int32_t off, char date[16], char hms[16])
{
    int64_t secs = t / ST_SEC + off;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t sod = secs - days * 86400;
    /* civil_from_days (Hinnant) */
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    snprintf(date, 16, "%04u%02u%02u", (unsigned)(y % 10000), (unsigned)(m % 100), (unsigned)(d % 100));
    snprintf(hms, 16, "%02u%02u%02u", (unsigned)(sod / 3600 % 24), (unsigned)(sod / 60 % 60),
             (unsigned)(sod % 60));
}

size_t st_kis_encode_trades(char *buf, size_t len, const st_tick_t *ticks, const char *const *codes,
                            size_t n, int32_t off)
{
    enc_t e = {buf, len, 0, false};
    put(&e, "0|H0STCNT0|%03zu|", n);
    for (size_t i = 0; i < n; i++) {
        const st_trade_t *t = &ticks[i].u.trade;
        char date[16], hms[16];
        local_parts(ticks[i].venue_time, off, date, hms);
        double change = t->price - t->prev_close;
        double rate = t->prev_close > 0 ? change / t->prev_close * 100 : 0;
        double vwap = t->cum_volume > 0 ? t->cum_value / t->cum_volume : t->price;
        int side = (ticks[i].flags & ST_TICK_AUCTION) ? 3 : t->side == ST_SIDE_SELL ? 5 : 1;
        int s = sign_code(change, t->price, t->prev_close);
        /* Fields the simulator does not model (trade counts, strength, rates against the
         * previous day, the hours of the high and low) are sent as zeros. */
        put(&e,
            "%s%s^%s^%.0f^%d^%.0f^%.2f^%.2f^%.0f^%.0f^%.0f^%.0f^%.0f^%.0f^%.0f^%.0f"
            "^0^0^0^0.00^0^0^%d^0.00^0.00^090000^%d^%.0f^000000^%d^%.0f^000000^%d^%.0f"
            "^%s^20^%s^0^0^0^0^0.00^0^0.00^0^^0",
            i ? "^" : "", codes[i], hms, t->price, s, change, rate, vwap, t->open, t->high, t->low,
            t->best_ask, t->best_bid, t->volume, t->cum_volume, t->cum_value, side,
            sign_code(t->price - t->open, t->price, t->prev_close), t->price - t->open,
            sign_code(t->price - t->high, t->price, t->prev_close), t->price - t->high,
            sign_code(t->price - t->low, t->price, t->prev_close), t->price - t->low, date,
            (ticks[i].flags & ST_TICK_HALTED) ? "Y" : "N");
    }
    return e.over ? 0 : e.off;
}

size_t st_kis_encode_book(char *buf, size_t len, const st_tick_t *book, const char *code, int32_t off)
{
    enc_t e = {buf, len, 0, false};
    const st_book_t *b = &book->u.book;
    char date[16], hms[16];
    local_parts(book->venue_time, off, date, hms);
    put(&e, "0|H0STASP0|001|%s^%s^0", code, hms);
    for (int i = 0; i < ST_BOOK_DEPTH; i++) put(&e, "^%.0f", b->ask[i]);
    for (int i = 0; i < ST_BOOK_DEPTH; i++) put(&e, "^%.0f", b->bid[i]);
    for (int i = 0; i < ST_BOOK_DEPTH; i++) put(&e, "^%.0f", b->ask_qty[i]);
    for (int i = 0; i < ST_BOOK_DEPTH; i++) put(&e, "^%.0f", b->bid_qty[i]);
    /* totals, after-hours totals, expected price/qty/volume/diff/sign/rate, ACML_VOL, deltas,
     * deal class: the simulator models the totals only. */
    put(&e, "^%.0f^%.0f^0^0^0^0^0^0^3^0.00^0^0^0^0^0^0", b->total_ask_qty, b->total_bid_qty);
    return e.over ? 0 : e.off;
}
