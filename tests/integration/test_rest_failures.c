/* Issue 15.11, end to end: risk.failure_threshold counts consecutive failures. The runtime on a
 * KIS feed against strata-exsim polls a universe with one symbol the venue does not know; it
 * must be excluded after exactly failure_threshold (3) missing answers, not after 3 x 3 (the
 * poller once counted its own three before telling the planner once), while the symbols the
 * venue answers for, each answer a success, are never excluded. And the symbol's own data
 * breaks a run of failures (a sim run told the venue's refusals by its timers). */
#include "runtime_fixture.h"
#include "../exsim/spawn.h"

#include "app/runtime.h"
#include "core/log.h"
#include "core/res.h"

#include <sys/wait.h>

#define SPEED "400"

static st_runtime_t rt;
static st_sym_t bogus;

static void test_excluded_after_threshold(void **state)
{
    char *dir = st_test_tmpdir();
    pid_t pid = 0;
    int port = exsim_spawn_with(SPEED, "2026-11-23 09:00", "--duration", "600s", &pid);
    assert_true(port > 0);
    setenv("KIS_FAIL_KEY", "fail-app-key", 1);
    setenv("KIS_FAIL_SECRET", "fail-app-secret", 1);
    free(st_test_write(dir, "universe.csv", "code,name,market,sector\n005930,삼성전자,KOSPI,전기전자\n"
                                            "000660,SK하이닉스,KOSPI,전기전자\n999990,없는종목,KOSPI,기타\n"));
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 09:00\", stop: \"09:01:50\", speed: " SPEED "}\n"
             "  log: {file: %s/strata.log, level: debug}\n"
             "market:\n  universe: %s/universe.csv\n  indices: %s/config/indices.csv\n  watch_universe: medium\n"
             "tiers: {polling: {min_interval: 15s, medium: 15s}}\n"
             "risk: {failure_threshold: 3, exclusion_cooldown: 1h}\n"
             "feeds:\n  - name: kis\n    kind: kis\n    ws_url: ws://127.0.0.1:%d/\n    rest_url: http://127.0.0.1:%d\n"
             "    stall_timeout: 1h\n    token_dir: %s/tokens\n"
             "    keys: [{app_key_env: KIS_FAIL_KEY, app_secret_env: KIS_FAIL_SECRET}]\n"
             "status: {enabled: false}\n",
             dir, dir, STRATA_SOURCE_DIR, port, port, dir);
    char *cfg = st_test_write(dir, "fail.yaml", yaml);
    FILE *out = fopen("/dev/null", "w");
    st_test_runtime_init(&rt, cfg, out);
    bogus = st_symtab_find(&rt.syms, "999990", 6);
    assert_int_equal(st_runtime_run(&rt), 0);
    const st_plan_entry_t *e = st_planner_entry(rt.planner, bogus);
    bool excluded = (e->flags & ST_PLAN_EXCLUDED) != 0;
    int failures = e->failures; /* excluded, it is polled no more: no further misses */
    const st_plan_entry_t *g1 = st_planner_entry(rt.planner, st_symtab_find(&rt.syms, "005930", 6));
    const st_plan_entry_t *g2 = st_planner_entry(rt.planner, st_symtab_find(&rt.syms, "000660", 6));
    bool good_excluded = ((g1->flags | g2->flags) & ST_PLAN_EXCLUDED) != 0;
    int good_failures = g1->failures + g2->failures;
    st_runtime_free(&rt);
    fclose(out);
    kill(pid, SIGTERM);
    exsim_reap(pid);
    printf("# 999990 excluded: %s after %d failures in a row; the answered symbols: %d failures\n",
           excluded ? "yes" : "no", failures, good_failures);
    assert_true(excluded);
    assert_int_equal(failures, 3);
    assert_false(good_excluded);
    assert_int_equal(good_failures, 0);
    free(cfg);
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

/* The venue's refusals of 005930 as a sim run's timers tell them (feeds[0]'s on_refused), and
 * the symbol's ticks seen by each. */
typedef struct {
    st_runtime_t *rt;
    st_sym_t sym;
    st_timer_t at1, at2;
    uint64_t ticks[3];
    int n;
} refuse_t;

static void refuse(st_timer_t *t, st_time_t now, void *ctx)
{
    (void)now;
    refuse_t *r = ctx;
    st_feed_t *f = r->rt->feeds[0];
    for (int k = t == &r->at1 ? 1 : 2; k > 0; k--) { /* at 09:05, twice in a row */
        r->ticks[r->n++] = r->rt->view.s[r->sym].ticks;
        f->on_refused(f, 0, r->sym, ST_ACK_INVALID, 0, f->tick_ctx);
    }
}

/* A tick of a symbol breaks its run of failures (the runtime's tick path tells the planner:
 * only once some failure was told, a run's only cost before). failure_threshold 2: refused at
 * 09:01, ticks, refused twice at 09:05 — excluded by the second of those two, after 2 failures
 * in a row, not by the first after 1 + 1 (the 09:01 one not forgotten). */
static void test_data_breaks_the_run(void **state)
{
    char *dir = st_test_tmpdir();
    char *lua = st_test_write(dir, "watch.lua", "local M = {}\n"
                                                "function M.init() strata.watch('005930', 'high') end\n"
                                                "return M\n");
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 09:00\", stop: \"09:10\", speed: 0}\n"
             "  log: {level: error}\n  report_interval: 0\n  session_report: \"\"\n"
             "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv}\n"
             "risk: {failure_threshold: 2, exclusion_cooldown: 1h}\n"
             "feeds: [{name: sim, kind: sim, seed: 7}]\n"
             "strategies: [{name: watch, kind: lua, path: %s}]\n"
             "status: {enabled: false}\n",
             STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, lua);
    char *cfg = st_test_write(dir, "data.yaml", yaml);
    FILE *out = fopen("/dev/null", "w");
    st_test_runtime_init(&rt, cfg, out);
    refuse_t r = {.rt = &rt, .sym = st_symtab_find(&rt.syms, "005930", 6)};
    st_timer_init(&r.at1, refuse, &r);
    st_timer_init(&r.at2, refuse, &r);
    st_time_t nine = st_clock_now(&rt.clock);
    st_clock_timer_start(&rt.clock, &r.at1, nine + ST_MIN, 0);
    st_clock_timer_start(&rt.clock, &r.at2, nine + 5 * ST_MIN, 0);
    assert_int_equal(st_runtime_run(&rt), 0);
    const st_plan_entry_t *e = st_planner_entry(rt.planner, r.sym);
    bool excluded = (e->flags & ST_PLAN_EXCLUDED) != 0;
    int failures = e->failures;
    st_runtime_free(&rt);
    fclose(out);
    printf("# 005930: %llu ticks by 09:01, %llu by 09:05; %d failures in a row, excluded: %s\n",
           (unsigned long long)r.ticks[0], (unsigned long long)r.ticks[1], failures, excluded ? "yes" : "no");
    assert_int_equal(r.n, 3);
    assert_true(r.ticks[1] > r.ticks[0]); /* ticks came between the refusals */
    assert_int_equal(r.ticks[2], r.ticks[1]);
    assert_true(excluded);
    assert_int_equal(failures, 2);
    free(lua);
    free(cfg);
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_excluded_after_threshold),
        cmocka_unit_test(test_data_breaks_the_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
