/* strata-exsim: Upbit's WebSocket protocol — subscription requests that replace the whole set
 * (ticker, trade, orderbook, candles; DEFAULT or SIMPLE naming, list formats), its 5-a-second and
 * 100-a-minute limits (errors, then a 1008 close), PING/status, and the data frames. */
#include "exsim.h"

/* --- Upbit ------------------------------------------------------------------------------- */


typedef struct {
    char *p;
    size_t len, off;
    bool simple;
} jw_t;

static void jput(jw_t *w, const char *fmt, ...) ST_PRINTF(2, 3);
static void jput(jw_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->p + w->off, w->len - w->off, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < w->len - w->off) w->off += (size_t)n;
}

/* A field in DEFAULT or SIMPLE naming. */
#define KN(w, dflt, smpl) ((w)->simple ? (smpl) : (dflt))

const char *ex_change_of(double d)
{
    return d > 0 ? "RISE" : d < 0 ? "FALL" : "EVEN";
}

/* The orderbook a client asked for: the simulated ten levels, continued to 30 on the same price
 * grid with thinning sizes, cut to `depth` units. */
int ex_up_units(const st_book_t *b, int depth, double ap[], double bp[], double as[], double bs[])
{
    double step_a = b->ask[ST_BOOK_DEPTH - 1] - b->ask[ST_BOOK_DEPTH - 2];
    double step_b = b->bid[ST_BOOK_DEPTH - 2] - b->bid[ST_BOOK_DEPTH - 1];
    int n = depth > 0 && depth <= UP_MAX_UNITS ? depth : UP_MAX_UNITS;
    for (int i = 0; i < n; i++) {
        if (i < ST_BOOK_DEPTH) {
            ap[i] = b->ask[i], bp[i] = b->bid[i], as[i] = b->ask_qty[i], bs[i] = b->bid_qty[i];
        } else {
            ap[i] = ap[i - 1] + step_a, bp[i] = bp[i - 1] - step_b;
            as[i] = as[i - ST_BOOK_DEPTH] * 0.8, bs[i] = bs[i - ST_BOOK_DEPTH] * 0.8;
        }
    }
    return n;
}


void ex_up_derive(const st_trade_t *q, st_time_t now, up_derived_t *d)
{
    double day = (double)(now % ST_DAY) / (double)ST_DAY; /* share of the UTC day gone */
    d->bid_vol = q->cum_volume * 0.52, d->ask_vol = q->cum_volume - d->bid_vol;
    d->vol24 = q->cum_volume * (2 - day), d->val24 = q->cum_value * (2 - day); /* yesterday alike */
    d->hi52 = fmax(q->high, q->prev_close * 1.6), d->lo52 = fmin(q->low, q->prev_close * 0.55);
    time_t hi = (time_t)(now / ST_SEC - 97 * 86400), lo = (time_t)(now / ST_SEC - 241 * 86400);
    struct tm tm;
    strftime(d->hi52_date, sizeof(d->hi52_date), "%Y-%m-%d", gmtime_r(&hi, &tm));
    strftime(d->lo52_date, sizeof(d->lo52_date), "%Y-%m-%d", gmtime_r(&lo, &tm));
}

/* One Upbit data object (no list brackets). t is a trade or snapshot tick (ticker, trade) or an
 * orderbook tick; bk, for trades, the book at that moment (best sizes). */
