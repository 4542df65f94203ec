/* The KIS WebSocket feed against strata-exsim on loopback, in-process: ticks decoded field by
 * field equal what the simulator meant to send (its --record file); the registration cap holds
 * as the venue counts it; a dropped connection comes back fully resubscribed; a stalled stream
 * is detected and recovered; malformed and encrypted frames are counted and survived; a second
 * session on one app key is refused by the venue and reported by name. */
#include "feed_harness.h"

#define UNIVERSE st_test_source_path("config/universe.csv")
#define INDICES st_test_source_path("config/indices.csv")

/* The access token is cached in the test's own directory: in the user's cache, a token another
 * test left for the same key and (reused) port was taken instead of a new one, and the test
 * waiting for the venue to issue one waited in vain (CI, under load). */
static void add_kis(h_t *h, const char *name, const char *key_env, const char *extra)
{
    char more[768];
    snprintf(more, sizeof(more), "    keys: [{app_key_env: %s, app_secret_env: KIS_TEST_SECRET}]\n"
             "    token_dir: %s/tokens\n%s", key_env, h->dir, extra ? extra : "");
    add_feed(h, name, "kis", "/", more);
}

/* --- tests ----------------------------------------------------------------------------------- */

static void format_tick(h_t *h, const st_tick_t *t, char *buf, size_t len)
{
    const char *code = st_symtab_code(&h->syms, t->sym);
    long long secs = (long long)(t->venue_time / ST_SEC);
    if (t->kind == ST_TICK_ORDERBOOK) {
        const st_book_t *b = &t->u.book;
        snprintf(buf, len, "B %s %lld %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f", code, secs, b->ask[0], b->bid[0],
                 b->ask_qty[0], b->bid_qty[0], b->ask[9], b->bid[9], b->total_ask_qty, b->total_bid_qty);
    } else {
        const st_trade_t *q = &t->u.trade;
        snprintf(buf, len, "T %s %lld %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %d", code, secs, q->price, q->volume,
                 q->cum_volume, q->open, q->high, q->low, q->best_bid, q->best_ask, (t->flags & ST_TICK_HALTED) != 0);
    }
}

/* What arrives is what was sent: every tick, in order, field by field against the simulator's
 * own record of the ticks it encoded; each tick carries the feed's index and strata's receive
 * time, and nothing is lost (the received ticks are a prefix of the record). */
static bool key_and_token_counted(h_t *h)
{
    return exsim_stat(h, "rest.tokens_issued") == 1 && stats(h, 0).rest_ok == 2;
}

static void test_ticks_match_what_was_sent(void **state)
{
    char rec[96];
    snprintf(rec, sizeof(rec), "/tmp/strata-kisrec-%d.txt", (int)getpid());
    h_t *h = h_open(UNIVERSE, INDICES, "--record", rec);
    add_kis(h, "kis", "KIS_TEST_KEY", NULL);
    set_tier(h, 0, sym(h, "005930"), ST_TIER_REALTIME); /* trades + orderbook */
    set_tier(h, 0, sym(h, "000660"), ST_TIER_SEMI);     /* trades */
    set_tier(h, 0, sym(h, "0001"), ST_TIER_SEMI);       /* the KOSPI index stream */
    run_until(h, ticks_300, "300 ticks");
    st_feed_stop(h->feed[0]);
    st_feed_stats_t s = stats(h, 0);
    assert_int_equal(s.ticks_delivered, h->nticks);
    assert_int_equal(s.malformed, 0);
    size_t received_trades = 0;
    for (size_t k = 0; k < h->nticks; k++) received_trades += h->ticks[k].kind == ST_TICK_TRADE;
    assert_int_equal(s.market_trades, received_trades); /* issue 23.10: not "market 0 trades" */
    /* every REST call counts: here the approval key and the access token (no quotation asked) */
    run_until(h, key_and_token_counted, "the approval key and the access token counted");
    assert_int_equal(stats(h, 0).rest_calls, 2);
    assert_int_equal(exsim_reap(h->pid), 0); /* flushes the record */
    h->pid = 0;

    FILE *fp = fopen(rec, "r");
    assert_non_null(fp);
    char line[512], mine[512];
    size_t i = 0, trades = 0, books = 0, index = 0;
    while (i < h->nticks && fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "@\n")] = '\0'; /* the send time is the benchmark's */
        if (line[0] && line[strlen(line) - 1] == ' ') line[strlen(line) - 1] = '\0';
        const st_tick_t *t = &h->ticks[i];
        format_tick(h, t, mine, sizeof(mine));
        if (strcmp(line, mine) != 0) printf("# tick %zu: sent \"%s\", got \"%s\"\n", i, line, mine);
        assert_string_equal(line, mine);
        assert_int_equal(t->feed, 0);
        assert_true(t->recv_time >= t->venue_time - ST_SEC); /* venue times are whole seconds */
        trades += t->kind == ST_TICK_TRADE;
        books += t->kind == ST_TICK_ORDERBOOK;
        index += t->sym == sym(h, "0001");
        i++;
    }
    fclose(fp);
    unlink(rec);
    assert_int_equal(i, h->nticks); /* the record holds at least everything received */
    assert_true(trades > 0 && books > 0 && index > 0);
    h_close(h);
}

