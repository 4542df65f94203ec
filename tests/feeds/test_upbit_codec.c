#include "../test.h"

#include "feeds/upbit_codec.h"
#include "upbit_samples.h"

#include <errno.h>

static st_up_msg_t dec(const char *s, int want_rc)
{
    st_up_msg_t m;
    assert_int_equal(st_up_decode(s, strlen(s), &m), want_rc);
    return m;
}

/* The DEFAULT ticker example of Upbit's documentation. */
static void test_ticker_default(void **state)
{
    st_up_msg_t m = dec(UPBIT_TICKER_DEFAULT, 0);
    assert_int_equal(m.kind, ST_UP_TICKER);
    assert_string_equal(m.code, "KRW-BTC");
    assert_false(m.snapshot);
    assert_int_equal(m.tick.kind, ST_TICK_SNAPSHOT);
    assert_int_equal(m.tick.venue_time, (st_time_t)1676965262139 * ST_MSEC);
    const st_trade_t *q = &m.tick.u.trade;
    assert_true(q->price == 32287000 && q->prev_close == 31883000 && q->open == 31883000);
    assert_true(q->high == 32310000 && q->low == 31855000);
    assert_true(q->volume == 0.03103806 && q->cum_volume == 2429.58834336);
    assert_int_equal(q->side, ST_SIDE_SELL);
}

/* The trade example, in DEFAULT and in SIMPLE naming: the same tick. */
static void test_trade_both_namings(void **state)
{
    st_up_msg_t a = dec("{\"type\":\"trade\",\"code\":\"KRW-BTC\",\"timestamp\":1730336862082,\"trade_date\":\"2024-10-31\","
                        "\"trade_time\":\"01:07:42\",\"trade_timestamp\":1730336862047,\"trade_price\":100473000.0,"
                        "\"trade_volume\":0.00014208,\"ask_bid\":\"BID\",\"prev_closing_price\":100571000.0,\"change\":\"FALL\","
                        "\"change_price\":98000.0,\"sequential_id\":17303368620470000,\"best_ask_price\":100473000,"
                        "\"best_ask_size\":0.43139478,\"best_bid_price\":100465000,\"best_bid_size\":0.01990656,"
                        "\"stream_type\":\"SNAPSHOT\"}",
                        0);
    st_up_msg_t b = dec(UPBIT_TRADE_SIMPLE, 0);
    assert_int_equal(a.kind, ST_UP_TRADE);
    assert_true(a.snapshot);
    assert_int_equal(a.tick.kind, ST_TICK_TRADE);
    assert_int_equal(a.tick.venue_time, (st_time_t)1730336862047 * ST_MSEC);
    assert_true(a.tick.u.trade.price == 100473000.0 && a.tick.u.trade.volume == 0.00014208);
    assert_true(a.tick.u.trade.best_ask == 100473000 && a.tick.u.trade.best_bid == 100465000);
    assert_int_equal(a.tick.u.trade.side, ST_SIDE_BUY);
    assert_memory_equal(&a.tick, &b.tick, sizeof(a.tick));
    assert_string_equal(a.code, b.code);
}

static void test_orderbook(void **state)
{
    st_up_msg_t m = dec("{\"type\":\"orderbook\",\"code\":\"KRW-ETH\",\"total_ask_size\":8.1,\"total_bid_size\":4.2,"
                        "\"orderbook_units\":[{\"ask_price\":3000000,\"bid_price\":2999000,\"ask_size\":0.5,\"bid_size\":1.5},"
                        "{\"ask_price\":3001000,\"bid_price\":2998000,\"ask_size\":0.6,\"bid_size\":1.6}],"
                        "\"timestamp\":1730336862082,\"level\":0,\"stream_type\":\"REALTIME\"}",
                        0);
    assert_int_equal(m.kind, ST_UP_ORDERBOOK);
    const st_book_t *b = &m.tick.u.book;
    assert_true(b->ask[0] == 3000000 && b->bid[0] == 2999000 && b->ask_qty[1] == 0.6 && b->bid_qty[1] == 1.6);
    assert_true(b->total_ask_qty == 8.1 && b->total_bid_qty == 4.2);
    assert_true(b->ask[2] == 0); /* two units only */
    st_up_msg_t s = dec("{\"ty\":\"orderbook\",\"cd\":\"KRW-ETH\",\"tas\":8.1,\"tbs\":4.2,\"obu\":[{\"ap\":3000000,\"bp\":2999000,"
                        "\"as\":0.5,\"bs\":1.5},{\"ap\":3001000,\"bp\":2998000,\"as\":0.6,\"bs\":1.6}],\"tms\":1730336862082,"
                        "\"lv\":0,\"st\":\"REALTIME\"}",
                        0);
    assert_memory_equal(&m.tick, &s.tick, sizeof(m.tick));
}

static void test_status_errors_and_malformed(void **state)
{
    assert_int_equal(dec("{\"status\":\"UP\"}", 0).kind, ST_UP_STATUS);
    st_up_msg_t e = dec("{\"error\":{\"name\":\"NO_TICKET\",\"message\":\"ticket is required\"}}", 0);
    assert_int_equal(e.kind, ST_UP_ERROR);
    assert_string_equal(e.error_name, "NO_TICKET");
    assert_string_equal(e.error_message, "ticket is required");
    assert_int_equal(dec("{\"method\":\"LIST_SUBSCRIPTIONS\",\"result\":[],\"ticket\":\"t\"}", 0).kind, ST_UP_LIST);
    assert_int_equal(dec("{\"mthd\":\"LIST_SUBSCRIPTIONS\",\"rslt\":[],\"tckt\":\"t\"}", 0).kind, ST_UP_LIST);
    assert_int_equal(dec("{\"type\":\"candle.1s\",\"code\":\"KRW-BTC\"}", 0).kind, ST_UP_OTHER);
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
    st_up_msg_t m = dec("{\"type\":\"orderbook\",\"code\":\"KRW-ETH\",\"timestamp\":1,"
                        "\"orderbook_units\":{\"type\":\"orderbook\",\"orderbook_units\":[{\"ask_size\":1.5}]}}", 0);
    assert_true(m.tick.u.book.ask_qty[0] == 0);
    m = dec("{\"type\":\"orderbook\",\"code\":\"KRW-ETH\",\"timestamp\":1,\"orderbook_units\":[[1,2],"
            "{\"ask_price\":5,\"ask_size\":2}]}", 0);
    assert_true(m.tick.u.book.ask[0] == 5 && m.tick.u.book.ask_qty[0] == 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticker_default),
        cmocka_unit_test(test_trade_both_namings),
        cmocka_unit_test(test_orderbook),
        cmocka_unit_test(test_status_errors_and_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