static size_t up_frame(char *buf, size_t len, int type, bool simple, const st_tick_t *t, const char *code,
                       bool snapshot, const st_book_t *bk, int depth, double level)
{
    jw_t w = {buf, len, 0, simple};
    const st_trade_t *q = &t->u.trade;
    time_t secs = (time_t)(t->venue_time / ST_SEC);
    struct tm tm;
    gmtime_r(&secs, &tm);
    long long ms = (long long)(t->venue_time / ST_MSEC);
    jput(&w, "{\"%s\":\"%s\",\"%s\":\"%s\"", KN(&w, "type", "ty"), up_types[type], KN(&w, "code", "cd"), code);
    if (type == UP_BOOK) {
        const st_book_t *b = &t->u.book;
        double ap[UP_MAX_UNITS], bp[UP_MAX_UNITS], as[UP_MAX_UNITS], bs[UP_MAX_UNITS];
        int n = ex_up_units(b, depth, ap, bp, as, bs);
        double ta = 0, tb = 0;
        for (int i = 0; i < n; i++) ta += as[i], tb += bs[i];
        jput(&w, ",\"%s\":%.4f,\"%s\":%.4f,\"%s\":[", KN(&w, "total_ask_size", "tas"), ta,
             KN(&w, "total_bid_size", "tbs"), tb, KN(&w, "orderbook_units", "obu"));
        for (int i = 0; i < n; i++)
            jput(&w, "%s{\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.4f,\"%s\":%.4f}", i ? "," : "", KN(&w, "ask_price", "ap"),
                 ap[i], KN(&w, "bid_price", "bp"), bp[i], KN(&w, "ask_size", "as"), as[i], KN(&w, "bid_size", "bs"),
                 bs[i]);
        jput(&w, "],\"%s\":%lld,\"%s\":%g", KN(&w, "timestamp", "tms"), ms, KN(&w, "level", "lv"), level);
    } else {
        double d = q->price - q->prev_close;
        char date[16], hms[16];
        if (type == UP_TRADE) {
            strftime(date, sizeof(date), "%Y-%m-%d", &tm);
            strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
        } else {
            strftime(date, sizeof(date), "%Y%m%d", &tm);
            strftime(hms, sizeof(hms), "%H%M%S", &tm);
        }
        jput(&w, ",\"%s\":%.0f,\"%s\":%.8f,\"%s\":\"%s\",\"%s\":%.0f,\"%s\":\"%s\",\"%s\":%.0f",
             KN(&w, "trade_price", "tp"), q->price, KN(&w, "trade_volume", "tv"), q->volume, KN(&w, "ask_bid", "ab"),
             q->side == ST_SIDE_SELL ? "ASK" : "BID", KN(&w, "prev_closing_price", "pcp"), q->prev_close,
             KN(&w, "change", "c"), ex_change_of(d), KN(&w, "change_price", "cp"), d < 0 ? -d : d);
        jput(&w, ",\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":%lld,\"%s\":%lld", type == UP_TRADE ? KN(&w, "trade_date", "td") : KN(&w, "trade_date", "tdt"),
             date, KN(&w, "trade_time", "ttm"), hms, KN(&w, "trade_timestamp", "ttms"), ms, KN(&w, "timestamp", "tms"), ms);
        if (type == UP_TRADE) {
            jput(&w, ",\"%s\":%llu,\"%s\":%.0f,\"%s\":%.8f,\"%s\":%.0f,\"%s\":%.8f", KN(&w, "sequential_id", "sid"),
                 (unsigned long long)++X.up_seq, KN(&w, "best_ask_price", "bap"), q->best_ask,
                 KN(&w, "best_ask_size", "bas"), bk ? bk->ask_qty[0] : 0, KN(&w, "best_bid_price", "bbp"),
                 q->best_bid, KN(&w, "best_bid_size", "bbs"), bk ? bk->bid_qty[0] : 0);
        } else {
            double rate = q->prev_close > 0 ? d / q->prev_close : 0;
            up_derived_t x;
            ex_up_derive(q, t->venue_time, &x);
            jput(&w, ",\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.8f,\"%s\":%.8f,\"%s\":%.8f,\"%s\":%.0f",
                 KN(&w, "opening_price", "op"), q->open, KN(&w, "high_price", "hp"), q->high, KN(&w, "low_price", "lp"),
                 q->low, KN(&w, "signed_change_price", "scp"), d, KN(&w, "change_rate", "cr"), rate < 0 ? -rate : rate,
                 KN(&w, "signed_change_rate", "scr"), rate, KN(&w, "acc_trade_volume", "atv"), q->cum_volume,
                 KN(&w, "acc_trade_price", "atp"), q->cum_value);
            jput(&w, ",\"%s\":%.8f,\"%s\":%.8f,\"%s\":%.8f,\"%s\":%.8f", KN(&w, "acc_trade_volume_24h", "atv24h"),
                 x.vol24, KN(&w, "acc_trade_price_24h", "atp24h"), x.val24, KN(&w, "acc_ask_volume", "aav"), x.ask_vol,
                 KN(&w, "acc_bid_volume", "abv"), x.bid_vol);
            jput(&w, ",\"%s\":%.0f,\"%s\":\"%s\",\"%s\":%.0f,\"%s\":\"%s\"", KN(&w, "highest_52_week_price", "h52wp"),
                 x.hi52, KN(&w, "highest_52_week_date", "h52wdt"), x.hi52_date, KN(&w, "lowest_52_week_price", "l52wp"),
                 x.lo52, KN(&w, "lowest_52_week_date", "l52wdt"), x.lo52_date);
            jput(&w, ",\"%s\":\"ACTIVE\",\"%s\":false,\"%s\":null,\"%s\":\"NONE\"", KN(&w, "market_state", "ms"),
                 KN(&w, "is_trading_suspended", "its"), KN(&w, "delisting_date", "dd"), KN(&w, "market_warning", "mw"));
        }
    }
    jput(&w, ",\"%s\":\"%s\"}", KN(&w, "stream_type", "st"), snapshot ? "SNAPSHOT" : "REALTIME");
    return w.off;
}

