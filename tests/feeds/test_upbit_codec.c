#include "../test.h"

#include "feeds/upbit_codec.h"
#include "upbit_decode_cjson.h"
#include "upbit_samples.h"

#include <errno.h>

static st_upbit_msg_t dec(const char *s, int want_rc)
{
    st_upbit_msg_t m;
    assert_int_equal(st_upbit_decode(s, strlen(s), &m), want_rc);
    return m;
}

/* Every field of a decoded trade or ticker against what the sample says (issue 23.16: a field
 * read from the wrong member, such as cum_value from acc_trade_price_24h, fails here). */
static void expect_trade(const st_upbit_msg_t *m, int kind, st_time_t venue_ms, uint32_t flags, const st_trade_t *w)
{
    assert_int_equal(m->tick.kind, kind);
    assert_int_equal(m->tick.venue_time, venue_ms * ST_MSEC);
    assert_int_equal(m->tick.flags, flags);
    const st_trade_t *q = &m->tick.u.trade;
    assert_true(q->price == w->price);
    assert_true(q->volume == w->volume);
    assert_true(q->open == w->open);
    assert_true(q->high == w->high);
    assert_true(q->low == w->low);
    assert_true(q->prev_close == w->prev_close);
    assert_true(q->cum_volume == w->cum_volume);
    assert_true(q->cum_value == w->cum_value);
    assert_true(q->best_bid == w->best_bid);
    assert_true(q->best_ask == w->best_ask);
    assert_int_equal(q->side, w->side);
}

/* The DEFAULT ticker example of Upbit's documentation, and the same in SIMPLE naming. */
static void test_ticker_default(void **state)
{
    const st_trade_t want = {.price = 32287000, .volume = 0.03103806, .open = 31883000, .high = 32310000,
                             .low = 31855000, .prev_close = 31883000, .cum_volume = 2429.58834336,
                             .cum_value = 78039261076.51241, .side = ST_SIDE_SELL};
    const char *samples[] = {UPBIT_TICKER_DEFAULT, UPBIT_TICKER_SIMPLE};
    for (int i = 0; i < 2; i++) {
        st_upbit_msg_t m = dec(samples[i], 0);
        assert_int_equal(m.kind, ST_UPBIT_TICKER);
        assert_string_equal(m.code, "KRW-BTC");
        assert_false(m.snapshot);
        expect_trade(&m, ST_TICK_SNAPSHOT, 1676965262139, 0, &want); /* trade_timestamp, not timestamp */
    }
}

/* The trade example, in DEFAULT and in SIMPLE naming: the same tick. */
static void test_trade_both_namings(void **state)
{
    st_upbit_msg_t a = dec("{\"type\":\"trade\",\"code\":\"KRW-BTC\",\"timestamp\":1730336862082,\"trade_date\":\"2024-10-31\","
                        "\"trade_time\":\"01:07:42\",\"trade_timestamp\":1730336862047,\"trade_price\":100473000.0,"
                        "\"trade_volume\":0.00014208,\"ask_bid\":\"BID\",\"prev_closing_price\":100571000.0,\"change\":\"FALL\","
                        "\"change_price\":98000.0,\"sequential_id\":17303368620470000,\"best_ask_price\":100473000,"
                        "\"best_ask_size\":0.43139478,\"best_bid_price\":100465000,\"best_bid_size\":0.01990656,"
                        "\"stream_type\":\"SNAPSHOT\"}",
                        0);
    st_upbit_msg_t b = dec(UPBIT_TRADE_SIMPLE, 0);
    assert_int_equal(a.kind, ST_UPBIT_TRADE);
    assert_true(a.snapshot);
    const st_trade_t want = {.price = 100473000.0, .volume = 0.00014208, .prev_close = 100571000.0,
                             .best_ask = 100473000, .best_bid = 100465000, .side = ST_SIDE_BUY};
    expect_trade(&a, ST_TICK_TRADE, 1730336862047, ST_TICK_REPLAY, &want);
    expect_trade(&b, ST_TICK_TRADE, 1730336862047, ST_TICK_REPLAY, &want);
    assert_memory_equal(&a.tick, &b.tick, sizeof(a.tick));
    assert_string_equal(a.code, b.code);
}

