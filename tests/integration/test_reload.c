/* Reload on SIGHUP while ticks flow, in-process on the simulated market: a strategy that counts
 * every tick is changed and reloaded at 10:00 by a real SIGHUP. It must lose no tick (its count,
 * carried across the swap by on_reload, equals what the feed delivered), and the reload must
 * not move the plan or the subscriptions when no demand changed. */
#include "runtime_fixture.h"

#include "app/runtime.h"
#include "core/log.h"
#include "core/res.h"
#include "core/timefmt.h"
#include "host/lua_host.h"

#include <signal.h>

static st_runtime_t rt;
static char *dir;
static st_timer_t reload_timer, check_timer;
static uint64_t changes_before, subs_before;
static bool checked;

static const char *const COUNT_V1 =
    "local M = {state = {n = 0, version = 1}}\n"
    "function M.init() strata.watch('005930', 'critical') end\n"
    "local function count() M.state.n = M.state.n + 1 end\n"
    "M.on_trade, M.on_orderbook, M.on_snapshot = count, count, count\n"
    "return M\n";

static const char *const COUNT_V2 =
    "local M = {state = {n = 0, version = 2}}\n"
    "function M.init() strata.watch('005930', 'critical') end\n"
    "function M.on_reload(old) M.state.n = old.n M.state.before = old.n end\n"
    "local function count() M.state.n = M.state.n + 1 end\n"
    "M.on_trade, M.on_orderbook, M.on_snapshot = count, count, count\n"
    "return M\n";

static void plan_counters(uint64_t *changes, uint64_t *subs)
{
    st_plan_stats_t ps;
    st_planner_stats(rt.planner, &ps);
    st_counters_t c;
    st_runtime_collect(&rt, &c);
    *changes = ps.changes;
    *subs = c.subs_requests;
}

static void on_reload_time(st_timer_t *t, st_time_t now, void *ctx)
{
    plan_counters(&changes_before, &subs_before);
    free(st_test_write(dir, "count.lua", COUNT_V2));
    st_test_raise_sighup(&rt);
}

static void on_check(st_timer_t *t, st_time_t now, void *ctx)
{
    checked = true;
    assert_int_equal(rt.reloads_ok, 1);
    double before = -1, version = -1;
    st_lua_t *l = st_strats_lua(rt.strats, "count");
    assert_int_equal(st_lua_state_number(l, "version", &version), 0);
    assert_true(version == 2);
    assert_int_equal(st_lua_state_number(l, "before", &before), 0);
    assert_true(before > 1000);
    uint64_t changes, subs;
    plan_counters(&changes, &subs);
    printf("# reload at 10:00 after %.0f ticks: plan changes %llu -> %llu, subscription requests %llu -> %llu\n",
           before, (unsigned long long)changes_before, (unsigned long long)changes,
           (unsigned long long)subs_before, (unsigned long long)subs);
    /* Nothing a strategy or the config asks for changed: no plan change, no resubscription.
     * (The check runs 30 s later, before the next rebalance at 10:05.) */
    assert_int_equal(changes, changes_before);
    assert_int_equal(subs, subs_before);
}

static void test_reload_while_ticks_flow(void **state)
{
    dir = st_test_tmpdir();
    free(st_test_write(dir, "count.lua", COUNT_V1));
    /* steady: also asks the simulated venue for a book, which answers at once */
    free(st_test_write(dir, "steady.lua",
                       "local M = {state = {}}\n"
                       "function M.init()\n"
                       "  strata.watch('000660', 'high')\n"
                       "  local ob = assert(strata.orderbook('005380'))\n"
                       "  M.state.spread = ob.ask[1] - ob.bid[1]\n"
                       "  M.state.levels = #ob.ask\n"
                       "end\n"
                       "return M\n"));
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 08:50\", stop: \"11:00\", speed: 0}\n"
             "  log: {file: %s/strata.log}\n"
             "market:\n  universe: %s/config/universe.csv\n  indices: %s/config/indices.csv\n"
             "  watch_universe: background\n"
             "feeds:\n  - {name: sim, kind: sim, seed: 7, budget: 41}\n"
             "strategies:\n"
             "  - {name: count, kind: lua, path: count.lua, all_symbols: true}\n"
             "  - {name: steady, kind: lua, path: steady.lua}\n"
             "status: {enabled: false}\n",
             dir, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR);
    char *cfg = st_test_write(dir, "strata.yaml", yaml);
    FILE *out = fopen("/dev/null", "w");
    st_test_runtime_init(&rt, cfg, out);
    st_timer_init(&reload_timer, on_reload_time, NULL);
    st_timer_init(&check_timer, on_check, NULL);
    st_clock_timer_start(&rt.clock, &reload_timer, st_test_at("10:00"), 0);
    st_clock_timer_start(&rt.clock, &check_timer, st_test_at("10:00") + 30 * ST_SEC, 0);
    assert_int_equal(st_runtime_run(&rt), 0);
    assert_true(checked);

    st_counters_t c;
    st_runtime_collect(&rt, &c);
    double n = -1;
    assert_int_equal(st_lua_state_number(st_strats_lua(rt.strats, "count"), "n", &n), 0);
    printf("# %llu ticks delivered, the strategy counted %.0f\n", (unsigned long long)c.ticks_delivered, n);
    double spread = -1, levels = -1;
    st_lua_t *steady = st_strats_lua(rt.strats, "steady");
    assert_int_equal(st_lua_state_number(steady, "spread", &spread), 0);
    assert_int_equal(st_lua_state_number(steady, "levels", &levels), 0);
    assert_true(spread > 0);
    assert_true(levels == ST_BOOK_DEPTH);
    assert_true(c.ticks_delivered > 10000);
    assert_true(n == (double)c.ticks_delivered);
    st_runtime_free(&rt);
    fclose(out);

    char *log;
    char path[300];
    snprintf(path, sizeof(path), "%s/strata.log", dir);
    assert_int_equal(st_file_read(path, &log, NULL), 0);
    assert_non_null(strstr(log, "count: new code swapped in"));
    assert_non_null(strstr(log, "reload: generation 2 running, 1 strategy started or swapped ("));
    assert_null(strstr(log, "steady: new code"));
    free(log);
    free(cfg);
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reload_while_ticks_flow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