/* Upbit's candle units (candle.1s, candle.1m … candle.240m), in seconds. */
static const int candle_units[] = {1, 60, 180, 300, 600, 900, 1800, 3600, 14400};

static void candle_type(int unit, char *out, size_t n)
{
    if (unit < 60) snprintf(out, n, "candle.%ds", unit);
    else snprintf(out, n, "candle.%dm", unit / 60);
}

/* The unit of a "candle.…" type, 0 if it is none of Upbit's. */
static int candle_unit(const char *type)
{
    char t[32];
    for (size_t i = 0; i < ST_ARRAY_SIZE(candle_units); i++) {
        candle_type(candle_units[i], t, sizeof(t));
        if (strcmp(type, t) == 0) return candle_units[i];
    }
    return 0;
}

/* A candle of `unit` seconds (candle.1s … candle.240m): its start in UTC and KST. */
static size_t up_candle(char *buf, size_t len, bool simple, const char *code, const struct candle *c, bool snapshot)
{
    jw_t w = {buf, len, 0, simple};
    char type[32], utc[32], kst[32];
    candle_type(c->unit, type, sizeof(type));
    time_t s = (time_t)(c->start / ST_SEC), k = s + 9 * 3600;
    struct tm tm;
    strftime(utc, sizeof(utc), "%Y-%m-%dT%H:%M:%S", gmtime_r(&s, &tm));
    strftime(kst, sizeof(kst), "%Y-%m-%dT%H:%M:%S", gmtime_r(&k, &tm));
    jput(&w, "{\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":\"%s\"", KN(&w, "type", "ty"), type,
         KN(&w, "code", "cd"), code, KN(&w, "candle_date_time_utc", "cdttmu"), utc,
         KN(&w, "candle_date_time_kst", "cdttmk"), kst);
    jput(&w, ",\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.8f,\"%s\":%.8f,\"%s\":%lld,\"%s\":\"%s\"}",
         KN(&w, "opening_price", "op"), c->o, KN(&w, "high_price", "hp"), c->h, KN(&w, "low_price", "lp"), c->l,
         KN(&w, "trade_price", "tp"), c->c, KN(&w, "candle_acc_trade_volume", "catv"), c->vol,
         KN(&w, "candle_acc_trade_price", "catp"), c->val, KN(&w, "timestamp", "tms"),
         (long long)(c->sent / ST_MSEC), KN(&w, "stream_type", "st"), snapshot ? "SNAPSHOT" : "REALTIME");
    return w.off;
}

/* --record, Upbit: one line per realtime trade or orderbook frame sent (per session):
 *   UT code unix_ms price volume side best_bid best_ask
 *   UB code unix_ms ask1 bid1 ask1_size bid1_size total_ask_size total_bid_size
 * each ending " @<wall µs>" like the KIS lines. */
