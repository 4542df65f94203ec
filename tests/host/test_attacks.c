/* Issue 15: a hostile strategy next to a good one. Each attack in tests/host/attacks/ must end
 * as faults attributed to the attacker (its file:line in the message), then quarantine, while
 * the process lives and the good strategy receives every tick. Before the fixes these aborted
 * the process, hung it, or ran for seconds to minutes; an alarm turns a hang into a failure.
 * How long each attack holds the loop is measured in tests/bench/bench_attacks.c. */
#include "fixture.h"

#include <signal.h>

#define ATTACKS st_test_source_path("tests/host/attacks/")

static const char *const GOOD = "local M = {state = {n = 0}}\n"
                                "function M.on_trade() M.state.n = M.state.n + 1 end\n"
                                "M.on_orderbook = M.on_trade\n"
                                "return M\n";

/* Loads good (all_symbols) and bad (the attack file, a small heap and the given budget) at
 * start-up. */
static void load_pair_budget(const char *file, const char *extra, long budget)
{
    free(script("good.lua", GOOD));
    char cfg[1024];
    snprintf(cfg, sizeof(cfg),
             "strategies:\n"
             "  - {name: good, kind: lua, path: good.lua, all_symbols: true}\n"
             "  - {name: bad, kind: lua, path: %s%s, all_symbols: true, instruction_budget: %ld, "
             "memory_mb: 4%s}\n",
             ATTACKS, file, budget, extra ? extra : "");
    assert_int_equal(load_as(cfg, false, NULL), 2);
    assert_string_equal(info("bad")->state, "running");
}

static void load_pair(const char *file, const char *extra)
{
    load_pair_budget(file, extra, 100000);
}

static void book(const char *code, double ask)
{
    st_tick_t t = {.kind = ST_TICK_ORDERBOOK, .sym = sym(code), .venue_time = st_clock_now(&F.clock)};
    t.u.book.ask[0] = ask;
    t.u.book.bid[0] = ask - 100;
    st_strats_tick(F.h, &t);
}

/* Sends n trades; the attacker must fault (message containing want and its file's name),
 * be quarantined after its quarantine_after (5) faults, and the good one get every tick. */
static void expect_contained(const char *file, int n, const char *want)
{
    for (int i = 0; i < n; i++) trade("005930", 70000 + i);
    const st_strat_info_t *b = info("bad");
    printf("# %s: %llu faults, %s: %.160s\n", file, (unsigned long long)b->faults, b->state, b->last_error);
    assert_true(b->faults >= 1);
    assert_non_null(strstr(b->last_error, want));
    assert_non_null(strstr(b->last_error, file));
    assert_string_equal(b->state, "quarantined");
    assert_int_equal((int)state_num("good", "n"), n);
}

static void test_index_metamethods(void **state)
{
    load_pair("index_error.lua", NULL);
    expect_contained("index_error.lua", 8, "no callback on_trade");
    assert_int_equal(info("bad")->faults, 5);
    assert_int_equal(prio("005930"), ST_PRIO_NONE); /* quarantine released its demand */
}

static void test_index_loop(void **state)
{
    load_pair("index_loop.lua", NULL);
    expect_contained("index_loop.lua", 6, "instruction budget of 100000 exceeded");
}

/* A tick is a read-only view: every write, raw access and metatable change is refused (5 a
 * trade, 3 a book: pairs' iterator called on a number too; on a trade's view it finds no book
 * arrays and no crash), no metamethod of the strategy runs for the host, and every call reads its
 * own tick's values however the last call left the view and the book's arrays. */
static void test_tick_table_metamethods(void **state)
{
    load_pair("tick_meta.lua", NULL);
    for (int i = 0; i < 5; i++) {
        trade("005930", 70000 + i);
        assert_int_equal((int)state_num("bad", "price"), 70000 + i);
        assert_int_equal((int)state_num("bad", "fields"), 14); /* pairs() lists a trade's fields */
        book("005930", 71000 + i);
        assert_int_equal((int)state_num("bad", "ask1"), 71000 + i);
        assert_int_equal((int)state_num("bad", "bid_levels"), ST_BOOK_DEPTH);
        assert_int_equal((int)state_num("bad", "other"), 2); /* the key, and no value (nil) */
    }
    assert_int_equal((int)state_num("bad", "refused"), 5 * (5 + 3));
    assert_int_equal(info("bad")->faults, 0);
    assert_int_equal((int)state_num("good", "n"), 10);
}

