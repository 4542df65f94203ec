#include "../test.h"

#include "core/log.h"
#include "core/res.h"

#include <time.h>

static st_time_t fixed_now(void *ctx)
{
    return *(st_time_t *)ctx;
}

static void test_text_json_levels_and_file(void **state)
{
    char *dir = st_test_tmpdir();
    char path[512];
    snprintf(path, sizeof(path), "%s/s.log", dir);
    setenv("TZ", "Asia/Seoul", 1);
    tzset();
    st_time_t t = (st_time_t)1795392932 * ST_SEC + 5 * ST_MSEC; /* 2026-11-23 09:15:32.005 KST */
    st_log_set_time_source(fixed_now, &t);

    assert_int_equal(st_log_open(ST_LL_INFO, ST_LOG_TEXT, path), 0);
    st_log_debug(FEED, "not shown %d", 1);
    st_log_info(PLAN, "slot %s", "golden_time");
    assert_int_equal(st_log_open(ST_LL_WARN, ST_LOG_JSON, path), 0);
    st_log_info(CORE, "not shown either");
    st_log_error(CONFIG, "bad \"value\"\tat\n%s", "x.yaml:1:2");
    st_log_close();
    st_log_set_time_source(NULL, NULL);

    char *text;
    assert_int_equal(st_file_read(path, &text, NULL), 0);
    assert_string_equal(text,
                        "2026-11-23 09:15:32.005 [info] plan: slot golden_time\n"
                        "{\"ts\":\"2026-11-23 09:15:32.005\",\"level\":\"error\",\"sys\":\"config\","
                        "\"msg\":\"bad \\\"value\\\"\\u0009at\\u000ax.yaml:1:2\"}\n");
    free(text);
    assert_true(st_log_open(ST_LL_INFO, ST_LOG_TEXT, "/nonexistent/dir/x.log") < 0);
    unlink(path);
    rmdir(dir);
    free(dir);
}

static void test_level_names(void **state)
{
    st_log_level_t l;
    assert_int_equal(st_log_level_parse("WARN", &l), 0);
    assert_int_equal(l, ST_LL_WARN);
    assert_true(st_log_level_parse("verbose", &l) < 0);
    assert_string_equal(st_log_level_name(ST_LL_ALERT), "alert");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_json_levels_and_file),
        cmocka_unit_test(test_level_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