/* 30 symbols in tier 1 want 60 registrations on a 41-registration session: the venue holds
 * exactly 41, never more, and refuses nothing; when demand drops to 40 it holds those 40. */
static bool venue_at_41(h_t *h)
{
    st_feed_stats_t s = stats(h, 0);
    return s.ws_used == 41 && venue_held(h, NULL) == 41;
}

static bool venue_at_40(h_t *h)
{
    st_feed_stats_t s = stats(h, 0);
    return s.ws_used == 40 && s.ws_desired == 40 && venue_held(h, NULL) == 40;
}

static void test_cap_holds_at_the_venue(void **state)
{
    h_t *h = h_open(UNIVERSE, INDICES, NULL, NULL);
    add_kis(h, "kis", "KIS_TEST_KEY", "    ws_rate: 20\n    debounce: 10ms\n");
    for (size_t i = 0; i < 30; i++) set_tier(h, 0, h->uni.items[i].sym, ST_TIER_REALTIME);
    assert_int_equal(stats(h, 0).ws_desired, 60);
    run_until(h, venue_at_41, "41 registrations held");
    for (size_t i = 0; i < 10; i++) set_tier(h, 0, h->uni.items[i].sym, ST_TIER_NONE);
    run_until(h, venue_at_40, "40 registrations held");
    cJSON *j = exsim_get(h, "/control/stats");
    assert_true(jnum(j, "max_registrations_ever") <= 41);
    assert_int_equal(jnum(j, "refused_over_cap"), 0);
    assert_int_equal(jnum(j, "sessions_total"), 1);
    cJSON_Delete(j);
    assert_int_equal(stats(h, 0).violations, 0);
    h_close(h);
}

/* The venue drops the session: strata reconnects and the venue holds the whole desired set
 * again, with data flowing. */
static void test_drop_is_recovered_and_resubscribed(void **state)
{
    h_t *h = h_open(UNIVERSE, INDICES, NULL, NULL);
    add_kis(h, "kis", "KIS_TEST_KEY", NULL);
    set_tier(h, 0, sym(h, "005930"), ST_TIER_REALTIME);
    set_tier(h, 0, sym(h, "000660"), ST_TIER_SEMI);
    set_tier(h, 0, sym(h, "035420"), ST_TIER_SEMI);
    run_until(h, settled, "4 registrations confirmed");
    assert_int_equal(stats(h, 0).ws_used, 4);
    cJSON_Delete(exsim_get(h, "/control/fault?drop=1"));
    run_until(h, reconnected, "the session back with 4 registrations");
    h->mark = h->nticks;
    run_until(h, more_ticks, "ticks after the reconnect");
    cJSON *j = exsim_get(h, "/control/stats");
    assert_int_equal(jnum(j, "sessions_total"), 2);
    assert_int_equal(jnum(j, "refused_over_cap"), 0);
    cJSON_Delete(j);
    h_close(h);
}

/* A run that outlives its approval key (issue 21.2): the venue forgets the key after a while
 * (here --approval-ttl 60s, KIS: about a day); a session that reconnects with it is answered
 * OPSP0011, and strata asks for a new key and reconnects instead of retrying the dead one (its
 * symbols are not blamed). */