static void test_coroutine_budget(void **state)
{
    load_pair("coroutine.lua", NULL);
    expect_contained("coroutine.lua", 6, "instruction budget of 100000 exceeded");
}

static void test_finalizer_refused(void **state)
{
    load_pair("finalizer.lua", NULL);
    expect_contained("finalizer.lua", 6, "finalizers (__gc) are not allowed");
}

static void test_library_calls_budgeted(void **state)
{
    static const char *const attacks[] = {"find", "match", "gmatch", "gsub", "sort", "move"};
    for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
        char extra[64];
        snprintf(extra, sizeof(extra), ", params: {attack: %s}", attacks[i]);
        load_pair("library.lua", extra);
        printf("# library: %s\n", attacks[i]);
        expect_contained("library.lua", 6, "instruction budget of 100000 exceeded");
        assert_int_equal(load("strategies: []\n", NULL), 0);
    }
    load_pair("library.lua", ", params: {attack: collect}");
    expect_contained("library.lua", 6, "only \"count\" is allowed in a strategy");
}

static void test_memory_pinned(void **state)
{
    load_pair_budget("memory.lua", NULL, 10000000); /* the budget to fill 4 MiB in one callback */
    expect_contained("memory.lua", 6, "memory cap of 4 MiB (memory_mb) reached");
    assert_non_null(strstr(info("bad")->last_error, "stack traceback"));
}

static void test_unknown_host_function(void **state)
{
    load_pair("unknown.lua", NULL);
    expect_contained("unknown.lua", 6, "strata has no function 'buy'");
    /* and the source scan that strata check prints */
    st_lua_cfg_t cfg = {.name = "u", .path = st_test_source_path("tests/host/attacks/unknown.lua")};
    st_lua_t *l;
    char err[256];
    assert_int_equal(st_lua_open(&l, &cfg, err, sizeof(err)), 0);
    size_t n;
    const char *const *w = st_lua_warnings(l, &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(w[0], "unknown.lua:4: strata.buy is not a strata function"));
    st_lua_close(l);
}

/* Faults that never come 5 in a row are quarantined by rate: 5 within 100 calls. */
static void test_intermittent_faults(void **state)
{
    load_pair("flaky.lua", NULL);
    for (int i = 0; i < 14; i++) trade("005930", 70000);
    assert_string_equal(info("bad")->state, "running");
    assert_int_equal(info("bad")->faults, 4);
    trade("005930", 70000);
    assert_string_equal(info("bad")->state, "quarantined");
    assert_int_equal(info("bad")->faults, 5);
    assert_int_equal((int)state_num("good", "n"), 15);
}

/* Fault lines name the strategy, the callback and the symbol; a repeated fault is logged once,
 * then as "repeated N times". */
static void test_fault_log_lines(void **state)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/faults.log", F.dir);
    st_log_open(ST_LL_WARN, ST_LOG_TEXT, path);
    load_pair("unknown.lua", ", quarantine_after: 1000");
    for (int i = 0; i < 25; i++) trade("005930", 70000);
    assert_int_equal(load("strategies: []\n", NULL), 0); /* closing it says how often it came again */
    char *log;
    assert_int_equal(st_file_read(path, &log, NULL), 0);
    printf("%s", log);
    char want[4400];
    snprintf(want, sizeof(want), "host: bad: on_trade(005930): %sunknown.lua:4: strata has no function 'buy'", ATTACKS);
    assert_non_null(strstr(log, want));
    assert_non_null(strstr(log, "stack traceback"));
    assert_non_null(strstr(log, "(repeated 10 times)"));
    assert_non_null(strstr(log, "(repeated 24 times)"));
    const char *p = log;
    int tracebacks = 0;
    while ((p = strstr(p, "stack traceback"))) tracebacks++, p++;
    assert_int_equal(tracebacks, 1);
    free(log);
    st_log_open(ST_LL_WARN, ST_LOG_TEXT, NULL);
}

static void on_alarm(int sig)
{
    static const char msg[] = "test_attacks: an attack held the process for 120 s\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(1);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    alarm(120);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_index_metamethods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tick_table_metamethods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coroutine_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finalizer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_library_calls_budgeted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_pinned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_host_function, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intermittent_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_log_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
