#define _GNU_SOURCE /* memmem */
/* The strata binary as a user runs it: subcommands, located errors, the demo day, signal
 * handling (SIGHUP with a broken config keeps the old one; SIGTERM exits 0), and strata status
 * against a running strata. Waits poll files with a generous deadline that only guards against
 * a hang; nothing here asserts on speed. */
#include "../test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "core/common.h"
#include "record/recfile.h"

#include <cjson/cJSON.h>
#include <math.h>

static char *dir;

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return strdup("");
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)n + 1);
    if (fread(buf, 1, (size_t)n, fp) != (size_t)n) buf[0] = 0;
    fclose(fp);
    return buf;
}

static pid_t spawn(char *const argv[], const char *out, const char *err)
{
    fflush(stdout); /* or the child's freopen writes what the test printed so far once more */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr)) _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Runs strata with args (NULL-terminated, up to 15); returns the exit code and the outputs
 * (caller frees). */
static int run_argv(const char *const *args, char **out, char **err)
{
    char o[512], e[512];
    snprintf(o, sizeof(o), "%s/out.txt", dir);
    snprintf(e, sizeof(e), "%s/err.txt", dir);
    char *argv[17] = {STRATA_BIN};
    for (int i = 0; i < 15 && args[i]; i++) argv[i + 1] = (char *)args[i];
    int rc = wait_exit(spawn(argv, o, e));
    *out = slurp(o);
    *err = slurp(e);
    return rc;
}

/* Runs strata with up to five args (a NULL ends them). */
static int run5(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5, char **out,
                char **err)
{
    return run_argv((const char *[]){a1, a2, a3, a4, a5, NULL}, out, err);
}

static int run(const char *a1, const char *a2, const char *a3, char **out, char **err)
{
    return run5(a1, a2, a3, NULL, NULL, out, err);
}

static bool wait_for(const char *path, const char *needle, int count)
{
    for (int i = 0; i < 6000; i++) { /* up to 60 s */
        char *t = slurp(path);
        int seen = 0;
        for (char *p = t; (p = strstr(p, needle)); p++) seen++;
        free(t);
        if (seen >= count) return true;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_version_and_help(void **state)
{
    char *out, *err;
    assert_int_equal(run("version", NULL, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "strata 0."));
    free(out), free(err);
    const char *cmds[] = {"run", "check"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run(cmds[i], "--help", NULL, &out, &err), 0);
        assert_non_null(strstr(out, "usage: strata "));
        assert_non_null(strstr(out, "--config"));
        free(out), free(err);
    }
    assert_int_equal(run("--help", NULL, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "commands:"));
    free(out), free(err);
    assert_int_equal(run("frobnicate", NULL, NULL, &out, &err), 2);
    assert_non_null(strstr(err, "unknown command 'frobnicate'"));
    free(out), free(err);
    assert_int_equal(run("check", "--bogus", NULL, &out, &err), 2);
    free(out), free(err);
}

static void test_check_demo_ok(void **state)
{
    char *out, *err;
    assert_int_equal(run("check", NULL, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "embedded:demo.yaml: ok (391 symbols, 5 indices"));
    free(out), free(err);
    /* and the shipped configs of README's third command */
    const char *shipped[] = {st_test_source_path("config/demo.yaml"), st_test_source_path("config/record.yaml"),
                             st_test_source_path("config/backtest.yaml")};
    for (size_t i = 0; i < ST_ARRAY_SIZE(shipped); i++) {
        assert_int_equal(run("check", "-c", shipped[i], &out, &err), 0);
        free(out), free(err);
    }
}

static void test_check_five_mistakes(void **state)
{
    char *cfg = st_test_write(dir, "bad.yaml",
                              "runtime:\n"
                              "  timezone: Asia/Tokio\n"          /* 2: unknown zone */
                              "  clock: {mode: simulated, speed: fast}\n" /* 3: not a number */
                              "market:\n"
                              "  universe: missing.csv\n"         /* 5: unreadable */
                              "tiers:\n"
                              "  polling: {medium: 30}\n"         /* 7: no unit */
                              "rebalanse: {interval: 5m}\n");     /* 8: unknown key */
    char *out, *err;
    assert_int_equal(run("check", "-c", cfg, &out, &err), 1);
    printf("%s", err);
    assert_int_equal(count_lines(err), 6); /* five located errors and the count */
    char want[5][128];
    snprintf(want[0], 128, "%s:3:35: runtime.clock.speed: expected a number", cfg);
    snprintf(want[1], 128, "%s:7:21: tiers.polling.medium: expected a duration", cfg);
    snprintf(want[2], 128, "%s:8:1: unknown key \"rebalanse\" (did you mean \"rebalance\"?)", cfg);
    snprintf(want[3], 128, "%s:2:3: runtime.timezone: unknown time zone \"Asia/Tokio\"", cfg);
    snprintf(want[4], 128, "%s:5:3: market.universe: cannot read", cfg);
    for (int i = 0; i < 5; i++) {
        if (!strstr(err, want[i])) printf("# missing: %s\n", want[i]);
        assert_non_null(strstr(err, want[i]));
    }
    assert_non_null(strstr(err, "5 errors"));
    free(out), free(err), free(cfg);
}

/* market_more: further keys of the one-line market mapping, each after ", ". */
static char *write_config(const char *name, const char *clock, const char *market_more, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "runtime:\n"
             "  clock: {mode: simulated, start: \"2026-11-23 08:50\", %s}\n"
             "  log: {file: strata.log}\n"
             "  report_interval: 15m\n"
             "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv%s}\n"
             "%s%s",
             clock, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, market_more, extra,
             /* tests run side by side: none takes the default status port unless it asks */
             strstr(extra, "status:") ? "" : "status: {enabled: false}\n");
    return st_test_write(dir, name, text);
}

/* strata check compiles every strategy: a Lua syntax error is reported at its strategy entry
 * with the script's own file:line, a file that is no plugin is refused by name, a good
 * strategy passes. */
static void test_check_compiles_strategies(void **state)
{
    free(st_test_write(dir, "good.lua", "local M = {}\nfunction M.on_trade(sym, t)\n  strata.buy(sym)\nend\nreturn M\n"));
    free(st_test_write(dir, "bad.lua", "local M = {}\nfunction M.on_trade(sym, t)\n  if then end\nend\nreturn M\n"));
    free(st_test_write(dir, "fake.so", "not a shared object\n"));
    char *cfg = write_config("strat.yaml", "speed: 0", "",
                             "strategies:\n"
                             "  - {name: good, kind: lua, path: good.lua}\n"
                             "  - {name: bad, kind: lua, path: bad.lua}\n"
                             "  - {name: fake, kind: c, path: fake.so}\n");
    char *out, *err;
    assert_int_equal(run("check", "-c", cfg, &out, &err), 1);
    printf("%s", err);
    char want[2][256];
    snprintf(want[0], sizeof(want[0]), "%s:8:5: strategies[1] \"bad\": %s/bad.lua:3:", cfg, dir);
    snprintf(want[1], sizeof(want[1]), "%s:9:5: strategies[2] \"fake\": plugin fake: cannot load", cfg);
    for (int i = 0; i < 2; i++) {
        if (!strstr(err, want[i])) printf("# missing: %s\n", want[i]);
        assert_non_null(strstr(err, want[i]));
    }
    assert_null(strstr(err, "\"good\""));
    snprintf(want[0], sizeof(want[0]), "warning: %s/good.lua:3: strata.buy is not a strata function", dir);
    assert_non_null(strstr(err, want[0])); /* issue 15.8: a warning, not an error */
    assert_non_null(strstr(err, "2 errors"));
    free(out), free(err), free(cfg);
}

/* The demo path, as fast as possible: a whole day, every slot, the summary, exit 0. */
static void test_run_full_day(void **state)
{
    char *cfg = write_config("day.yaml", "speed: 0, stop: \"15:30\"", "", "");
    char *out, *err;
    assert_int_equal(run("run", "-c", cfg, &out, &err), 0);
    assert_non_null(strstr(out, "[08:50:00] monitored 0 | websocket 0/41 | slot pre_market"));
    assert_non_null(strstr(out, "[09:15:00] monitored 0 | websocket 0/41 | slot golden_time"));
    assert_non_null(strstr(out, "[15:30:00]"));
    assert_non_null(strstr(out, "strata session summary: 2026-11-23 08:50:00 -> 15:30:00"));
    const char *want[] = {"pre_market", "golden_time", "morning_trend", "lunch", "closing_trend",
                          "after_market", "top gainers:", "most traded:"};
    for (size_t i = 0; i < ST_ARRAY_SIZE(want); i++) assert_non_null(strstr(out, want[i]));
    char log[512];
    snprintf(log, sizeof(log), "%s/strata.log", dir);
    char *l = slurp(log);
    assert_non_null(strstr(l, "time slot lunch"));
    assert_null(strstr(l, "[alert]"));
    assert_null(strstr(l, "[error]"));
    free(l), free(out), free(err), free(cfg);
    unlink(log);
}

