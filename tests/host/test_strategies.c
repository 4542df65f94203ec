/* The strategy host (runtime/host/strategies.c) over a real planner and a simulated clock:
 * each host function, dispatch by subscriber lists, quarantine, and the two-phase reload
 * (a broken script keeps the old one, a changed script or .so swaps and carries state, an
 * unchanged one is left alone, a removed one releases its demands). */
#include "fixture.h"

static const char *const HOST_LUA =
    "local M = {state = {ticks = 0, timers = 0, slots = 0}}\n"
    "function M.init(p)\n"
    "  assert(strata.watch('005930', 'high'))\n"
    "  assert(strata.watch('000660', 'critical'))\n"
    "  assert(strata.unwatch('000660'))\n"
    "  local ok, why = strata.watch('NOPE', 'high')\n"
    "  assert(not ok and type(why) == 'string')\n"
    "  assert(strata.upgrade_priority('035420', 'critical'))\n"
    "  assert(strata.update_performance_score('005930', 42))\n"
    "  assert(strata.every(30, 'half_minute'))\n"
    "  M.state.started = strata.now()\n"
    "  M.state.greeting = #p.greeting\n"
    "end\n"
    "function M.on_trade(sym, t)\n"
    "  M.state.ticks = M.state.ticks + 1\n"
    "  if t.price > 1000 then\n"
    "    assert(strata.signal{symbol = sym, side = 'buy', strength = 2.5, reason = 'big'})\n"
    "    assert(strata.emergency_subscribe(sym, 150))\n"
    "  end\n"
    "end\n"
    "function M.on_timer(name) if name == 'half_minute' then M.state.timers = M.state.timers + 1 end end\n"
    "function M.on_timeslot(slot) M.state.slots = M.state.slots + 1 end\n"
    "return M\n";

static void test_host_functions(void **state)
{
    free(script("host.lua", HOST_LUA));
    assert_int_equal(load("strategies:\n  - {name: host, kind: lua, path: host.lua, params: {greeting: hello}}\n", NULL), 1);
    assert_true(F.dirty > 0);
    assert_int_equal(prio("005930"), ST_PRIO_HIGH);
    assert_int_equal(prio("000660"), ST_PRIO_NONE); /* watched, then unwatched */
    assert_int_equal(prio("035420"), ST_PRIO_CRITICAL);
    assert_true(fabs(st_planner_entry(F.planner, sym("005930"))->score - 42) < 1e-6);
    assert_true(fabs(state_num("host", "started") - (double)st_clock_now(&F.clock) / ST_SEC) < 1e-6);
    assert_int_equal((int)state_num("host", "greeting"), 5);

    /* dispatch: only the symbols it watches */
    trade("005930", 900);
    trade("000660", 900);
    trade("035420", 900);
    trade("051910", 900);
    assert_int_equal((int)state_num("host", "ticks"), 2);
    assert_int_equal(info("host")->watched, 2);
    assert_int_equal(info("host")->ticks, 2);

    /* signal and emergency, with the strategy's requester */
    trade("005930", 2000);
    assert_int_equal(F.signals, 1);
    assert_string_equal(F.sig_strategy, "host");
    assert_string_equal(F.sig_code, "005930");
    assert_string_equal(F.sig_side, "buy");
    assert_string_equal(F.sig_reason, "big");
    assert_true(F.sig_strength == 2.5);
    assert_int_equal(F.emergencies, 1);
    assert_int_equal(F.emergency_sym, sym("005930"));
    assert_true(F.emergency_score == 150);
    assert_int_equal(st_planner_entry(F.planner, sym("005930"))->tier, ST_TIER_REALTIME);
    assert_true(st_planner_entry(F.planner, sym("005930"))->flags & ST_PLAN_EMERGENCY);
    assert_int_equal(info("host")->emergencies, 1);
    assert_int_equal(st_strats_signals(F.h), 1);

    /* every: the clock's timers, 30 s apart */
    st_time_t t0 = st_clock_now(&F.clock);
    ev_run(F.loop, EVRUN_ONCE);
    assert_int_equal(st_clock_now(&F.clock) - t0, 30 * ST_SEC);
    assert_int_equal((int)state_num("host", "timers"), 1);
    ev_run(F.loop, EVRUN_ONCE);
    assert_int_equal((int)state_num("host", "timers"), 2);

    st_strats_timeslot(F.h, "lunch");
    assert_int_equal((int)state_num("host", "slots"), 1);
}

