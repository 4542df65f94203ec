/* The trading calendar (runtime/market/calendar.c) and how a config builds one
 * (runtime/conf/calendar.c): the shipped KRX days, weekends, special sessions, the config's days
 * over the file's, and located errors. */
#include "../test.h"

#include "conf/calendar.h"

static const st_session_t regular = {8 * ST_HOUR + 30 * ST_MIN, 9 * ST_HOUR, 15 * ST_HOUR + 20 * ST_MIN,
                                     15 * ST_HOUR + 30 * ST_MIN};

static int32_t date(const char *s)
{
    int32_t d;
    assert_int_equal(st_parse_date(s, &d), 0);
    return d;
}

static void day_of(const st_calendar_t *c, const char *s, st_day_t *out)
{
    st_calendar_day(c, &regular, date(s), out);
}

static st_config_t *config(const char *market_extra, st_diags_t *d)
{
    char text[2048];
    snprintf(text, sizeof(text), "market:\n  universe: %s/config/universe.csv\n%s", STRATA_SOURCE_DIR, market_extra);
    st_config_t *cfg = NULL;
    st_diags_init(d);
    if (st_config_parse("t.yaml", text, strlen(text), &cfg, d)) return NULL;
    return cfg;
}

static void test_dates(void **state)
{
    assert_int_equal(date("1970-01-01"), 0);
    assert_int_equal(date("2026-12-04"), st_civil_day(2026, 12, 4));
    assert_int_equal(st_weekday(date("2026-12-04")), 5); /* a Friday */
    assert_int_equal(date("2028-03-01") - date("2028-02-28"), 2); /* a leap year */
    int32_t x;
    assert_int_equal(st_parse_date("2026-02-29", &x), -EINVAL);
    assert_int_equal(st_parse_date("2026-2-01", &x), -EINVAL);
    assert_int_equal(st_parse_date("2026-12-04x", &x), -EINVAL);
    assert_int_equal(st_parse_date("", &x), -EINVAL);
    char buf[16];
    st_format_date(date("2027-01-04"), buf, sizeof(buf));
    assert_string_equal(buf, "2027-01-04");
}

/* The shipped KRX calendar: holidays, weekends, the first day's late open, the exam day. */
static void test_krx(void **state)
{
    st_arena_t *a = st_arena_create(0);
    st_diags_t d;
    st_diags_init(&d);
    st_calendar_t c;
    assert_int_equal(st_calendar_load("krx", &regular, a, &c, &d), 0);
    assert_string_equal(c.name, "KRX");
    assert_int_equal(c.from, date("2026-01-01"));
    assert_int_equal(c.to, date("2027-12-31"));
    st_day_t x;
    day_of(&c, "2026-09-24", &x);
    assert_false(x.trading);
    assert_string_equal(x.name, "Chuseok");
    day_of(&c, "2026-09-26", &x); /* a Saturday, Chuseok too: a weekend */
    assert_false(x.trading);
    day_of(&c, "2026-12-05", &x);
    assert_false(x.trading);
    assert_string_equal(x.name, "Saturday");
    day_of(&c, "2026-12-04", &x);
    assert_true(x.trading && !x.special && x.covered);
    assert_int_equal(x.s.open, 9 * ST_HOUR);
    day_of(&c, "2026-01-02", &x); /* the first trading day: 10:00, the pre-open with it */
    assert_true(x.trading && x.special);
    assert_int_equal(x.s.open, 10 * ST_HOUR);
    assert_int_equal(x.s.pre_open, 9 * ST_HOUR + 30 * ST_MIN);
    assert_int_equal(x.s.close, regular.close);
    day_of(&c, "2026-11-19", &x); /* the exam day: 10:00-16:30, the closing auction with the close */
    assert_int_equal(x.s.open, 10 * ST_HOUR);
    assert_int_equal(x.s.closing_auction, 16 * ST_HOUR + 20 * ST_MIN);
    assert_int_equal(x.s.close, 16 * ST_HOUR + 30 * ST_MIN);
    day_of(&c, "2026-12-31", &x);
    assert_false(x.trading);
    day_of(&c, "2028-01-03", &x); /* past the file: a regular weekday, and said to be so */
    assert_true(x.trading && !x.covered);
    /* the next trading day: over Chuseok and its weekend; over the year's end */
    assert_int_equal(st_calendar_next_trading(&c, date("2026-09-24")), date("2026-09-28"));
    assert_int_equal(st_calendar_next_trading(&c, date("2026-12-31")), date("2027-01-04"));
    assert_int_equal(st_calendar_next_trading(&c, date("2026-12-04")), date("2026-12-04"));
    /* every date of the file is a weekday (a closure on a weekend would be a mistake in it) */
    for (size_t i = 0; i < c.n; i++) {
        int wd = st_weekday(c.e[i].day);
        if (c.e[i].closed && (wd == 0 || wd == 6)) fail_msg("a weekend closure in the file: day %d", c.e[i].day);
        if (i) assert_true(c.e[i].day > c.e[i - 1].day);
    }
    st_diags_free(&d);
    st_arena_destroy(a);
}