/* strata run "today" on a day the market is closed (here: today and tomorrow closed by the config)
 * says so and simulates the next trading day instead of an empty one (issue 21.1). */
static void test_run_on_a_closed_day_runs_the_next(void **state)
{
    st_tz_set("Asia/Seoul");
    int32_t today = st_local_day(st_wall_now());
    char d0[16], d1[16], more[256], text[2048];
    st_format_date(today, d0, sizeof(d0));
    st_format_date(today + 1, d1, sizeof(d1));
    snprintf(more, sizeof(more), ", closed: [{date: \"%s\", name: Test day}, {date: \"%s\", name: Test day}]", d0, d1);
    snprintf(text, sizeof(text),
             "runtime:\n"
             "  clock: {mode: simulated, start: \"08:50\", stop: \"09:05\", speed: 0}\n"
             "  log: {file: closed.log}\n"
             "  session_report: closed-%%Y-%%m-%%d.json\n"
             "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv%s}\n"
             "status: {enabled: false}\n",
             STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, more);
    char *cfg = st_test_write(dir, "closed.yaml", text);
    char *out, *err;
    assert_int_equal(run("run", "-c", cfg, &out, &err), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/closed.log", dir);
    char *l = slurp(path);
    char want[200];
    snprintf(want, sizeof(want), "today, %s, the KRX market is closed: holiday Test day until ", d0);
    if (!strstr(l, want) || !strstr(l, "simulating the next trading day")) fail_msg("log: %s", l);
    assert_null(strstr(out, "slot closed")); /* the run is on a trading day */
    /* the day run is the next trading day after both: its report is named for it */
    char *next = strstr(l, "simulating the next trading day, ") + strlen("simulating the next trading day, ");
    assert_true(strncmp(next, d0, 10) != 0 && strncmp(next, d1, 10) != 0);
    snprintf(path, sizeof(path), "%s/closed-%.10s.json", dir, next);
    assert_int_equal(access(path, R_OK), 0);
    unlink(path);
    snprintf(path, sizeof(path), "%s/closed.log", dir);
    unlink(path);
    free(l), free(out), free(err), free(cfg);

    /* today trading (a 24/7 calendar): the day is said as it begins, as every later one is */
    snprintf(text, sizeof(text),
             "runtime:\n"
             "  clock: {mode: simulated, start: \"08:50\", stop: \"08:51\", speed: 0}\n"
             "  log: {file: open.log}\n"
             "  session_report: \"\"\n"
             "market: {universe: %s/config/universe.csv, indices: \"\", calendar: 24/7}\n"
             "status: {enabled: false}\n",
             STRATA_SOURCE_DIR);
    cfg = st_test_write(dir, "open.yaml", text);
    assert_int_equal(run("run", "-c", cfg, &out, &err), 0);
    snprintf(path, sizeof(path), "%s/open.log", dir);
    l = slurp(path);
    snprintf(want, sizeof(want), "%s: a trading day, session 00:00-24:00", d0);
    if (!strstr(l, want)) fail_msg("no \"%s\" in: %s", want, l);
    unlink(path);
    free(l), free(out), free(err), free(cfg);
}

/* Removes every "key":value (up to the next ',' or '}') from a JSON text, in place; at least one. */
static void drop_field(char *s, const char *key)
{
    int n = 0;
    for (char *p; (p = strstr(s, key)) != NULL; n++) {
        char *end = p + strcspn(p, ",}");
        if (*end == ',') end++;
        memmove(p, end, strlen(end) + 1);
    }
    assert_true(n > 0);
}

/* Whether two recordings hold the same items, in the same order, field by field; their count. */
static uint64_t same_recordings(const char *a, const char *b)
{
    char err[256];
    st_rec_reader_t *ra = st_rec_open(a, err, sizeof(err)), *rb;
    if (!ra) fail_msg("%s", err);
    if (!(rb = st_rec_open(b, err, sizeof(err)))) fail_msg("%s", err);
    st_rec_item_t x, y;
    uint64_t n = 0;
    char code[32];
    for (;; n++) {
        int gx = st_rec_next(ra, &x);
        snprintf(code, sizeof(code), "%s", gx == 1 ? x.code : "");
        int gy = st_rec_next(rb, &y);
        assert_int_equal(gx, gy);
        if (gx != 1) break;
        if (x.type != y.type || x.time != y.time || strcmp(code, y.code) != 0)
            fail_msg("item %llu differs: %d %lld %s against %d %lld %s", (unsigned long long)n, x.type,
                     (long long)x.time, code, y.type, (long long)y.time, y.code);
        if (x.type == ST_REC_TICK) {
            assert_memory_equal(&x.tick, &y.tick, sizeof(x.tick));
            assert_int_equal(x.conn, y.conn);
        } else {
            assert_int_equal(x.event, y.event);
            assert_int_equal(x.text_len, y.text_len);
            assert_memory_equal(x.text, y.text, x.text_len);
        }
    }
    st_rec_free(ra), st_rec_free(rb);
    return n;
}

/* The config of the limited-replay test: one feed, a recording, a signals file. */
static char *limited_config(const char *name, const char *feed, const char *record, const char *signals)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "runtime:\n"
             "  clock: {mode: simulated, start: \"2026-11-23 08:50\", stop: \"10:00\", speed: 0}\n"
             "  log: {file: strata.log}\n  session_report: \"\"\n  record: %s\n"
             "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv,"
             " watch_universe: background, watch: [{symbol: \"005930\", priority: critical}]}\n"
             "feeds: [%s]\n"
             "strategies:\n"
             "  - {name: gap, kind: lua, path: %s/strategies/gap.lua, all_symbols: true, params: {threshold: 0.03}}\n"
             "  - {name: volume_watch, kind: lua, path: %s/strategies/volume_watch.lua, all_symbols: true}\n"
             "signals: {sinks: [{kind: jsonl, path: %s}]}\n"
             "status: {enabled: false}\n%s",
             record, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, feed, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, signals,
             strstr(feed, "budget: 4") ? "schedule: [{name: all_day, start: \"08:00\", realtime: 1, indices: 1, reserve: 1}]\n"
                                       : "");
    return st_test_write(dir, name, text);
}

/* Issue 17.3, mode: limited. The sim feed records its whole market (every trade of every
 * symbol, not only what was delivered); replaying that tape through the same venue limits gives
 * the live run again — every tick delivered, every tier decision, every signal, in order — and
 * through a tenth of the registrations, what a strategy would have seen with 4 slots: the
 * planner holds to them, the venue counts no violation, and less arrives in real time. */
