/* strata-exsim's own KIS data frames, written from the venue's field lists — H0STCNT0's 46 and
 * H0STASP0's 59 fields by name, in the order of the design brief's protocol notes (§1.7) —
 * rather than with strata's encoder (kis_codec.c): strata's decoder then reads frames made by
 * a second, independent hand, so a misplaced field shows up as a disagreement
 * (test_exsim_fields; test_kis_frames holds both encoders to the same bytes) instead of
 * cancelling out. Fields the simulated market does not model are sent as zeros. */
#include "exsim.h"

#include <stdarg.h>

static const char *const trade_fields[46] = {
    "MKSC_SHRN_ISCD", "STCK_CNTG_HOUR", "STCK_PRPR", "PRDY_VRSS_SIGN", "PRDY_VRSS", "PRDY_CTRT",
    "WGHN_AVRG_STCK_PRC", "STCK_OPRC", "STCK_HGPR", "STCK_LWPR", "ASKP1", "BIDP1", "CNTG_VOL", "ACML_VOL",
    "ACML_TR_PBMN", "SELN_CNTG_CSNU", "SHNU_CNTG_CSNU", "NTBY_CNTG_CSNU", "CTTR", "SELN_CNTG_SMTN",
    "SHNU_CNTG_SMTN", "CCLD_DVSN", "SHNU_RATE", "PRDY_VOL_VRSS_ACML_VOL_RATE", "OPRC_HOUR",
    "OPRC_VRSS_PRPR_SIGN", "OPRC_VRSS_PRPR", "HGPR_HOUR", "HGPR_VRSS_PRPR_SIGN", "HGPR_VRSS_PRPR", "LWPR_HOUR",
    "LWPR_VRSS_PRPR_SIGN", "LWPR_VRSS_PRPR", "BSOP_DATE", "NEW_MKOP_CLS_CODE", "TRHT_YN", "ASKP_RSQN1",
    "BIDP_RSQN1", "TOTAL_ASKP_RSQN", "TOTAL_BIDP_RSQN", "VOL_TNRT", "PRDY_SMNS_HOUR_ACML_VOL",
    "PRDY_SMNS_HOUR_ACML_VOL_RATE", "HOUR_CLS_CODE", "MRKT_TRTM_CLS_CODE", "VI_STND_PRC"};

static const char *const book_fields[59] = {
    "MKSC_SHRN_ISCD", "BSOP_HOUR", "HOUR_CLS_CODE", "ASKP1", "ASKP2", "ASKP3", "ASKP4", "ASKP5", "ASKP6", "ASKP7",
    "ASKP8", "ASKP9", "ASKP10", "BIDP1", "BIDP2", "BIDP3", "BIDP4", "BIDP5", "BIDP6", "BIDP7", "BIDP8", "BIDP9",
    "BIDP10", "ASKP_RSQN1", "ASKP_RSQN2", "ASKP_RSQN3", "ASKP_RSQN4", "ASKP_RSQN5", "ASKP_RSQN6", "ASKP_RSQN7",
    "ASKP_RSQN8", "ASKP_RSQN9", "ASKP_RSQN10", "BIDP_RSQN1", "BIDP_RSQN2", "BIDP_RSQN3", "BIDP_RSQN4",
    "BIDP_RSQN5", "BIDP_RSQN6", "BIDP_RSQN7", "BIDP_RSQN8", "BIDP_RSQN9", "BIDP_RSQN10", "TOTAL_ASKP_RSQN",
    "TOTAL_BIDP_RSQN", "OVTM_TOTAL_ASKP_RSQN", "OVTM_TOTAL_BIDP_RSQN", "ANTC_CNPR", "ANTC_CNQN", "ANTC_VOL",
    "ANTC_CNTG_VRSS", "ANTC_CNTG_VRSS_SIGN", "ANTC_CNTG_PRDY_CTRT", "ACML_VOL", "TOTAL_ASKP_RSQN_ICDC",
    "TOTAL_BIDP_RSQN_ICDC", "OVTM_TOTAL_ASKP_ICDC", "OVTM_TOTAL_BIDP_ICDC", "STCK_DEAL_CLS_CODE"};

