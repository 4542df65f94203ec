/* The Upbit WebSocket feed against strata-exsim on loopback, in-process: realtime trades and
 * orderbooks decoded field by field equal what the simulator meant to send (its --record
 * file), snapshots marked as replays; a dropped connection comes back with the whole set; PING
 * keeps a quiet connection past the venue's 120 s idle close; an error object is surfaced with
 * the venue's name and message and slows the limiter down. */
#include "feed_harness.h"
#include "../tls_cert.h"

#define UNIVERSE st_test_source_path("config/upbit_markets.csv")

static void add_upbit(h_t *h, const char *extra)
{
    add_feed(h, "upbit", "upbit", "/websocket/v1", extra);
}

static void format_tick(h_t *h, const st_tick_t *t, char *buf, size_t len)
{
    const char *code = st_symtab_code(&h->syms, t->sym);
    long long ms = (long long)(t->venue_time / ST_MSEC);
    if (t->kind == ST_TICK_ORDERBOOK) {
        const st_book_t *b = &t->u.book;
        snprintf(buf, len, "UB %s %lld %.0f %.0f %.4f %.4f %.4f %.4f", code, ms, b->ask[0], b->bid[0], b->ask_qty[0],
                 b->bid_qty[0], b->total_ask_qty, b->total_bid_qty);
    } else {
        const st_trade_t *q = &t->u.trade;
        snprintf(buf, len, "UT %s %lld %.0f %.8f %s %.0f %.0f", code, ms, q->price, q->volume,
                 q->side == ST_SIDE_SELL ? "ASK" : "BID", q->best_bid, q->best_ask);
    }
}

static void test_ticks_match_what_was_sent(void **state)
{
    char rec[96];
    snprintf(rec, sizeof(rec), "/tmp/strata-uprec-%d.txt", (int)getpid());
    h_t *h = h_open(UNIVERSE, "", "--record", rec);
    add_upbit(h, NULL);
    set_tier(h, 0, sym(h, "KRW-BTC"), ST_TIER_REALTIME); /* trade + orderbook */
    set_tier(h, 0, sym(h, "KRW-ETH"), ST_TIER_SEMI);     /* trade */
    run_until(h, ticks_300, "300 ticks");
    st_feed_stop(h->feed[0]);
    assert_int_equal(stats(h, 0).malformed, 0);
    assert_int_equal(exsim_reap(h->pid), 0); /* flushes the record */
    h->pid = 0;

    FILE *fp = fopen(rec, "r");
    assert_non_null(fp);
    char line[512], mine[512];
    size_t compared = 0, replays = 0, books = 0;
    for (size_t i = 0; i < h->nticks; i++) {
        const st_tick_t *t = &h->ticks[i];
        assert_int_equal(t->feed, 0);
        if (t->flags & ST_TICK_REPLAY) { /* the snapshot each new code starts with */
            replays++;
            continue;
        }
        assert_non_null(fgets(line, sizeof(line), fp)); /* nothing received that was not sent */
        line[strcspn(line, "@\n")] = '\0'; /* the send time is the benchmark's */
        if (line[0] && line[strlen(line) - 1] == ' ') line[strlen(line) - 1] = '\0';
        format_tick(h, t, mine, sizeof(mine));
        if (strcmp(line, mine) != 0) printf("# tick %zu: sent \"%s\", got \"%s\"\n", i, line, mine);
        assert_string_equal(line, mine);
        books += t->kind == ST_TICK_ORDERBOOK;
        compared++;
    }
    fclose(fp);
    unlink(rec);
    assert_true(compared >= 250 && books > 0);
    assert_int_equal(replays, 3); /* one snapshot per new key: BTC trade and orderbook, ETH trade */
    h_close(h);
}

static void test_drop_is_recovered_and_resubscribed(void **state)
{
    h_t *h = h_open(UNIVERSE, "", NULL, NULL);
    add_upbit(h, NULL);
    set_tier(h, 0, sym(h, "KRW-BTC"), ST_TIER_REALTIME);
    set_tier(h, 0, sym(h, "KRW-XRP"), ST_TIER_SEMI);
    run_until(h, settled, "3 keys streaming");
    cJSON_Delete(exsim_get(h, "/control/fault?drop=1"));
    run_until(h, reconnected, "the session back with its 3 keys");
    h->mark = h->nticks;
    run_until(h, more_ticks, "ticks after the reconnect");
    cJSON *j = exsim_get(h, "/control/stats");
    assert_int_equal(jnum(j, "upbit_violations"), 0);
    cJSON_Delete(j);
    h_close(h);
}