static void up_record(const st_tick_t *t, const char *code, int depth)
{
    long long ms = (long long)(t->venue_time / ST_MSEC);
    if (t->kind == ST_TICK_ORDERBOOK) { /* the totals over the units sent */
        const st_book_t *b = &t->u.book;
        double ap[UP_MAX_UNITS], bp[UP_MAX_UNITS], as[UP_MAX_UNITS], bs[UP_MAX_UNITS], ta = 0, tb = 0;
        int n = ex_up_units(b, depth, ap, bp, as, bs);
        for (int i = 0; i < n; i++) ta += as[i], tb += bs[i];
        ex_rec_add("UB %s %lld %.0f %.0f %.4f %.4f %.4f %.4f", code, ms, b->ask[0], b->bid[0], b->ask_qty[0],
                b->bid_qty[0], ta, tb);
    } else {
        const st_trade_t *q = &t->u.trade;
        ex_rec_add("UT %s %lld %.0f %.8f %s %.0f %.0f", code, ms, q->price, q->volume,
                q->side == ST_SIDE_SELL ? "ASK" : "BID", q->best_bid, q->best_ask);
    }
    ex_rec_add("\n");
}

static void up_error(session_t *s, const char *name, const char *message)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "{\"error\":{\"name\":\"%s\",\"message\":\"%s\"}}", name, message);
    ex_enqueue_as(s, buf, (size_t)n, true);
}

/* A data object written at buf + 1 (n bytes) goes out as is, or as a one-object list
 * (JSON_LIST, SIMPLE_LIST): buf has room for the brackets. */
static void up_enqueue(session_t *s, char *buf, size_t n)
{
    if (s->list) {
        buf[0] = '[', buf[n + 1] = ']';
        ex_enqueue_as(s, buf, n + 2, true);
    } else {
        ex_enqueue_as(s, buf + 1, n, true);
    }
    s->frames++;
    X.frames_total++;
}

static void up_send_one(session_t *s, int type, st_sym_t sym, const char *code, bool snapshot)
{
    static char buf[8192];
    st_time_t now = st_clock_now(&X.clock);
    st_tick_t t, book;
    st_simmkt_advance(X.upmkt, sym, now, NULL, NULL);
    st_simmkt_book(X.upmkt, sym, now, &book);
    if (type == UP_BOOK) t = book;
    else st_simmkt_snapshot(X.upmkt, sym, now, &t);
    size_t n = up_frame(buf + 1, sizeof(buf) - 2, type, s->simple, &t, code, snapshot, &book.u.book,
                        s->depth[sym], s->level[sym]);
    up_enqueue(s, buf, n);
}

/* The per-connection request limit: 5 per second and 100 per minute. */
static bool up_over_limit(session_t *s, st_time_t now)
{
    int in_sec = 0, in_min = 0;
    for (uint64_t i = 0; i < s->rx && i < RX_RING; i++) {
        st_time_t t = s->rx_times[(s->rx - 1 - i) % RX_RING];
        in_sec += t > now - ST_SEC;
        in_min += t > now - ST_MIN;
    }
    return in_sec > 5 || in_min > 100;
}

/* Past the 5-a-second or 100-a-minute limit: an error, and after up_close_after of them the
 * connection is closed (1008). True when the request is refused. */
static bool up_refused_for_rate(session_t *s, st_time_t now)
{
    if (!up_over_limit(s, now)) return false;
    s->violations++;
    X.up_violations++;
    up_error(s, X.up_rate_name, "request limit exceeded (5 per second, 100 per minute)");
    if (s->violations >= X.up_close_after) { /* repeated violations close the connection: 1008 */
        X.up_closed++;
        s->closing = true;
        s->close_policy = true;
        lws_callback_on_writable(s->wsi);
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
    }
    return true;
}

