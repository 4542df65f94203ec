/* The venues' REST answers into ticks, exactly: KIS multprice rows matched by code (not by
 * position, a missing one skipped), inquire-price, the error codes, the asking price; Upbit
 * tickers and orderbooks. The same bodies seed fuzz_rest. */
#include "../test.h"

#include "feeds/rest_codec.h"

#define NOW (1800000000LL * ST_SEC)

static st_tick_t rows[4];
static int nrows;

static void row(void *ctx, const st_tick_t *t)
{
    rows[nrows++] = *t;
}

static st_rq_status_t kis_quotes(int status, const char *body, size_t n)
{
    static const char *const codes[] = {"005930", "000660", "035420"};
    static const st_sym_t want[] = {10, 20, 30};
    nrows = 0;
    return st_kis_quotes_parse(status, body, strlen(body), codes, want, n, NOW, row, NULL);
}

static void test_kis_quotes(void **state)
{
    const char *multi = "{\"rt_cd\":\"0\",\"output\":[{\"inter_shrn_iscd\":\"000660\",\"inter2_prpr\":\"180000\","
                        "\"inter2_oprc\":\"179000\",\"inter2_hgpr\":\"181000\",\"inter2_lwpr\":\"178500\","
                        "\"inter2_prdy_clpr\":\"178000\",\"acml_vol\":\"1234567\",\"acml_tr_pbmn\":\"222000000000\","
                        "\"inter2_askp\":\"180100\",\"inter2_bidp\":\"180000\"},"
                        "{\"inter_shrn_iscd\":\"005930\",\"inter2_prpr\":\"71000\"},[1,2]]}";
    assert_int_equal(kis_quotes(200, multi, 3), ST_RQ_OK);
    assert_int_equal(nrows, 2); /* 035420 has no row */
    assert_int_equal(rows[0].sym, 10);
    assert_true(rows[0].u.trade.price == 71000);
    assert_int_equal(rows[1].sym, 20);
    const st_trade_t *q = &rows[1].u.trade;
    assert_true(q->price == 180000 && q->open == 179000 && q->high == 181000 && q->low == 178500);
    assert_true(q->prev_close == 178000 && q->cum_volume == 1234567 && q->cum_value == 222000000000.0);
    assert_true(q->best_ask == 180100 && q->best_bid == 180000);
    assert_int_equal(rows[1].kind, ST_TICK_SNAPSHOT);
    assert_int_equal(rows[1].venue_time, NOW);

    assert_int_equal(kis_quotes(200, "{\"rt_cd\":\"0\",\"output\":{\"stck_prpr\":\"71000\",\"stck_sdpr\":\"70800\","
                                     "\"temp_stop_yn\":\"Y\"}}", 1), ST_RQ_OK);
    assert_int_equal(nrows, 1);
    assert_true(rows[0].u.trade.prev_close == 70800);
    assert_true(rows[0].flags & ST_TICK_HALTED);

    assert_int_equal(kis_quotes(500, "{\"rt_cd\":\"1\",\"msg_cd\":\"EGW00201\"}", 1), ST_RQ_RATE);
    assert_int_equal(kis_quotes(500, "{\"rt_cd\":\"1\",\"msg_cd\":\"EGW00123\"}", 1), ST_RQ_TOKEN_EXPIRED);
    assert_int_equal(kis_quotes(500, "{\"rt_cd\":\"1\",\"msg_cd\":\"EGW00121\"}", 1), ST_RQ_TOKEN_INVALID);
    assert_int_equal(kis_quotes(200, "{\"rt_cd\":\"1\",\"msg_cd\":\"OPSQ2002\"}", 1), ST_RQ_REFUSED);
    assert_int_equal(kis_quotes(200, "{\"rt_cd\":\"0\"}", 1), ST_RQ_REFUSED); /* no output */
    assert_int_equal(kis_quotes(200, "<html>", 1), ST_RQ_REFUSED);
    assert_int_equal(nrows, 0);
}

static void test_kis_book(void **state)
{
    const char *b = "{\"rt_cd\":\"0\",\"output1\":{\"askp1\":\"71100\",\"bidp1\":\"71000\",\"askp_rsqn1\":\"120\","
                    "\"bidp_rsqn1\":\"340\",\"askp10\":\"72000\",\"bidp10\":\"70100\",\"total_askp_rsqn\":\"9000\","
                    "\"total_bidp_rsqn\":\"8000\"}}";
    st_tick_t t;
    assert_int_equal(st_kis_book_parse(200, b, strlen(b), 7, NOW, &t), ST_RQ_OK);
    assert_int_equal(t.kind, ST_TICK_ORDERBOOK);
    assert_int_equal(t.sym, 7);
    assert_true(t.u.book.ask[0] == 71100 && t.u.book.bid[0] == 71000 && t.u.book.ask_qty[0] == 120);
    assert_true(t.u.book.bid_qty[0] == 340 && t.u.book.ask[9] == 72000 && t.u.book.bid[9] == 70100);
    assert_true(t.u.book.total_ask_qty == 9000 && t.u.book.total_bid_qty == 8000);
    const char *no = "{\"rt_cd\":\"0\",\"output1\":{}}";
    assert_int_equal(st_kis_book_parse(200, no, strlen(no), 7, NOW, &t), ST_RQ_REFUSED);
}

static void test_upbit(void **state)
{
    static const char *const codes[] = {"KRW-BTC", "KRW-ETH"};
    static const st_sym_t want[] = {1, 2};
    const char *tk = "[{\"market\":\"KRW-XRP\",\"trade_price\":1},\"x\",{\"market\":\"KRW-BTC\",\"trade_price\":100473000,"
                     "\"opening_price\":100000000,\"prev_closing_price\":100571000,\"acc_trade_volume\":123.5,"
                     "\"trade_timestamp\":1730336862047},{\"market\":\"KRW-ETH\"}]";
    nrows = 0;
    assert_int_equal(st_upbit_tickers_parse(200, tk, strlen(tk), codes, want, 2, NOW, row, NULL), ST_RQ_OK);
    assert_int_equal(nrows, 1); /* XRP not asked, ETH without a price */
    assert_int_equal(rows[0].sym, 1);
    assert_int_equal(rows[0].venue_time, 1730336862047LL * ST_MSEC);
    assert_true(rows[0].u.trade.price == 100473000 && rows[0].u.trade.cum_volume == 123.5);
    assert_int_equal(st_upbit_tickers_parse(429, "", 0, codes, want, 2, NOW, row, NULL), ST_RQ_RATE);
    assert_int_equal(st_upbit_tickers_parse(404, "{\"error\":{}}", 12, codes, want, 2, NOW, row, NULL), ST_RQ_REFUSED);

    const char *ob = "[{\"market\":\"KRW-BTC\",\"timestamp\":1730336862047,\"total_ask_size\":5.5,\"total_bid_size\":6.5,"
                     "\"orderbook_units\":[7,{\"ask_price\":100480000,\"bid_price\":100470000,\"ask_size\":0.5,"
                     "\"bid_size\":0.75}]}]";
    st_tick_t t;
    assert_int_equal(st_upbit_book_parse(200, ob, strlen(ob), 1, NOW, &t), ST_RQ_OK);
    assert_true(t.u.book.ask[0] == 100480000 && t.u.book.bid_qty[0] == 0.75 && t.u.book.total_bid_qty == 6.5);
    assert_int_equal(st_upbit_book_parse(200, "[]", 2, 1, NOW, &t), ST_RQ_REFUSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kis_quotes),
        cmocka_unit_test(test_kis_book),
        cmocka_unit_test(test_upbit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
