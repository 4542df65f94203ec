/* strata-exsim: Upbit's quotation REST — markets, ticker, orderbook, trades — paced per group
 * (10 calls a second, counted per IP), Remaining-Req, 429 then a 418 ban when ignored. */
#include "exsim.h"

/* --- Upbit REST --------------------------------------------------------------------------- */

static http_reply_t up_http_error(int status, const char *name, const char *message)
{
    cJSON *j = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(j, "error");
    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddStringToObject(e, "message", message);
    return ex_jreply(status, j);
}

/* The group's window: NULL-free reply when the call may proceed. */
static bool up_gate(int group, const char *gname, http_reply_t *r)
{
    st_time_t now = st_clock_now(&X.clock);
    if (now < X.up_banned_until) {
        X.up_n418++;
        char msg[96];
        snprintf(msg, sizeof(msg), "blocked for %lld more seconds after ignoring 429",
                 (long long)((X.up_banned_until - now) / ST_SEC + 1));
        *r = up_http_error(418, "ip_blocked", msg);
        return false;
    }
    struct up_group *g = &X.up_groups[group];
    int used = 0;
    for (uint64_t i = 0; i < g->n && i < 10; i++) used += g->calls[(g->n - 1 - i) % 10] > now - ST_SEC;
    if (used >= 10) {
        X.up_n429++;
        X.up_429s[X.up_n429 % 8] = now;
        /* Five 429s within ten seconds: the caller ignores them; a one-minute ban. */
        int recent = 0;
        for (uint64_t i = 0; i < X.up_n429 && i < 8; i++) recent += X.up_429s[(X.up_n429 - i) % 8] > now - 10 * ST_SEC;
        if (recent >= 5) X.up_banned_until = now + ST_MIN;
        *r = up_http_error(429, "too_many_requests", "Too many API requests.");
        snprintf(r->remaining, sizeof(r->remaining), "group=%s; min=1800; sec=0", gname);
        return false;
    }
    g->calls[g->n++ % 10] = now;
    X.up_rest_ok++;
    snprintf(r->remaining, sizeof(r->remaining), "group=%s; min=1800; sec=%d", gname, 10 - used - 1);
    return true;
}

/* markets=KRW-BTC,KRW-ETH → instruments; NULL with a 404 reply for an unknown code. */
static int up_markets(struct lws *wsi, const st_instrument_t **out, int max, http_reply_t *r)
{
    char buf[2048];
    const char *v = lws_get_urlarg_by_name(wsi, "markets=", buf, sizeof(buf));
    if (!v || !*v) {
        *r = up_http_error(400, "validation_error", "markets is required");
        return -1;
    }
    int n = 0;
    char *save, *list = st_xstrdup(v);
    for (char *tok = strtok_r(list, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save)) {
        st_sym_t sym = st_symtab_find(&X.syms, tok, strlen(tok));
        const st_instrument_t *ins = sym == ST_SYM_NONE ? NULL : st_universe_get(&X.upuni, sym);
        if (!ins) {
            free(list);
            *r = up_http_error(404, "404", "Code not found");
            return -1;
        }
        out[n++] = ins;
    }
    free(list);
    return n;
}

/* GET /v1/trades/ticks?market=KRW-BTC&count=N: the latest N trades (1 by default, up to 64
 * here), newest first. */