static void test_limited_replay_decides_like_the_live_run(void **state)
{
    const char *name[] = {"live", "limited", "narrow"};
    const char *feed[] = {"{name: sim, kind: sim, seed: 5, record: {path: market-%Y%m%d.strata, scope: market}}",
                          "{name: sim, kind: replay, mode: limited, path: market-20261123.strata}",
                          "{name: sim, kind: replay, mode: limited, path: market-20261123.strata, budget: 4}"};
    char *out[3], *err[3], *sig[3], path[512], rec[3][512];
    for (int i = 0; i < 3; i++) {
        char cfgname[64], recname[64], signame[64];
        snprintf(cfgname, sizeof(cfgname), "%s.yaml", name[i]);
        snprintf(recname, sizeof(recname), "%s.strata", name[i]);
        snprintf(signame, sizeof(signame), "%s.jsonl", name[i]);
        char *cfg = limited_config(cfgname, feed[i], recname, signame);
        int rc = run("run", "-c", cfg, &out[i], &err[i]);
        if (rc) fail_msg("%s: %s", name[i], err[i]);
        free(cfg);
        snprintf(path, sizeof(path), "%s/%s", dir, signame);
        sig[i] = slurp(path);
        unlink(path);
        snprintf(rec[i], sizeof(rec[i]), "%s/%s", dir, recname);
    }
    snprintf(path, sizeof(path), "%s/strata.log", dir);
    char *lg = slurp(path);
    assert_null(strstr(lg, "[alert]")); /* no plan/ledger mismatch, no venue limit exceeded */
    assert_null(strstr(lg, "[error]"));
    assert_non_null(strstr(lg, "replaying the market tape"));
    free(lg);
    unlink(path);
    uint64_t items = same_recordings(rec[0], rec[1]);
    printf("# the limited replay recorded the live run's %llu items, the same\n", (unsigned long long)items);
    assert_true(items > 10000);
    assert_true(strlen(sig[0]) > 100);
    assert_string_equal(sig[0], sig[1]);
    /* four registrations: the status lines say so, no violation, and fewer ticks in real time */
    if (!strstr(out[2], "websocket 3/4")) fail_msg("%s", out[2]);
    assert_null(strstr(out[2], "/41"));
    assert_non_null(strstr(out[2], "violations 0"));
    char e2[256];
    uint64_t realtime[3] = {0};
    for (int i = 0; i < 3; i += 2) {
        st_rec_reader_t *r = st_rec_open(rec[i], e2, sizeof(e2));
        assert_non_null(r);
        st_rec_item_t it;
        while (st_rec_next(r, &it) == 1) realtime[i] += it.type == ST_REC_TICK && it.tick.kind != ST_TICK_SNAPSHOT;
        st_rec_free(r);
    }
    printf("# trades and books delivered: %llu with 41 registrations, %llu with 4\n", (unsigned long long)realtime[0],
           (unsigned long long)realtime[2]);
    fflush(stdout); /* before the next run forks */
    assert_true(realtime[2] < realtime[0]);
    /* strata backtest on the narrow config: the limited view (its signals, judged per strategy
     * and per time slot) and the unlimited one (the same tape as recorded: every trade of every
     * symbol), side by side */
    unlink(rec[2]);
    snprintf(path, sizeof(path), "%s/narrow.yaml", dir);
    char *bout, *berr;
    assert_int_equal(run5("backtest", "-c", path, "--json", NULL, &bout, &berr), 0);
    cJSON *bt = cJSON_Parse(bout);
    if (!bt) fail_msg("backtest did not print JSON: %s %s", bout, berr);
    cJSON *views = cJSON_GetObjectItem(bt, "views");
    assert_int_equal(cJSON_GetArraySize(views), 2);
    cJSON *lim = cJSON_GetArrayItem(views, 0), *unl = cJSON_GetArrayItem(views, 1);
    assert_string_equal(cJSON_GetObjectItem(lim, "view")->valuestring, "limited");
    assert_string_equal(cJSON_GetObjectItem(unl, "view")->valuestring, "unlimited");
    int lines = 0;
    for (const char *q = sig[2]; *q; q++) lines += *q == '\n';
    assert_int_equal(cJSON_GetObjectItem(lim, "signals")->valueint, lines);
    int unl_signals = cJSON_GetObjectItem(unl, "signals")->valueint;
    printf("# backtest: %d signals through 4 registrations, %d unlimited\n", lines, unl_signals);
    fflush(stdout);
    assert_true(unl_signals > 0);
    cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(lim, "strategies")) { /* the slots add up */
        int sum = 0;
        cJSON *sl;
        cJSON_ArrayForEach(sl, cJSON_GetObjectItem(g, "slots")) sum += cJSON_GetObjectItem(sl, "signals")->valueint;
        assert_int_equal(sum, cJSON_GetObjectItem(g, "signals")->valueint);
    }
    cJSON_Delete(bt);
    free(bout), free(berr);
    for (int i = 0; i < 3; i++) unlink(rec[i]), free(out[i]), free(err[i]), free(sig[i]);
    /* strata never writes over a tape: the same live run again says why it cannot start */
    char *cfg = limited_config("live.yaml", feed[0], "live.strata", "live.jsonl"), *again, *aerr;
    assert_int_not_equal(run("run", "-c", cfg, &again, &aerr), 0);
    assert_non_null(strstr(aerr, "market-20261123.strata: File exists (strata never writes over a recording)"));
    free(again), free(aerr), free(cfg);
    snprintf(path, sizeof(path), "%s/market-20261123.strata", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/live.strata", dir);
    unlink(path);
}

/* Issue 17.3, backtest --from/--to: two days recorded into one directory (runtime.record:
 * days/%Y-%m-%d.strata), replayed as one run across the night from a replay whose path is the
 * directory: over both days the backtest finds both days' signals, over the second day only
 * that day's; a day given wrong is said as such. */
static void test_backtest_over_days(void **state)
{
    const char *days[] = {"2026-11-23", "2026-11-24"};
    int lines[2] = {0};
    char path[512], text[2048];
    snprintf(path, sizeof(path), "%s/days", dir);
    mkdir(path, 0700);
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof(text),
                 "runtime:\n"
                 "  clock: {mode: simulated, start: \"%s 08:50\", stop: \"10:00\", speed: 0}\n"
                 "  log: {file: strata.log}\n  session_report: \"\"\n  record: days/%%Y-%%m-%%d.strata\n"
                 "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv, watch_universe: background}\n"
                 "feeds: [{name: sim, kind: sim, seed: %d}]\n" /* another market each day */
                 "strategies:\n"
                 "  - {name: gap, kind: lua, path: %s/strategies/gap.lua, all_symbols: true}\n"
                 "signals: {sinks: [{kind: jsonl, path: day%d.jsonl}]}\n"
                 "status: {enabled: false}\n",
                 days[i], STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, 7 + i, STRATA_SOURCE_DIR, i);
        char *cfg = st_test_write(dir, "day.yaml", text), *out, *err;
        int rc = run("run", "-c", cfg, &out, &err);
        if (rc) fail_msg("%s", err);
        free(out), free(err), free(cfg);
        snprintf(path, sizeof(path), "%s/day%d.jsonl", dir, i);
        char *sig = slurp(path);
        for (const char *q = sig; *q; q++) lines[i] += *q == '\n';
        free(sig);
        unlink(path);
    }
    snprintf(text, sizeof(text),
             "runtime:\n"
             "  clock: {mode: simulated, start: \"2026-11-23 08:50\", stop: \"10:00\", speed: 0}\n"
             "  log: {file: strata.log}\n  session_report: \"\"\n"
             "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv, watch_universe: background}\n"
             "feeds: [{name: tape, kind: replay, path: days}]\n"
             "strategies:\n"
             "  - {name: gap, kind: lua, path: %s/strategies/gap.lua, all_symbols: true}\n"
             "status: {enabled: false}\n",
             STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR);
    char *cfg = st_test_write(dir, "days.yaml", text);
    const char *from[] = {"2026-11-23", "2026-11-24"};
    int want[] = {lines[0] + lines[1], lines[1]};
    for (int i = 0; i < 2; i++) {
        char *out, *err;
        assert_int_equal(run_argv((const char *[]){"backtest", "-c", cfg, "--from", from[i], "--to", "2026-11-24", "--json",
                                                   NULL}, &out, &err), 0);
        cJSON *bt = cJSON_Parse(out);
        if (!bt) fail_msg("backtest did not print JSON: %s %s", out, err);
        printf("# backtest from %s to 2026-11-24: %d signals (the days recorded %d and %d)\n", from[i],
               cJSON_GetObjectItem(bt, "signals")->valueint, lines[0], lines[1]);
        fflush(stdout); /* before the next run forks */
        assert_int_equal(cJSON_GetObjectItem(bt, "signals")->valueint, want[i]);
        cJSON_Delete(bt);
        free(out), free(err);
    }
    assert_true(lines[0] > 0 && lines[1] > 0 && lines[0] != lines[1]);
    char *out, *err;
    assert_int_equal(run_argv((const char *[]){"backtest", "-c", cfg, "--from", "2026-11-31", NULL}, &out, &err), 1);
    assert_non_null(strstr(err, "--from: expected a day as YYYY-MM-DD, got \"2026-11-31\""));
    free(out), free(err);
    assert_int_equal(run_argv((const char *[]){"backtest", "-c", cfg, "--from", "2026-11-24", "--to", "2026-11-23", NULL},
                              &out, &err), 1);
    assert_non_null(strstr(err, "--to: 2026-11-23 is before --from 2026-11-24"));
    free(out), free(err), free(cfg);
    fflush(stdout);
}

/* Issue 17.1: a simulated run is a discrete-event run. The same config at speed 0 (as fast as
 * possible) and at x2000 (paced; on a slow machine it falls behind) gives the same signals,
 * byte for byte, and the same session report but for its wall-time field and the strategies'
 * Lua memory (Lua seeds its string hashing per process, so table sizes vary). Before, what
 * reached a strategy depended on when the wall clock let timers fire. */