static st_time_t past_ttl;
static bool key_expired(h_t *h)
{
    return st_clock_now(&h->clock) >= past_ttl;
}

static void test_expired_approval_key_is_renewed(void **state)
{
    h_t *h = h_open(UNIVERSE, INDICES, "--approval-ttl", "60s");
    add_kis(h, "kis", "KIS_TEST_KEY", NULL);
    set_tier(h, 0, sym(h, "005930"), ST_TIER_REALTIME);
    run_until(h, settled, "2 registrations confirmed");
    past_ttl = st_clock_now(&h->clock) + 61 * ST_SEC;
    run_until(h, key_expired, "the approval key's 60 s past");
    cJSON_Delete(exsim_get(h, "/control/fault?drop=1"));
    run_until(h, reconnected, "the session back with a new key");
    assert_true(exsim_stat(h, "rest.approval_expired") >= 1); /* each message of that session answered so */
    assert_int_equal(exsim_stat(h, "sessions_total"), 3); /* the first, the refused one, the one with the new key */
    assert_int_equal(stats(h, 0).ws_used, 2);
    h_close(h);
}

/* The stream goes silent (no data, no PINGPONG) without closing: after stall_timeout strata
 * calls it stalled, reconnects, and data flows again once the venue speaks. */
static bool stalled(h_t *h)
{
    return stats(h, 0).stalls >= 1;
}

static void test_stall_is_detected(void **state)
{
    h_t *h = h_open(UNIVERSE, INDICES, NULL, NULL);
    add_kis(h, "kis", "KIS_TEST_KEY", "    stall_timeout: 5s\n");
    set_tier(h, 0, sym(h, "005930"), ST_TIER_REALTIME);
    run_until(h, settled, "2 registrations confirmed");
    cJSON_Delete(exsim_get(h, "/control/fault?stall=40s"));
    run_until(h, stalled, "a stall detected");
    run_until(h, reconnected, "resubscribed after the stall");
    h->mark = h->nticks;
    run_until(h, more_ticks, "ticks after the stall");
    /* issue 23.8: the stalled session was closed politely, with strata's own code */
    cJSON *j = exsim_get(h, "/control/stats");
    assert_true(jnum(cJSON_GetObjectItem(j, "close_frames"), "private_4000") >= 1);
    cJSON_Delete(j);
    h_close(h);
}

/* Issue 23.5: a session that is quiet (no data, no PINGPONG: after hours, illiquid symbols) but
 * alive answers a WebSocket ping and is kept; it is not torn down and re-registered every
 * stall_timeout. (A dead one, as in test_stall_is_detected, does not answer and is replaced.) */
static void test_quiet_session_is_kept(void **state)
{
    h_t *h = h_open(UNIVERSE, INDICES, "--ping-idle", "1h"); /* the venue sends no PINGPONG */
    add_kis(h, "kis", "KIS_TEST_KEY", "    stall_timeout: 5s\n");
    set_tier(h, 0, sym(h, "005930"), ST_TIER_REALTIME);
    run_until(h, settled, "2 registrations confirmed");
    cJSON_Delete(exsim_get(h, "/control/fault?quiet=40s"));
    h->until = st_clock_now(&h->clock) + 39 * ST_SEC;
    run_until(h, h_clock_past, "39 s of a quiet venue");
    st_feed_stats_t fs = stats(h, 0);
    printf("# 40 s quiet, stall_timeout 5 s: %llu pings, %llu pongs, %llu stalls, %llu reconnects\n",
           (unsigned long long)fs.quiet_pings, (unsigned long long)fs.pongs, (unsigned long long)fs.stalls,
           (unsigned long long)fs.reconnects);
    assert_int_equal(fs.stalls, 0);
    assert_int_equal(fs.reconnects, 0);
    assert_true(fs.quiet_pings >= 5 && fs.pongs >= 5); /* asked every 5 s, answered every time */
    assert_int_equal(exsim_stat(h, "sessions_total"), 1);
    h->mark = h->nticks;
    run_until(h, more_ticks, "ticks once the market speaks again");
    h_close(h);
}

