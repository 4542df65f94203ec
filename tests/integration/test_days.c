/* Weeks in one run (issue 21.2): 30 simulated calendar days at speed 0 through weekends, the
 * shipped calendar's holidays (Chuseok, National Foundation Day, Hangul Day 2026) and days the
 * config adds (a closure, and a session moved to 10:00-16:30). Every trading day has its own
 * session report, with that day's counters; closed days have none; the slots are re-armed each
 * day (moved with the session); the strategies hear on_day once per trading day; the log rolls
 * by date; and the process stays flat: descriptors and timers equal at every day's end, resident
 * memory within a bound after the first week. */
#include "runtime_fixture.h"

#include "core/res.h"

#include <cjson/cJSON.h>
#include <dirent.h>

/* Signals 005930 as each trading day begins (with its date) and again when after-market starts:
 * the second falls within the first's cooldown, so each day's report says 1 signal and 1
 * suppressed, and the next day's first is let through because the cooldown ended with the day. */
static const char strategy[] =
    "local M = {}\n"
    "function M.init(params) strata.watch('005930', 'high') end\n"
    "function M.on_day(date)\n"
    "  strata.signal{symbol = '005930', side = 'buy', strength = 1, reason = 'day ' .. date}\n"
    "end\n"
    "function M.on_timeslot(slot)\n"
    "  if slot == 'after_market' then strata.signal{symbol = '005930', side = 'sell', strength = 1, reason = slot} end\n"
    "end\n"
    "return M\n";

static char *slurp(const char *path)
{
    char *text = NULL;
    size_t len;
    if (st_file_read(path, &text, &len) != 0) return NULL;
    return text;
}

static cJSON *report(const char *dir, const char *date)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/rep-%s.json", dir, date);
    char *text = slurp(path);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    return j;
}

static double num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, a), b);
    if (!cJSON_IsNumber(x)) fail_msg("no number %s.%s", a, b);
    return x->valuedouble;
}

/* The `from` of a slot in the report's time_slots ("" if absent). */
static const char *slot_from(const cJSON *rep, const char *slot)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rep, "time_slots"))
    if (!strcmp(cJSON_GetObjectItemCaseSensitive(e, "slot")->valuestring, slot))
        return cJSON_GetObjectItemCaseSensitive(e, "from")->valuestring;
    return "";
}

static size_t count_files(const char *dir, const char *prefix)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d) closedir(d);
    return n;
}