/* LIST_SUBSCRIPTIONS: what s streams, by type (and the orderbook's level), and its candles. */
static void up_list_subscriptions(session_t *s)
{
    cJSON *r = cJSON_CreateObject(), *res = cJSON_CreateArray();
    cJSON_AddStringToObject(r, s->simple ? "mthd" : "method", "LIST_SUBSCRIPTIONS");
    for (int ty = 0; ty < 3; ty++) {
        cJSON *codes = cJSON_CreateArray();
        for (size_t i = 0; i < X.upuni.n; i++)
            if (s->reg[ST_KEY(X.upuni.items[i].sym, up_ch[ty])])
                cJSON_AddItemToArray(codes, cJSON_CreateString(X.upuni.items[i].code));
        if (cJSON_GetArraySize(codes) == 0) {
            cJSON_Delete(codes);
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, s->simple ? "ty" : "type", up_types[ty]);
        cJSON_AddItemToObject(o, s->simple ? "cds" : "codes", codes);
        if (ty == UP_BOOK) { /* the level asked for (the first code's; one per request here) */
            double lv = 0;
            for (size_t i = 0; i < X.upuni.n && lv == 0; i++)
                if (s->reg[ST_KEY(X.upuni.items[i].sym, ST_CH_BOOK)]) lv = s->level[X.upuni.items[i].sym];
            cJSON_AddNumberToObject(o, s->simple ? "lv" : "level", lv);
        }
        cJSON_AddItemToArray(res, o);
    }
    for (size_t i = 0; s->candle && i < X.upuni.n; i++) { /* candles, one entry per unit and code */
        st_sym_t sym = X.upuni.items[i].sym;
        if (!s->candle[sym].unit) continue;
        char type[32];
        candle_type(s->candle[sym].unit, type, sizeof(type));
        cJSON *o = cJSON_CreateObject(), *codes = cJSON_AddArrayToObject(o, s->simple ? "cds" : "codes");
        cJSON_AddStringToObject(o, s->simple ? "ty" : "type", type);
        cJSON_AddItemToArray(codes, cJSON_CreateString(X.upuni.items[i].code));
        cJSON_AddItemToArray(res, o);
    }
    cJSON_AddItemToObject(r, s->simple ? "rslt" : "result", res);
    cJSON_AddStringToObject(r, s->simple ? "tckt" : "ticket", s->ticket);
    char *out = cJSON_PrintUnformatted(r);
    ex_enqueue_as(s, out, strlen(out), true);
    free(out);
    cJSON_Delete(r);
}

/* Every type object of request j is valid (a known type, codes given); else an error to s. */
static bool up_types_valid(session_t *s, cJSON *j)
{
    cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        const char *type = ex_json_str(it, "type", NULL);
        if (!cJSON_GetObjectItem(it, "type")) continue;
        int ty = type && candle_unit(type) ? 3 : -1;
        for (int k = 0; k < 3 && type; k++)
            if (strcmp(type, up_types[k]) == 0) ty = k;
        cJSON *codes = cJSON_GetObjectItem(it, "codes");
        const char *err = ty < 0                                                        ? "INVALID_PARAM"
                          : !cJSON_IsArray(codes) || cJSON_GetArraySize(codes) == 0 ? "NO_CODES"
                                                                                    : NULL;
        if (err) {
            up_error(s, err, ty < 0 ? "unknown type" : "codes are required");
            return false;
        }
    }
    return true;
}

/* Request j replaces s's subscriptions: each code of each type, its snapshot now unless
 * is_only_realtime, its stream unless is_only_snapshot; candles and orderbook units as asked. */