static void test_same_run_at_any_speed(void **state)
{
    const char *speeds[] = {"0", "2000"};
    char *sig[2], *rep[2];
    for (int i = 0; i < 2; i++) {
        char text[2048], name[32], path[512];
        snprintf(text, sizeof(text),
                 "runtime:\n"
                 "  clock: {mode: simulated, start: \"2026-11-23 08:50\", stop: \"10:00\", speed: %s}\n"
                 "  log: {file: strata.log}\n"
                 "  session_report: report%d.json\n%s"
                 "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv,"
                 " watch_universe: background, watch: [{symbol: \"005930\", priority: critical}]}\n"
                 "strategies:\n"
                 "  - {name: gap, kind: lua, path: %s/strategies/gap.lua, all_symbols: true, params: {threshold: 0.03}}\n"
                 "  - {name: volume_watch, kind: lua, path: %s/strategies/volume_watch.lua, all_symbols: true}\n"
                 "  - {name: momentum, kind: lua, path: %s/strategies/momentum_leaders.lua, all_symbols: true,"
                 " params: {every: 300}}\n"
                 "signals: {sinks: [{kind: jsonl, path: signals%d.jsonl}]}\n"
                 "status: {enabled: false}\n",
                 speeds[i], i, i ? "  record: run-%Y%m%d.strata\n" : "", STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR,
                 STRATA_SOURCE_DIR, i);
        snprintf(name, sizeof(name), "speed%d.yaml", i);
        char *cfg = st_test_write(dir, name, text);
        char *out, *err;
        assert_int_equal(run("run", "-c", cfg, &out, &err), 0);
        free(out), free(err), free(cfg);
        snprintf(path, sizeof(path), "%s/signals%d.jsonl", dir, i);
        sig[i] = slurp(path);
        unlink(path);
        snprintf(path, sizeof(path), "%s/report%d.json", dir, i);
        rep[i] = slurp(path);
        unlink(path);
        drop_field(rep[i], "\"wall_seconds\"");
        drop_field(rep[i], "\"memory_bytes\""); /* Lua seeds its string hashes per process */
        drop_field(rep[i], "\"rss_kb\"");       /* the process's, not the run's */
        drop_field(rep[i], "\"fds\"");
    }
    assert_true(strlen(sig[0]) > 1000); /* signals fired: the comparison means something */
    assert_string_equal(sig[0], sig[1]); /* the second run also recorded: recording changes nothing */
    assert_string_equal(rep[0], rep[1]);
    /* issue 17.2: the recording holds the ticks delivered, the plan's moves and every signal */
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/run-20261123.strata", dir);
    st_rec_reader_t *r = st_rec_open(path, err, sizeof(err));
    if (!r) fail_msg("%s", err);
    assert_true(st_rec_indexed(r));
    uint64_t ticks = 0, plans = 0, signals = 0, slots = 0, subs = 0, answered = 0;
    st_rec_item_t it;
    while (st_rec_next(r, &it) == 1) {
        ticks += it.type == ST_REC_TICK;
        plans += it.type == ST_REC_EVENT && it.event == ST_REV_PLAN;
        signals += it.type == ST_REC_EVENT && it.event == ST_REV_SIGNAL;
        slots += it.type == ST_REC_EVENT && it.event == ST_REV_SLOT;
        if (it.type == ST_REC_EVENT && it.event == ST_REV_SUBSCRIBE) { /* sent, and the venue's answers */
            subs += it.text_len > 5 && memmem(it.text, it.text_len, "\"op\":\"subscribe\"", 16) != NULL;
            answered += it.text_len > 5 && memmem(it.text, it.text_len, "\"op\":\"subscribed\"", 17) != NULL;
        }
    }
    printf("# recorded %llu subscriptions sent, %llu answered\n", (unsigned long long)subs, (unsigned long long)answered);
    assert_true(subs > 10);
    assert_int_equal(answered, subs); /* the sim venue answers each within 2 ms */
    uint64_t lines = 0;
    for (const char *p = sig[1]; *p; p++) lines += *p == '\n';
    printf("# recorded %llu ticks, %llu plan changes, %llu signals, %llu slots\n", (unsigned long long)ticks,
           (unsigned long long)plans, (unsigned long long)signals, (unsigned long long)slots);
    fflush(stdout); /* before the next run forks */
    assert_int_equal(signals, lines);
    assert_true(ticks > 10000 && plans > 396 && slots >= 2); /* the first plan places all 396 */
    st_rec_free(r);
    /* issue 17.3: replaying the recording as recorded, with the same strategies, reproduces the
     * run's signals byte for byte — paced (speed 2000: the feed waits for the clock between
     * ticks, the reader holding the next) and as fast as possible */
    char text[2048], *cfg, *rout, *rerr;
    const char *replay_speeds[] = {"2000", "0"}; /* (text is speed 0's after: the backtest's) */
    for (int k = 0; k < 2; k++) {
        snprintf(text, sizeof(text),
                 "runtime:\n"
                 "  clock: {mode: simulated, start: \"2026-11-23 08:50\", stop: \"10:00\", speed: %s}\n"
                 "  log: {file: strata.log}\n  session_report: \"\"\n"
                 "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv,"
                 " watch_universe: background, watch: [{symbol: \"005930\", priority: critical}]}\n"
                 "feeds: [{name: tape, kind: replay, path: run-20261123.strata}]\n"
                 "strategies:\n"
                 "  - {name: gap, kind: lua, path: %s/strategies/gap.lua, all_symbols: true, params: {threshold: 0.03}}\n"
                 "  - {name: volume_watch, kind: lua, path: %s/strategies/volume_watch.lua, all_symbols: true}\n"
                 "  - {name: momentum, kind: lua, path: %s/strategies/momentum_leaders.lua, all_symbols: true,"
                 " params: {every: 300}}\n"
                 "signals: {sinks: [{kind: jsonl, path: replayed.jsonl}]}\n"
                 "status: {enabled: false}\n",
                 replay_speeds[k], STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR,
                 STRATA_SOURCE_DIR);
        cfg = st_test_write(dir, "replay.yaml", text);
        assert_int_equal(run("run", "-c", cfg, &rout, &rerr), 0);
        free(rout), free(rerr), free(cfg);
        char logp[512];
        snprintf(logp, sizeof(logp), "%s/strata.log", dir);
        char *lg = slurp(logp);
        assert_null(strstr(lg, "[alert]")); /* a replay wants no registrations: no plan/ledger alarm */
        free(lg);
        snprintf(path, sizeof(path), "%s/replayed.jsonl", dir);
        char *replayed = slurp(path);
        unlink(path);
        if (strcmp(replayed, sig[1]) != 0) fail_msg("the replay at speed %s gave other signals", replay_speeds[k]);
        free(replayed);
    }
    /* issue 17.3: strata backtest judges the same signals by the recording's later trades; the
     * 1-minute mean is recomputed here from the signals file and the recording */
    cfg = st_test_write(dir, "replay.yaml", text);
    assert_int_equal(run5("backtest", "-c", cfg, "--json", NULL, &rout, &rerr), 0);
    free(cfg);
    cJSON *bt = cJSON_Parse(rout);
    if (!bt) fail_msg("backtest did not print JSON: %s %s", rout, rerr);
    free(rout), free(rerr);
    assert_int_equal(cJSON_GetObjectItem(bt, "signals")->valueint, (int)lines);
    double sum = 0;
    int n = 0;
    snprintf(path, sizeof(path), "%s/run-20261123.strata", dir);
    for (char *line = sig[1]; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        cJSON *g = cJSON_Parse(line); /* parses up to the end of the first object */
        if (!g) break;
        const char *code = cJSON_GetObjectItem(g, "symbol")->valuestring;
        double p0 = cJSON_GetObjectItem(g, "price")->valuedouble;
        st_time_t at = (st_time_t)llround(cJSON_GetObjectItem(g, "ts")->valuedouble * 1e6) + ST_MIN;
        bool sell = strcmp(cJSON_GetObjectItem(g, "side")->valuestring, "sell") == 0;
        char e2[256];
        st_rec_reader_t *rr = st_rec_open(path, e2, sizeof(e2));
        assert_non_null(rr);
        while (st_rec_next(rr, &it) == 1) /* the first trade of the code at or after t + 1 min */
            if (it.type == ST_REC_TICK && it.tick.kind != ST_TICK_ORDERBOOK && it.time >= at &&
                strcmp(it.code, code) == 0) {
                sum += (sell ? -1 : 1) * (it.tick.u.trade.price / p0 - 1);
                n++;
                break;
            }
        st_rec_free(rr);
        cJSON_Delete(g);
    }
    cJSON *gap = cJSON_GetArrayItem(cJSON_GetObjectItem(bt, "strategies"), 0), *m1 = cJSON_GetObjectItem(gap, "1m");
    printf("# backtest: %d signals judged at 1 min, mean %+.4f%%\n", n, 100 * sum / n);
    assert_int_equal(cJSON_GetObjectItem(m1, "n")->valueint, n);
    assert_true(fabs(cJSON_GetObjectItem(m1, "mean")->valuedouble - sum / n) < 1e-6);
    cJSON_Delete(bt);
    snprintf(path, sizeof(path), "%s/run-20261123.strata", dir);
    unlink(path);
    for (int i = 0; i < 2; i++) free(sig[i]), free(rep[i]);
    char log[512];
    snprintf(log, sizeof(log), "%s/strata.log", dir);
    unlink(log);
}