/* orderbook(): at once when at hand; otherwise later, as on_orderbook, to the strategy that
 * asked and no other, once. status(): the planner's figures and the strategy's own. */
static void test_orderbook_and_status(void **state)
{
    free(script("b.lua", "local M = {state = {books = 0}}\n"
                         "function M.init()\n"
                         "  strata.watch('005930', 'high')\n"
                         "  M.state.ask1 = assert(strata.orderbook('005930')).ask[1]\n"
                         "  local none, why = strata.orderbook('000660')\n"
                         "  M.state.pending = (none == nil and why == 'pending') and 1 or 0\n"
                         "end\n"
                         "function M.on_orderbook(sym, ob) M.state.books = M.state.books + 1 M.state.late = ob.ask[1] end\n"
                         "function M.on_timer()\n"
                         "  local st = strata.status()\n"
                         "  M.state.test_slot = st.slot == 'test' and 1 or 0\n"
                         "  M.state.indices, M.state.budget = st.indices, st.ws_budget\n"
                         "  M.state.watched = st.strategy.watched\n"
                         "end\n"
                         "function M.on_reload() end\n"
                         "return M\n"));
    free(script("other.lua", "local M = {state = {books = 0}}\n"
                             "function M.on_orderbook() M.state.books = M.state.books + 1 end\n"
                             "return M\n"));
    assert_int_equal(load("strategies:\n  - {name: b, kind: lua, path: b.lua}\n"
                          "  - {name: other, kind: lua, path: other.lua, all_symbols: true}\n", NULL), 2);
    assert_int_equal((int)state_num("b", "ask1"), 73100);
    assert_int_equal((int)state_num("b", "pending"), 1);
    assert_non_null(pend_cb);
    st_tick_t late = {.kind = ST_TICK_ORDERBOOK, .sym = sym("000660")};
    late.u.book.ask[0] = 5000;
    pend_cb(&late, NULL, pend_ctx);
    assert_int_equal((int)state_num("b", "books"), 1);
    assert_int_equal((int)state_num("b", "late"), 5000);
    assert_int_equal((int)state_num("other", "books"), 0);
    pend_cb(&late, NULL, pend_ctx); /* nobody asked again */
    assert_int_equal((int)state_num("b", "books"), 1);

    st_lua_t *l = st_strats_lua(F.h, "b");
    assert_int_equal(st_lua_on_timer(l, "x"), 0);
    st_plan_stats_t ps;
    st_planner_stats(F.planner, &ps);
    assert_int_equal((int)state_num("b", "test_slot"), 1);
    assert_int_equal((int)state_num("b", "indices"), ps.indices);
    assert_int_equal((int)state_num("b", "budget"), 41);
    assert_int_equal((int)state_num("b", "watched"), 1);
}

/* strata.symbol(sym): what strata does for it now (the planner's entry) and how old its data is
 * (the symbol view the runtime's tick path keeps); an unknown code: nil and why. */
