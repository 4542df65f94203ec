/* The Lua strategy host: callbacks and host functions, a script error's traceback naming
 * file:line, a runaway loop cut off (also inside the script's own pcall), a memory bomb capped,
 * quarantine after K faults in a row, the sandbox (no io, os.execute, package, dofile,
 * loadfile, load; require only from the strategy's directory; binary chunks refused), and tick
 * tables reused rather than built per call. */
#include "../test.h"

#include <stdarg.h>
#include <sys/stat.h>

#include "core/err.h"

#include "core/log.h"
#include "host/lua_host.h"

static char dir[64];

/* A fake host recording what strategies ask. */
typedef struct {
    char calls[64][96];
    int n;
    int quarantined;
} fake_t;

static fake_t fake;

static void rec(const char *fmt, const char *a, double x)
{
    if (fake.n < 64) snprintf(fake.calls[fake.n++], sizeof(fake.calls[0]), fmt, a, x);
}

static int f_watch(strata_ctx_t *ctx, const char *code, int prio) { rec("watch %s %.0f", code, prio); return 0; }
static int f_unwatch(strata_ctx_t *ctx, const char *code) { rec("unwatch %s%.0f", code, 0); return 0; }
static int f_upgrade(strata_ctx_t *ctx, const char *code, int prio) { rec("upgrade %s %.0f", code, prio); return 0; }
static int f_emergency(strata_ctx_t *ctx, const char *code, double score, char *why, size_t len)
{
    rec("emergency %s %.1f", code, score);
    snprintf(why, len, "no room for %.1f", score);
    return -ENOSPC;
}
static int f_score(strata_ctx_t *ctx, const char *code, double score) { rec("score %s %.2f", code, score); return 0; }
static int f_signal(strata_ctx_t *ctx, const char *code, int side, double strength, const char *reason)
{
    char b[64];
    snprintf(b, sizeof(b), "%s %s %s", code, side == STRATA_SIDE_BUY ? "buy" : side == STRATA_SIDE_SELL ? "sell" : "-",
             reason);
    rec("signal %s %.1f", b, strength);
    return 0;
}
static int f_every(strata_ctx_t *ctx, int64_t every, const char *name)
{
    rec("every %s %.1f", name, (double)every / ST_SEC);
    return 0;
}
static int64_t f_now(strata_ctx_t *ctx) { return 1800000000LL * ST_SEC; }
static void f_quarantined(strata_ctx_t *ctx, const char *why) { fake.quarantined++; }

/* 005930's book is at hand; any other is asked for (pending). */
static int f_orderbook(strata_ctx_t *ctx, const char *code, strata_tick_t *out)
{
    rec("orderbook %s", code, 0);
    if (strcmp(code, "005930") != 0) return STRATA_PENDING;
    memset(out, 0, sizeof(*out));
    out->kind = STRATA_TICK_ORDERBOOK;
    for (int i = 0; i < STRATA_BOOK_DEPTH; i++)
        out->u.book.ask[i] = 73100 + 100 * i, out->u.book.bid[i] = 73000 - 100 * i;
    out->u.book.total_ask_qty = 5000;
    return 0;
}

static int f_status(strata_ctx_t *ctx, strata_status_t *out)
{
    *out = (strata_status_t){.size = out->size, .slot = "lunch", .tier1 = 5, .tier2 = 20, .tier3 = 366, .indices = 5,
                              .ws_used = 35, .ws_budget = 41, .ticks = 7, .signals = 2, .watched = 3};
    return 0;
}

