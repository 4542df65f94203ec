/* Ticks per second dispatched to one Lua strategy with a trivial on_trade, through the whole
 * guarded path (traceback handler, instruction budget hook, the reused tick table filled).
 * Goal (issue: strategy host): 3 M/s.
 *   bench_lua_host [--quick] */
#include "bench_util.h"

#include "core/log.h"
#include "host/lua_host.h"

#include <unistd.h>

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int runs = quick ? 3 : 15, iters = quick ? 20000 : 500000;
    char path[] = "/tmp/strata-bench-lua-XXXXXX";
    int fd = mkstemp(path);
    static const char text[] = "local M, n = {}, 0\nfunction M.on_trade(sym, t) n = n + 1 end\nreturn M\n";
    if (fd < 0 || write(fd, text, sizeof(text) - 1) != (ssize_t)(sizeof(text) - 1)) return 1;
    close(fd);
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    st_lua_cfg_t cfg = {"bench", path, 0, 0, 5, NULL};
    st_lua_t *s;
    char err[256];
    if (st_lua_open(&s, &cfg, err, sizeof(err))) return fprintf(stderr, "%s\n", err), 1;
    st_tick_t t;
    memset(&t, 0, sizeof(t));
    t.kind = ST_TICK_TRADE;
    t.u.trade = (st_trade_t){.price = 73100, .volume = 12, .prev_close = 73600, .side = ST_SIDE_BUY};
    bench_header();
    uint64_t *ns = malloc(sizeof(uint64_t) * (size_t)runs);
    for (int r = 0; r < runs; r++) {
        uint64_t t0 = bench_ns();
        for (int i = 0; i < iters; i++) {
            t.u.trade.price = 73100 + (i & 15) * 100;
            if (st_lua_on_tick(s, "005930", &t) != 0) return 1;
        }
        ns[r] = (bench_ns() - t0) / (uint64_t)iters;
    }
    bench_row("lua on_trade (trivial), per tick", ns, (size_t)runs);
    uint64_t med = bench_quantile(ns, (size_t)runs, 0.5);
    printf("\nmedian: %.2f M ticks/s\n", 1e3 / (double)(med ? med : 1));
    free(ns);
    st_lua_close(s);
    unlink(path);
    return 0;
}
