#include "../test.h"

#include "conf/config.h"
#include "plan/schedule.h"

static st_config_t *cfg;

static int setup(void **state)
{
    st_diags_t d;
    st_diags_init(&d);
    const char *text = "market: {universe: config/universe.csv, indices: \"\"}\n";
    int rc = st_config_parse("t.yaml", text, strlen(text), &cfg, &d);
    st_diags_free(&d);
    return rc;
}

static int teardown(void **state)
{
    st_config_free(cfg);
    return 0;
}

#define MID ((st_time_t)1795359600 * ST_SEC) /* any midnight: the schedule is relative to it */
#define AT(h, m) (MID + (h) * ST_HOUR + (m) * ST_MIN)

static const st_session_t regular = {8 * ST_HOUR + 30 * ST_MIN, 9 * ST_HOUR, 15 * ST_HOUR + 20 * ST_MIN,
                                     15 * ST_HOUR + 30 * ST_MIN};

static void expect_on(const st_session_t *day, st_time_t now, const char *slot, st_time_t next)
{
    st_slot_at_t at;
    st_schedule_at(cfg, day, now, MID, &at);
    assert_string_equal(at.slot->name, slot);
    assert_int_equal(at.next_change, next);
}

static void expect(st_time_t now, const char *slot, st_time_t next)
{
    st_slot_at_t at;
    st_schedule_at(cfg, &regular, now, MID, &at);
    assert_string_equal(at.slot->name, slot);
    assert_int_equal(at.next_change, next);
}

/* Walks a day through the default KRX schedule. */
static void test_default_day(void **state)
{
    expect(AT(0, 0), "pre_market", AT(9, 0));
    expect(AT(8, 59) + 59 * ST_SEC, "pre_market", AT(9, 0));
    expect(AT(9, 0), "golden_time", AT(9, 30));
    expect(AT(9, 29), "golden_time", AT(9, 30));
    expect(AT(9, 30), "morning_trend", AT(11, 30));
    expect(AT(11, 30), "lunch", AT(14, 0));
    expect(AT(14, 0), "closing_trend", AT(15, 20));
    expect(AT(15, 20), "after_market", AT(24, 0));
    expect(AT(23, 59), "after_market", AT(24, 0)); /* tomorrow's pre_market starts at 00:00 */
}

static void test_before_first_start_is_previous_last(void **state)
{
    st_config_t *c2;
    st_diags_t d;
    st_diags_init(&d);
    const char *text = "market: {universe: config/universe.csv, indices: \"\"}\n"
                       "schedule:\n  - {name: day, start: \"09:00\"}\n  - {name: night, start: \"16:00\"}\n";
    assert_int_equal(st_config_parse("t.yaml", text, strlen(text), &c2, &d), 0);
    st_slot_at_t at;
    st_schedule_at(c2, &regular, AT(3, 0), MID, &at);
    assert_string_equal(at.slot->name, "night");
    assert_int_equal(at.next_change, AT(9, 0));
    st_schedule_at(c2, &regular, AT(17, 0), MID, &at);
    assert_string_equal(at.slot->name, "night");
    assert_int_equal(at.next_change, AT(24 + 9, 0));
    st_config_free(c2);
    st_diags_free(&d);
}

/* The college entrance exam day: 10:00-16:30. The default slots that count from the session
 * move with it (golden time at the open, the closing trend 1h30 before the close, after-market
 * at the closing auction); lunch stays at 11:30 (a time of day). */
static void test_late_session_moves_anchored_slots(void **state)
{
    st_session_t exam = {9 * ST_HOUR + 30 * ST_MIN, 10 * ST_HOUR, 16 * ST_HOUR + 20 * ST_MIN, 16 * ST_HOUR + 30 * ST_MIN};
    expect_on(&exam, AT(9, 30), "pre_market", AT(10, 0));
    expect_on(&exam, AT(10, 0), "golden_time", AT(10, 30));
    expect_on(&exam, AT(10, 30), "morning_trend", AT(11, 30));
    expect_on(&exam, AT(11, 30), "lunch", AT(15, 0));
    expect_on(&exam, AT(15, 0), "closing_trend", AT(16, 20));
    expect_on(&exam, AT(16, 20), "after_market", AT(24, 0));
    /* the year's first day: 10:00 open, the regular close */
    st_session_t first = {9 * ST_HOUR + 30 * ST_MIN, 10 * ST_HOUR, 15 * ST_HOUR + 20 * ST_MIN, 15 * ST_HOUR + 30 * ST_MIN};
    expect_on(&first, AT(9, 0), "pre_market", AT(10, 0));
    expect_on(&first, AT(14, 0), "closing_trend", AT(15, 20));
}

/* A session moved so far that a slot counting from the open would start after a later fixed
 * one: it starts with it instead and lasts no time; the order of the slots is kept. */
static void test_moved_slot_never_runs_backwards(void **state)
{
    st_session_t late = {12 * ST_HOUR, 12 * ST_HOUR + 30 * ST_MIN, 15 * ST_HOUR + 20 * ST_MIN, 15 * ST_HOUR + 30 * ST_MIN};
    /* morning_trend at open+30m = 13:00, after lunch's 11:30: lunch starts then too */
    assert_int_equal(st_schedule_start(cfg, &late, 2), 13 * ST_HOUR);
    assert_int_equal(st_schedule_start(cfg, &late, 3), 13 * ST_HOUR);
    expect_on(&late, AT(12, 0), "pre_market", AT(12, 30));
    expect_on(&late, AT(12, 30), "golden_time", AT(13, 0));
    expect_on(&late, AT(13, 0), "lunch", AT(14, 0)); /* morning_trend lasted no time */
}

static void parse_fails(const char *start, const char *what)
{
    st_config_t *c2 = NULL;
    st_diags_t d;
    st_diags_init(&d);
    char text[512];
    snprintf(text, sizeof(text), "market: {universe: config/universe.csv, indices: \"\"}\n"
                                 "schedule:\n  - {name: a, start: \"09:00\"}\n  - {name: b, start: \"%s\"}\n", start);
    assert_int_equal(st_config_parse("t.yaml", text, strlen(text), &c2, &d), ST_ECONFIG);
    char buf[1400];
    st_diag_format(&d.items[0], buf, sizeof(buf));
    if (!strstr(buf, what)) fail_msg("%s: got \"%s\"", start, buf);
    if (!strstr(buf, "t.yaml:4:")) fail_msg("not located at the slot: %s", buf);
    st_diags_free(&d);
}

/* A start that is neither a time of day nor an anchor with an offset, or that comes before the
 * previous slot's on a regular day: located errors. */
static void test_bad_starts(void **state)
{
    parse_fails("opening", "expected a time of day (09:30) or a time of the session");
    parse_fails("open+", "expected a time of day");
    parse_fails("open*30m", "expected a time of day");
    parse_fails("close+25h", "expected a time of day");
    parse_fails("pre_open", "later than the previous slot's (\"a\") on a regular day"); /* 08:30 */
    parse_fails("open", "later than the previous slot's"); /* 09:00 = 09:00 */
}

int main(void)
{
    st_test_chdir_source(); /* the configs name the checkout's files by relative paths */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_late_session_moves_anchored_slots),
        cmocka_unit_test(test_moved_slot_never_runs_backwards),
        cmocka_unit_test(test_bad_starts),
        cmocka_unit_test(test_default_day),
        cmocka_unit_test(test_before_first_start_is_previous_last),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