static void f_log(strata_ctx_t *ctx, int level, const char *fmt, ...)
{
    char msg[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rec("log %s %.0f", msg, level);
}

static const strata_host_t host = {.size = sizeof(strata_host_t), .abi_major = STRATA_ABI_MAJOR,
                                   .abi_minor = STRATA_ABI_MINOR, .watch = f_watch, .unwatch = f_unwatch,
                                   .upgrade_priority = f_upgrade, .emergency_subscribe = f_emergency,
                                   .update_performance_score = f_score, .signal = f_signal, .every = f_every,
                                   .now = f_now, .log = f_log, .orderbook = f_orderbook, .status = f_status};

static char *write_file(const char *name, const char *text)
{
    return st_test_write(dir, name, text);
}

static st_lua_t *open_ok(const char *text, size_t cap, uint64_t budget)
{
    char *path = write_file("s.lua", text);
    st_lua_cfg_t cfg = {.name = "s", .path = path, .mem_cap = cap, .budget = budget, .quarantine_after = 3,
                        .host = &host, .quarantined = f_quarantined};
    st_lua_t *s = NULL;
    char err[512] = "";
    int rc = st_lua_open(&s, &cfg, err, sizeof(err));
    if (rc) printf("# %s\n", err);
    assert_int_equal(rc, 0);
    free(path);
    return s;
}

static st_tick_t trade(double price)
{
    st_tick_t t;
    memset(&t, 0, sizeof(t));
    t.kind = ST_TICK_TRADE;
    t.venue_time = 1800000000LL * ST_SEC;
    t.u.trade.price = price;
    t.u.trade.volume = 10;
    t.u.trade.prev_close = 100;
    t.u.trade.side = ST_SIDE_BUY;
    return t;
}

static void test_callbacks_and_host_functions(void **state)
{
    memset(&fake, 0, sizeof(fake));
    st_lua_t *s = open_ok(
        "local M, seen = {}, 0\n"
        "function M.init(p) strata.watch('005930', p.prio) strata.every(30, 'scan') end\n"
        "function M.on_trade(sym, t)\n"
        "  seen = seen + 1\n"
        "  if t.price / t.prev_close - 1 >= 0.03 then\n"
        "    strata.signal{symbol=sym, side=t.side, strength=2.5, reason='gap'}\n"
        "    strata.upgrade_priority(sym, 'critical')\n"
        "    local ok, why = strata.emergency_subscribe(sym, 150)\n"
        "    if not ok then strata.log('info', why) end\n"
        "  end\n"
        "  strata.update_performance_score(sym, seen / 4)\n"
        "end\n"
        "function M.on_timer(name) strata.unwatch(name) end\n"
        "return M\n", 0, 0);
    const char *k[] = {"prio"}, *v[] = {"high"};
    assert_int_equal(st_lua_init(s, k, v, 1), 0);
    st_tick_t t = trade(100);
    assert_int_equal(st_lua_on_tick(s, "005930", &t), 0);
    t = trade(104);
    assert_int_equal(st_lua_on_tick(s, "005930", &t), 0);
    assert_int_equal(st_lua_on_timer(s, "000660"), 0);
    assert_int_equal(st_lua_on_timeslot(s, "lunch"), 1); /* no such callback */
    assert_int_equal(st_lua_on_day(s, "2026-12-07"), 1);   /* nor this one */
    const char *want[] = {"watch 005930 1",         "every scan 30.0",        "score 005930 0.25",
                          "signal 005930 buy gap 2.5", "upgrade 005930 0",     "emergency 005930 150.0",
                          "log no room for 150.0 1", "score 005930 0.50",      "unwatch 0006600"};
    assert_int_equal(fake.n, 9); /* strata.log goes to the host's log (level 1: info), as a plugin's */
    for (int i = 0; i < 9; i++) assert_string_equal(fake.calls[i], want[i]);
    st_lua_stats_t st;
    st_lua_stats(s, &st);
    assert_int_equal(st.faults, 0);
    st_lua_close(s);
}

/* orderbook(sym): a table of the book's own when one is at hand, nil and "pending" otherwise;
 * status(): the plan's figures and the strategy's own. */
static void test_orderbook_and_status(void **state)
{
    memset(&fake, 0, sizeof(fake));
    st_lua_t *s = open_ok(
        "local M = {state = {}}\n"
        "function M.init()\n"
        "  local ob = assert(strata.orderbook('005930'))\n"
        "  M.state.ask1, M.state.bid10, M.state.total = ob.ask[1], ob.bid[10], ob.total_ask_qty\n"
        "  local none, why = strata.orderbook('000660')\n"
        "  M.state.pending = (none == nil and why == 'pending') and 1 or 0\n"
        "  local st = strata.status()\n"
        "  M.state.tier1, M.state.ws = st.tier1, st.ws_used * 100 + st.ws_budget\n"
        "  M.state.lunch = st.slot == 'lunch' and 1 or 0\n"
        "  M.state.mine = st.strategy.ticks * 100 + st.strategy.signals * 10 + st.strategy.watched\n"
        "end\n"
        "return M\n", 0, 0);
    assert_int_equal(st_lua_init(s, NULL, NULL, 0), 0);
    static const struct {
        const char *key;
        double want;
    } want[] = {{"ask1", 73100}, {"bid10", 72100}, {"total", 5000}, {"pending", 1},
                {"tier1", 5},    {"ws", 3541},     {"lunch", 1},    {"mine", 723}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        double v = -1;
        assert_int_equal(st_lua_state_number(s, want[i].key, &v), 0);
        if (v != want[i].want) printf("# %s: %g\n", want[i].key, v);
        assert_true(v == want[i].want);
    }
    assert_int_equal(fake.n, 2);
    st_lua_close(s);

    /* Reading state back runs no strategy code: a looping __index is not called. */
    s = open_ok("local M = {state = setmetatable({n = 1}, {__index = function() while true do end end})}\n"
                "return M\n", 0, 0);
    double v = 0;
    assert_int_equal(st_lua_state_number(s, "n", &v), 0);
    assert_true(v == 1);
    assert_int_equal(st_lua_state_number(s, "missing", &v), -ENOENT);
    st_lua_close(s);
}

/* An error names file:line and carries a traceback; K faults in a row quarantine; a success in
 * between resets the count. */
static void test_errors_traceback_and_quarantine(void **state)
{
    memset(&fake, 0, sizeof(fake));
    st_lua_t *s = open_ok("local M = {}\n"
                          "local function deep(t) return t.nope.field end\n"
                          "function M.on_trade(sym, t) if t.price > 0 then deep(t) end end\n"
                          "return M\n", 0, 0);
    st_tick_t bad = trade(1), fine = trade(0);
    assert_int_equal(st_lua_on_tick(s, "X", &bad), ST_EFAULT);
    st_lua_stats_t st;
    st_lua_stats(s, &st);
    assert_non_null(strstr(st.last_error, "s.lua:2: attempt to index a nil value (field 'nope')"));
    assert_non_null(strstr(st.last_error, "stack traceback"));
    assert_non_null(strstr(st.last_error, "s.lua:3: in function"));
    assert_int_equal(st_lua_on_tick(s, "X", &bad), ST_EFAULT);
    assert_int_equal(st_lua_on_tick(s, "X", &fine), 0); /* not in a row, */
    assert_int_equal(fake.quarantined, 0);
    assert_int_equal(st_lua_on_tick(s, "X", &bad), ST_EFAULT); /* but 3 faults in 4 calls (window 100) */
    assert_int_equal(fake.quarantined, 1);
    assert_int_equal(st_lua_on_tick(s, "X", &fine), 1); /* no longer called */
    st_lua_stats(s, &st);
    assert_true(st.quarantined);
    assert_int_equal(st.faults, 3);
    assert_true(st.fault_rate == 0.6); /* 3 faults in 5 calls, loading the script counted */
    assert_int_equal(st.faults_by[ST_FAULT_ERROR], 3); /* errors it raised */
    assert_int_equal(st.faults_by[ST_FAULT_BUDGET] + st.faults_by[ST_FAULT_MEMORY], 0);
    st_lua_close(s);

    /* with a window of 3 calls only 3 faults in a row quarantine */
    char *cpath = write_file("rate.lua", "local M = {}\n"
                                         "function M.on_trade(sym, t) if t.price > 0 then error('bad') end end\n"
                                         "return M\n");
    st_lua_cfg_t rc = {.name = "rate", .path = cpath, .quarantine_after = 3, .quarantine_window = 3,
                        .host = &host, .quarantined = f_quarantined};
    char rerr[256];
    memset(&fake, 0, sizeof(fake));
    assert_int_equal(st_lua_open(&s, &rc, rerr, sizeof(rerr)), 0);
    for (int i = 0; i < 30; i++) st_lua_on_tick(s, "X", i % 3 == 2 ? &fine : &bad);
    assert_int_equal(fake.quarantined, 0);
    st_lua_on_tick(s, "X", &bad);
    st_lua_on_tick(s, "X", &bad);
    assert_int_equal(fake.quarantined, 0);
    st_lua_on_tick(s, "X", &bad); /* the third in a row */
    assert_int_equal(fake.quarantined, 1);
    st_lua_close(s);
    free(cpath);

    char *path = write_file("broken.lua", "local M = {}\nfunction M.on_trade(sym, t)\n  if then end\nend\nreturn M\n");
    st_lua_cfg_t cfg = {.name = "broken", .path = path, .mem_cap = 0, .budget = 0, .quarantine_after = 3,
                        .host = &host, .quarantined = f_quarantined};
    char err[512];
    assert_int_equal(st_lua_open(&s, &cfg, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "broken.lua:3:"));
    free(path);
    path = write_file("notable.lua", "return 42\n");
    cfg.path = path;
    assert_int_equal(st_lua_open(&s, &cfg, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "must return a table of callbacks"));
    free(path);
}

/* A runaway loop is cut off at the budget, even when the script wraps it in pcall. */
static void test_runaway_loop_cut_off(void **state)
{
    st_lua_t *s = open_ok("local M = {}\n"
                          "function M.on_timer(n)\n"
                          "  if n == 'plain' then while true do end end\n"
                          "  while true do pcall(function() while true do end end) end\n"
                          "end\n"
                          "function M.on_timeslot(x) local a = 0 for i = 1, 1000 do a = a + i end end\n"
                          "return M\n", 0, 100000);
    assert_int_equal(st_lua_on_timer(s, "plain"), ST_EFAULT);
    st_lua_stats_t st;
    st_lua_stats(s, &st);
    assert_non_null(strstr(st.last_error, "instruction budget of 100000 exceeded"));
    assert_int_equal(st_lua_on_timer(s, "wrapped"), ST_EFAULT); /* pcall cannot swallow it */
    st_lua_stats(s, &st);
    assert_non_null(strstr(st.last_error, "instruction budget of 100000 exceeded"));
    assert_int_equal(st.faults_by[ST_FAULT_BUDGET], 2); /* the cause, for /metrics */
    assert_int_equal(st.faults_by[ST_FAULT_ERROR], 0);
    assert_int_equal(st_lua_on_timeslot(s, "x"), 0); /* a fresh budget for the next callback */
    st_lua_close(s);
}

/* on_day(date) (issue 21.2): the date as a string, once per call. */
static void test_on_day(void **state)
{
    fake.n = 0;
    st_lua_t *s = open_ok("local M = {}\n"
                          "function M.on_day(date) strata.signal{symbol = '005930', side = 'buy', strength = 1, reason = date} end\n"
                          "return M\n", 0, 0);
    st_lua_init(s, NULL, NULL, 0); /* it has no init: 1 */
    assert_int_equal(st_lua_on_day(s, "2026-12-07"), 0);
    assert_int_equal(fake.n, 1);
    assert_string_equal(fake.calls[0], "signal 005930 buy 2026-12-07 1.0");
    st_lua_close(s);
}

/* A memory bomb fails its callback at the cap; the state lives on and gets its memory back. */
static void test_memory_bomb_capped(void **state)
{
    st_lua_t *s = open_ok("local M, keep = {}, {}\n"
                          "function M.on_timer(n) local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 100) .. i end end\n"
                          "function M.on_timeslot(x) keep[#keep + 1] = x end\n"
                          "return M\n", 4u << 20, 0);
    assert_int_equal(st_lua_on_timer(s, "bomb"), ST_EFAULT);
    st_lua_stats_t st;
    st_lua_stats(s, &st);
    /* issue 15.7: the cap, the file:line and the traceback, like any fault */
    assert_non_null(strstr(st.last_error, "memory cap of 4 MiB (memory_mb) reached"));
    assert_non_null(strstr(st.last_error, "s.lua:2:"));
    assert_non_null(strstr(st.last_error, "stack traceback"));
    assert_true(st.mem < (1u << 20)); /* collected after the fault */
    assert_int_equal(st.faults_by[ST_FAULT_MEMORY], 1);
    assert_int_equal(st.faults_by[ST_FAULT_ERROR] + st.faults_by[ST_FAULT_BUDGET], 0);
    assert_int_equal(st_lua_on_timeslot(s, "lunch"), 0);
    st_lua_close(s);
}

static void test_sandbox(void **state)
{
    char *helper = write_file("helper.lua", "return { twice = function(x) return 2 * x end }\n");
    free(helper);
    st_lua_t *s = open_ok(
        "local M = {}\n"
        "function M.on_timeslot(what)\n"
        "  if what == 'absent' then\n"
        "    assert(io == nil and dofile == nil and loadfile == nil and load == nil and package == nil)\n"
        "    assert(os.execute == nil and os.getenv == nil and os.remove == nil and type(os.time()) == 'number')\n"
        "    assert(require('helper').twice(21) == 42 and require('strata') == strata)\n"
        "  elseif what == 'escape' then require('..etc.passwd')\n"
        "  elseif what == 'nomodule' then require('nope')\n"
        "  elseif what == 'write' then strata.watch = nil end\n"
        "end\n"
        "return M\n", 0, 0);
    assert_int_equal(st_lua_on_timeslot(s, "absent"), 0);
    st_lua_stats_t st;
    assert_int_equal(st_lua_on_timeslot(s, "escape"), ST_EFAULT);
    st_lua_stats(s, &st);
    assert_non_null(strstr(st.last_error, "is not a module name"));
    assert_int_equal(st_lua_on_timeslot(s, "nomodule"), ST_EFAULT);
    st_lua_stats(s, &st);
    assert_non_null(strstr(st.last_error, "no module \"nope\""));
    assert_int_equal(st_lua_on_timeslot(s, "write"), ST_EFAULT);
    st_lua_stats(s, &st);
    assert_non_null(strstr(st.last_error, "read-only"));
    st_lua_close(s);

    /* A binary chunk is refused. */
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "printf '\\033Lua\\124\\000' > %s/bin.lua", dir);
    assert_int_equal(system(cmd), 0);
    char path[128], err[512];
    snprintf(path, sizeof(path), "%s/bin.lua", dir);
    st_lua_cfg_t cfg = {.name = "bin", .path = path, .mem_cap = 0, .budget = 0, .quarantine_after = 3,
                        .host = &host, .quarantined = f_quarantined};
    assert_int_equal(st_lua_open(&s, &cfg, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "attempt to load a binary chunk"));
}

