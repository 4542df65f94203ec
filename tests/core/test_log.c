#include "../test.h"

#include "core/log.h"
#include "core/res.h"

#include <sys/stat.h>
#include <sys/wait.h>
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

/* Issue 23.10 and 16.3: libwebsockets' lines go under "lws" (not "out: status"), and one said
 * over and over (accept: errno 24, a million times in 5 s) is logged once with counts. */
static void test_lws_lines(void **state)
{
    char *dir = st_test_tmpdir(), path[512];
    snprintf(path, sizeof(path), "%s/lws.log", dir);
    assert_int_equal(st_log_open(ST_LL_INFO, ST_LOG_TEXT, path), 0);
    for (int i = 0; i < 25; i++) st_log_lws_line(1, "accept: errno 24\n");
    st_log_lws_line(1, "something else\n");
    st_log_close();
    char *text;
    assert_int_equal(st_file_read(path, &text, NULL), 0);
    printf("%s", text);
    int lines = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++) lines++;
    assert_int_equal(lines, 4);
    assert_non_null(strstr(text, "[warn] lws: accept: errno 24\n"));
    assert_non_null(strstr(text, "[warn] lws: accept: errno 24 (repeated 10 times)\n"));
    assert_non_null(strstr(text, "[warn] lws: accept: errno 24 (repeated 24 times)\n"));
    assert_non_null(strstr(text, "[warn] lws: something else\n"));
    assert_null(strstr(text, "out: status"));
    free(text);
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

/* Under systemd, stderr is the journal's stream (JOURNAL_STREAM names its device:inode): a
 * line is "<priority>sys: message", the journal stamps it; anything else keeps the time. */
static void test_journal_lines(void **state)
{
    char *dir = st_test_tmpdir(), path[300];
    snprintf(path, sizeof(path), "%s/stderr.txt", dir);
    for (int journal = 0; journal < 2; journal++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            if (!freopen(path, "w", stderr)) _exit(2);
            struct stat st;
            fstat(STDERR_FILENO, &st);
            char js[64];
            snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
                     (unsigned long long)st.st_ino + (journal ? 0 : 1)); /* another stream: not the journal */
            setenv("JOURNAL_STREAM", js, 1);
            st_log_open(ST_LL_DEBUG, ST_LOG_TEXT, NULL);
            st_log_info(PLAN, "005930 tier none -> 1 (demand)");
            st_log_warn(FEED, "kis: reconnecting");
            st_log_debug(CORE, "d");
            st_log_error(HOST, "e");
            st_log_alert(CORE, "a");
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        char *text;
        assert_int_equal(st_file_read(path, &text, NULL), 0);
        if (journal)
            assert_string_equal(text, "<6>plan: 005930 tier none -> 1 (demand)\n<4>feed: kis: reconnecting\n<7>core: d\n"
                                      "<3>host: e\n<1>core: a\n");
        else
            assert_non_null(strstr(text, "] plan: 005930 tier none -> 1 (demand)\n")); /* the time first */
        free(text);
    }
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
        cmocka_unit_test(test_journal_lines),
        cmocka_unit_test(test_lws_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