static void test_symbol(void **state)
{
    free(script("y.lua", "local M = {state = {}}\n"
                         "function M.init() strata.watch('005930', 'high') end\n"
                         "function M.on_timer()\n"
                         "  local y = assert(strata.symbol('005930'))\n"
                         "  M.state.tier, M.state.high = y.tier, y.priority == 'high' and 1 or 0\n"
                         "  M.state.staleness, M.state.price = y.staleness or -1, y.last_price or -1\n"
                         "  M.state.flags = (y.pinned and 1 or 0) + (y.emergency and 2 or 0) + (y.excluded and 4 or 0)\n"
                         "  local p = assert(strata.symbol('000660'))\n"
                         "  M.state.p_tier, M.state.p_poll = p.tier, p.poll_interval or -1\n"
                         "  M.state.p_seen = p.last_tick == nil and p.staleness == nil and 1 or 0\n"
                         "  local none, why = strata.symbol('NOPE')\n"
                         "  M.state.none = (none == nil and type(why) == 'string') and 1 or 0\n"
                         "end\n"
                         "return M\n"));
    assert_int_equal(load("strategies:\n  - {name: y, kind: lua, path: y.lua}\n", NULL), 1);
    int cfg = st_planner_requester(F.planner, "config", 1);
    st_planner_demand(F.planner, cfg, sym("000660"), ST_PRIO_LOW);
    st_planner_replan(F.planner, st_clock_now(&F.clock));
    st_tick_t t = {.kind = ST_TICK_TRADE, .sym = sym("005930"), .recv_time = st_clock_now(&F.clock) - 90 * ST_SEC};
    t.u.trade.price = 71200; /* received 90 s ago */
    st_symview_tick(&F.view, &t);
    st_lua_t *l = st_strats_lua(F.h, "y");
    assert_int_equal(st_lua_on_timer(l, "x"), 0);
    assert_int_equal((int)state_num("y", "tier"), 2);
    assert_int_equal((int)state_num("y", "high"), 1);
    assert_true(state_num("y", "staleness") == 90);
    assert_true(state_num("y", "price") == 71200);
    assert_int_equal((int)state_num("y", "flags"), 0);
    assert_int_equal((int)state_num("y", "p_tier"), 3);
    assert_true(state_num("y", "p_poll") == 60); /* low: the config's 60 s */
    assert_int_equal((int)state_num("y", "p_seen"), 1);
    assert_int_equal((int)state_num("y", "none"), 1);
}

/* A screener (all_symbols) gets every tick exactly once, also those of symbols it watches. */
static void test_all_symbols(void **state)
{
    free(script("all.lua", "local M = {state = {n = 0}}\n"
                           "function M.init() strata.watch('005930', 'high') end\n"
                           "function M.on_trade() M.state.n = M.state.n + 1 end\n"
                           "return M\n"));
    assert_int_equal(load("strategies:\n  - {name: all, kind: lua, path: all.lua, all_symbols: true}\n", NULL), 1);
    trade("005930", 900);
    trade("000660", 900);
    trade("0001", 900);
    assert_int_equal((int)state_num("all", "n"), 3);
    assert_int_equal(prio("005930"), ST_PRIO_HIGH);
}

/* K faults in a row: quarantined, its demands released, no longer called; the others run on. */
static void test_quarantine_releases_demands(void **state)
{
    free(script("bad.lua", "local M = {}\n"
                           "function M.init() strata.watch('005930', 'critical') strata.every(10, 'x') end\n"
                           "function M.on_trade(sym, t) error('boom') end\n"
                           "function M.on_timer() error('timer must not run') end\n"
                           "return M\n"));
    free(script("ok.lua", "local M = {state = {n = 0}}\n"
                          "function M.init() strata.watch('005930', 'high') end\n"
                          "function M.on_trade() M.state.n = M.state.n + 1 end\n"
                          "return M\n"));
    const char *cfg = "strategies:\n"
                      "  - {name: bad, kind: lua, path: bad.lua, quarantine_after: 2, all_symbols: true}\n"
                      "  - {name: ok, kind: lua, path: ok.lua}\n";
    assert_int_equal(load(cfg, NULL), 2);
    assert_int_equal(prio("005930"), ST_PRIO_CRITICAL);
    trade("005930", 900);
    assert_string_equal(info("bad")->state, "running");
    trade("005930", 900);
    assert_string_equal(info("bad")->state, "quarantined");
    assert_non_null(strstr(info("bad")->last_error, "bad.lua:3:"));
    assert_int_equal(prio("005930"), ST_PRIO_HIGH); /* only ok's demand is left */
    assert_int_equal(info("bad")->watched, 0);
    uint64_t faults = info("bad")->faults;
    trade("005930", 900);
    ev_run(F.loop, EVRUN_ONCE); /* its timer is gone: nothing fails */
    assert_int_equal(info("bad")->faults, faults);
    assert_int_equal((int)state_num("ok", "n"), 3);

    assert_int_equal(load(cfg, NULL), 0); /* the same code stays quarantined */
    assert_string_equal(info("bad")->state, "quarantined");
    free(script("bad.lua", "local M = {state = {n = 0}}\n" /* fixed: a new start */
                           "function M.init() strata.watch('005930', 'critical') end\n"
                           "function M.on_trade() M.state.n = M.state.n + 1 end\n"
                           "return M\n"));
    assert_int_equal(load(cfg, NULL), 1);
    assert_string_equal(info("bad")->state, "running");
    assert_int_equal(prio("005930"), ST_PRIO_CRITICAL);
    trade("000660", 900); /* all_symbols again */
    assert_int_equal((int)state_num("bad", "n"), 1);
}