/* Issue 23.8: stopping says goodbye with a close frame (1000), so the venue frees the app key's
 * one session at once instead of waiting for the connection to time out. */
static bool venue_saw_goodbye(h_t *h)
{
    return exsim_stat(h, "close_frames.normal") >= 1;
}

static void test_stop_closes_politely(void **state)
{
    h_t *h = h_open(UNIVERSE, INDICES, NULL, NULL);
    add_kis(h, "kis", "KIS_TEST_KEY", NULL);
    set_tier(h, 0, sym(h, "005930"), ST_TIER_REALTIME);
    run_until(h, settled, "2 registrations confirmed");
    st_feed_stop(h->feed[0]);
    run_until(h, venue_saw_goodbye, "a close frame at the venue");
    h_close(h);
}

/* Corrupted and encrypted frames are counted and dropped; the stream goes on. */
static bool faults_seen(h_t *h)
{
    st_feed_stats_t s = stats(h, 0);
    return s.malformed >= 3 && s.encrypted >= 2;
}

static void test_bad_frames_are_survived(void **state)
{
    h_t *h = h_open(UNIVERSE, INDICES, NULL, NULL);
    add_kis(h, "kis", "KIS_TEST_KEY", NULL);
    set_tier(h, 0, sym(h, "005930"), ST_TIER_REALTIME);
    set_tier(h, 0, sym(h, "000660"), ST_TIER_SEMI);
    run_until(h, settled, "3 registrations confirmed");
    cJSON_Delete(exsim_get(h, "/control/fault?malformed=3&encrypted=2"));
    run_until(h, faults_seen, "3 malformed and 2 encrypted frames");
    st_feed_stats_t s = stats(h, 0);
    assert_int_equal(s.malformed, 3);
    assert_int_equal(s.encrypted, 2);
    assert_int_equal(s.reconnects, 0);
    h->mark = h->nticks;
    run_until(h, more_ticks, "ticks after the bad frames");
    h_close(h);
}

/* Two sessions on one app key (two strata processes sharing a key, here two feeds): the venue
 * refuses the second with ALREADY IN USE appkey, the log says so by name, and the first keeps
 * its registrations. */
static bool one_refused(h_t *h)
{
    st_feed_stats_t a = stats(h, 0), b = stats(h, 1);
    st_feed_stats_t *win = a.ws_used > 0 ? &a : &b;
    return (a.reconnects >= 1 || b.reconnects >= 1) && win->ws_used == win->ws_desired && win->ws_desired == 2;
}

/* Issue 23.7: a wrong app key or secret is an alert with the venue's words, retried with the
 * long backoff (not every second), and counted for /status and /metrics. */
static bool auth_refused(h_t *h)
{
    return stats(h, 0).auth_failures >= 1;
}

static bool counts_agree(h_t *h)
{
    return (uint64_t)exsim_stat(h, "rest.auth_refused") == stats(h, 0).auth_failures;
}

static void test_wrong_credentials_alert(void **state)
{
    h_t *h = h_open(UNIVERSE, INDICES, "--reject-key", "test-app-key-1");
    char log[128];
    snprintf(log, sizeof(log), "%s/strata.log", h->dir);
    assert_int_equal(st_log_open(ST_LL_INFO, ST_LOG_TEXT, log), 0);
    add_kis(h, "kis", "KIS_TEST_KEY", "    reconnect_min: 1s\n    reconnect_max: 5m\n");
    set_tier(h, 0, sym(h, "005930"), ST_TIER_REALTIME);
    run_until(h, auth_refused, "the credentials refused");
    h->until = st_clock_now(&h->clock) + 60 * ST_SEC;
    run_until(h, h_clock_past, "a minute later");
    run_until(h, counts_agree, "strata's count equal to the venue's (an answer may be on its way)");
    st_log_close();
    st_log_open(ST_LL_WARN, ST_LOG_TEXT, NULL);
    st_feed_stats_t fs = stats(h, 0);
    cJSON *j = exsim_get(h, "/control/stats");
    printf("# refused %.0f times in a minute; strata counted %llu\n", jnum(cJSON_GetObjectItem(j, "rest"), "auth_refused"),
           (unsigned long long)fs.auth_failures);
    /* the session's approval key once (then 5 minutes of backoff), the REST token once a minute at most */
    assert_true(fs.auth_failures >= 1 && fs.auth_failures <= 3);
    assert_int_equal(fs.auth_failures, (uint64_t)jnum(cJSON_GetObjectItem(j, "rest"), "auth_refused"));
    cJSON_Delete(j);
    char *text;
    assert_int_equal(st_file_read(log, &text, NULL), 0);
    assert_non_null(strstr(text, "[alert] feed: kis: session 0: the venue refuses the credentials of keys[0]"));
    assert_non_null(strstr(text, "EGW00103"));
    assert_null(strstr(text, "test-app-key-1")); /* the key itself never reaches the log */
    free(text);
    h_close(h);
}