typedef struct {
    char *p;
    size_t len, off;
    bool over;
} out_t;

ST_PRINTF(2, 3) static void out(out_t *o, const char *fmt, ...)
{
    if (o->over) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->off, o->len - o->off, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->len - o->off) o->over = true;
    else o->off += (size_t)n;
}

/* 전일 대비 부호: 1 upper limit, 2 up, 3 unchanged, 4 lower limit, 5 down (limits: ±30 %). */
static int sign_of(double change, double price, double prev)
{
    if (change == 0) return 3;
    if (change > 0) return price >= prev * 1.3 - 1e-9 ? 1 : 2;
    return price <= prev * 0.7 + 1e-9 ? 4 : 5;
}

/* The venue's local date (YYYYMMDD) and time (HHMMSS) of t. */
static void local_time(st_time_t t, int32_t utc_offset, char date[16], char hms[16])
{
    time_t secs = (time_t)(t / ST_SEC + utc_offset);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(date, 16, "%Y%m%d", &tm);
    strftime(hms, 16, "%H%M%S", &tm);
}

static bool is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

static void trade_field(out_t *o, const char *f, const st_tick_t *tick, const char *code, const char *date,
                        const char *hms)
{
    const st_trade_t *t = &tick->u.trade;
    double change = t->price - t->prev_close;
    if (is(f, "MKSC_SHRN_ISCD")) out(o, "%s", code);
    else if (is(f, "STCK_CNTG_HOUR")) out(o, "%s", hms);
    else if (is(f, "STCK_PRPR")) out(o, "%.0f", t->price);
    else if (is(f, "PRDY_VRSS_SIGN")) out(o, "%d", sign_of(change, t->price, t->prev_close));
    else if (is(f, "PRDY_VRSS")) out(o, "%.0f", change);
    else if (is(f, "PRDY_CTRT")) out(o, "%.2f", t->prev_close > 0 ? change / t->prev_close * 100 : 0);
    else if (is(f, "WGHN_AVRG_STCK_PRC")) out(o, "%.2f", t->cum_volume > 0 ? t->cum_value / t->cum_volume : t->price);
    else if (is(f, "STCK_OPRC")) out(o, "%.0f", t->open);
    else if (is(f, "STCK_HGPR")) out(o, "%.0f", t->high);
    else if (is(f, "STCK_LWPR")) out(o, "%.0f", t->low);
    else if (is(f, "ASKP1")) out(o, "%.0f", t->best_ask);
    else if (is(f, "BIDP1")) out(o, "%.0f", t->best_bid);
    else if (is(f, "CNTG_VOL")) out(o, "%.0f", t->volume);
    else if (is(f, "ACML_VOL")) out(o, "%.0f", t->cum_volume);
    else if (is(f, "ACML_TR_PBMN")) out(o, "%.0f", t->cum_value);
    else if (is(f, "CCLD_DVSN")) /* 1 buy, 5 sell, 3 before the open (an auction) */
        out(o, "%d", (tick->flags & ST_TICK_AUCTION) ? 3 : t->side == ST_SIDE_SELL ? 5 : 1);
    else if (is(f, "OPRC_HOUR")) out(o, "090000");
    else if (is(f, "HGPR_HOUR") || is(f, "LWPR_HOUR")) out(o, "000000");
    else if (is(f, "OPRC_VRSS_PRPR_SIGN")) out(o, "%d", sign_of(t->price - t->open, t->price, t->prev_close));
    else if (is(f, "OPRC_VRSS_PRPR")) out(o, "%.0f", t->price - t->open);
    else if (is(f, "HGPR_VRSS_PRPR_SIGN")) out(o, "%d", sign_of(t->price - t->high, t->price, t->prev_close));
    else if (is(f, "HGPR_VRSS_PRPR")) out(o, "%.0f", t->price - t->high);
    else if (is(f, "LWPR_VRSS_PRPR_SIGN")) out(o, "%d", sign_of(t->price - t->low, t->price, t->prev_close));
    else if (is(f, "LWPR_VRSS_PRPR")) out(o, "%.0f", t->price - t->low);
    else if (is(f, "BSOP_DATE")) out(o, "%s", date);
    else if (is(f, "NEW_MKOP_CLS_CODE")) out(o, "20"); /* the regular session */
    else if (is(f, "TRHT_YN")) out(o, "%s", (tick->flags & ST_TICK_HALTED) ? "Y" : "N");
    else if (is(f, "MRKT_TRTM_CLS_CODE")) out(o, "%s", "");
    else if (is(f, "CTTR") || is(f, "SHNU_RATE") || is(f, "PRDY_VOL_VRSS_ACML_VOL_RATE") || is(f, "VOL_TNRT") ||
             is(f, "PRDY_SMNS_HOUR_ACML_VOL_RATE"))
        out(o, "0.00"); /* rates the market does not model */
    else out(o, "0");   /* counts, sizes and prices it does not model */
}