/* Issue 23.1: Upbit allows a handshake carrying Origin once per 10 s; strata sends none, so two
 * sessions connect at once and a reconnect is never refused for it (exsim enforces the rule). */
static bool two_open(h_t *h)
{
    return stats(h, 0).sessions_open == 2;
}

static void test_no_origin_header(void **state)
{
    h_t *h = h_open(UNIVERSE, "", NULL, NULL);
    add_upbit(h, "    connections: 2\n");
    set_tier(h, 0, sym(h, "KRW-BTC"), ST_TIER_REALTIME);
    run_until(h, two_open, "both sessions open");
    cJSON *j = exsim_get(h, "/control/stats");
    assert_int_equal(jnum(j, "upbit_origin_requests"), 0);
    assert_int_equal(jnum(j, "upbit_origin_refused"), 0);
    cJSON_Delete(j);
    h_close(h);

    /* a drop right after connecting: the reconnect is not refused either */
    h = h_open(UNIVERSE, "", NULL, NULL);
    add_upbit(h, NULL);
    set_tier(h, 0, sym(h, "KRW-BTC"), ST_TIER_REALTIME);
    run_until(h, settled, "the key streaming");
    cJSON_Delete(exsim_get(h, "/control/fault?drop=1"));
    run_until(h, reconnected, "the session back with its key");
    j = exsim_get(h, "/control/stats");
    assert_int_equal(jnum(j, "upbit_origin_requests"), 0);
    assert_int_equal(jnum(j, "upbit_origin_refused"), 0);
    cJSON_Delete(j);
    h_close(h);
}

/* Nothing to say for 150 simulated seconds: PING keeps the session open. */
static void test_keepalive_beats_the_idle_close(void **state)
{
    h_t *h = h_open(UNIVERSE, "", NULL, NULL);
    add_upbit(h, NULL);
    set_tier(h, 0, sym(h, "KRW-BTC"), ST_TIER_SEMI);
    run_until(h, settled, "1 key streaming");
    h->until = st_clock_now(&h->clock) + 150 * ST_SEC;
    run_until(h, h_clock_past, "150 s of simulated time");
    cJSON *j = exsim_get(h, "/control/stats");
    assert_int_equal(jnum(j, "upbit_closed"), 0);
    assert_int_equal(jnum(j, "sessions_total"), 1);
    cJSON_Delete(j);
    assert_int_equal(stats(h, 0).reconnects, 0);
    h_close(h);
}

/* A limiter set far above the venue's 5 requests per second: the venue's TOO_MANY_REQUEST
 * reaches the log by name and message, and strata slows down. */
static bool error_seen(h_t *h)
{
    return stats(h, 0).venue_errors >= 1;
}

static size_t want_messages;
static bool sent_enough(h_t *h)
{
    return stats(h, 0).subs_messages >= want_messages || stats(h, 0).venue_errors >= 1;
}

/* A limiter set far above the venue's 5 requests per second, one key streaming, then a second
 * key flipped in and out, one request at a time, until done(h) or `flips` requests. */
static void over_the_limit(h_t *h, int flips, pred_t done)
{
    add_upbit(h, "    ws_rate: 1000\n    ws_rate_minute: 100000\n    debounce: 0s\n    limiter: aggressive\n");
    set_tier(h, 0, sym(h, "KRW-BTC"), ST_TIER_SEMI);
    run_until(h, settled, "1 key streaming");
    st_sym_t flip = sym(h, "KRW-ETH");
    for (int i = 0; i < flips && !done(h); i++) {
        want_messages = stats(h, 0).subs_messages + 1;
        set_tier(h, 0, flip, h->tier[flip] == ST_TIER_NONE ? ST_TIER_SEMI : ST_TIER_NONE);
        run_until(h, sent_enough, "the next request sent");
    }
}

/* The limiter answered a rate error: a wider timing margin first, a lower rate once it persists
 * (over_the_limit runs the aggressive mode). */