/* strata record inspect: what a recording holds; a cut file is read to its last whole chunk and
 * the cut reported with its offset (exit 1); a file that is no recording is named and refused. */
static void test_record_inspect(void **state)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/rec.strata", dir);
    unlink(path);
    st_time_t t0 = (st_time_t)1795392000 * ST_SEC;
    st_rec_writer_t *w = st_rec_create(path, t0);
    assert_non_null(w);
    for (int i = 0; i < 300; i++) { /* 3 s: three chunks */
        st_tick_t t = {.kind = i % 2 ? ST_TICK_TRADE : ST_TICK_ORDERBOOK, .recv_time = t0 + i * 10 * ST_MSEC};
        t.venue_time = t.recv_time;
        assert_int_equal(st_rec_tick(w, &t, i % 3 ? "005930" : "000660", 0), 0);
    }
    assert_int_equal(st_rec_event(w, t0 + 2 * ST_SEC, ST_REV_SIGNAL, "005930", "{}", 2), 0);
    assert_int_equal(st_rec_close(w), 0);
    char *out, *err;
    assert_int_equal(run("record", "inspect", path, &out, &err), 0);
    assert_non_null(strstr(out, "strata recording, format 4, started 2026-11-23 00:00:00 UTC"));
    assert_non_null(strstr(out, "3 chunks, indexed"));
    assert_non_null(strstr(out, "301 items: 150 trades, 150 orderbooks, 0 snapshots, 1 signal events"));
    assert_non_null(strstr(out, "2 symbols: 000660, 005930"));
    free(out), free(err);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(truncate(path, sb.st_size - 200), 0); /* the index and part of the last chunk */
    assert_int_equal(run("record", "inspect", path, &out, &err), 1);
    assert_non_null(strstr(out, "2 chunks, no index"));
    assert_non_null(strstr(err, ": at byte "));
    assert_non_null(strstr(err, "not a whole chunk"));
    free(out), free(err);
    unlink(path);
    char *cfg = write_config("notrec.yaml", "speed: 0", "", "");
    assert_int_equal(run("record", "inspect", cfg, &out, &err), 1);
    assert_non_null(strstr(err, "notrec.yaml: not a strata recording"));
    free(out), free(err), free(cfg);
    /* --help after a subcommand asks for the usage: it is not a file to open */
    const char *sub[] = {"inspect", "export", "import"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(run("record", sub[i], "--help", &out, &err), 0);
        assert_non_null(strstr(out, "usage: strata record inspect FILE"));
        assert_string_equal(err, "");
        free(out), free(err);
    }
    assert_int_equal(run("record", "export", NULL, &out, &err), 2); /* no file: the usage, as an error */
    assert_non_null(strstr(err, "usage: strata record"));
    free(out), free(err);
}

/* strata record import --csv / export: a CSV of trades and quotes becomes a recording and comes
 * back out the same, row for row; every bad row is named by file:line:column and nothing is
 * written; JSON lines carry every field. */
static void test_record_import_export(void **state)
{
    const char *csv = "kind,time,code,price,volume,side,bid,ask,bid_size,ask_size\n"
                      "quote,2026-11-23 09:00:00.100,005930,,,,70900,71000,1200,800\n"
                      "trade,2026-11-23 09:00:00.250,005930,71000,10,buy,,,,\n"
                      "trade,2026-11-23 09:00:01.500,000660,182000,3,sell,,,,\n"
                      "trade,2026-11-23 09:00:02.000,005930,70900,0.5,,,,,\n"
                      "quote,2026-11-23 09:00:02.125,KRW-BTC,,,,100465000,100473000,0.01990656,0.43139478\n";
    char *in = st_test_write(dir, "in.csv", csv), out_path[512];
    snprintf(out_path, sizeof(out_path), "%s/imported.strata", dir);
    unlink(out_path);
    char *out, *err;
    assert_int_equal(run5("record", "import", "--csv", in, out_path, &out, &err), 0);
    assert_non_null(strstr(out, "5 rows recorded"));
    free(out), free(err);
    assert_int_equal(run5("record", "export", out_path, "--csv", NULL, &out, &err), 0);
    assert_string_equal(out, csv); /* the round trip */
    free(out), free(err);
    assert_int_equal(run("record", "export", out_path, &out, &err), 0);
    assert_non_null(strstr(out, "\"code\":\"005930\",\"type\":\"trade\",\"venue_us\":1795392000250000"));
    assert_non_null(strstr(out, "\"cum_volume\":10.5,\"cum_value\":745450")); /* running per code and day */
    assert_non_null(strstr(out, "\"best_bid\":70900,\"best_ask\":71000,\"side\":\"buy\""));
    free(out), free(err);
    /* the imported trades as a market tape, replayed through the limits: the symbols that trade
     * on it are polled with their prices; the ones it has nothing on (no reference, no trade)
     * yield no quote — never a price of 0 */
    char text[1024];
    snprintf(text, sizeof(text),
             "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 08:59\", stop: \"09:10\", speed: 0}\n"
             "  log: {file: strata.log}\n  session_report: \"\"\n  record: imported-run.strata\n"
             "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv, watch_universe: medium}\n"
             "feeds: [{name: v, kind: replay, mode: limited, path: imported.strata}]\n"
             "status: {enabled: false}\n",
             STRATA_SOURCE_DIR, STRATA_SOURCE_DIR);
    char *cfg = st_test_write(dir, "imported.yaml", text), rec[512], e2[256];
    assert_int_equal(run("run", "-c", cfg, &out, &err), 0);
    free(out), free(err), free(cfg);
    snprintf(rec, sizeof(rec), "%s/imported-run.strata", dir);
    st_rec_reader_t *r = st_rec_open(rec, e2, sizeof(e2));
    if (!r) fail_msg("%s", e2);
    st_rec_item_t it;
    int quotes = 0, zero = 0;
    while (st_rec_next(r, &it) == 1)
        if (it.type == ST_REC_TICK && it.tick.kind == ST_TICK_SNAPSHOT) {
            quotes++;
            zero += it.tick.u.trade.price <= 0;
            assert_true(strcmp(it.code, "005930") == 0 || strcmp(it.code, "000660") == 0);
        }
    st_rec_free(r);
    printf("# the imported tape replayed through the limits: %d quotes, %d of price 0\n", quotes, zero);
    fflush(stdout);
    assert_true(quotes > 0);
    assert_int_equal(zero, 0);
    unlink(rec);
    unlink(out_path);
    char *bad = st_test_write(dir, "bad.csv", "kind,time,code,price,volume,side,bid,ask,bid_size,ask_size\n"
                                              "trade,2026-11-23 09:00,005930,abc,1,buy,,,,\n"
                                              "foo,2026-11-23 09:00,005930,1,1,buy,,,,\n"
                                              "trade,23/11/2026,005930,1,1,buy,,,,\n");
    assert_int_equal(run5("record", "import", "--csv", bad, out_path, &out, &err), 1);
    char want[600];
    snprintf(want, sizeof(want), "%s:2:4: a trade needs a price and a volume", bad);
    assert_non_null(strstr(err, want));
    snprintf(want, sizeof(want), "%s:3:1: kind must be trade or quote", bad);
    assert_non_null(strstr(err, want));
    snprintf(want, sizeof(want), "%s:4:2: time must be", bad);
    assert_non_null(strstr(err, want));
    assert_int_equal(access(out_path, F_OK), -1); /* nothing half-imported */
    free(out), free(err), free(in), free(bad);
}

