/* The strategy host as the runtime uses it (runtime/host/strategies.c over a real planner):
 * ticks per second dispatched to one C plugin and to one Lua strategy with a trivial on_trade
 * (through the symbol's subscriber list, the guarded Lua path, the reused tick table), and the
 * time of a reload of 50 Lua strategies (stage: compile all; commit: init, on_reload, the old
 * ones' shutdown) when all changed and when none did.
 * Beside the Lua row, the baseline it is judged by (issue 19.2): a bare loop of lua_call of the
 * same function on a plain state, with the same arguments (the code, a tick table), nothing
 * else: the guarded dispatch should cost at most 2x that.
 * Goals (issue: strategy host): 20 M ticks/s to a plugin, 3 M ticks/s to a Lua strategy.
 *   bench_strategies [--quick] */
#include "bench_strats.h"

#include <lauxlib.h>
#include <lualib.h>

#define TRIVIAL_LUA "local M, n = {}, 0\n" \
                    "function M.init() strata.watch('005930', 'high') end\n" \
                    "function M.on_trade(sym, t) n = n + 1 end\nreturn M\n"

/* The baseline: M.on_trade(code, tick) by lua_call in a loop, the function and table held on
 * the stack, the tick's price set as the dispatch sets it (a raw set of one field). */
static uint64_t bare_lua_row(int runs, int iters)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_newtable(L); /* a stand-in for the strata module init uses */
    lua_pushcfunction(L, lua_gettop); /* (watch: returns, does nothing) */
    lua_setfield(L, -2, "watch");
    lua_setglobal(L, "strata");
    if (luaL_loadstring(L, TRIVIAL_LUA) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) exit(1);
    lua_getfield(L, -1, "on_trade"); /* [M][on_trade] */
    lua_createtable(L, 0, 16);       /* [M][on_trade][tick] */
    uint64_t *ps = malloc(sizeof(uint64_t) * (size_t)runs);
    for (int r = 0; r < runs; r++) {
        uint64_t t0 = bench_cpu_ns(CLOCK_THREAD_CPUTIME_ID);
        for (int i = 0; i < iters; i++) {
            lua_pushnumber(L, 73100 + (i & 15) * 100);
            lua_setfield(L, -2, "price");
            lua_pushvalue(L, -2);
            lua_pushliteral(L, "005930");
            lua_pushvalue(L, -3);
            lua_call(L, 2, 0);
        }
        ps[r] = (bench_cpu_ns(CLOCK_THREAD_CPUTIME_ID) - t0) * 1000 / (uint64_t)iters;
    }
    uint64_t med = bench_ps_row("bare lua_call of the same on_trade, per call", ps, runs, NULL);
    free(ps);
    lua_close(L);
    return med;
}

#define NSTRATS 50

/* The 50 strategies, as build number `build`: each build's files differ from the last. */
static void write_strats(int build)
{
    for (int i = 0; i < NSTRATS; i++) {
        char name[32], text[512];
        snprintf(name, sizeof(name), "s%02d.lua", i);
        snprintf(text, sizeof(text),
                 "-- build %d\nlocal M = {state = {n = 0}}\n"
                 "function M.init() strata.watch('005930', 'high') strata.every(60, 'rank') end\n"
                 "function M.on_reload(old) M.state = old end\n"
                 "function M.on_trade(sym, t) M.state.n = M.state.n + 1 end\nreturn M\n", build);
        write_file(name, text);
    }
}

static void reload_row(const char *label, st_strats_t *h, int runs, bool change)
{
    static int build;
    uint64_t *ns = malloc(sizeof(uint64_t) * (size_t)runs);
    static char list[8192];
    size_t off = 0;
    for (int i = 0; i < NSTRATS; i++)
        off += (size_t)snprintf(list + off, sizeof(list) - off, "  - {name: s%02d, kind: lua, path: s%02d.lua}\n", i, i);
    if (build == 0) write_strats(++build);
    st_world_t *w = world(list);
    for (int r = 0; r < runs; r++) {
        if (change) write_strats(++build);
        st_diags_t d;
        st_diags_init(&d);
        uint64_t t0 = bench_ns();
        if (st_strats_stage(h, w->cfg, &d) != 0) exit(1);
        int swapped = st_strats_commit(h);
        ns[r] = bench_ns() - t0;
        st_diags_free(&d);
        if (swapped != (change ? NSTRATS : 0)) {
            fprintf(stderr, "%s: %d swapped\n", label, swapped);
            exit(1);
        }
    }
    uint64_t med = bench_quantile(ns, (size_t)runs, 0.5);
    char range[40];
    snprintf(range, sizeof(range), "%.2f-%.2f", (double)ns[0] / 1e6, (double)ns[runs - 1] / 1e6);
    printf("%-48s %6d %9.2f ms %17s\n", label, runs, (double)med / 1e6, range);
    st_world_free(w);
    free(ns);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int runs = quick ? 3 : 15;
    bench_strats_setup();
    bench_cpu_line();
    printf(BENCH_PS_HEADER);
    char entry[512];
    snprintf(entry, sizeof(entry), "  - {name: good, kind: c, path: %s, params: {threshold: 999999999}}\n", TEST_PLUGIN("good"));
    st_strats_t *h = load(entry);
    dispatch_row("C plugin on_trade (good.so), per tick", h, runs, quick ? 200000 : 5000000);
    st_strats_destroy(h);

    write_file("trivial.lua", TRIVIAL_LUA);
    h = load("  - {name: trivial, kind: lua, path: trivial.lua}\n");
    uint64_t lua = dispatch_row("Lua on_trade (trivial), per tick", h, runs, quick ? 20000 : 500000);
    st_strats_destroy(h);
    uint64_t bare = bare_lua_row(runs, quick ? 20000 : 500000);

    h = load("");
    reload_row("reload: 50 Lua strategies, all changed", h, quick ? 2 : 11, true);
    reload_row("reload: 50 Lua strategies, none changed", h, quick ? 2 : 11, false);
    st_strats_destroy(h);

    printf("\nLua dispatch / bare lua_call: %.2fx (goal at most 2x)\n", (double)lua / (double)(bare ? bare : 1));
    return bench_strats_teardown();
}