static void test_orderbook(void **state)
{
    st_upbit_msg_t m = dec("{\"type\":\"orderbook\",\"code\":\"KRW-ETH\",\"total_ask_size\":8.1,\"total_bid_size\":4.2,"
                        "\"orderbook_units\":[{\"ask_price\":3000000,\"bid_price\":2999000,\"ask_size\":0.5,\"bid_size\":1.5},"
                        "{\"ask_price\":3001000,\"bid_price\":2998000,\"ask_size\":0.6,\"bid_size\":1.6}],"
                        "\"timestamp\":1730336862082,\"level\":0,\"stream_type\":\"REALTIME\"}",
                        0);
    assert_int_equal(m.kind, ST_UPBIT_ORDERBOOK);
    const st_book_t *b = &m.tick.u.book;
    assert_int_equal(m.tick.kind, ST_TICK_ORDERBOOK);
    assert_int_equal(m.tick.venue_time, (st_time_t)1730336862082 * ST_MSEC);
    assert_int_equal(m.tick.flags, 0); /* REALTIME */
    assert_true(b->ask[0] == 3000000 && b->bid[0] == 2999000 && b->ask_qty[0] == 0.5 && b->bid_qty[0] == 1.5);
    assert_true(b->ask[1] == 3001000 && b->bid[1] == 2998000 && b->ask_qty[1] == 0.6 && b->bid_qty[1] == 1.6);
    assert_true(b->total_ask_qty == 8.1 && b->total_bid_qty == 4.2);
    for (int i = 2; i < ST_BOOK_DEPTH; i++) /* two units only */
        assert_true(b->ask[i] == 0 && b->bid[i] == 0 && b->ask_qty[i] == 0 && b->bid_qty[i] == 0);
    st_upbit_msg_t s = dec("{\"ty\":\"orderbook\",\"cd\":\"KRW-ETH\",\"tas\":8.1,\"tbs\":4.2,\"obu\":[{\"ap\":3000000,\"bp\":2999000,"
                        "\"as\":0.5,\"bs\":1.5},{\"ap\":3001000,\"bp\":2998000,\"as\":0.6,\"bs\":1.6}],\"tms\":1730336862082,"
                        "\"lv\":0,\"st\":\"REALTIME\"}",
                        0);
    assert_memory_equal(&m.tick, &s.tick, sizeof(m.tick));
}

static void test_status_errors_and_malformed(void **state)
{
    assert_int_equal(dec("{\"status\":\"UP\"}", 0).kind, ST_UPBIT_STATUS);
    st_upbit_msg_t e = dec("{\"error\":{\"name\":\"NO_TICKET\",\"message\":\"ticket is required\"}}", 0);
    assert_int_equal(e.kind, ST_UPBIT_ERROR);
    assert_string_equal(e.error_name, "NO_TICKET");
    assert_string_equal(e.error_message, "ticket is required");
    assert_int_equal(dec("{\"method\":\"LIST_SUBSCRIPTIONS\",\"result\":[],\"ticket\":\"t\"}", 0).kind, ST_UPBIT_LIST);
    assert_int_equal(dec("{\"mthd\":\"LIST_SUBSCRIPTIONS\",\"rslt\":[],\"tckt\":\"t\"}", 0).kind, ST_UPBIT_LIST);
    assert_int_equal(dec("{\"type\":\"candle.1s\",\"code\":\"KRW-BTC\"}", 0).kind, ST_UPBIT_OTHER);
    dec("{\"type\":\"trade\",\"timestamp\":1,\"trade_price\":1}", -EPROTO); /* no code */
    dec("{\"type\":\"trade\",\"code\":\"KRW-BTC\",\"timestamp\":1}", -EPROTO); /* no price */
    dec("{\"type\":\"trade\",\"code\":\"KRW-BTC\",\"trade_price\":1}", -EPROTO); /* no time */
    /* Found by fuzz_upbit: an absurd timestamp overflowed the conversion. */
    dec("{\"type\":\"orderbook\",\"code\":\"KRW-ETH\",\"timestamp\":1.73e45}", -EPROTO);
    dec("{\"type\":\"trade\",\"code\":\"KRW-ETH\",\"timestamp\":1,\"trade_timestamp\":-5,\"trade_price\":1}", -EPROTO);
    dec("[1,2]", -EPROTO);
    dec("{not json", -EPROTO);
    /* Found by fuzz_upbit: orderbook_units holding an object, or levels that are arrays
     * (whose items have no names), reached strcmp with NULL. */
    st_upbit_msg_t m = dec("{\"type\":\"orderbook\",\"code\":\"KRW-ETH\",\"timestamp\":1,"
                        "\"orderbook_units\":{\"type\":\"orderbook\",\"orderbook_units\":[{\"ask_size\":1.5}]}}", 0);
    assert_true(m.tick.u.book.ask_qty[0] == 0);
    m = dec("{\"type\":\"orderbook\",\"code\":\"KRW-ETH\",\"timestamp\":1,\"orderbook_units\":[[1,2],"
            "{\"ask_price\":5,\"ask_size\":2}]}", 0);
    assert_true(m.tick.u.book.ask[0] == 5 && m.tick.u.book.ask_qty[0] == 2);
}

