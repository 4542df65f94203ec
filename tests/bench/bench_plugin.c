/* Ticks per second dispatched to one C plugin (tests/host/plugins/good.c: its on_trade counts
 * and compares a price), through st_plugin_on_tick. Goal (issue: strategy host): 20 M/s.
 *   bench_plugin [--quick] */
#include "bench_util.h"

#include "core/log.h"
#include "host/plugin.h"

static int watch(void *h, const char *code, int prio)
{
    return 0;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int runs = quick ? 3 : 15, iters = quick ? 200000 : 5000000;
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    st_plugin_t *p;
    char err[512];
    if (st_plugin_open(&p, "good", PLUGIN_GOOD, err, sizeof(err))) return fprintf(stderr, "%s\n", err), 1;
    strata_host_t host = {sizeof(strata_host_t), STRATA_ABI_MAJOR, STRATA_ABI_MINOR, watch, NULL, NULL, NULL, NULL,
                          NULL, NULL, NULL, NULL};
    const char *k[] = {"threshold"}, *v[] = {"999999999"};
    if (st_plugin_init(p, &host, NULL, k, v, 1)) return 1;
    st_tick_t t;
    memset(&t, 0, sizeof(t));
    t.kind = ST_TICK_TRADE;
    printf("%-44s %8s %12s\n", "benchmark", "runs", "median");
    uint64_t *ns = malloc(sizeof(uint64_t) * (size_t)runs);
    for (int r = 0; r < runs; r++) {
        uint64_t t0 = bench_ns();
        for (int i = 0; i < iters; i++) {
            t.u.trade.price = 73100 + (i & 15) * 100;
            st_plugin_on_tick(p, "005930", &t);
        }
        ns[r] = (bench_ns() - t0) * 1000 / (uint64_t)iters; /* picoseconds per tick, for resolution */
    }
    uint64_t med = bench_quantile(ns, (size_t)runs, 0.5);
    printf("%-44s %8d %9.2f ns\n", "C plugin on_trade, per tick", runs, (double)med / 1000);
    printf("\nmedian: %.1f M ticks/s\n", 1e6 / (double)(med ? med : 1));
    free(ns);
    st_plugin_close(p);
    return 0;
}
