/* Scheduling at whole-market scale (issue 19.1): a simulated KRX day at speed 0 through the
 * whole runtime, on the whole KRX list (2,777 stocks) and on the demo's 391, each without
 * strategies and with the shipped `gap` strategy screening every symbol (it raises the gappers
 * to CRITICAL: tier 1 for a few, the REST budget for the rest). Runs alternate (base, gap,
 * base, gap, ...) so a drifting machine moves both alike; CPU of st_runtime_run alone; medians
 * with min-max. Prints the ratio gap / base for each universe (goal: at most 1.3x on the whole
 * list) and what one strategy call costs on each (goal: the same on both, i.e. independent of
 * the universe): (gap CPU - base CPU) / ticks handed to the strategy.
 *   bench_day [--quick]   (--quick: 08:50-09:20, one run each, to keep it working in CI) */
#include "bench_util.h"

#include "app/runtime.h"
#include "core/log.h"

#include <stdbool.h>
#include <unistd.h>

static char dir[] = "/tmp/strata-bench-day-XXXXXX";

typedef struct {
    uint64_t ns, ticks, signals;
} day_t;

static day_t day_once(const char *universe, bool gap, const char *stop)
{
    char cfg[300], text[2048];
    snprintf(cfg, sizeof(cfg), "%s/day.yaml", dir);
    char strat[512] = "";
    if (gap)
        snprintf(strat, sizeof(strat),
                 "strategies:\n  - {name: gap, kind: lua, path: %s, all_symbols: true, params: {threshold: 0.03}}\n",
                 st_test_source_path("strategies/gap.lua"));
    snprintf(text, sizeof(text),
             "runtime:\n"
             "  timezone: Asia/Seoul\n"
             "  clock: {mode: simulated, start: \"2026-11-23 08:50\", stop: \"%s\", speed: 0}\n"
             "  log: {level: error}\n  report_interval: 0\n  session_report: \"\"\n"
             "market:\n  universe: %s/config/%s\n"
             "  indices: %s\n"
             "  watch_universe: background\n"
             "feeds: [{name: sim, kind: sim, seed: 20261123, budget: 41, rest_rate: 20}]\n"
             "%s"
             "signals: {sinks: []}\nstatus: {enabled: false}\n",
             stop, STRATA_SOURCE_DIR, universe, st_test_source_path("config/krx_indices.csv"), strat);
    FILE *fp = fopen(cfg, "w");
    if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0) exit(1);
    FILE *out = fopen("/dev/null", "w");
    st_runtime_t rt;
    if (st_runtime_open(&rt, cfg, out, NULL)) exit(1); /* it says why */
    uint64_t t0 = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    st_runtime_run(&rt);
    day_t d = {bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - t0, 0, 0};
    st_counters_t c;
    st_runtime_collect(&rt, &c);
    d.ticks = c.ticks_delivered;
    d.signals = c.signals;
    st_runtime_free(&rt);
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    fclose(out);
    unlink(cfg);
    return d;
}

static void row(const char *label, uint64_t *ns, int runs, const day_t *last)
{
    uint64_t med = bench_quantile(ns, (size_t)runs, 0.5);
    printf("%-46s %5d %9.3f s  %7.3f-%.3f  %11llu %8llu\n", label, runs, (double)med / 1e9, (double)ns[0] / 1e9,
           (double)ns[runs - 1] / 1e9, (unsigned long long)last->ticks, (unsigned long long)last->signals);
}

/* Alternate runs of the day without and with gap on `universe`; prints both rows, returns the
 * medians' ratio and the cost of a strategy call in ns. */
static double universe_rows(const char *name, const char *universe, int runs, const char *stop, double *call_ns)
{
    uint64_t base[16], gap[16];
    day_t b = {0}, g = {0};
    for (int r = 0; r < runs; r++) {
        b = day_once(universe, false, stop);
        g = day_once(universe, true, stop);
        base[r] = b.ns, gap[r] = g.ns;
    }
    char label[96];
    snprintf(label, sizeof(label), "%s, no strategy", name);
    row(label, base, runs, &b);
    snprintf(label, sizeof(label), "%s, gap on every symbol", name);
    row(label, gap, runs, &g);
    double mb = (double)bench_quantile(base, (size_t)runs, 0.5), mg = (double)bench_quantile(gap, (size_t)runs, 0.5);
    *call_ns = g.ticks ? (mg - mb) / (double)g.ticks : 0;
    return mb > 0 ? mg / mb : 0;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int runs = quick ? 1 : 3;
    const char *stop = quick ? "09:20" : "15:30";
    if (!mkdtemp(dir)) return 1;
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    bench_cpu_line();
    printf("a simulated KRX day 08:50-%s at speed 0; CPU of the run, median and min-max of %d\n\n", stop, runs);
    printf("%-46s %5s %11s  %13s  %11s %8s\n", "day", "runs", "median", "min-max", "ticks", "signals");
    double krx_call, demo_call;
    double krx = universe_rows("whole KRX (2,777 stocks)", "krx_universe.csv", runs, stop, &krx_call);
    double demo = universe_rows("demo (391 stocks)", "universe.csv", runs, stop, &demo_call);
    printf("\ngap / no strategy: whole KRX %.2fx (goal at most 1.3x), demo %.2fx\n", krx, demo);
    printf("one strategy call: whole KRX %.2f us, demo %.2f us (%.2fx; goal: independent of the universe)\n",
           krx_call / 1e3, demo_call / 1e3, demo_call > 0 ? krx_call / demo_call : 0);
    rmdir(dir);
    return 0;
}