/* The planner drives the feed: the watch list and the screened universe take their tiers, the
 * registrations follow the plan through every time slot, and ticks flow. */
static void test_run_planned_day(void **state)
{
    char *cfg = write_config("plan.yaml", "speed: 0, stop: \"15:30\"",
                             ", watch_universe: background, watch: ["
                             "{symbol: \"005930\", priority: critical, pinned: true}, "
                             "{symbol: \"000660\", priority: high}]",
                             "");
    char *out, *err;
    assert_int_equal(run("run", "-c", cfg, &out, &err), 0);
    /* 391 stocks + 5 indices; 005930 tier 1 (2), 000660 tier 2 (1), 5 index streams. */
    /* At 08:50:00 the plan is made and the first flush is still in its debounce. */
    assert_non_null(strstr(out, "[08:50:00] monitored 396 | websocket 0/41 | slot pre_market"));
    assert_non_null(strstr(out, "[09:00:00] monitored 396 | websocket 8/41 | slot golden_time"));
    assert_non_null(strstr(out, "[12:00:00] monitored 396 | websocket 8/41 | slot lunch"));
    assert_non_null(strstr(out, "monitored 396 (tier 1: 1, tier 2: 1, tier 3: 389, indices: 5)"));
    const char *last = strstr(out, "[15:30:00]");
    assert_non_null(last);
    assert_null(strstr(last, "api 0 calls")); /* tier 3 was polled */
    assert_non_null(strstr(last, "subs 8 changes in 8 msgs"));
    assert_non_null(strstr(out, "violations 0"));
    char log[512];
    snprintf(log, sizeof(log), "%s/strata.log", dir);
    char *l = slurp(log);
    assert_null(strstr(l, "[alert]"));
    assert_null(strstr(l, "[error]"));
    free(l), free(out), free(err), free(cfg);
    unlink(log);
}

/* The venue holds fewer registrations than the budget says (10 taken by someone else): its
 * MAX SUBSCRIBE OVER reaches the planner, which plans with the 31 that are left; nothing
 * exceeds a limit and the ledgers want exactly the plan. */
static void test_venue_fuller_than_budget(void **state)
{
    char *cfg = write_config("full.yaml", "speed: 0, stop: \"10:00\"", ", watch_universe: critical",
                             "feeds:\n  - {name: sim, kind: sim, foreign_registrations: 10, ws_rate: 50}\n");
    char *out, *err;
    assert_int_equal(run("run", "-c", cfg, &out, &err), 0);
    char log[512];
    snprintf(log, sizeof(log), "%s/strata.log", dir);
    char *l = slurp(log);
    assert_non_null(strstr(l, "refused on connection 0: MAX SUBSCRIBE OVER"));
    assert_non_null(strstr(l, "connection 0 holds only 31 registrations: planning with that"));
    assert_null(strstr(l, "[alert]"));
    /* From then on the venue never holds more than the 31 that are left (and the planner keeps
     * the slot's reserve free within them). */
    int blocks = 0;
    for (const char *p = strstr(out, "websocket "); p; p = strstr(p + 1, "websocket ")) {
        int held = atoi(p + 10);
        assert_true(held <= 31);
        blocks++;
    }
    assert_true(blocks >= 5);
    assert_non_null(strstr(out, "violations 0"));
    /* Polling the other 360 symbols as fast as allowed stays within the REST rate: the
     * conservative limiter uses 16 of the venue's 20 calls per second. */
    for (const char *p = strstr(out, "api "); p; p = strstr(p + 1, "api ")) {
        const char *per = strstr(p, " per s");
        const char *slash = per ? per - 1 : NULL;
        while (slash && slash > p && *slash != '/') slash--;
        const char *num = slash;
        while (num && num > p && num[-1] >= '0' && num[-1] <= '9') num--;
        if (num && slash > num) assert_true(atoi(num) <= 16);
    }
    free(l), free(out), free(err), free(cfg);
    unlink(log);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

/* What a venue said about its room outlives a reload: the planner keeps planning with the 31
 * registrations left instead of trying the configured 41 again (found in review: a reload
 * rebuilt the budgets from the config). */
static void test_venue_cap_survives_reload(void **state)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "runtime:\n"
             "  clock: {mode: simulated, start: \"2026-11-23 09:00\", speed: 60}\n"
             "  log: {file: strata.log}\n"
             "  report_interval: 1m\n"
             "market:\n  universe: %s/config/universe.csv\n  indices: %s/config/indices.csv\n"
             "  watch_universe: critical\n"
             "feeds:\n  - {name: sim, kind: sim, foreign_registrations: 10, ws_rate: 50}\n",
             STRATA_SOURCE_DIR, STRATA_SOURCE_DIR);
    char *cfg = st_test_write(dir, "cap.yaml", text);
    char o[512], e[512], log[512];
    snprintf(o, sizeof(o), "%s/cap.out", dir);
    snprintf(e, sizeof(e), "%s/cap.err", dir);
    snprintf(log, sizeof(log), "%s/strata.log", dir);
    unlink(log);
    char *argv[] = {STRATA_BIN, "run", "-c", cfg, NULL};
    pid_t pid = spawn(argv, o, e);
    assert_true(wait_for(log, "holds only 31 registrations", 1));
    strcat(text, "rebalance: {interval: 4m}\n"); /* a valid change */
    free(st_test_write(dir, "cap.yaml", text));
    kill(pid, SIGHUP);
    assert_true(wait_for(log, "generation 2 running", 1));
    char *l = slurp(log);
    int blocks = count_of(l, "stopping"); /* 0 */
    free(l);
    char *out = slurp(o);
    int before = count_of(out, "monitored");
    free(out);
    /* Two more status blocks: long after any flush the reload could have caused. */
    for (int i = 0; i < 6000; i++) {
        out = slurp(o);
        int now = count_of(out, "monitored");
        free(out);
        if (now >= before + 2) break;
        usleep(10000);
    }
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 0);
    /* The plan itself stays within the 31: 2 x tier 1 + tier 2 + index streams. */
    out = slurp(o);
    const char *sum = strstr(out, "(tier 1: ");
    assert_non_null(sum);
    int t1, t2, t3, idx;
    assert_int_equal(sscanf(sum, "(tier 1: %d, tier 2: %d, tier 3: %d, indices: %d)", &t1, &t2, &t3, &idx), 4);
    printf("# planned registrations after the reload: %d\n", 2 * t1 + t2 + idx);
    assert_true(2 * t1 + t2 + idx <= 31);
    free(out);
    l = slurp(log);
    assert_int_equal(blocks, 0);
    assert_int_equal(count_of(l, "holds only 31 registrations"), 1);
    assert_null(strstr(l, "[alert]"));
    free(l);
    free(cfg);
    unlink(log);
}

/* A reload whose universe no longer has a watched symbol withdraws it (found in review: only
 * symbols of the new universe were asked again, so a dropped one kept its old demand). */
static void test_reload_withdraws_dropped_watch(void **state)
{
    free(st_test_write(dir, "u1.csv", "code,name,market,sector\n005930,A,KOSPI,x\n000660,B,KOSPI,y\n"));
    free(st_test_write(dir, "u2.csv", "code,name,market,sector\n005930,A,KOSPI,x\n"));
    const char *fmt = "runtime:\n"
                      "  clock: {mode: simulated, start: \"2026-11-23 10:00\", speed: 60}\n"
                      "  log: {file: strata.log}\n"
                      "  report_interval: 1m\n"
                      "market:\n  universe: %s\n  indices: \"\"\n  watch_universe: high\n";
    char text[2048];
    snprintf(text, sizeof(text), fmt, "u1.csv");
    char *cfg = st_test_write(dir, "drop.yaml", text);
    char o[512], e[512], log[512];
    snprintf(o, sizeof(o), "%s/drop.out", dir);
    snprintf(e, sizeof(e), "%s/drop.err", dir);
    snprintf(log, sizeof(log), "%s/strata.log", dir);
    unlink(log);
    char *argv[] = {STRATA_BIN, "run", "-c", cfg, NULL};
    pid_t pid = spawn(argv, o, e);
    assert_true(wait_for(log, "simulated market started", 1));
    snprintf(text, sizeof(text), fmt, "u2.csv");
    free(st_test_write(dir, "drop.yaml", text));
    kill(pid, SIGHUP);
    assert_true(wait_for(log, "generation 2 running", 1));
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 0);
    char *out = slurp(o);
    assert_non_null(strstr(out, "monitored 1 (tier 1: 0, tier 2: 1, tier 3: 0, indices: 0)"));
    free(out);
    char *l = slurp(log);
    assert_null(strstr(l, "[alert]"));
    free(l);
    free(cfg);
    unlink(log);
}