/* Issue 23.2: rate errors by meaning: the documented validation errors are not, any other
 * name is (Upbit does not document the rate error's name). */
static void test_error_classes(void **state)
{
    static const char *const validation[] = {"WRONG_FORMAT", "NO_TICKET", "NO_TYPE", "NO_CODES", "INVALID_PARAM",
                                             "INVALID_AUTH"};
    for (size_t i = 0; i < sizeof(validation) / sizeof(validation[0]); i++) assert_false(st_upbit_error_is_rate(validation[i]));
    assert_true(st_upbit_error_is_rate("TOO_MANY_REQUEST"));
    assert_true(st_upbit_error_is_rate("TOO_MANY_REQUESTS"));
    assert_true(st_upbit_error_is_rate("REQUEST_LIMIT_EXCEEDED"));
}

/* The one-pass decoder against cJSON's (the oracle, upbit_decode_cjson.c): the same return and
 * the same bytes out, on the samples, on edge cases of the grammar, and on 200,000 mutations of
 * the samples (bytes flipped, JSON's own characters inserted, cut short) from a fixed seed. */
static void same_as_cjson(const char *msg, size_t len)
{
    static st_upbit_msg_t a, b;
    int ra = st_upbit_decode(msg, len, &a), rb = st_upbit_decode_cjson(msg, len, &b);
    if (ra != rb || memcmp(&a, &b, sizeof(a)) != 0) {
        printf("# differs (%d vs cJSON's %d) on %zu bytes: %.*s\n", ra, rb, len, (int)ST_MIN2(len, (size_t)400), msg);
        fail();
    }
}

