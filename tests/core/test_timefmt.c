#include "../test.h"

#include "core/timefmt.h"

#include <errno.h>

static void test_duration_units(void **state)
{
    st_dur_t d;
    assert_int_equal(st_parse_duration("100ms", &d), 0);
    assert_int_equal(d, 100 * ST_MSEC);
    assert_int_equal(st_parse_duration("30s", &d), 0);
    assert_int_equal(d, 30 * ST_SEC);
    assert_int_equal(st_parse_duration("5m", &d), 0);
    assert_int_equal(d, 5 * ST_MIN);
    assert_int_equal(st_parse_duration("2h", &d), 0);
    assert_int_equal(d, 2 * ST_HOUR);
    assert_int_equal(st_parse_duration("250us", &d), 0);
    assert_int_equal(d, 250);
    assert_int_equal(st_parse_duration("1m30s", &d), 0);
    assert_int_equal(d, 90 * ST_SEC);
    assert_int_equal(st_parse_duration("1d", &d), 0);
    assert_int_equal(d, ST_DAY);
    assert_int_equal(st_parse_duration("0", &d), 0);
    assert_int_equal(d, 0);
}

static void test_duration_errors(void **state)
{
    st_dur_t d = 42;
    const char *bad[] = {"", "30", "s", "5x", "-5s", "5 s", "1.5s", "ms100", "5m30", "30S"};
    for (size_t i = 0; i < ST_ARRAY_SIZE(bad); i++) {
        assert_int_equal(st_parse_duration(bad[i], &d), -EINVAL);
        assert_int_equal(d, 42); /* untouched on failure */
    }
    assert_int_equal(st_parse_duration("99999999999999999999s", &d), -ERANGE);
    assert_int_equal(st_parse_duration("9999999999999d", &d), -ERANGE);
}

static void test_duration_format_roundtrip(void **state)
{
    struct {
        st_dur_t d;
        const char *s;
    } cases[] = {{0, "0"},
                 {100 * ST_MSEC, "100ms"},
                 {1500 * ST_MSEC, "1500ms"},
                 {30 * ST_SEC, "30s"},
                 {5 * ST_MIN, "5m"},
                 {90 * ST_MIN, "1h30m"},
                 {ST_HOUR + 5 * ST_SEC, "1h5s"},
                 {7, "7us"}};
    for (size_t i = 0; i < ST_ARRAY_SIZE(cases); i++) {
        char buf[32];
        st_format_duration(cases[i].d, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].s);
        st_dur_t back;
        assert_int_equal(st_parse_duration(buf, &back), 0);
        assert_int_equal(back, cases[i].d);
    }
}

static void test_time_of_day(void **state)
{
    st_dur_t t;
    assert_int_equal(st_parse_tod("09:00", &t), 0);
    assert_int_equal(t, 9 * ST_HOUR);
    assert_int_equal(st_parse_tod("9:05", &t), 0);
    assert_int_equal(t, 9 * ST_HOUR + 5 * ST_MIN);
    assert_int_equal(st_parse_tod("15:20:30", &t), 0);
    assert_int_equal(t, 15 * ST_HOUR + 20 * ST_MIN + 30 * ST_SEC);
    assert_int_equal(st_parse_tod("00:00", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(st_parse_tod("24:00", &t), -ERANGE);
    assert_int_equal(st_parse_tod("09:60", &t), -ERANGE);
    assert_int_equal(st_parse_tod("0900", &t), -EINVAL);
    assert_int_equal(st_parse_tod("09:00x", &t), -EINVAL);
    assert_int_equal(st_parse_tod("09:00:5", &t), -EINVAL);
    char buf[16];
    st_format_tod_dur(9 * ST_HOUR + 30 * ST_MIN, buf, sizeof(buf));
    assert_string_equal(buf, "09:30");
}

static void test_datetime_in_zone(void **state)
{
    struct tm tm;
    assert_int_equal(st_parse_datetime("2026-11-23 08:50", &tm), 0);
    st_time_t t;
    assert_int_equal(st_tz_mktime("Asia/Seoul", &tm, &t), 0);
    /* 08:50 KST = 23:50 UTC the day before. */
    assert_int_equal(t, (st_time_t)1795391400 * ST_SEC);
    assert_int_equal(st_tz_mktime("UTC", &tm, &t), 0);
    assert_int_equal(t, (st_time_t)1795423800 * ST_SEC);
    assert_int_equal(st_parse_datetime("2026-11-23T08:50:10", &tm), 0);
    assert_int_equal(tm.tm_sec, 10);
    assert_int_equal(st_parse_datetime("2026-13-01 08:50", &tm), -ERANGE);
    assert_int_equal(st_parse_datetime("2026-11-23", &tm), -EINVAL);
    assert_int_equal(st_tz_mktime("Mars/Olympus", &tm, &t), -ENOENT);

    assert_int_equal(st_tz_set("Asia/Seoul"), 0);
    st_time_t noon = (st_time_t)1795402800 * ST_SEC; /* 2026-11-23 12:00 KST */
    assert_int_equal(st_local_tod(noon), 12 * ST_HOUR);
    char buf[40];
    st_format_datetime(noon + 123 * ST_MSEC, buf, sizeof(buf), true);
    assert_string_equal(buf, "2026-11-23 12:00:00.123");
}

static void test_tz_validation(void **state)
{
    assert_true(st_tz_valid("Asia/Seoul"));
    assert_true(st_tz_valid("UTC"));
    assert_false(st_tz_valid("Asia/Nowhere"));
    assert_false(st_tz_valid("../etc/passwd"));
    assert_false(st_tz_valid("/etc/passwd"));
    assert_false(st_tz_valid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_units),     cmocka_unit_test(test_duration_errors),
        cmocka_unit_test(test_duration_format_roundtrip), cmocka_unit_test(test_time_of_day),
        cmocka_unit_test(test_datetime_in_zone),   cmocka_unit_test(test_tz_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