static void test_signals_reload_and_stop(void **state)
{
    const char *clock = "speed: 60"; /* a simulated minute per second, no stop: runs until told */
    char *cfg = write_config("live.yaml", clock, "", "");
    char o[512], e[512], log[512];
    snprintf(o, sizeof(o), "%s/live.out", dir);
    snprintf(e, sizeof(e), "%s/live.err", dir);
    snprintf(log, sizeof(log), "%s/strata.log", dir);
    unlink(log); /* a log left by another test must not satisfy the waits below */
    char *argv[] = {STRATA_BIN, "run", "-c", cfg, NULL};
    pid_t pid = spawn(argv, o, e);
    assert_true(wait_for(log, "simulated market started", 1));

    /* A broken config: every error is logged, the old world keeps running. */
    free(write_config("live.yaml", clock, "", "feeds: [{name: x}]\nschedule: 5\n"));
    kill(pid, SIGHUP);
    assert_true(wait_for(log, "reload failed", 1));
    assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* still running */
    char *l = slurp(log);
    assert_non_null(strstr(l, "live.yaml:6:9: feeds[0]: missing required key \"kind\""));
    assert_non_null(strstr(l, "live.yaml:7:11: schedule: expected a list"));
    assert_non_null(strstr(l, "reload failed with 2 errors; still running generation 1"));
    free(l);

    /* A change a running process cannot take is refused the same way. */
    {
        char text[2048];
        snprintf(text, sizeof(text),
                 "runtime:\n"
                 "  timezone: UTC\n"
                 "  clock: {mode: simulated, start: \"2026-11-23 08:50\", %s}\n"
                 "  log: {file: strata.log}\n"
                 "market: {universe: %s/config/universe.csv, indices: \"\"}\n",
                 clock, STRATA_SOURCE_DIR);
        free(st_test_write(dir, "live.yaml", text));
    }
    kill(pid, SIGHUP);
    assert_true(wait_for(log, "reload failed", 2));
    l = slurp(log);
    assert_non_null(strstr(l, "runtime.timezone changed (Asia/Seoul -> UTC): restart strata to apply it"));
    free(l);

    /* A valid config is swapped in. */
    free(write_config("live.yaml", clock, "", "rebalance: {interval: 3m}\n"));
    kill(pid, SIGHUP);
    assert_true(wait_for(log, "generation 2 running", 1));
    assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);

    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 0);
    char *out = slurp(o);
    assert_non_null(strstr(out, "strata session summary"));
    l = slurp(log);
    assert_non_null(strstr(l, "core: stopped"));
    assert_null(strstr(l, "[alert]"));
    free(l), free(out), free(cfg);
    unlink(log);
}

/* A port nobody listens on now (bound, read, released). */
/* strata status against a running strata: the status block and the tables, found through the
 * config or given a URL; exit 1 with a message once it is gone. */
/* A hostile endpoint for strata status (issue 16.8): a child process on 127.0.0.1 answers every
 * connection per `mode`: a body without end, a body at one byte a second, text that is not
 * JSON, JSON nested 100,000 deep. Returns its port; *pid to kill. */
