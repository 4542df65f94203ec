/* A whole simulated KRX day, 08:55-15:30, of the strata runtime on a KIS feed against
 * strata-exsim on loopback: six time slots with their own allocations, emergencies through the
 * day, more demand than one session holds, and the rest of the 391-symbol universe polled by
 * REST. The venue's own accounting must show the 41-registration cap never exceeded and never
 * refused, one session all day, at the end exactly what strata believes it holds, REST calls
 * never over 20 in any second and none refused, one token; the log must carry no alert.
 * Both clocks run x400 from the same start; nothing asserts on speed or timing.
 * The day is recorded (runtime.record) with the gap strategy screening every symbol, and the
 * recording replayed as recorded with the same strategy gives the same signals (issue 17.3). */
#define _GNU_SOURCE /* memmem, strcasestr in wsclient.h */
#include "runtime_fixture.h"
#include "../exsim/spawn.h"
#include "../exsim/wsclient.h"

#include "app/runtime.h"
#include "core/log.h"
#include "core/res.h"
#include "core/timefmt.h"

#include <time.h>

#include <cjson/cJSON.h>

/* x400: a day in a minute. Under the sanitizers everything runs several times slower (CI's
 * full-unwind malloc most of all), and a millisecond of lag is 400 ms of market time: x100
 * there keeps the day's timing meaningful (at x200, stalls of both processes crowded REST calls
 * strata sent seconds apart into one venue second: 67 refused in one CI run; alone at x200
 * without the full unwind, the most in a second was 5). */
#if defined(__SANITIZE_ADDRESS__)
#define SPEED "100"
#else
#define SPEED "400"
#endif

static st_runtime_t rt;
static int port;
static st_timer_t emergency_timer, audit_timer;
static int emergencies_tried, emergencies_ok;
static int venue_held_late = -1, strata_held_late = -1, strata_desired_late = -1;
static const char *const emergency_times[] = {"09:05", "09:40", "10:20", "11:10", "11:45", "13:10",
                                              "14:05", "14:35", "15:05"};

static cJSON *exsim_stats(void)
{
    char *body = http_get(port, "/control/stats");
    assert_non_null(body);
    cJSON *j = cJSON_Parse(body);
    free(body);
    assert_non_null(j);
    return j;
}

static double jnum(cJSON *j, const char *k)
{
    cJSON *x = cJSON_GetObjectItem(j, k);
    assert_true(cJSON_IsNumber(x));
    return x->valuedouble;
}

/* emergency_subscribe, as a strategy would: symbols 40.. of the universe, which the config
 * only watches at medium priority, with a priority score above a critical holder's value
 * (100), so once the reserve is used up each one evicts a holder at once. */
static void on_emergency(st_timer_t *t, st_time_t now, void *ctx)
{
    const st_universe_t *u = &rt.world->universe;
    char why[256] = "";
    st_sym_t s = u->items[40 + emergencies_tried].sym;
    int rc = st_runtime_emergency(&rt, rt.req_config, s, 150, why, sizeof(why));
    if (rc == 0) emergencies_ok++;
    else printf("# emergency %s refused: %s\n", u->items[40 + emergencies_tried].code, why);
    emergencies_tried++;
    if ((size_t)emergencies_tried < ST_ARRAY_SIZE(emergency_times))
        st_clock_timer_start(&rt.clock, &emergency_timer, st_test_at(emergency_times[emergencies_tried]), 0);
}

/* Late in the day, long after the last change: the venue holds what strata believes. */
static void on_audit(st_timer_t *t, st_time_t now, void *ctx)
{
    st_feed_stats_t fs;
    st_feed_stats(rt.feeds[0], &fs);
    strata_held_late = (int)fs.ws_used;
    strata_desired_late = (int)fs.ws_desired;
    cJSON *j = exsim_stats();
    cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "sessions"), 0);
    venue_held_late = s ? (int)jnum(s, "registrations") : -1;
    cJSON_Delete(j);
}

/* A signal record without what belongs to the run rather than to the signal: the symbol's tier
 * then and the config generation (the replay has no watch list, so its plan differs); the
 * strategy's fingerprint stays (the same code). */
static void strip_run(char *s)
{
    for (char *t; (t = strstr(s, ",\"tier\":"));) {
        char *f = strstr(t, ",\"fingerprint\":");
        assert_non_null(f);
        memmove(t, f, strlen(f) + 1);
        s = t + 1;
    }
}