static bool slowed(const st_feed_stats_t *fs)
{
    st_limiter_tuning_t t;
    st_limiter_mode_tuning(ST_LIMITER_AGGRESSIVE, &t);
    return fs->penalty < 1.0 || fs->margin > t.margin;
}

static void test_venue_error_is_surfaced(void **state)
{
    h_t *h = h_open(UNIVERSE, "", NULL, NULL);
    char log[128];
    snprintf(log, sizeof(log), "%s/strata.log", h->dir);
    assert_int_equal(st_log_open(ST_LL_INFO, ST_LOG_TEXT, log), 0);
    over_the_limit(h, 40, error_seen);
    run_until(h, error_seen, "an error object from the venue");
    st_feed_stats_t fs = stats(h, 0);
    assert_true(slowed(&fs));
    st_log_close();
    st_log_open(ST_LL_WARN, ST_LOG_TEXT, NULL);
    char *text;
    size_t len;
    assert_int_equal(st_file_read(log, &text, &len), 0);
    assert_non_null(strstr(text, "upbit: session 0: the venue answered TOO_MANY_REQUEST: request limit exceeded"));
    free(text);
    h_close(h);
}

/* Issue 23.2: a rate error under another name (the simulator calls it REQUEST_LIMIT_EXCEEDED)
 * slows strata down all the same, each is counted as a violation, and the venue's 1008 close
 * after repeated ones is a rate signal too. */
static bool closed_for_policy(h_t *h)
{
    return exsim_stat(h, "upbit_closed") >= 1 && stats(h, 0).reconnects >= 1;
}

static void test_rate_error_by_meaning(void **state)
{
    h_opt2 = "--upbit-close-after", h_val2 = "1"; /* the first violation closes: no race with the limiter */
    h_t *h = h_open(UNIVERSE, "", "--upbit-rate-error", "REQUEST_LIMIT_EXCEEDED");
    h_opt2 = h_val2 = NULL;
    over_the_limit(h, 200, closed_for_policy);
    run_until(h, closed_for_policy, "the venue closing the session (1008)");
    st_feed_stats_t fs = stats(h, 0);
    cJSON *j = exsim_get(h, "/control/stats");
    printf("# venue: %.0f violations, %.0f closes; strata: %llu violations, penalty %.2f, margin %.0f ms\n",
           jnum(j, "upbit_violations"), jnum(j, "upbit_closed"), (unsigned long long)fs.violations, fs.penalty,
           (double)fs.margin / ST_MSEC);
    assert_true(slowed(&fs));
    /* each error object, plus the 1008 close */
    assert_int_equal(fs.violations, (uint64_t)jnum(j, "upbit_violations") + (uint64_t)jnum(j, "upbit_closed"));
    cJSON_Delete(j);
    h_close(h);
}

/* Tier 3 by REST: all twenty markets every 10 s, one /v1/ticker call for all of them, never
 * refused by the venue's 10 calls a second. */
static void test_tier3_by_rest_batched(void **state)
{
    h_t *h = h_open(UNIVERSE, "", NULL, NULL);
    add_upbit(h, "tiers: {polling: {medium: 10s}}\n");
    for (size_t i = 0; i < h->uni.n; i++) set_tier(h, 0, h->uni.items[i].sym, ST_TIER_POLL);
    h->until = st_clock_now(&h->clock) + 60 * ST_SEC;
    run_until(h, h_clock_past, "60 s of polling");
    uint32_t snaps[4096] = {0};
    for (size_t i = 0; i < h->nticks; i++)
        if (h->ticks[i].kind == ST_TICK_SNAPSHOT && h->ticks[i].sym < 4096) snaps[h->ticks[i].sym]++;
    for (size_t i = 0; i < h->uni.n; i++) assert_true(snaps[h->uni.items[i].sym] >= 5);
    st_feed_stats_t fs = stats(h, 0);
    cJSON *j = exsim_get(h, "/control/stats"), *ur = cJSON_GetObjectItem(j, "upbit_rest");
    printf("# %llu calls for %zu markets every 10 s over 60 s\n", (unsigned long long)fs.rest_calls, h->uni.n);
    assert_true(fs.rest_calls <= 8); /* twenty markets to a call */
    assert_int_equal(jnum(ur, "refused_429"), 0);
    assert_int_equal(jnum(ur, "refused_418"), 0);
    assert_true(jnum(ur, "ok") >= 6);
    cJSON_Delete(j);
    h_close(h);
}