static int hostile_server(const char *mode, pid_t *pid)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t sl = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &sl);
    fflush(NULL);
    *pid = fork();
    assert_true(*pid >= 0);
    if (*pid == 0) {
        alarm(60); /* stops by itself */
        signal(SIGPIPE, SIG_IGN);
        for (;;) {
            int c = accept(fd, NULL, NULL);
            if (c < 0) _exit(0);
            char req[4096];
            if (read(c, req, sizeof(req)) <= 0) { close(c); continue; }
            const char *hdr = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
            if (write(c, hdr, strlen(hdr)) < 0) { close(c); continue; }
            static char chunk[65536];
            if (!strcmp(mode, "huge")) {
                memset(chunk, ' ', sizeof(chunk));
                chunk[0] = '[';
                while (write(c, chunk, sizeof(chunk)) > 0) {}
            } else if (!strcmp(mode, "slow")) {
                for (int i = 0; i < 30 && write(c, "{", 1) == 1; i++) sleep(1);
            } else if (!strcmp(mode, "text")) {
                const char *t = "<html>hello</html>";
                (void)!write(c, t, strlen(t));
            } else {
                memset(chunk, '[', sizeof(chunk));
                (void)!write(c, chunk, 50000);
                memset(chunk, ']', sizeof(chunk));
                (void)!write(c, chunk, 50000);
            }
            close(c);
        }
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void test_status_against_hostile_endpoints(void **state)
{
    static const struct {
        const char *mode, *want;
    } cases[] = {
        {"huge", "answered more than 8 MiB: that is not a strata status"},
        {"slow", "did not finish answering within 5 s"},
        {"text", "did not answer with a JSON document"},
        {"deep", "did not answer with a JSON document (or one nested deeper than"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pid_t pid;
        int port = hostile_server(cases[i].mode, &pid);
        char url[64], o[512], e[512];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
        snprintf(o, sizeof(o), "%s/out.txt", dir);
        snprintf(e, sizeof(e), "%s/err.txt", dir);
        char *argv[] = {STRATA_BIN, "status", "-u", url, NULL};
        pid_t st = spawn(argv, o, e);
        int status;
        struct rusage ru;
        assert_int_equal(wait4(st, &status, 0, &ru), st);
        char *err = slurp(e);
        printf("# %s: peak %ld KiB: %s", cases[i].mode, ru.ru_maxrss, err);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
        assert_non_null(strstr(err, cases[i].want));
        assert_true(ru.ru_maxrss < 128 * 1024); /* the 8 MiB cap holds */
        free(err);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

static void test_status_of_a_running_strata(void **state)
{
    char extra[512];
    int port = st_test_free_port();
    snprintf(extra, sizeof(extra),
             "strategies: [{name: gap, kind: lua, path: %s/strategies/gap.lua, all_symbols: true}]\n"
             "status: {port: %d}\n",
             STRATA_SOURCE_DIR, port);
    char *cfg = write_config("status.yaml", "speed: 60", ", watch: [{symbol: \"005930\", priority: critical}]", extra);
    char o[512], e[512], log[512];
    snprintf(o, sizeof(o), "%s/status.out", dir);
    snprintf(e, sizeof(e), "%s/status.err", dir);
    snprintf(log, sizeof(log), "%s/strata.log", dir);
    unlink(log);
    char *argv[] = {STRATA_BIN, "run", "-c", cfg, NULL};
    pid_t pid = spawn(argv, o, e);
    assert_true(wait_for(log, "status: listening on 127.0.0.1:", 1));

    char *out, *err;
    assert_int_equal(run("status", "-c", cfg, &out, &err), 0);
    char at[64];
    snprintf(at, sizeof(at), "strata at http://127.0.0.1:%d: generation 1", port);
    assert_non_null(strstr(out, at));
    assert_non_null(strstr(out, "slot pre_market: realtime"));
    assert_non_null(strstr(out, "monitored "));
    assert_non_null(strstr(out, "1 realtime"));
    assert_non_null(strstr(out, "0          sim"));
    assert_non_null(strstr(out, "gap                  lua  running"));
    free(out), free(err);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    assert_int_equal(run("status", "--url", url, &out, &err), 0);
    assert_non_null(strstr(out, "gap                  lua  running"));
    free(out), free(err);

    /* the symbols: a row each; --tier=T (the first row's tier) lists only tier T; one symbol with
     * its history; its move into tier 1 was logged with its reason */
    assert_true(wait_for(log, "[info] plan: 005930 tier none -> 1 (demand)", 1));
    char first_tier[8] = "", opt[16];
    int all = 0;
    for (int pass = 0; pass < 2; pass++) {
        snprintf(opt, sizeof(opt), "--tier=%s", first_tier);
        assert_int_equal(run5("status", "-c", cfg, "--symbols", pass ? opt : NULL, &out, &err), 0);
        const char *row = strstr(out, "code     tier conn priority");
        assert_non_null(row);
        int rows = 0;
        for (row = strchr(row, '\n'); row && row[1]; row = strchr(row + 1, '\n'), rows++) {
            char code[16], tier[8];
            assert_int_equal(sscanf(row + 1, "%15s %7s", code, tier), 2);
            if (!pass && !rows) snprintf(first_tier, sizeof(first_tier), "%s", tier);
            if (pass && strcmp(tier, first_tier)) fail_msg("%s listed %s in tier %s", opt, code, tier);
        }
        printf("# status --symbols %s: %d rows\n", pass ? opt : "", rows);
        fflush(stdout); /* not again from the next child's copy of the buffer */
        assert_true(rows > 0 && (!pass || rows <= all));
        all = rows;
        free(out), free(err);
    }
    assert_int_equal(run5("status", "-c", cfg, "--symbol", "005930", &out, &err), 0);
    assert_non_null(strstr(out, "005930 삼성전자 ("));
    assert_non_null(strstr(out, "history (oldest first;"));
    assert_non_null(strstr(out, "tier none -> "));
    free(out), free(err);
    assert_int_equal(run5("status", "-c", cfg, "--symbol", "999999", &out, &err), 1);
    assert_non_null(strstr(err, "strata status: no symbol 999999 in the universe of the strata at http://127.0.0.1:"));
    free(out), free(err);
    assert_int_equal(run5("status", "-c", cfg, "--tier", "7", &out, &err), 2);
    assert_non_null(strstr(err, "--tier 7: expected 0 (none), 1, 2 or 3"));
    free(out), free(err);

    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 0);
    assert_int_equal(run("status", "-c", cfg, &out, &err), 1);
    assert_non_null(strstr(err, "strata status: no strata answers at http://127.0.0.1:"));
    free(out), free(err), free(cfg);
    unlink(log);
}

/* text with `old` (there exactly once) replaced by `with` (caller frees). */
static char *replace_once(const char *text, const char *old, const char *with)
{
    const char *at = strstr(text, old);
    if (!at || strstr(at + 1, old)) fail_msg("expected \"%s\" once in a shipped config", old);
    size_t n = strlen(text) - strlen(old) + strlen(with) + 1;
    char *r = malloc(n);
    snprintf(r, n, "%.*s%s%s", (int)(at - text), text, with, at + strlen(old));
    return r;
}

/* The sample of a command's output that `doc` shows from the first line starting with `first` to the
 * end of its code block, found in `out`: each of its lines (a line of "…" alone skipped) in an
 * output line after the one before, which starts with its text up to its first "…", and holds
 * the rest of its text between "…" in order. */
static void expect_sample(const char *docname, const char *doc, const char *first, const char *out)
{
    char needle[200];
    snprintf(needle, sizeof(needle), "\n%s", first); /* at a line's start */
    const char *at = strstr(doc, needle);
    if (!at) fail_msg("%s: no line starts \"%s\"", docname, first);
    at++;
    const char *end = strstr(at, "\n```");
    assert_non_null(end);
    const char *o = out;
    int lines = 0;
    for (const char *l = at; l < end;) {
        const char *nl = memchr(l, '\n', (size_t)(end - l));
        size_t len = nl ? (size_t)(nl - l) : (size_t)(end - l);
        char line[600];
        snprintf(line, sizeof(line), "%.*s", (int)len, l);
        l += len + 1;
        if (!strcmp(line, "…") || !*line) continue;
        bool found = false;
        while (*o && !found) {
            const char *onl = strchr(o, '\n');
            size_t olen = onl ? (size_t)(onl - o) : strlen(o);
            char got[2000];
            snprintf(got, sizeof(got), "%.*s", (int)olen, o);
            o += olen + (onl ? 1 : 0);
            char want[600], *save = NULL;
            snprintf(want, sizeof(want), "%s", line);
            const char *g = got;
            found = true;
            for (char *piece = strtok_r(want, "…", &save); piece && found; piece = strtok_r(NULL, "…", &save)) {
                while (*piece == ' ') piece++;
                for (size_t k = strlen(piece); k && piece[k - 1] == ' ';) piece[--k] = 0;
                const char *hit = strstr(g, piece);
                found = hit && (g != got || hit == got); /* the first piece starts the line */
                if (found) g = hit + strlen(piece);
            }
        }
        if (!found) fail_msg("%s shows a line the command no longer prints: \"%s\"\n--- it printed:\n%s", docname,
                             line, out);
        lines++;
    }
    printf("# %s: the %d lines of the sample \"%s…\" as printed\n", docname, lines, first);
}

/* README's third command and docs/backtest.md's backtest through the limits, run as written in a
 * copy of config/ beside the strategies, print what the docs show (the samples went stale twice
 * when the demo's numbers moved). The limited one is the same configs with the changes the page
 * names: the sim feed records its whole market, the backtest replays that tape with mode:
 * limited. Also what a 2-decimal return of nearly nothing prints: +0.00%, not -0.00%. */
static void test_docs_samples(void **state)
{
    char root[512], path[600], *cmd;
    snprintf(root, sizeof(root), "%s/docs", dir);
    assert_true(asprintf(&cmd, "mkdir -p '%s/config' '%s/data' && ln -s '%s/strategies' '%s/strategies' && cp '%s/config/record.yaml' '%s/config/backtest.yaml' '%s/config/universe.csv' '%s/config/indices.csv' '%s/config/'",
             root, root, STRATA_SOURCE_DIR, root, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR,
             STRATA_SOURCE_DIR, root) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    char *out, *err, cfg[600], bt[600];
    snprintf(cfg, sizeof(cfg), "%s/config/record.yaml", root);
    snprintf(bt, sizeof(bt), "%s/config/backtest.yaml", root);
    if (run("run", "-c", cfg, &out, &err)) fail_msg("config/record.yaml: %s", err);
    free(out), free(err);
    if (run("backtest", "-c", bt, &out, &err)) fail_msg("config/backtest.yaml: %s", err);
    char *readme = slurp(st_test_source_path("README.md"));
    expect_sample("README.md", readme, "as recorded: ", out);
    free(readme), free(out), free(err);

    snprintf(path, sizeof(path), "%s/config/record.yaml", STRATA_SOURCE_DIR);
    char *rec = slurp(path), *a = replace_once(rec, "  record: ../data/demo-day.strata\n", "");
    char *b = replace_once(a, "    rest_rate: 20 ", "    record: {path: ../data/demo-market.strata, scope: market}\n    rest_rate: 20 ");
    snprintf(cfg, sizeof(cfg), "%s/config/record-market.yaml", root);
    free(st_test_write(root, "config/record-market.yaml", b));
    free(rec), free(a), free(b);
    snprintf(path, sizeof(path), "%s/config/backtest.yaml", STRATA_SOURCE_DIR);
    rec = slurp(path), a = replace_once(rec, "    path: ../data/demo-day.strata\n",
                                         "    mode: limited\n    path: ../data/demo-market.strata\n");
    snprintf(bt, sizeof(bt), "%s/config/limited.yaml", root);
    free(st_test_write(root, "config/limited.yaml", a));
    free(rec), free(a);
    if (run("run", "-c", cfg, &out, &err)) fail_msg("the market's recording: %s", err);
    free(out), free(err);
    if (run("backtest", "-c", bt, &out, &err)) fail_msg("the limited backtest: %s", err);
    char *page = slurp(st_test_source_path("docs/backtest.md"));
    expect_sample("docs/backtest.md", page, "limited: ", out);
    assert_null(strstr(out, "-0.00%"));
    free(page), free(out), free(err);
}

static int setup(void **state)
{
    dir = st_test_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    int rc = system(cmd);
    free(dir);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_help),
        cmocka_unit_test(test_check_demo_ok),
        cmocka_unit_test(test_check_five_mistakes),
        cmocka_unit_test(test_check_compiles_strategies),
        cmocka_unit_test(test_run_full_day),
        cmocka_unit_test(test_run_on_a_closed_day_runs_the_next),
        cmocka_unit_test(test_same_run_at_any_speed),
        cmocka_unit_test(test_limited_replay_decides_like_the_live_run),
        cmocka_unit_test(test_backtest_over_days),
        cmocka_unit_test(test_docs_samples),
        cmocka_unit_test(test_record_inspect),
        cmocka_unit_test(test_record_import_export),
        cmocka_unit_test(test_run_planned_day),
        cmocka_unit_test(test_venue_fuller_than_budget),
        cmocka_unit_test(test_venue_cap_survives_reload),
        cmocka_unit_test(test_reload_withdraws_dropped_watch),
        cmocka_unit_test(test_signals_reload_and_stop),
        cmocka_unit_test(test_status_of_a_running_strata),
        cmocka_unit_test(test_status_against_hostile_endpoints),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
