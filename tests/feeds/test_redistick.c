/* A tick as a Redis stream entry's fields (feeds/redistick.c): encoded and decoded back, trades,
 * snapshots and books come back equal; fields in any order, unknown ones (the cluster's term)
 * skipped; what is missing or malformed refused with the reason. */
#include "../test.h"

#include "feeds/redistick.h"

/* Decodes what encode made, optionally with the fields reversed and a term in front. */
static int roundtrip(const st_tick_t *t, const char *code, bool shuffle, st_tick_t *back, char *got, const char **why)
{
    st_redistick_t e;
    st_redistick_encode(t, code, &e);
    const char *names[ST_REDISTICK_MAX_FIELDS + 1], *values[ST_REDISTICK_MAX_FIELDS + 1];
    size_t lens[ST_REDISTICK_MAX_FIELDS + 1], n = 0;
    if (shuffle) names[n] = "term", values[n] = "7", lens[n++] = 1;
    for (size_t i = 0; i < e.n; i++) {
        size_t k = shuffle ? e.n - 1 - i : i;
        names[n] = e.name[k], values[n] = e.value[k], lens[n++] = e.len[k];
    }
    return st_redistick_decode(n, names, values, lens, back, got, 16, why);
}

static void test_roundtrip(void **state)
{
    st_tick_t t = {.kind = ST_TICK_TRADE, .flags = ST_TICK_HALTED, .venue_time = 1795395600123456};
    t.u.trade = (st_trade_t){.price = 73100, .volume = 12, .open = 72000, .high = 73500, .low = 71800.5,
                             .prev_close = 71900, .cum_volume = 8456281, .cum_value = 619384512000.0,
                             .best_bid = 73000, .best_ask = 73100, .side = ST_SIDE_SELL};
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        st_tick_t back;
        char code[16];
        const char *why = NULL;
        assert_int_equal(roundtrip(&t, "005930", shuffle, &back, code, &why), 0);
        assert_string_equal(code, "005930");
        assert_memory_equal(&back, &t, sizeof(t));
    }
    st_tick_t s = t;
    s.kind = ST_TICK_SNAPSHOT;
    s.flags = 0;
    s.u.trade.side = ST_SIDE_NONE;
    s.u.trade.price = 0.00012345; /* an Upbit price */
    st_tick_t back;
    char code[16];
    const char *why = NULL;
    assert_int_equal(roundtrip(&s, "KRW-SHIB", true, &back, code, &why), 0);
    assert_memory_equal(&back, &s, sizeof(s));
    st_tick_t b = {.kind = ST_TICK_ORDERBOOK, .venue_time = 1795395600000000};
    for (int i = 0; i < ST_BOOK_DEPTH; i++) {
        b.u.book.ask[i] = 32288000 + i * 1000, b.u.book.bid[i] = 32287000 - i * 1000;
        b.u.book.ask_qty[i] = 0.01234567 + i, b.u.book.bid_qty[i] = 0.07654321 * i;
    }
    b.u.book.total_ask_qty = 4.79158413, b.u.book.total_bid_qty = 2.65609625;
    assert_int_equal(roundtrip(&b, "KRW-BTC", false, &back, code, &why), 0);
    assert_memory_equal(&back, &b, sizeof(b));
}

static void test_refusals(void **state)
{
    static const struct {
        const char *fields[8];
        const char *why;
    } cases[] = {
        {{"kind", "trade", "t", "1"}, "no sym, or one too long"},
        {{"sym", "0123456789abcdefXYZ", "kind", "trade", "t", "1"}, "no sym, or one too long"},
        {{"sym", "005930", "t", "1"}, "no kind (trade, snapshot or book)"},
        {{"sym", "005930", "kind", "quote", "t", "1"}, "no kind (trade, snapshot or book)"},
        {{"sym", "005930", "kind", "trade"}, "no t (the venue's time)"},
        {{"sym", "005930", "kind", "trade", "t", "1.5"}, "a field that is not what its name says"},
        {{"sym", "005930", "kind", "trade", "t", "4.44444e48"}, "a field that is not what its name says"}, /* (fuzz_redistick) */
        {{"sym", "005930", "kind", "trade", "t", "1", "price", "7e"}, "a field that is not what its name says"},
        {{"sym", "005930", "kind", "trade", "t", "1", "price", "nan"}, "a field that is not what its name says"},
        {{"sym", "005930", "kind", "trade", "t", "1", "side", "long"}, "a field that is not what its name says"},
        {{"sym", "005930", "kind", "book", "t", "1", "asks", "1,2,,3"}, "a field that is not what its name says"},
        {{"sym", "005930", "kind", "book", "t", "1", "asks", "1,2,3,4,5,6,7,8,9,10,11"},
         "a field that is not what its name says"},
        {{"sym", "005930", "kind", "trade", "t", "1", "flags", "300"}, "a field that is not what its name says"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const char *names[4], *values[4];
        size_t lens[4], n = 0;
        for (; n < 4 && cases[c].fields[2 * n]; n++)
            names[n] = cases[c].fields[2 * n], values[n] = cases[c].fields[2 * n + 1], lens[n] = strlen(values[n]);
        st_tick_t t;
        char code[16];
        const char *why = NULL;
        assert_int_equal(st_redistick_decode(n, names, values, lens, &t, code, sizeof(code), &why), -1);
        assert_string_equal(why, cases[c].why);
    }
    /* unknown fields and an empty side are fine */
    const char *names[] = {"sym", "kind", "t", "side", "venue_note"}, *values[] = {"005930", "trade", "5", "", "x"};
    size_t lens[] = {6, 5, 1, 0, 1};
    st_tick_t t;
    char code[16];
    const char *why = NULL;
    assert_int_equal(st_redistick_decode(5, names, values, lens, &t, code, sizeof(code), &why), 0);
    assert_int_equal(t.venue_time, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
