/* Benchmark helpers: monotonic nanoseconds, medians and percentiles, the table format. */
#ifndef ST_BENCH_UTIL_H
#define ST_BENCH_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../build_path.h"

static inline uint64_t bench_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* q in [0, 1]; sorts v. */
/* CPU time of `which` (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID) in ns. */
static inline uint64_t bench_cpu_ns(clockid_t which)
{
    struct timespec ts;
    clock_gettime(which, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The CPU time another process's threads have run, in ns (the first field of each thread's
 * /proc/PID/task/TID/schedstat: nanoseconds, where /proc/PID/stat counts 10 ms ticks); 0 if it
 * cannot be read. */
static inline uint64_t bench_proc_cpu_ns(int pid)
{
    char path[300];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d) return 0;
    unsigned long long total = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid, e->d_name);
        FILE *fp = fopen(path, "r");
        unsigned long long ns = 0;
        if (fp && fscanf(fp, "%llu", &ns) == 1) total += ns;
        if (fp) fclose(fp);
    }
    closedir(d);
    return total;
}

static inline uint64_t bench_quantile(uint64_t *v, size_t n, double q)
{
    qsort(v, n, sizeof(*v), bench_cmp_u64);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

#ifndef STRATA_BENCH_BUILD
#define STRATA_BENCH_BUILD "unknown"
#endif
#ifndef STRATA_BENCH_FLAGS
#define STRATA_BENCH_FLAGS ""
#endif

/* What a figure was measured on, printed first by every benchmark: "cpu: <model name>, N cpus"
 * from /proc/cpuinfo (figures are only comparable on one model), then the build: its type, the
 * compiler and the flags (tests/bench/CMakeLists.txt passes them in). */
static inline void bench_cpu_line(void)
{
    char line[256], model[200] = "unknown";
    int n = 0;
    FILE *fp = fopen("/proc/cpuinfo", "r");
    while (fp && fgets(line, sizeof(line), fp)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *c = strchr(line, ':');
            if (c && n++ == 0) snprintf(model, sizeof(model), "%.*s", (int)strcspn(c + 2, "\n"), c + 2);
        }
    }
    if (fp) fclose(fp);
    printf("cpu: %s, %d cpus\n", model, n);
#ifdef __clang__
    const char *cc = "clang";
#else
    const char *cc = "gcc";
#endif
    printf("build: %s, %s %s, flags \"%s\"\n", STRATA_BENCH_BUILD, cc, __VERSION__, STRATA_BENCH_FLAGS);
}

/* A row of per-item times in picoseconds (runs of them, sorted here): the median, the min-max
 * of the runs and the rate; `extra` follows on the line. Returns the median. Its header:
 * BENCH_PS_HEADER. */
#define BENCH_PS_HEADER "%-48s %6s %12s %17s %12s\n", "benchmark", "runs", "median", "min-max", "rate"
static inline uint64_t bench_ps_row(const char *label, uint64_t *ps, int runs, const char *extra)
{
    uint64_t med = bench_quantile(ps, (size_t)runs, 0.5);
    char range[40];
    snprintf(range, sizeof(range), "%.2f-%.2f", (double)ps[0] / 1000, (double)ps[runs - 1] / 1000);
    printf("%-48s %6d %9.2f ns %17s %9.1f M/s%s\n", label, runs, (double)med / 1000, range,
           1e6 / (double)(med ? med : 1), extra ? extra : "");
    return med;
}

static inline void bench_header(void)
{
    printf("%-44s %8s %12s %12s %12s\n", "benchmark", "runs", "median", "p99", "min");
}

static inline void bench_row(const char *name, uint64_t *ns, size_t n)
{
    uint64_t med = bench_quantile(ns, n, 0.5), p99 = bench_quantile(ns, n, 0.99), mn = ns[0];
    char a[32], b[32], c[32];
    snprintf(a, sizeof(a), "%.2f us", (double)med / 1e3);
    snprintf(b, sizeof(b), "%.2f us", (double)p99 / 1e3);
    snprintf(c, sizeof(c), "%.2f us", (double)mn / 1e3);
    printf("%-44s %8zu %12s %12s %12s\n", name, n, a, b, c);
}

#endif