static void test_whole_day_within_the_cap(void **state)
{
    char dir[] = "/tmp/strata-kisday-XXXXXX";
    assert_non_null(mkdtemp(dir));
    pid_t pid = 0;
    port = exsim_spawn_with(SPEED, "2026-11-23 08:55", "--duration", "600s", &pid);
    assert_true(port > 0);
    setenv("KIS_DAY_KEY", "day-app-key", 1);
    setenv("KIS_DAY_SECRET", "day-app-secret", 1);

    /* 10 critical and 30 high stocks, the 5 indices, 8 medium: more than any slot holds. */
    char *uni_text;
    size_t uni_len;
    assert_int_equal(st_file_read(st_test_source_path("config/universe.csv"), &uni_text, &uni_len), 0);
    size_t cap = 1 << 16, off = 0;
    char *yaml = malloc(cap);
    off += (size_t)snprintf(yaml + off, cap - off,
                            "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 08:55\", stop: \"15:30\", speed: " SPEED "}\n"
                            "  log: {file: %s/strata.log}\n  record: day.strata\n"
                            "market:\n  universe: %s/config/universe.csv\n  indices: %s/config/indices.csv\n"
                            "  watch_universe: background\n  watch:\n",
                            dir, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR);
    char *line = strchr(uni_text, '\n') + 1; /* skip the header */
    for (int i = 0; i < 48 && line && *line; i++) {
        off += (size_t)snprintf(yaml + off, cap - off, "    - {symbol: \"%.6s\", priority: %s}\n", line,
                                i < 10 ? "critical" : i < 40 ? "high" : "medium");
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    free(uni_text);
    static const char *const idx[] = {"0001", "1001", "2001", "3003", "4001"};
    for (size_t i = 0; i < ST_ARRAY_SIZE(idx); i++)
        off += (size_t)snprintf(yaml + off, cap - off, "    - {symbol: \"%s\", priority: high}\n", idx[i]);
    snprintf(yaml + off, cap - off,
             "feeds:\n  - name: kis\n    kind: kis\n    ws_url: ws://127.0.0.1:%d/\n    rest_url: http://127.0.0.1:%d\n"
             /* x400: a millisecond of either process's lag is 400 ms of venue time, which can
              * crowd calls strata sent a second apart into one of the venue's seconds; rest_rate
              * 10 leaves the venue's 20 room for that (15 did not, once, under ASan on a machine
              * busy with two other builds: 20 in a venue second, 17 refused). The exact limit is
              * held at lower speeds by test_kis_rest and bench_coverage. */
             "    stall_timeout: 1h\n    rest_rate: 10\n    token_dir: %s/tokens\n"
             "    keys: [{app_key_env: KIS_DAY_KEY, app_secret_env: KIS_DAY_SECRET}]\n"
             "strategies:\n  - {name: gap, kind: lua, path: %s/strategies/gap.lua, all_symbols: true}\n"
             "signals: {sinks: [{kind: jsonl, path: live.jsonl}]}\n"
             "status: {enabled: false}\n",
             port, port, dir, STRATA_SOURCE_DIR);
    char *cfg = st_test_write(dir, "day.yaml", yaml);
    free(yaml);

    FILE *out = fopen("/dev/null", "w");
    st_test_runtime_init(&rt, cfg, out);
    st_timer_init(&emergency_timer, on_emergency, NULL);
    st_timer_init(&audit_timer, on_audit, NULL);
    st_clock_timer_start(&rt.clock, &emergency_timer, st_test_at(emergency_times[0]), 0);
    st_clock_timer_start(&rt.clock, &audit_timer, st_test_at("15:28"), 0);
    assert_int_equal(st_runtime_run(&rt), 0);

    st_counters_t c;
    st_runtime_collect(&rt, &c);
    st_runtime_free(&rt);
    st_log_close();
    fclose(out);

    cJSON *j = exsim_stats();
    int max_ever = (int)jnum(j, "max_registrations_ever");
    printf("# venue: max registrations %d, refused over cap %.0f, sessions %.0f, frames %.0f\n", max_ever,
           jnum(j, "refused_over_cap"), jnum(j, "sessions_total"), jnum(j, "frames_sent"));
    printf("# strata: %d/%d emergencies, %llu plan changes, %llu ticks; at 15:28 venue %d, strata %d of %d wanted\n",
           emergencies_ok, emergencies_tried, (unsigned long long)c.plan_changes,
           (unsigned long long)c.ticks_delivered, venue_held_late, strata_held_late, strata_desired_late);
    assert_true(max_ever <= 41);
    assert_true(max_ever >= 35); /* the day did fill the session */
    assert_int_equal(jnum(j, "refused_over_cap"), 0);
    assert_int_equal(jnum(j, "sessions_total"), 1);
    cJSON *rest = cJSON_GetObjectItem(j, "rest");
    printf("# REST: %.0f quotation calls, most in one second %.0f, refused %.0f; polled %lld symbols, "
           "background every %.0f s on average\n", jnum(rest, "calls"), jnum(rest, "max_per_second"),
           jnum(rest, "refused_rate"), (long long)c.poll_symbols, (double)c.poll_age[ST_PRIO_BACKGROUND] / ST_SEC);
    assert_true(jnum(rest, "max_per_second") <= jnum(rest, "limit_per_second"));
    assert_int_equal(jnum(rest, "refused_rate"), 0);
    assert_int_equal(jnum(rest, "refused_token"), 0);
    assert_int_equal(jnum(rest, "tokens_issued"), 1);
    assert_true(jnum(rest, "calls") > 500); /* 350 symbols every 5 minutes, 30 to a call, all day */
    /* Background symbols were polled, within the budget (no interval stretched). How far apart
     * is test_poller's exact test; here the mean is only printed: at x400 a loaded process's
     * milliseconds late are seconds of market time (issue 19: no test asserts a time). */
    assert_true(c.poll_age[ST_PRIO_BACKGROUND] > 0);
    assert_true(c.poll_stretch <= 1.0);
    cJSON_Delete(j);
    assert_int_equal(emergencies_tried, (int)ST_ARRAY_SIZE(emergency_times));
    assert_int_equal(emergencies_ok, emergencies_tried);
    assert_true(c.plan_changes > 50);
    assert_true(c.ticks_delivered > 10000);
    assert_int_equal(venue_held_late, strata_held_late);
    assert_int_equal(strata_held_late, strata_desired_late);
    assert_int_equal(exsim_reap(pid), 0);

    /* Every slot was entered, nothing alerted, nothing was refused. */
    char log[128], *text;
    size_t len;
    snprintf(log, sizeof(log), "%s/strata.log", dir);
    assert_int_equal(st_file_read(log, &text, &len), 0);
    static const char *const slots[] = {"golden_time", "morning_trend", "lunch", "closing_trend", "after_market"};
    for (size_t i = 0; i < ST_ARRAY_SIZE(slots); i++) {
        if (!strstr(text, slots[i])) printf("# no slot %s in the log\n", slots[i]);
        assert_non_null(strstr(text, slots[i]));
    }
    if (strstr(text, "[alert]")) printf("%s", strstr(text, "[alert]"));
    assert_null(strstr(text, "[alert]"));
    assert_null(strstr(text, "refused"));
    /* an emergency that took a holder's place says which, in its plan line */
    const char *ev = strstr(text, " (emergency; evicted ");
    assert_non_null(ev);
    const char *bol = ev;
    while (bol > text && bol[-1] != '\n') bol--;
    printf("# %.*s\n", (int)strcspn(bol, "\n"), bol);
    free(text);
    free(cfg);

    /* The recorded day, replayed as recorded with the same strategy: the same signals. */
    char replay[2048];
    snprintf(replay, sizeof(replay),
             "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 08:55\", stop: \"15:30\", speed: 0}\n"
             "  log: {file: %s/replay.log}\n  session_report: \"\"\n"
             "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv}\n"
             "feeds: [{name: kis, kind: replay, path: day.strata}]\n"
             "strategies:\n  - {name: gap, kind: lua, path: %s/strategies/gap.lua, all_symbols: true}\n"
             "signals: {sinks: [{kind: jsonl, path: replayed.jsonl}]}\n"
             "status: {enabled: false}\n",
             dir, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR);
    cfg = st_test_write(dir, "replay.yaml", replay);
    out = fopen("/dev/null", "w");
    st_test_runtime_init(&rt, cfg, out);
    assert_int_equal(st_runtime_run(&rt), 0);
    st_runtime_free(&rt);
    st_log_close();
    fclose(out);
    free(cfg);
    char path[160], *live, *again;
    snprintf(path, sizeof(path), "%s/live.jsonl", dir);
    assert_int_equal(st_file_read(path, &live, &len), 0);
    snprintf(path, sizeof(path), "%s/replayed.jsonl", dir);
    assert_int_equal(st_file_read(path, &again, &len), 0);
    assert_non_null(strstr(live, ",\"generation\":1,\"fingerprint\":\"")); /* the run's provenance is there */
    strip_run(live), strip_run(again);
    int lines = 0;
    for (const char *p = live; *p; p++) lines += *p == '\n';
    printf("# the recorded day replayed: %d signals, the same: %s\n", lines, strcmp(live, again) == 0 ? "yes" : "no");
    assert_true(lines > 0);
    assert_string_equal(live, again);
    free(live), free(again);
    assert_int_equal(st_test_rmtree(dir), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_day_within_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