/* Ticks reach Lua in the same table every time. */
static void test_tick_tables_reused(void **state)
{
    st_lua_t *s = open_ok("local M, first, same = {}, nil, 0\n"
                          "function M.on_trade(sym, t) if first == nil then first = t elseif first == t then same = same + 1 end\n"
                          "  assert(t.price > 0 and t.side == 'buy' and t.halted == false) end\n"
                          "function M.on_orderbook(sym, ob) assert(#ob.ask == 10 and ob.ask[1] == 101 and ob.bid[1] == 100) end\n"
                          "function M.on_timer(n) assert(same == 99, same) end\n"
                          "return M\n", 0, 0);
    for (int i = 0; i < 100; i++) {
        st_tick_t t = trade(100 + i);
        assert_int_equal(st_lua_on_tick(s, "005930", &t), 0);
    }
    st_tick_t b;
    memset(&b, 0, sizeof(b));
    b.kind = ST_TICK_ORDERBOOK;
    b.u.book.ask[0] = 101;
    b.u.book.bid[0] = 100;
    assert_int_equal(st_lua_on_tick(s, "005930", &b), 0);
    assert_int_equal(st_lua_on_timer(s, "check"), 0);
    st_lua_close(s);
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/strata-lua-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

/* Issue 16.5: a strategy or module path that is a FIFO is refused, not waited on (open would
 * block until a writer comes; the alarm in main turns such a hang into a failure). */
static void test_fifo_refused(void **state)
{
    char path[512], err[512];
    snprintf(path, sizeof(path), "%s/fifo.lua", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    st_lua_cfg_t cfg = {.name = "f", .path = path,
                        .host = &host, .quarantined = f_quarantined};
    st_lua_t *s = NULL;
    assert_int_equal(st_lua_open(&s, &cfg, err, sizeof(err)), ST_ENOTFILE);
    assert_non_null(strstr(err, "fifo.lua: cannot read: not a regular file"));
    char *req = write_file("req.lua", "local fifo = require('fifo')\nreturn {}\n");
    cfg.path = req;
    assert_int_equal(st_lua_open(&s, &cfg, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "req.lua:1: require: cannot read"));
    assert_non_null(strstr(err, "fifo.lua: not a regular file"));
    free(req);
    unlink(path);
}

int main(void)
{
    alarm(120); /* a read that blocks fails the test instead of hanging it */
    st_log_open(ST_LL_ERROR + 1, ST_LOG_TEXT, NULL); /* the faults are expected: keep stderr quiet */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_callbacks_and_host_functions),
        cmocka_unit_test(test_fifo_refused),
        cmocka_unit_test(test_orderbook_and_status),
        cmocka_unit_test(test_errors_traceback_and_quarantine),
        cmocka_unit_test(test_runaway_loop_cut_off),
        cmocka_unit_test(test_memory_bomb_capped),
        cmocka_unit_test(test_on_day),
        cmocka_unit_test(test_sandbox),
        cmocka_unit_test(test_tick_tables_reused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
