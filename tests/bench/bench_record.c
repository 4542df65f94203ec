/* Recording's cost (issue 17.2): the demo's strategies on the simulated market from 08:50 to
 * 11:00 at speed 0, in this process, alternately without and with runtime.record; the CPU time
 * of the runs (st_runtime_run alone: start-up excluded) — of the loop's thread, which delivers
 * the ticks, and of the whole process, which includes the recording's writer thread — ticks
 * delivered per loop CPU second, the ratios with/without of each pair, and the bytes per
 * recorded item. Medians of the runs.
 *   bench_record [--quick]   (--quick: one pair, to keep it working in CI) */
#include "bench_util.h"

#include "app/runtime.h"
#include "core/log.h"
#include "record/recfile.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/strata-bench-record-XXXXXX";


/* One run; returns the loop thread's CPU ns, with the process's, the ticks delivered and the
 * recording's size. */
static uint64_t run(bool record, int n, uint64_t *proc, uint64_t *ticks, uint64_t *bytes, uint64_t *items)
{
    char cfg[512], rec[512], text[4096];
    snprintf(cfg, sizeof(cfg), "%s/run.yaml", dir);
    snprintf(rec, sizeof(rec), "%s/run%d.strata", dir, n);
    snprintf(text, sizeof(text),
             "runtime:\n"
             "  clock: {mode: simulated, start: \"2026-11-23 08:50\", stop: \"11:00\", speed: 0}\n"
             "  log: {level: error}\n  report_interval: 0\n  session_report: \"\"\n%s%s%s"
             "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv, watch_universe: background, "
             "watch: [{symbol: \"005930\", priority: critical}]}\n"
             "strategies:\n"
             "  - {name: gap, kind: lua, path: %s/strategies/gap.lua, all_symbols: true}\n"
             "  - {name: volume_watch, kind: lua, path: %s/strategies/volume_watch.lua, all_symbols: true}\n"
             "  - {name: momentum, kind: lua, path: %s/strategies/momentum_leaders.lua, all_symbols: true}\n"
             "signals: {sinks: []}\nstatus: {enabled: false}\n",
             record ? "  record: " : "", record ? rec : "", record ? "\n" : "", STRATA_SOURCE_DIR, STRATA_SOURCE_DIR,
             STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR);
    FILE *fp = fopen(cfg, "w");
    fputs(text, fp);
    fclose(fp);
    FILE *out = fopen("/dev/null", "w");
    st_runtime_t rt;
    if (st_runtime_open(&rt, cfg, out, NULL)) exit(1); /* it says why */
    uint64_t t0 = bench_cpu_ns(CLOCK_THREAD_CPUTIME_ID), p0 = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    st_runtime_run(&rt);
    uint64_t ns = bench_cpu_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
    *proc = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - p0;
    st_counters_t c;
    st_runtime_collect(&rt, &c);
    *ticks = c.ticks_delivered;
    st_runtime_free(&rt);
    fclose(out);
    *bytes = *items = 0;
    if (record) {
        struct stat sb;
        if (stat(rec, &sb) == 0) *bytes = (uint64_t)sb.st_size;
        char err[256];
        st_rec_reader_t *r = st_rec_open(rec, err, sizeof(err));
        st_rec_item_t it;
        while (r && st_rec_next(r, &it) == 1) (*items)++;
        st_rec_free(r);
        unlink(rec);
    }
    unlink(cfg);
    return ns;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int pairs = quick ? 1 : 7;
    if (!mkdtemp(dir)) return 1;
    bench_cpu_line();
    uint64_t without[16], with[16], ratio[16], pwithout[16], pwith[16], pratio[16], ticks = 0, bytes = 0, items = 0,
             t2, b, i2;
    for (int k = 0; k < pairs; k++) { /* alternate, so a drifting machine hits both alike */
        without[k] = run(false, k, &pwithout[k], &ticks, &b, &i2);
        with[k] = run(true, k, &pwith[k], &t2, &bytes, &items);
        ratio[k] = with[k] * 1000 / without[k];
        pratio[k] = pwith[k] * 1000 / pwithout[k];
        if (t2 != ticks) {
            printf("recording changed what was delivered: %llu ticks against %llu\n", (unsigned long long)t2,
                   (unsigned long long)ticks);
            return 1;
        }
    }
    uint64_t a = bench_quantile(without, (size_t)pairs, 0.5), w = bench_quantile(with, (size_t)pairs, 0.5);
    uint64_t r = bench_quantile(ratio, (size_t)pairs, 0.5);
    uint64_t pa = bench_quantile(pwithout, (size_t)pairs, 0.5), pw = bench_quantile(pwith, (size_t)pairs, 0.5);
    uint64_t pr = bench_quantile(pratio, (size_t)pairs, 0.5);
    printf("demo strategies, simulated 08:50-11:00 at speed 0, %llu ticks delivered; medians of %d pairs\n\n",
           (unsigned long long)ticks, pairs);
    printf("%-22s %12s %15s %10s %14s %10s\n", "run", "loop cpu", "ticks/loop s", "vs without", "process cpu",
           "vs without");
    printf("%-22s %9.1f ms %15.0f %10s %11.1f ms %10s\n", "without recording", (double)a / 1e6,
           (double)ticks * 1e9 / (double)a, "1.000x", (double)pa / 1e6, "1.000x");
    printf("%-22s %9.1f ms %15.0f %9.3fx %11.1f ms %9.3fx\n", "with runtime.record", (double)w / 1e6,
           (double)ticks * 1e9 / (double)w, (double)r / 1000, (double)pw / 1e6, (double)pr / 1000);
    printf("\nrecording: %llu items (ticks and events) in %llu bytes: %.1f bytes an item\n", (unsigned long long)items,
           (unsigned long long)bytes, items ? (double)bytes / (double)items : 0.0);
    rmdir(dir);
    return 0;
}