size_t ex_kis_trades_frame(char *buf, size_t len, const char *tr_id, const st_tick_t *ticks, const char *code,
                           size_t n, int32_t utc_offset)
{
    out_t o = {buf, len, 0, false};
    out(&o, "0|%s|%03zu|", tr_id, n);
    for (size_t i = 0; i < n; i++) {
        char date[16], hms[16];
        local_time(ticks[i].venue_time, utc_offset, date, hms);
        for (size_t k = 0; k < ST_ARRAY_SIZE(trade_fields); k++) {
            if (i || k) out(&o, "^");
            trade_field(&o, trade_fields[k], &ticks[i], code, date, hms);
        }
    }
    return o.over ? 0 : o.off;
}

/* ASKPn, BIDPn, ASKP_RSQNn, BIDP_RSQNn: the book's level n (1-based); 0 when f is none of them. */
static int level(const char *f, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(f, prefix, n) != 0) return 0;
    int k = atoi(f + n);
    return k >= 1 && k <= ST_BOOK_DEPTH ? k : 0;
}

size_t ex_kis_book_frame(char *buf, size_t len, const st_tick_t *tick, const char *code, int32_t utc_offset)
{
    const st_book_t *b = &tick->u.book;
    out_t o = {buf, len, 0, false};
    char date[16], hms[16];
    local_time(tick->venue_time, utc_offset, date, hms);
    out(&o, "0|H0STASP0|001|");
    for (size_t k = 0; k < ST_ARRAY_SIZE(book_fields); k++) {
        const char *f = book_fields[k];
        int n;
        if (k) out(&o, "^");
        if (is(f, "MKSC_SHRN_ISCD")) out(&o, "%s", code);
        else if (is(f, "BSOP_HOUR")) out(&o, "%s", hms);
        else if ((n = level(f, "ASKP_RSQN"))) out(&o, "%.0f", b->ask_qty[n - 1]);
        else if ((n = level(f, "BIDP_RSQN"))) out(&o, "%.0f", b->bid_qty[n - 1]);
        else if ((n = level(f, "ASKP"))) out(&o, "%.0f", b->ask[n - 1]);
        else if ((n = level(f, "BIDP"))) out(&o, "%.0f", b->bid[n - 1]);
        else if (is(f, "TOTAL_ASKP_RSQN")) out(&o, "%.0f", b->total_ask_qty);
        else if (is(f, "TOTAL_BIDP_RSQN")) out(&o, "%.0f", b->total_bid_qty);
        else if (is(f, "ANTC_CNTG_VRSS_SIGN")) out(&o, "3"); /* no expected price: unchanged */
        else if (is(f, "ANTC_CNTG_PRDY_CTRT")) out(&o, "0.00");
        else out(&o, "0"); /* time class, after-hours, expected auction values, deltas, deal class */
    }
    return o.over ? 0 : o.off;
}
