#include "../test.h"

#include "conf/config.h"
#include "plan/schedule.h"

static st_config_t *cfg;

static int setup(void **state)
{
    st_diags_t d;
    st_diags_init(&d);
    const char *text = "market: {universe: " STRATA_SOURCE_DIR "/config/universe.csv, indices: \"\"}\n";
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

static void expect(st_time_t now, const char *slot, st_time_t next)
{
    st_slot_at_t at;
    st_schedule_at(cfg, now, MID, &at);
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
    const char *text = "market: {universe: " STRATA_SOURCE_DIR "/config/universe.csv, indices: \"\"}\n"
                       "schedule:\n  - {name: day, start: \"09:00\"}\n  - {name: night, start: \"16:00\"}\n";
    assert_int_equal(st_config_parse("t.yaml", text, strlen(text), &c2, &d), 0);
    st_slot_at_t at;
    st_schedule_at(c2, AT(3, 0), MID, &at);
    assert_string_equal(at.slot->name, "night");
    assert_int_equal(at.next_change, AT(9, 0));
    st_schedule_at(c2, AT(17, 0), MID, &at);
    assert_string_equal(at.slot->name, "night");
    assert_int_equal(at.next_change, AT(24 + 9, 0));
    st_config_free(c2);
    st_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_day),
        cmocka_unit_test(test_before_first_start_is_previous_last),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