static void up_subscribe(session_t *s, cJSON *j)
{
    cJSON *it;
    for (size_t i = 0; i < X.upuni.n; i++) {
        for (int ty = 0; ty < 3; ty++) ex_set_reg(s, ST_KEY(X.upuni.items[i].sym, up_ch[ty]), false);
        if (s->candle) ex_set_candle(s, X.upuni.items[i].sym, 0);
    }
    cJSON_ArrayForEach(it, j)
    {
        const char *type = ex_json_str(it, "type", NULL);
        if (!type) continue;
        int unit = candle_unit(type);
        int ty = strcmp(type, "ticker") == 0 ? UP_TICKER : strcmp(type, "trade") == 0 ? UP_TRADE : UP_BOOK;
        cJSON *lv = cJSON_GetObjectItem(it, "level");
        bool only_snap = cJSON_IsTrue(cJSON_GetObjectItem(it, "is_only_snapshot")) ||
                         cJSON_IsTrue(cJSON_GetObjectItem(it, "isOnlySnapshot"));
        bool only_real = cJSON_IsTrue(cJSON_GetObjectItem(it, "is_only_realtime")) ||
                         cJSON_IsTrue(cJSON_GetObjectItem(it, "isOnlyRealtime"));
        cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(it, "codes"))
        {
            if (!cJSON_IsString(c)) continue;
            const char *code = c->valuestring;
            size_t cl = strcspn(code, "."); /* orderbook depth suffix "KRW-BTC.15" */
            st_sym_t sym = st_symtab_find(&X.syms, code, cl);
            if (sym == ST_SYM_NONE || !st_universe_get(&X.upuni, sym)) continue; /* unknown: no data */
            if (unit) { /* candles: realtime only here, sent once a second while trades occur */
                ex_set_candle(s, sym, unit);
                continue;
            }
            if (ty == UP_BOOK) { /* units 1, 5, 15, 30; anything else is 30 (since 2025-07-02) */
                int n = code[cl] == '.' ? atoi(code + cl + 1) : 30;
                s->depth[sym] = (uint8_t)(n == 1 || n == 5 || n == 15 ? n : 30);
                s->level[sym] = cJSON_IsNumber(lv) ? lv->valuedouble : 0;
            }
            if (!only_real) up_send_one(s, ty, sym, st_universe_get(&X.upuni, sym)->code, true);
            if (!only_snap) ex_set_reg(s, ST_KEY(sym, up_ch[ty]), true);
        }
    }
}

void ex_on_upbit_text(session_t *s, const char *text, size_t len)
{
    if (s->closing) return; /* being closed: what is still buffered is ignored */
    st_time_t now = st_clock_now(&X.clock);
    s->last_rx = now;
    if (len == 4 && memcmp(text, "PING", 4) == 0) { /* keep-alive: not a data request */
        ex_enqueue_as(s, "{\"status\":\"UP\"}", 15, false);
        return;
    }
    ex_count_rx(s, now);
    if (up_refused_for_rate(s, now)) return;
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsArray(j)) {
        cJSON_Delete(j);
        up_error(s, "WRONG_FORMAT", "the request must be a JSON array");
        return;
    }
    const char *ticket = NULL, *method = NULL, *format = NULL;
    cJSON *it;
    int ntypes = 0;
    cJSON_ArrayForEach(it, j)
    {
        if (!ticket) ticket = ex_json_str(it, "ticket", NULL);
        if (!method) method = ex_json_str(it, "method", NULL);
        if (!format) format = ex_json_str(it, "format", NULL);
        ntypes += cJSON_GetObjectItem(it, "type") != NULL;
    }
    if (!ticket) {
        up_error(s, "NO_TICKET", "ticket is required");
        cJSON_Delete(j);
        return;
    }
    if (format) { /* it applies to the live streams at once, even in LIST_SUBSCRIPTIONS */
        bool simple = strcmp(format, "SIMPLE") == 0 || strcmp(format, "SIMPLE_LIST") == 0;
        bool list = strcmp(format, "JSON_LIST") == 0 || strcmp(format, "SIMPLE_LIST") == 0;
        if (!simple && !list && strcmp(format, "DEFAULT") != 0) {
            up_error(s, "INVALID_PARAM", "format must be DEFAULT, SIMPLE, JSON_LIST or SIMPLE_LIST");
            cJSON_Delete(j);
            return;
        }
        s->simple = simple, s->list = list;
    }
    snprintf(s->ticket, sizeof(s->ticket), "%s", ticket);
    if (method && strcmp(method, "LIST_SUBSCRIPTIONS") == 0) {
        up_list_subscriptions(s);
        cJSON_Delete(j);
        return;
    }
    if (ntypes == 0) {
        up_error(s, "NO_TYPE", "a type field is required");
        cJSON_Delete(j);
        return;
    }
    if (up_types_valid(s, j)) up_subscribe(s, j); /* validated before anything changes */
    cJSON_Delete(j);
}
/* The latest trades of an Upbit market, for GET /v1/trades/ticks. */
void ex_up_keep_trades(const st_instrument_t *ins, const batch_t *b)
{
    struct up_ticks *r = &X.up_ticks[ins - X.upuni.items];
    for (int k = 0; k < b->n; k++) {
        r->seq[r->n % 64] = ++X.up_seq;
        r->t[r->n++ % 64] = b->t[k];
    }
}