static http_reply_t up_trades_ticks(struct lws *wsi, st_time_t now)
{
    http_reply_t r = {0};
    if (!up_gate(3, "trade", &r)) return r;
    char remaining[64], buf[64];
    memcpy(remaining, r.remaining, sizeof(remaining));
    const char *m = lws_get_urlarg_by_name(wsi, "market=", buf, sizeof(buf));
    st_sym_t sym = m ? st_symtab_find(&X.syms, m, strlen(m)) : ST_SYM_NONE;
    const st_instrument_t *ins = sym == ST_SYM_NONE ? NULL : st_universe_get(&X.upuni, sym);
    if (!ins) return up_http_error(m ? 404 : 400, m ? "404" : "validation_error", m ? "Code not found" : "market is required");
    char cbuf[16];
    const char *cv = lws_get_urlarg_by_name(wsi, "count=", cbuf, sizeof(cbuf));
    int count = cv ? atoi(cv) : 1;
    if (count < 1 || count > 64) count = count < 1 ? 1 : 64;
    for (;;) { /* what happened since anyone last looked */
        batch_t b = {.n = 0};
        while (b.n < MAX_BATCH && st_simmkt_next_event(X.upmkt, sym) <= now)
            st_simmkt_advance(X.upmkt, sym, st_simmkt_next_event(X.upmkt, sym), ex_collect, &b);
        if (!b.n) break;
        ex_up_keep_trades(ins, &b);
    }
    struct up_ticks *rt = &X.up_ticks[ins - X.upuni.items];
    cJSON *arr = cJSON_CreateArray();
    for (uint64_t i = 0; i < (uint64_t)count && i < rt->n && i < 64; i++) {
        uint64_t at = (rt->n - 1 - i) % 64;
        const st_tick_t *t = &rt->t[at];
        const st_trade_t *q = &t->u.trade;
        char date[16], hms[16];
        time_t secs = (time_t)(t->venue_time / ST_SEC);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d", &tm);
        strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "market", ins->code);
        cJSON_AddStringToObject(o, "trade_date_utc", date);
        cJSON_AddStringToObject(o, "trade_time_utc", hms);
        cJSON_AddNumberToObject(o, "timestamp", (double)(t->venue_time / ST_MSEC));
        cJSON_AddNumberToObject(o, "trade_price", q->price);
        cJSON_AddNumberToObject(o, "trade_volume", q->volume);
        cJSON_AddNumberToObject(o, "prev_closing_price", q->prev_close);
        cJSON_AddNumberToObject(o, "change_price", q->price - q->prev_close);
        cJSON_AddStringToObject(o, "ask_bid", q->side == ST_SIDE_SELL ? "ASK" : "BID");
        cJSON_AddNumberToObject(o, "sequential_id", (double)rt->seq[at]);
        cJSON_AddItemToArray(arr, o);
    }
    http_reply_t ok = ex_jreply(200, arr);
    memcpy(ok.remaining, remaining, sizeof(remaining));
    return ok;
}

/* GET /v1/market/all: every market, its names. */
static http_reply_t up_market_all(void)
{
    http_reply_t r = {0};
    if (!up_gate(0, "market", &r)) return r;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < X.upuni.n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "market", X.upuni.items[i].code);
        cJSON_AddStringToObject(o, "korean_name", X.upuni.items[i].name);
        cJSON_AddStringToObject(o, "english_name", strchr(X.upuni.items[i].code, '-') + 1);
        cJSON_AddItemToArray(arr, o);
    }
    http_reply_t ok = ex_jreply(200, arr);
    memcpy(ok.remaining, r.remaining, sizeof(r.remaining));
    return ok;
}

/* A /v1/ticker row: the market's snapshot now, with the figures derived from it. */
static void up_ticker_row(cJSON *o, const st_instrument_t *ins, st_time_t now)
{
    st_tick_t t;
    st_simmkt_snapshot(X.upmkt, ins->sym, now, &t);
    const st_trade_t *q = &t.u.trade;
    double d = q->price - q->prev_close, rate = q->prev_close > 0 ? d / q->prev_close : 0;
    cJSON_AddNumberToObject(o, "opening_price", q->open);
    cJSON_AddNumberToObject(o, "high_price", q->high);
    cJSON_AddNumberToObject(o, "low_price", q->low);
    cJSON_AddNumberToObject(o, "trade_price", q->price);
    cJSON_AddNumberToObject(o, "prev_closing_price", q->prev_close);
    cJSON_AddStringToObject(o, "change", ex_change_of(d));
    cJSON_AddNumberToObject(o, "change_price", d < 0 ? -d : d);
    cJSON_AddNumberToObject(o, "change_rate", rate < 0 ? -rate : rate);
    cJSON_AddNumberToObject(o, "signed_change_price", d);
    cJSON_AddNumberToObject(o, "signed_change_rate", rate);
    cJSON_AddNumberToObject(o, "acc_trade_price", q->cum_value);
    cJSON_AddNumberToObject(o, "acc_trade_volume", q->cum_volume);
    up_derived_t x;
    ex_up_derive(q, now, &x);
    char date[16], hms[16], kdate[16], khms[16];
    time_t secs = (time_t)(t.venue_time / ST_SEC), ksecs = secs + 9 * 3600;
    struct tm tm;
    strftime(date, sizeof(date), "%Y%m%d", gmtime_r(&secs, &tm));
    strftime(hms, sizeof(hms), "%H%M%S", &tm);
    strftime(kdate, sizeof(kdate), "%Y%m%d", gmtime_r(&ksecs, &tm));
    strftime(khms, sizeof(khms), "%H%M%S", &tm);
    cJSON_AddStringToObject(o, "trade_date", date);
    cJSON_AddStringToObject(o, "trade_time", hms);
    cJSON_AddStringToObject(o, "trade_date_kst", kdate);
    cJSON_AddStringToObject(o, "trade_time_kst", khms);
    cJSON_AddNumberToObject(o, "trade_timestamp", (double)(t.venue_time / ST_MSEC));
    cJSON_AddNumberToObject(o, "trade_volume", q->volume);
    cJSON_AddNumberToObject(o, "acc_trade_price_24h", x.val24);
    cJSON_AddNumberToObject(o, "acc_trade_volume_24h", x.vol24);
    cJSON_AddNumberToObject(o, "highest_52_week_price", x.hi52);
    cJSON_AddStringToObject(o, "highest_52_week_date", x.hi52_date);
    cJSON_AddNumberToObject(o, "lowest_52_week_price", x.lo52);
    cJSON_AddStringToObject(o, "lowest_52_week_date", x.lo52_date);
    cJSON_AddNumberToObject(o, "timestamp", (double)(now / ST_MSEC));
}

