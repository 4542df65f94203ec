#include "../test.h"

#include "core/timefmt.h"
#include "ops/report.h"

static void test_count_format(void **state)
{
    char b[32];
    st_format_count(0, b, sizeof(b));
    assert_string_equal(b, "0");
    st_format_count(999, b, sizeof(b));
    assert_string_equal(b, "999");
    st_format_count(1000, b, sizeof(b));
    assert_string_equal(b, "1,000");
    st_format_count(12345678901ull, b, sizeof(b));
    assert_string_equal(b, "12,345,678,901");
}

/* Rows split the counters at slot changes; the totals add up. */
static void test_rows_partition_counters(void **state)
{
    st_report_t r;
    st_counters_t c = {.now = 1000 * ST_SEC, .slot = "a"};
    st_report_begin(&r, &c);
    c.now += 60 * ST_SEC, c.market_trades = 100, c.halts = 1;
    st_report_slot(&r, &c, "b");
    c.now += 60 * ST_SEC, c.market_trades = 250, c.halts = 4, c.bursts = 2;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    st_report_finish(&r, &c, out, NULL, 0);
    fclose(out);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.rows[0].trades, 100);
    assert_int_equal(r.rows[0].halts, 1);
    assert_int_equal(r.rows[1].trades, 150);
    assert_int_equal(r.rows[1].halts, 3);
    assert_int_equal(r.rows[1].bursts, 2);
    assert_non_null(strstr(text, "total"));
    assert_non_null(strstr(text, "250"));
    free(text);
}

/* Issue 23.10: the summary's wording holds when messages outnumber changes (resubscriptions
 * after reconnects), when nothing was sent, and before any symbol was polled twice. */
static void test_summary_wording(void **state)
{
    const struct {
        uint64_t requests, messages;
        const char *want;
    } cases[] = {{30, 10, "(3.0x fewer)"}, {10, 30, "(3.0x more: resubscriptions)"}, {0, 0, "(none sent)"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        st_report_t r;
        st_counters_t c = {.now = 1000 * ST_SEC, .slot = "a", .sessions = 1};
        st_report_begin(&r, &c);
        c.subs_requests = cases[i].requests, c.subs_messages = cases[i].messages;
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        st_report_finish(&r, &c, out, NULL, 0);
        fclose(out);
        assert_non_null(strstr(text, cases[i].want));
        assert_non_null(strstr(text, "mean time between refreshes: none refreshed twice yet\n"));
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_format),
        cmocka_unit_test(test_rows_partition_counters),
        cmocka_unit_test(test_summary_wording),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