static void test_same_as_cjson(void **state)
{
    static const char *const edge[] = {
        "", " ", "{}", "{ }", "[]", "null", "\xEF\xBB\xBF{}", "\xEF\xBB\xBF{\"a\":1}", "{\"a\":1} trailing", "{\"a\":1,}",
        "{\"a\"1}", "{\"a\":}", "{,}", "{\"a\":01}", "{\"a\":+1}", "{\"a\":.5}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":1.2.3}",
        "{\"a\":\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"}", "{\"a\":\"\\ud83d\"}", "{\"a\":\"\\ude00\"}", "{\"a\":\"\\uzzzz\"}",
        "{\"a\":\"\\x\"}", "{\"a\":\"\\", "{\"a\":\"abc", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":[1,[2,{\"b\":[]}]]}",
        "{\"error\":{\"name\":\"WRONG_FORMAT\",\"message\":\"bad\",\"name\":\"X\"}}", "{\"error\":1,\"error\":{\"name\":\"A\"}}",
        "{\"error\":{\"name\":5,\"message\":[1]}}", "{\"status\":\"UP\"}", "{\"method\":\"LIST\"}", "{\"mthd\":1}",
        "{\"type\":\"trade\",\"code\":\"KRW-BTC\",\"timestamp\":1,\"trade_price\":1,\"type\":\"ticker\"}",
        "{\"type\":\"tra\\u0000de\",\"code\":\"KRW\\u0000BTC\",\"timestamp\":1,\"trade_price\":1}",
        "{\"ty\\u0000x\":\"trade\",\"cd\":\"A\",\"tms\":5,\"tp\":2,\"ab\":\"BID\"}",
        "{\"type\":\"orderbook\",\"code\":\"A\",\"timestamp\":1,\"obu\":[1,{\"ap\":2},[3],{\"bp\":4,\"bp\":5}],\"obu\":{}}",
        "{\"type\":\"orderbook\",\"code\":\"A\",\"timestamp\":1,\"obu\":[{},{},{},{},{},{},{},{},{},{},{\"ap\":9}]}",
        "{\"type\":\"trade\",\"code\":\"A\",\"timestamp\":1,\"trade_price\":1,\"trade_timestamp\":\"x\"}",
        /* numbers longer than 63 characters (fuzz_upbit: read whole, as Debian's cJSON reads them) */
        "{\"type\":\"trade\",\"code\":\"A\",\"timestamp\":1,\"trade_price\":1111111111111111111111111111111111111111"
        "1111111111111111111111111111111111111111111111111112,\"x\":1.0000000000000000000000000000000000000000000000000"
        "000000000000000000000000000001e5,\"y\":1e9999999999999999999999999999999999999999999999999999999999999999999}",
        "{\"type\":\"trade\",\"code\":\"" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "\",\"timestamp\":1,\"trade_price\":1}",
    };
    for (size_t i = 0; i < ST_ARRAY_SIZE(edge); i++) same_as_cjson(edge[i], strlen(edge[i]));
    char deep[2100];
    for (int d = 995; d <= 1002; d++) { /* cJSON's nesting limit: 1000 */
        int n = 0;
        n += snprintf(deep + n, sizeof(deep) - (size_t)n, "{\"a\":");
        for (int i = 1; i < d; i++) deep[n++] = '[';
        for (int i = 1; i < d; i++) deep[n++] = ']';
        deep[n++] = '}';
        same_as_cjson(deep, (size_t)n);
    }
    static const char *const samples[] = {
        UPBIT_TICKER_DEFAULT, UPBIT_TICKER_SIMPLE, UPBIT_TRADE_SIMPLE,
        ("{\"type\":\"orderbook\",\"code\":\"KRW-ETH\",\"total_ask_size\":8.1,\"total_bid_size\":4.2,\"orderbook_units\":"
         "[{\"ask_price\":3000000,\"bid_price\":2999000,\"ask_size\":0.5,\"bid_size\":1.5}],\"timestamp\":1676965262177}"),
        "{\"error\":{\"name\":\"INVALID_PARAM\",\"message\":\"codes are required\"}}",
    };
    /* numbers: random decimals read bit for bit as strtod reads them (the fast exact path and
     * its limits: 19 digits, 2^53, 10^±22, dropped digits, exponents, zeros, signs) */
    uint64_t r = 12345;
    char buf[4096];
    for (int iter = 0; iter < 100000; iter++) {
        char num[80];
        size_t n = 0;
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        if (r >> 63) num[n++] = '-';
        int ints = (int)((r >> 40) % 22), fracs = (int)((r >> 30) % 22);
        for (int i = 0; i < ints; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            num[n++] = (char)('0' + (r >> 60) % 10);
        }
        if (!ints || (r >> 20) % 2) {
            num[n++] = '.';
            for (int i = 0; i < fracs; i++) {
                r = r * 6364136223846793005ull + 1442695040888963407ull;
                num[n++] = (char)('0' + ((r >> 59) % 16 < 10 ? (r >> 59) % 16 : 0));
            }
        }
        if ((r >> 10) % 4 == 0) n += (size_t)snprintf(num + n, sizeof(num) - n, "e%d", (int)((r >> 2) % 61) - 30);
        num[n] = '\0';
        snprintf(buf, sizeof(buf), "{\"type\":\"trade\",\"code\":\"A\",\"timestamp\":1,\"trade_price\":%s}", num);
        same_as_cjson(buf, strlen(buf));
    }
    static const char alphabet[] = "{}[]\",:\\u0123456789.eE+-ntfrlase \x01\xff";
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (int iter = 0; iter < 200000; iter++) {
        const char *s = samples[iter % ST_ARRAY_SIZE(samples)];
        size_t len = strlen(s);
        memcpy(buf, s, len);
        int edits = 1 + (int)((rng >> 60) & 3);
        for (int e = 0; e < edits; e++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(rng >> 33) % (len + 1);
            char c = (rng >> 7) % 17 == 0 ? '\0' : alphabet[(rng >> 20) % (sizeof(alphabet) - 1)];
            switch ((rng >> 10) % 4) {
            case 0: if (at < len) buf[at] = c; break;                                        /* replace */
            case 1: if (len + 1 < sizeof(buf)) { memmove(buf + at + 1, buf + at, len - at); buf[at] = c; len++; } break;
            case 2: if (at < len) { memmove(buf + at, buf + at + 1, len - at - 1); len--; } break; /* delete */
            default: len = at; break;                                                       /* cut short */
            }
        }
        same_as_cjson(buf, len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticker_default),
        cmocka_unit_test(test_trade_both_namings),
        cmocka_unit_test(test_orderbook),
        cmocka_unit_test(test_status_errors_and_malformed),
        cmocka_unit_test(test_error_classes),
        cmocka_unit_test(test_same_as_cjson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