static const char *const V1 = "local M = {state = {n = 0}}\n"
                              "function M.init() strata.watch('005930', 'high') strata.watch('000660', 'medium') end\n"
                              "function M.on_trade() M.state.n = M.state.n + 1 end\n"
                              "return M\n";

/* A reload with a broken script: the error names file:line, and the old code keeps running
 * with everything it held. */
static void test_reload_broken_keeps_old(void **state)
{
    free(script("s.lua", V1));
    const char *cfg = "strategies:\n  - {name: s, kind: lua, path: s.lua}\n";
    assert_int_equal(load(cfg, NULL), 1);
    trade("005930", 900);
    free(script("s.lua", "local M = {}\nfunction M.on_trade(sym, t)\n  if then end\nend\nreturn M\n"));
    st_diags_t d;
    assert_int_equal(load(cfg, &d), -1);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.items[0].msg, "strategies[0] \"s\""));
    assert_non_null(strstr(d.items[0].msg, "s.lua:3:"));
    st_diags_free(&d);
    trade("005930", 900);
    assert_int_equal((int)state_num("s", "n"), 2);
    assert_int_equal(prio("005930"), ST_PRIO_HIGH);
    assert_int_equal(info("s")->reloads, 0);
}

/* A changed script is swapped in: init, then on_reload with the old state; demands it keeps
 * asking for do not move the plan; a reload that changes nothing swaps nothing. */
static void test_reload_changed_script_carries_state(void **state)
{
    free(script("s.lua", V1));
    const char *cfg = "strategies:\n  - {name: s, kind: lua, path: s.lua}\n";
    assert_int_equal(load(cfg, NULL), 1);
    for (int i = 0; i < 5; i++) trade("005930", 900);
    st_planner_replan(F.planner, st_clock_now(&F.clock));
    st_planner_drain(F.planner);

    assert_int_equal(load(cfg, NULL), 0); /* nothing changed */
    assert_int_equal(st_planner_replan(F.planner, st_clock_now(&F.clock)), 0);

    free(script("s.lua", "local M = {state = {n = 0, version = 2}}\n"
                         "function M.init() strata.watch('005930', 'high') strata.watch('000660', 'medium') end\n"
                         "function M.on_reload(old) M.state.n = old.n M.state.from = old.version or 1 end\n"
                         "function M.on_trade() M.state.n = M.state.n + 1 end\n"
                         "return M\n"));
    assert_int_equal(load(cfg, NULL), 1);
    assert_int_equal((int)state_num("s", "n"), 5);
    assert_int_equal((int)state_num("s", "from"), 1);
    assert_int_equal((int)state_num("s", "version"), 2);
    assert_int_equal(info("s")->reloads, 1);
    /* the demands the new code asks for again do not move the plan */
    assert_int_equal(st_planner_replan(F.planner, st_clock_now(&F.clock)), 0);
    trade("005930", 900);
    assert_int_equal((int)state_num("s", "n"), 6);

    /* params are part of what a strategy is: changing them swaps it too */
    assert_int_equal(load("strategies:\n  - {name: s, kind: lua, path: s.lua, params: {x: 1}}\n", NULL), 1);
    assert_int_equal((int)state_num("s", "n"), 6);

    /* what the new code no longer asks for is released, as after a fresh start */
    free(script("s.lua", "return {init = function() strata.watch('005930', 'high') end}\n"));
    assert_int_equal(load(cfg, NULL), 1);
    assert_int_equal(prio("000660"), ST_PRIO_NONE);
    assert_int_equal(prio("005930"), ST_PRIO_HIGH);
    assert_int_equal(info("s")->watched, 1);
}

