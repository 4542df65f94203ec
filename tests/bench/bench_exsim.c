/* strata-exsim throughput and cost: data frames per second it serves across sessions, and the
 * simulator's CPU per frame.
 *   bench_exsim [--quick]        ($STRATA_EXSIM picks another simulator binary to compare)
 * Starts the simulator at x300 and at x1000 in the busy opening half hour, opens 8 sessions
 * (one approval key each) that register 41 keys each (20 symbols with trade + orderbook, one
 * more trade), reads everything for a few seconds, and reports frames and trade records per
 * second, the cores the simulator used and its CPU per frame, and the frames it dropped for a
 * slow reader. Simulator and client share the machine's two cores. */
#define _GNU_SOURCE
#include "bench_util.h"
#include "../exsim/spawn.h"
#include "../exsim/wsclient.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#define SESSIONS 8

typedef struct {
    double frames_s, records_s, sim_cores, sim_us_per_frame;
    long dropped;
    uint64_t acks;
} result_t;

/* One run at `speed`: the window's rates, the simulator's CPU over it, its drops. */
static int run(const char *speed, double secs, char codes[21][16], result_t *r)
{
    pid_t pid;
    int port = exsim_spawn(speed, "2026-11-23 09:00", &pid);
    if (!port) return 1;
    static ws_t ws[SESSIONS];
    for (int s = 0; s < SESSIONS; s++) {
        if (!ws_open(&ws[s], port, "/")) return fprintf(stderr, "cannot connect\n"), 1;
        for (int i = 0; i < 21; i++) {
            for (int k = 0; k < (i < 20 ? 2 : 1); k++) {
                char m[1024];
                snprintf(m, sizeof(m),
                         "{\"header\":{\"approval_key\":\"bench-%d\",\"custtype\":\"P\",\"tr_type\":\"1\","
                         "\"content-type\":\"utf-8\"},\"body\":{\"input\":{\"tr_id\":\"%s\",\"tr_key\":\"%s\"}}}",
                         s, k ? "H0STASP0" : "H0STCNT0", codes[i]);
                ws_send(&ws[s], m);
            }
        }
    }
    uint64_t frames = 0, records = 0, acks = 0;
    /* Every registration answered first; then the measured window. */
    uint64_t deadline = bench_ns() + 20000000000ull;
    while (acks < SESSIONS * 41 && bench_ns() < deadline) {
        for (int s = 0; s < SESSIONS; s++) {
            char *in;
            while (ws_recv(&ws[s], &in, 0, NULL)) {
                acks += strstr(in, "\"OPSP0000\"") != NULL;
                free(in);
            }
        }
    }
    uint64_t t0 = bench_ns(), end = t0 + (uint64_t)(secs * 1e9), c0 = bench_proc_cpu_ns(pid);
    while (bench_ns() < end) {
        for (int s = 0; s < SESSIONS; s++) {
            char *in;
            while (ws_recv(&ws[s], &in, 0, NULL)) {
                if (in[0] == '0') {
                    frames++;
                    if (strncmp(in, "0|H0STCNT0|", 11) == 0) records += (uint64_t)atoi(in + 11);
                }
                free(in);
            }
        }
    }
    double cpu = (double)(bench_proc_cpu_ns(pid) - c0) / 1e9;
    double el = (double)(bench_ns() - t0) / 1e9;
    *r = (result_t){(double)frames / el, (double)records / el, cpu / el, frames ? cpu * 1e6 / (double)frames : 0, -1,
                    acks};
    char *stats = http_get(port, "/control/stats");
    char *at = stats ? strstr(stats, "\"frames_dropped\":") : NULL;
    r->dropped = at ? strtol(at + 17, NULL, 10) : -1;
    free(stats);
    for (int s = 0; s < SESSIONS; s++) ws_close(&ws[s]);
    exsim_reap(pid);
    return 0;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_cpu_line();
    double secs = quick ? 1.0 : 5.0;
    /* The first 21 symbols of the demo universe. */
    FILE *f = fopen(st_test_source_path("config/universe.csv"), "r");
    char codes[21][16], row[256];
    if (!f || !fgets(row, sizeof(row), f)) return 1;
    for (int i = 0; i < 21 && fgets(row, sizeof(row), f); i++) snprintf(codes[i], sizeof(codes[i]), "%.6s", row);
    fclose(f);
    printf("strata-exsim (%s): %d sessions x 41 registrations from 09:00, %.1f s a run; the simulator's CPU\n"
           "over the window from its threads' schedstat; medians of the runs\n\n", exsim_path(), SESSIONS, secs);
    int runs = quick ? 1 : 3;
    printf("%-6s %5s %14s %14s %12s %24s %10s %8s\n", "speed", "runs", "data frames/s", "trade recs/s", "sim cores",
           "sim us/frame (min-max)", "dropped", "acks");
    const char *speeds[] = {"300", "1000"};
    long dropped = 0;
    bool all_acked = true;
    for (int i = 0; i < 2; i++) { /* medians of the runs, each field on its own */
        double fr[3], rr[3], co[3], us[3];
        long here = 0; /* frames dropped at this speed, over its runs */
        for (int k = 0; k < runs; k++) {
            result_t r;
            if (run(speeds[i], secs, codes, &r) != 0) return 1;
            fr[k] = r.frames_s, rr[k] = r.records_s, co[k] = r.sim_cores, us[k] = r.sim_us_per_frame;
            here += r.dropped;
            all_acked = all_acked && r.acks == SESSIONS * 41;
        }
        uint64_t fv[3], q[3], c[3], u[3];
        for (int k = 0; k < runs; k++)
            fv[k] = (uint64_t)fr[k], q[k] = (uint64_t)rr[k], c[k] = (uint64_t)(co[k] * 1e4), u[k] = (uint64_t)(us[k] * 1e3);
        uint64_t fm = bench_quantile(fv, (size_t)runs, 0.5), qm = bench_quantile(q, (size_t)runs, 0.5),
                 cm = bench_quantile(c, (size_t)runs, 0.5), um = bench_quantile(u, (size_t)runs, 0.5);
        char range[48];
        snprintf(range, sizeof(range), "%.2f (%.2f-%.2f)", (double)um / 1e3, (double)u[0] / 1e3, (double)u[runs - 1] / 1e3);
        printf("x%-5s %5d %14llu %14llu %12.2f %24s %10ld %5s\n", speeds[i], runs, (unsigned long long)fm,
               (unsigned long long)qm, (double)cm / 1e4, range, here, all_acked ? "all" : "NOT all");
        dropped += here;
    }
    if (dropped != 0) { /* loudly: the rates above are then the reader's, not the simulator's */
        fprintf(stderr, "bench_exsim: the simulator dropped %ld frames (or said nothing): the figures are not its "
                "own\n", dropped);
        if (!quick) return 1; /* (--quick only keeps the benchmark working: in CI, under the sanitizers, it drops) */
    }
    return all_acked ? 0 : 1;
}