/* A /v1/orderbook row: the market's book now, in the units asked for (count=, 30 by default). */
static void up_book_row(cJSON *o, struct lws *wsi, const st_instrument_t *ins, st_time_t now)
{
    st_tick_t t;
    st_simmkt_advance(X.upmkt, ins->sym, now, NULL, NULL);
    st_simmkt_book(X.upmkt, ins->sym, now, &t);
    char cbuf[16];
    const char *cv = lws_get_urlarg_by_name(wsi, "count=", cbuf, sizeof(cbuf));
    double ap[UP_MAX_UNITS], bp[UP_MAX_UNITS], as[UP_MAX_UNITS], bs[UP_MAX_UNITS], ta = 0, tb = 0;
    int nu = ex_up_units(&t.u.book, cv ? atoi(cv) : 30, ap, bp, as, bs);
    for (int k = 0; k < nu; k++) ta += as[k], tb += bs[k];
    cJSON_AddNumberToObject(o, "timestamp", (double)(now / ST_MSEC));
    cJSON_AddNumberToObject(o, "total_ask_size", ta);
    cJSON_AddNumberToObject(o, "total_bid_size", tb);
    cJSON *units = cJSON_AddArrayToObject(o, "orderbook_units");
    for (int k = 0; k < nu; k++) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddNumberToObject(u, "ask_price", ap[k]);
        cJSON_AddNumberToObject(u, "bid_price", bp[k]);
        cJSON_AddNumberToObject(u, "ask_size", as[k]);
        cJSON_AddNumberToObject(u, "bid_size", bs[k]);
        cJSON_AddItemToArray(units, u);
    }
    cJSON_AddNumberToObject(o, "level", 0);
}

http_reply_t ex_up_rest(struct lws *wsi, const char *uri)
{
    http_reply_t r = {0};
    st_time_t now = st_clock_now(&X.clock);
    if (strcmp(uri, "/v1/market/all") == 0) return up_market_all();
    if (strcmp(uri, "/v1/trades/ticks") == 0) return up_trades_ticks(wsi, now);
    bool ticker = strcmp(uri, "/v1/ticker") == 0, book = strcmp(uri, "/v1/orderbook") == 0;
    if (!ticker && !book) return up_http_error(404, "404", "not found");
    if (!up_gate(ticker ? 1 : 2, ticker ? "ticker" : "orderbook", &r)) return r;
    char remaining[64];
    memcpy(remaining, r.remaining, sizeof(remaining));
    const st_instrument_t *ins[64];
    int n = up_markets(wsi, ins, 64, &r);
    if (n < 0) return r;
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "market", ins[i]->code);
        if (ticker) up_ticker_row(o, ins[i], now);
        else up_book_row(o, wsi, ins[i], now);
        cJSON_AddItemToArray(arr, o);
    }
    http_reply_t ok = ex_jreply(200, arr);
    memcpy(ok.remaining, remaining, sizeof(remaining));
    return ok;
}