static void test_thirty_days(void **state)
{
    char *dir = st_test_tmpdir();
    char *lua = st_test_write(dir, "days.lua", strategy);
    char text[2048];
    snprintf(text, sizeof(text),
             "runtime:\n"
             "  clock: {mode: simulated, start: \"08:50\", speed: 0}\n"
             "  report_interval: 0\n"
             "  session_report: rep-%%Y-%%m-%%d.json\n"
             "  log: {file: log-%%Y-%%m-%%d.log}\n"
             "market:\n"
             "  universe: %s/config/universe.csv\n"
             "  indices: %s/config/indices.csv\n"
             "  watch_universe: background\n"
             "  closed: [{date: \"2026-09-16\", name: \"a closure of the config's\"}]\n"
             "  special: [{date: \"2026-10-07\", name: \"a late session\", open: \"10:00\", close: \"16:30\"}]\n"
             "feeds: [{name: sim, kind: sim, seed: 7}]\n"
             "strategies: [{name: days, kind: lua, path: days.lua}]\n"
             "signals: {cooldown: 20h, sinks: [{kind: jsonl, path: signals.jsonl}]}\n"
             "status: {enabled: false}\n",
             STRATA_SOURCE_DIR, STRATA_SOURCE_DIR);
    char *cfg = st_test_write(dir, "days.yaml", text);
    char *out_path = st_test_write(dir, "out.txt", "");
    FILE *out = fopen(out_path, "w");
    st_runtime_t rt;
    st_runtime_opts_t opts = {.from = "2026-09-14", .to = "2026-10-13"};
    assert_int_equal(st_runtime_open(&rt, cfg, out, &opts), 0);
    assert_int_equal(st_runtime_run(&rt), 0);
    st_runtime_free(&rt);
    fclose(out);

    /* the trading days: the calendar's, less 09-16 (the config's closure) */
    static const char *const days[] = {"2026-09-14", "2026-09-15", "2026-09-17", "2026-09-18", "2026-09-21",
                                       "2026-09-22", "2026-09-23", "2026-09-28", "2026-09-29", "2026-09-30",
                                       "2026-10-01", "2026-10-02", "2026-10-06", "2026-10-07", "2026-10-08",
                                       "2026-10-12", "2026-10-13"};
    size_t n = ST_ARRAY_SIZE(days);
    assert_int_equal(count_files(dir, "rep-"), n); /* none for a closed day */
    assert_int_equal(count_files(dir, "log-"), 30); /* one a calendar day */
    double fds = -1, timers = -1, rss_week = 0, rss_max = 0, since = 0, evening = -1;
    for (size_t i = 0; i < n; i++) {
        cJSON *r = report(dir, days[i]);
        if (!r) fail_msg("no report for %s", days[i]);
        const char *date = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "session"), "date")->valuestring;
        assert_string_equal(date, days[i]);
        bool late = !strcmp(days[i], "2026-10-07");
        /* the day's own counters, the run's beside them */
        assert_int_equal(num(r, "signals", "total"), 1);
        assert_int_equal(num(r, "signals", "suppressed"), 1);
        assert_int_equal(num(r, "since_start", "signals"), (double)(i + 1));
        assert_true(num(r, "api", "calls") > 0);
        /* the schedule re-armed for the day, moved with its session */
        assert_string_equal(slot_from(r, "golden_time"), late ? "10:00:00" : "09:00:00");
        assert_string_equal(slot_from(r, "closing_trend"), late ? "15:00:00" : "14:00:00");
        assert_string_equal(slot_from(r, "after_market"), late ? "16:20:00" : "15:20:00");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "session"), "end")->valuestring + 11,
                            late ? "16:30:00" : "15:30:00");
        /* flat: the same descriptors and timers at every day's end, memory bounded after a week */
        double f = num(r, "process", "fds"), t = num(r, "process", "timers"), rss = num(r, "process", "rss_kb");
        printf("# %s: rss %.0f kB, %.0f fds, %.0f timers, %.0f api calls\n", days[i], rss, f, t, num(r, "api", "calls"));
        if (i == 0) fds = f, timers = t;
        assert_int_equal(f, fds);
        assert_int_equal(t, timers);
        if (i == 5) rss_week = rss;
        /* REST calls between two reports, less the day's own: the previous day's evening, and
         * nothing more over the closed days between them (a closed day polls nothing) */
        double total = num(r, "since_start", "api_calls"), between = total - since - num(r, "api", "calls");
        if (i > 0 && strcmp(days[i - 1], "2026-10-07") != 0) { /* after a regular day's close */
            if (evening < 0) evening = between;
            if (between != evening) fail_msg("%s: %.0f calls before the day, not %.0f", days[i], between, evening);
        }
        since = total;
        if (i >= 5 && rss > rss_max) rss_max = rss;
        cJSON_Delete(r);
    }
    assert_true(rss_max - rss_week < 4096); /* growth after the first week: under 4 MB (allocator noise) */
    /* on_day once per trading day, with its date, the first as the run starts */
    char path[512];
    snprintf(path, sizeof(path), "%s/signals.jsonl", dir);
    char *sig = slurp(path), *at = sig;
    assert_non_null(sig);
    for (size_t i = 0; i < n; i++) {
        char want[40];
        snprintf(want, sizeof(want), "\"reason\":\"day %s\"", days[i]);
        char *hit = strstr(at, want);
        if (!hit) fail_msg("no on_day signal for %s (in order)", days[i]);
        at = hit + 1;
    }
    assert_null(strstr(sig, "day 2026-09-16")); /* closed days have none */
    assert_null(strstr(sig, "day 2026-09-24"));
    free(sig);
    /* the closed days said so in their day's log */
    snprintf(path, sizeof(path), "%s/log-2026-09-24.log", dir);
    char *log = slurp(path);
    assert_non_null(log);
    if (!strstr(log, "2026-09-24: the market is closed: holiday Chuseok until 2026-09-28 09:00"))
        fail_msg("log of 09-24: %s", log);
    free(log);
    free(lua), free(cfg), free(out_path);
    st_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thirty_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