/* A module the strategy required changed: the strategy is swapped. */
static void test_reload_changed_module(void **state)
{
    free(script("lib.lua", "return {k = 1}\n"));
    free(script("m.lua", "local lib = require('lib')\nlocal M = {state = {k = lib.k}}\nreturn M\n"));
    const char *cfg = "strategies:\n  - {name: m, kind: lua, path: m.lua}\n";
    assert_int_equal(load(cfg, NULL), 1);
    assert_int_equal((int)state_num("m", "k"), 1);
    assert_int_equal(load(cfg, NULL), 0);
    free(script("lib.lua", "return {k = 2}\n"));
    assert_int_equal(load(cfg, NULL), 1);
    assert_int_equal((int)state_num("m", "k"), 2);
}

/* A strategy removed from the config (or disabled) stops and releases what it asked for. */
static void test_reload_removed_releases(void **state)
{
    free(script("s.lua", V1));
    free(script("t.lua", "return {init = function() strata.watch('000660', 'high') end}\n"));
    assert_int_equal(load("strategies:\n  - {name: s, kind: lua, path: s.lua}\n"
                          "  - {name: t, kind: lua, path: t.lua}\n", NULL), 2);
    assert_int_equal(prio("000660"), ST_PRIO_HIGH);
    assert_int_equal(load("strategies:\n  - {name: s, kind: lua, path: s.lua, enabled: false}\n"
                          "  - {name: t, kind: lua, path: t.lua}\n", NULL), 0);
    assert_int_equal(st_strats_count(F.h), 1);
    assert_int_equal(prio("005930"), ST_PRIO_NONE);
    assert_int_equal(prio("000660"), ST_PRIO_HIGH);
    trade("005930", 900); /* nobody left to hear it */
    assert_null(info("s"));
}