/* The config's days go over the file's: a closure, a session opened on a holiday, a moved one. */
static void test_config_days_override(void **state)
{
    st_diags_t d;
    st_config_t *cfg = config("  closed: [{date: \"2026-12-24\", name: Eve}]\n"
                              "  special: [{date: \"2026-12-25\", name: open after all, close: \"13:00\"},\n"
                              "            {date: \"2026-01-02\", name: none late, open: \"09:00\"}]\n",
                              &d);
    assert_non_null(cfg);
    st_calendar_t c;
    assert_int_equal(st_calendar_build(cfg, &c, &d), 0);
    st_day_t x;
    day_of(&c, "2026-12-24", &x);
    assert_false(x.trading);
    assert_string_equal(x.name, "Eve");
    day_of(&c, "2026-12-25", &x);
    assert_true(x.trading);
    assert_int_equal(x.s.close, 13 * ST_HOUR);
    assert_int_equal(x.s.closing_auction, 12 * ST_HOUR + 50 * ST_MIN);
    day_of(&c, "2026-01-02", &x);
    assert_int_equal(x.s.open, 9 * ST_HOUR);
    st_config_free(cfg);
    st_diags_free(&d);

    cfg = config("  calendar: 24/7\n", &d); /* around the clock: every day, the whole day */
    assert_int_equal(st_calendar_build(cfg, &c, &d), 0);
    day_of(&c, "2026-12-05", &x);
    assert_true(x.trading && x.covered);
    assert_int_equal(x.s.open, 0);
    assert_int_equal(x.s.close, ST_DAY);
    st_config_free(cfg);
    st_diags_free(&d);
}

static void build_fails(const char *extra, const char *file, int line, const char *what)
{
    st_diags_t d;
    st_config_t *cfg = config(extra, &d);
    if (cfg) {
        st_calendar_t c;
        assert_int_equal(st_calendar_build(cfg, &c, &d), ST_ECONFIG);
    }
    if (d.n == 0) fail_msg("no error for %s", extra);
    char buf[1400];
    st_diag_format(&d.items[0], buf, sizeof(buf));
    if (!strstr(buf, what) || !strstr(d.items[0].file, file) || d.items[0].line != line)
        fail_msg("want %s:%d: %s; got %s", file, line, what, buf);
    st_config_free(cfg);
    st_diags_free(&d);
}

/* Every mistake names its place: the config's line, or the calendar file's. */
static void test_errors_located(void **state)
{
    build_fails("  closed: [{date: \"2026-02-30\"}]\n", "t.yaml", 3, "expected a date as YYYY-MM-DD, got \"2026-02-30\"");
    build_fails("  closed: [{date: \"2026-12-24\", open: \"10:00\"}]\n", "t.yaml", 3, "a closed day has no open or close");
    build_fails("  special: [{date: \"2026-12-24\"}]\n", "t.yaml", 3, "a special session needs open, close or both");
    build_fails("  special: [{date: \"2026-12-24\", open: \"16:00\"}]\n", "t.yaml", 3, "would close before it opens");
    build_fails("  special: [{date: \"2026-12-24\", open: \"10h\"}]\n", "t.yaml", 3, "times of day such as 10:00");
    build_fails("  closed:\n    - {date: \"2026-12-24\"}\n    - {date: \"2026-12-24\"}\n", "t.yaml", 5, "2026-12-24 is listed twice");
    build_fails("  calendar: nowhere.yaml\n", "t.yaml", 2, "market.calendar: cannot read");
    char *dir = st_test_tmpdir();
    char *bad = st_test_write(dir, "cal.yaml", "name: X\nfrom: \"2026-01-01\"\nto: \"2026-12-31\"\n"
                                               "closed:\n  - {date: \"2026-13-01\", name: Nope}\n");
    char extra[600];
    snprintf(extra, sizeof(extra), "  calendar: %s\n", bad);
    build_fails(extra, "cal.yaml", 5, "expected a date as YYYY-MM-DD, got \"2026-13-01\"");
    char *bad2 = st_test_write(dir, "cal2.yaml", "name: X\nfrom: \"2026-01-01\"\nto: \"2025-12-31\"\n");
    snprintf(extra, sizeof(extra), "  calendar: %s\n", bad2);
    build_fails(extra, "cal2.yaml", 1, "from not after to");
    free(bad), free(bad2);
    st_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_krx),
        cmocka_unit_test(test_config_days_override),
        cmocka_unit_test(test_errors_located),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