void ex_up_market(st_time_t now)
{
    static char buf[8192];
    for (size_t i = 0; i < X.upuni.n; i++) {
        const st_instrument_t *ins = &X.upuni.items[i];
        st_sym_t sym = ins->sym;
        if (!X.trade_refs[sym] && !X.book_refs[sym] && !X.candle_refs[sym]) continue;
        batch_t b = {.n = 0};
        while (b.n < MAX_BATCH && st_simmkt_next_event(X.upmkt, sym) <= now)
            st_simmkt_advance(X.upmkt, sym, st_simmkt_next_event(X.upmkt, sym), ex_collect, &b);
        if (!b.n) continue;
        ex_up_keep_trades(ins, &b);
        st_tick_t book;
        st_simmkt_book(X.upmkt, sym, b.t[b.n - 1].venue_time, &book);
        for (int k = 0; k < b.n; k++) {
            for (session_t *s = X.sessions; s; s = s->next) {
                if (!s->open || !s->upbit) continue;
                for (int ty = 0; ty < 2; ty++) { /* ticker, trade */
                    if (!s->reg[ST_KEY(sym, up_ch[ty])] || s->queued >= MAX_QUEUE) continue;
                    size_t n = up_frame(buf + 1, sizeof(buf) - 2, ty, s->simple, &b.t[k], ins->code, false,
                                        &book.u.book, 0, 0);
                    if (ty == UP_TRADE && X.record) up_record(&b.t[k], ins->code, 0);
                    up_enqueue(s, buf, n);
                }
                struct candle *c = s->candle ? &s->candle[sym] : NULL;
                if (!c || !c->unit) continue;
                const st_trade_t *q = &b.t[k].u.trade;
                st_time_t start = b.t[k].venue_time / ((st_dur_t)c->unit * ST_SEC) * ((st_dur_t)c->unit * ST_SEC);
                if (start != c->start) *c = (struct candle){c->unit, start, c->sent, q->price, q->price, q->price,
                                                            q->price, 0, 0};
                c->h = fmax(c->h, q->price), c->l = fmin(c->l, q->price), c->c = q->price;
                c->vol += q->volume, c->val += q->volume * q->price;
            }
        }
        for (session_t *s = X.sessions; s; s = s->next) { /* candles: at most one a second, on trades */
            struct candle *c = s->open && s->upbit && s->candle ? &s->candle[sym] : NULL;
            if (!c || !c->unit || !c->start || now - c->sent < ST_SEC || s->queued >= MAX_QUEUE) continue;
            c->sent = now;
            up_enqueue(s, buf, up_candle(buf + 1, sizeof(buf) - 2, s->simple, ins->code, c, false));
        }
        if (X.book_refs[sym]) {
            for (session_t *s = X.sessions; s; s = s->next) {
                if (!s->open || !s->upbit || !s->reg[ST_KEY(sym, ST_CH_BOOK)] || s->queued >= MAX_QUEUE) continue;
                size_t n = up_frame(buf + 1, sizeof(buf) - 2, UP_BOOK, s->simple, &book, ins->code, false, NULL,
                                    s->depth[sym], s->level[sym]);
                if (X.record) up_record(&book, ins->code, s->depth[sym]);
                up_enqueue(s, buf, n);
            }
        }
    }
    /* Upbit closes a connection after 120 s without data from the client. */
    for (session_t *s = X.sessions; s; s = s->next) {
        if (s->open && s->upbit && s->wsi && now - s->last_rx > 120 * ST_SEC) {
            X.up_closed++;
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
            s->last_rx = now; /* once */
        }
    }
}