/* The session drops and stays down for a while: its markets are polled by REST meanwhile and
 * handed back to the stream when it returns. */
static void test_outage_moves_markets_to_rest_and_back(void **state)
{
    h_t *h = h_open(UNIVERSE, "", NULL, NULL);
    add_upbit(h, "    reconnect_min: 20s\n    reconnect_max: 20s\ntiers: {polling: {min_interval: 1s}}\n");
    h->watched = sym(h, "KRW-BTC");
    check_outage_fallback(h);
    h_close(h);
}

/* wss:// with certificate verification: a server whose certificate the system CA store does
 * not vouch for is refused (and said so); trusting its certificate with tls_ca_file, the
 * session opens and streams, and REST polls over https://. The certificate is a throwaway
 * self-signed one for 127.0.0.1. */
static char tls_dir[64];

static bool connect_failed(h_t *h)
{
    return stats(h, h->nfeeds - 1).connect_failures >= 1;
}

static bool polled_over_https(h_t *h)
{
    for (size_t i = h->mark; i < h->nticks; i++)
        if (h->ticks[i].kind == ST_TICK_SNAPSHOT && !(h->ticks[i].flags & ST_TICK_REPLAY)) return true;
    return false;
}

static void test_wss_verifies_the_server(void **state)
{
    snprintf(tls_dir, sizeof(tls_dir), "/tmp/strata-tls-%d", (int)getpid());
    char cmd[512];
    assert_int_equal(st_test_make_cert(tls_dir), 0);
    h_t *h = h_open(UNIVERSE, "", "--tls", tls_dir);
    h->tls = true;
    char log[128];
    snprintf(log, sizeof(log), "%s/strata.log", h->dir);
    assert_int_equal(st_log_open(ST_LL_INFO, ST_LOG_TEXT, log), 0);
    add_upbit(h, NULL); /* the system CA store: refused */
    set_tier(h, 0, sym(h, "KRW-BTC"), ST_TIER_SEMI);
    run_until(h, connect_failed, "the untrusted server refused");
    assert_int_equal(stats(h, 0).sessions_open, 0);
    st_feed_stop(h->feed[0]);

    char extra[128];
    snprintf(extra, sizeof(extra), "    tls_ca_file: %s/cert.pem\n", tls_dir);
    memset(h->tier, 0, sizeof(h->tier));
    add_upbit(h, extra); /* trusting it */
    set_tier(h, 1, sym(h, "KRW-BTC"), ST_TIER_SEMI);
    set_tier(h, 1, sym(h, "KRW-ETH"), ST_TIER_POLL);
    h->mark = h->nticks;
    run_until(h, more_ticks, "ticks over wss://");
    run_until(h, polled_over_https, "a snapshot over https://");
    assert_int_equal(stats(h, 1).sessions_open, 1);
    assert_int_equal(stats(h, 1).connect_failures, 0);
    st_log_close();
    st_log_open(ST_LL_WARN, ST_LOG_TEXT, NULL);
    char *text;
    size_t len;
    assert_int_equal(st_file_read(log, &text, &len), 0);
    assert_non_null(strstr(text, "upbit: session 0: cannot connect to 127.0.0.1"));
    assert_non_null(strstr(text, "is the server's certificate trusted?"));
    free(text);
    h_close(h);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tls_dir);
    assert_int_equal(system(cmd), 0);
}

static void test_orderbook_on_demand_cached(void **state)
{
    h_t *h = h_open(UNIVERSE, "", NULL, NULL);
    add_upbit(h, NULL);
    check_orderbook_on_demand(h, sym(h, "KRW-ETH"), true);
    h_close(h);
}

int main(void)
{
    h_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticks_match_what_was_sent),
        cmocka_unit_test(test_drop_is_recovered_and_resubscribed),
        cmocka_unit_test(test_no_origin_header),
        cmocka_unit_test(test_rate_error_by_meaning),
        cmocka_unit_test(test_keepalive_beats_the_idle_close),
        cmocka_unit_test(test_venue_error_is_surfaced),
        cmocka_unit_test(test_tier3_by_rest_batched),
        cmocka_unit_test(test_outage_moves_markets_to_rest_and_back),
        cmocka_unit_test(test_wss_verifies_the_server),
        cmocka_unit_test(test_orderbook_on_demand_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