static void test_second_session_on_a_key_is_reported(void **state)
{
    h_t *h = h_open(UNIVERSE, INDICES, NULL, NULL);
    char log[128];
    snprintf(log, sizeof(log), "%s/strata.log", h->dir);
    assert_int_equal(st_log_open(ST_LL_INFO, ST_LOG_TEXT, log), 0);
    add_kis(h, "first", "KIS_TEST_KEY", NULL);
    add_kis(h, "second", "KIS_TEST_KEY", NULL);
    set_tier(h, 0, sym(h, "005930"), ST_TIER_REALTIME);
    h->tier[sym(h, "005930")] = ST_TIER_NONE;
    set_tier(h, 1, sym(h, "005930"), ST_TIER_REALTIME);
    run_until(h, one_refused, "one session refused, the other holding 2");
    st_log_close();
    cJSON *j = exsim_get(h, "/control/stats");
    assert_true(jnum(j, "refused_in_use") >= 1);
    cJSON_Delete(j);
    char *text;
    size_t len;
    assert_int_equal(st_file_read(log, &text, &len), 0);
    assert_non_null(strstr(text, "refused by the venue: ALREADY IN USE appkey (OPSP8996): another program holds a "
                                 "session on this app key"));
    assert_null(strstr(text, "test-app-key-1")); /* the key itself never reaches the log */
    assert_null(strstr(text, "test-app-secret"));
    free(text);
    h_close(h);
}

static void test_backoff_doubles_within_bounds(void **state)
{
    assert_int_equal(st_wsconn_backoff(ST_SEC, 60 * ST_SEC, 0, 0.0), ST_SEC / 2);
    assert_int_equal(st_wsconn_backoff(ST_SEC, 60 * ST_SEC, 0, 0.5), 3 * ST_SEC / 4);
    assert_int_equal(st_wsconn_backoff(ST_SEC, 60 * ST_SEC, 3, 0.0), 4 * ST_SEC);
    assert_int_equal(st_wsconn_backoff(ST_SEC, 60 * ST_SEC, 5, 0.0), 16 * ST_SEC);
    assert_int_equal(st_wsconn_backoff(ST_SEC, 60 * ST_SEC, 6, 0.0), 30 * ST_SEC); /* 64 s bounded to 60 */
    assert_int_equal(st_wsconn_backoff(ST_SEC, 60 * ST_SEC, 1000, 0.0), 30 * ST_SEC); /* no overflow */
    for (int a = 0; a < 40; a++)
        for (double r = 0; r < 1; r += 0.125) {
            st_dur_t d = st_wsconn_backoff(200 * ST_MSEC, 2 * ST_SEC, a, r);
            assert_true(d >= 100 * ST_MSEC && d <= 2 * ST_SEC);
        }
}

int main(void)
{
    h_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_within_bounds),
        cmocka_unit_test(test_ticks_match_what_was_sent),
        cmocka_unit_test(test_cap_holds_at_the_venue),
        cmocka_unit_test(test_drop_is_recovered_and_resubscribed),
        cmocka_unit_test(test_expired_approval_key_is_renewed),
        cmocka_unit_test(test_stall_is_detected),
        cmocka_unit_test(test_quiet_session_is_kept),
        cmocka_unit_test(test_stop_closes_politely),
        cmocka_unit_test(test_bad_frames_are_survived),
        cmocka_unit_test(test_second_session_on_a_key_is_reported),
        cmocka_unit_test(test_wrong_credentials_alert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