static void copy(const char *from, const char *to)
{
    char *data;
    size_t len;
    assert_int_equal(st_file_read(from, &data, &len), 0);
    FILE *fp = fopen(to, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    free(data);
}

/* A changed .so at the same path is loaded fresh (not the loader's cached copy), takes the old
 * build's state in on_reload, and the old build is closed after. */
static void test_reload_changed_plugin(void **state)
{
    char so[256];
    snprintf(so, sizeof(so), "%s/counter.so", F.dir);
    copy(TEST_PLUGIN("counter_v1"), so);
    const char *cfg = "strategies:\n  - {name: c, kind: c, path: counter.so}\n";
    assert_int_equal(load(cfg, NULL), 1);
    assert_int_equal(prio("005930"), ST_PRIO_HIGH);
    for (int i = 0; i < 3; i++) trade("005930", 900);
    assert_string_equal(F.sig_reason, "v1");
    assert_true(F.sig_strength == 3);
    assert_int_equal(load(cfg, NULL), 0); /* the same bytes: left alone */

    copy(TEST_PLUGIN("counter_v2"), so);
    assert_int_equal(load(cfg, NULL), 1);
    trade("005930", 900);
    assert_string_equal(F.sig_reason, "v2");
    assert_true(F.sig_strength == 4); /* the count went on */
    assert_int_equal(info("c")->reloads, 1);
    assert_string_equal(info("c")->kind, "c");
}

static const char *const TIMED_V1 =
    "local M = {state = {timers = 0, version = 1, shut = 0}}\n"
    "function M.init() strata.watch('005930', 'high') strata.every(30, 't') end\n"
    "function M.on_timer() M.state.timers = M.state.timers + 1 end\n"
    "function M.shutdown() M.state.shut = 1 end\n"
    "return M\n";

/* Issue 15.2: new code whose init (or on_reload) raises changes nothing: the old build keeps
 * running with its timers and demands, the new one's requests are never applied, nothing new
 * starts, and the reason names the script's file:line. */
static void test_reload_init_fails_changes_nothing(void **state)
{
    free(script("s.lua", TIMED_V1));
    assert_int_equal(load("strategies:\n  - {name: s, kind: lua, path: s.lua}\n", NULL), 1);
    run_for(65 * ST_SEC);
    assert_int_equal((int)state_num("s", "timers"), 2);

    free(script("s.lua", "local M = {state = {version = 2}}\n"
                         "function M.init()\n"
                         "  strata.watch('000660', 'critical') strata.every(5, 'fast')\n"
                         "  strata.signal{symbol = '000660', side = 'buy'}\n"
                         "  error('cannot start')\n"
                         "end\n"
                         "return M\n"));
    free(script("t.lua", "return {init = function() strata.watch('035420', 'high') end}\n"));
    const char *both = "strategies:\n  - {name: s, kind: lua, path: s.lua}\n  - {name: t, kind: lua, path: t.lua}\n";
    st_diags_t d;
    assert_int_equal(load(both, &d), -1);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.items[0].msg, "strategies[0] \"s\": init failed: "));
    assert_non_null(strstr(d.items[0].msg, "s.lua:5: cannot start"));
    assert_int_equal(d.items[0].line, 9); /* strategies[0] in the config world() writes */
    st_diags_free(&d);
    /* nothing moved: old code, its timer, its demand; t never started; no signal went out */
    assert_int_equal((int)state_num("s", "version"), 1);
    assert_int_equal((int)state_num("s", "shut"), 0);
    assert_int_equal(st_strats_count(F.h), 1);
    assert_int_equal(prio("000660"), ST_PRIO_NONE);
    assert_int_equal(prio("035420"), ST_PRIO_NONE);
    assert_int_equal(prio("005930"), ST_PRIO_HIGH);
    assert_int_equal(F.signals, 0);
    run_for(60 * ST_SEC);
    assert_int_equal((int)state_num("s", "timers"), 4);
    assert_string_equal(info("s")->state, "running");
    assert_int_equal(info("s")->reloads, 0);

    /* on_reload raising is the same */
    free(script("s.lua", "local M = {state = {version = 3}}\n"
                         "function M.init() strata.every(5, 'fast') end\n"
                         "function M.on_reload(old) error('bad state: ' .. old.version) end\n"
                         "return M\n"));
    assert_int_equal(load(both, &d), -1);
    assert_non_null(strstr(d.items[0].msg, "on_reload failed: "));
    assert_non_null(strstr(d.items[0].msg, "s.lua:3: bad state: 1"));
    st_diags_free(&d);
    assert_int_equal((int)state_num("s", "version"), 1);
    run_for(60 * ST_SEC);
    assert_int_equal((int)state_num("s", "timers"), 6);

    /* fixed code swaps, and what its init asked for (journaled) happens then */
    free(script("s.lua", "local M = {state = {version = 4, fast = 0}}\n"
                         "function M.init() strata.watch('000660', 'critical') strata.every(5, 'fast') end\n"
                         "function M.on_timer(n) M.state.fast = M.state.fast + 1 end\n"
                         "return M\n"));
    assert_int_equal(load(both, NULL), 2);
    assert_int_equal((int)state_num("s", "version"), 4);
    assert_int_equal(prio("000660"), ST_PRIO_CRITICAL);
    assert_int_equal(prio("035420"), ST_PRIO_HIGH);
    run_for(12 * ST_SEC);
    assert_int_equal((int)state_num("s", "fast"), 2);
}

/* Issue 15.2 at start-up: a strategy whose init fails is not started (state failed, with the
 * reason); the others run. emergency_subscribe is refused while starting. */
static void test_startup_init_fails(void **state)
{
    free(script("bad.lua", "local M = {}\n"
                           "function M.init() strata.watch('000660', 'high')\n"
                           "  local ok, why = strata.emergency_subscribe('005930', 150)\n"
                           "  error(why) end\n"
                           "function M.on_trade() error('never called') end\n"
                           "return M\n"));
    free(script("good.lua", "return {init = function() strata.watch('035420', 'high') end}\n"));
    assert_int_equal(load_as("strategies:\n  - {name: bad, kind: lua, path: bad.lua, all_symbols: true}\n"
                             "  - {name: good, kind: lua, path: good.lua}\n", false, NULL), 1);
    assert_string_equal(info("bad")->state, "failed");
    assert_non_null(strstr(info("bad")->last_error, "init failed: "));
    assert_non_null(strstr(info("bad")->last_error, "bad.lua:4: emergency_subscribe is not available in init"));
    assert_string_equal(info("good")->state, "running");
    assert_int_equal(prio("000660"), ST_PRIO_NONE);
    assert_int_equal(prio("035420"), ST_PRIO_HIGH);
    assert_int_equal(F.emergencies, 0);
    trade("005930", 900); /* an all_symbols strategy that failed is not called */
    assert_int_equal(info("bad")->ticks, 0);
    /* unchanged, it stays failed without failing the reload; fixed, it starts */
    assert_int_equal(load("strategies:\n  - {name: bad, kind: lua, path: bad.lua, all_symbols: true}\n"
                          "  - {name: good, kind: lua, path: good.lua}\n", NULL), 0);
    assert_string_equal(info("bad")->state, "failed");
    free(script("bad.lua", "return {init = function() strata.watch('000660', 'high') end}\n"));
    assert_int_equal(load("strategies:\n  - {name: bad, kind: lua, path: bad.lua, all_symbols: true}\n"
                          "  - {name: good, kind: lua, path: good.lua}\n", NULL), 1);
    assert_string_equal(info("bad")->state, "running");
    assert_int_equal(prio("000660"), ST_PRIO_HIGH);
    trade("005930", 900);
    assert_int_equal(info("bad")->ticks, 1);
}

/* ABI 2 (issue 18.6): a plugin built with a shorter strata_status_t gets the part it knows and
 * nothing written past it (the host used to clear its own size of the struct); a signal's side
 * is the enum, and the sinks get its name; a log line is printf-style, prefixed with the
 * strategy's name; a Lua strategy's side other than buy, sell or none is a fault, not a signal. */
static void test_abi2_host_calls(void **state)
{
    char cfg[4400];
    snprintf(cfg, sizeof(cfg), "strategies:\n  - {name: good, kind: c, path: %s}\n", TEST_PLUGIN("good"));
    assert_int_equal(load(cfg, NULL), 1);
    trade("005930", 7);
    assert_int_equal(F.signals, 1);
    assert_string_equal(F.sig_reason, "status");
    assert_true(F.sig_strength == 1); /* filled up to ws_budget, guard bytes untouched */
    assert_string_equal(F.sig_side, "");
    trade("005930", 3000);
    assert_string_equal(F.sig_side, "buy");
    st_planner_replan(F.planner, st_clock_now(&F.clock));
    trade("005930", 8); /* 2.1's symbol(): it watches 005930 high, so tier 2 */
    assert_string_equal(F.sig_reason, "symbol");
    assert_true(F.sig_strength == 2 * 10 + STRATA_PRIO_HIGH + 1);

    free(script("side.lua", "local M = {}\n"
                            "function M.init() strata.watch('000660', 'high') end\n"
                            "function M.on_trade(sym, t)\n"
                            "  strata.log('warn', 'trade at ' .. t.price)\n"
                            "  strata.signal{symbol = sym, side = 'long'}\n"
                            "end\n"
                            "return M\n"));
    assert_int_equal(load("strategies:\n  - {name: side, kind: lua, path: side.lua}\n", NULL), 1);
    int before = F.signals;
    trade("000660", 900);
    assert_int_equal(F.signals, before); /* refused */
    assert_int_equal(info("side")->faults, 1);
    assert_non_null(strstr(info("side")->last_error, "side must be \"buy\", \"sell\" or \"\" (none), not \"long\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_abi2_host_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orderbook_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symbol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_symbols, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quarantine_releases_demands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_broken_keeps_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_changed_script_carries_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_changed_module, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_removed_releases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_changed_plugin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_init_fails_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_startup_init_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
