/* strata-exsim throughput: data frames per second it serves across sessions.
 *   bench_exsim [--quick]
 * Starts the simulator at high speed in the busy opening half hour, opens 8 sessions (one
 * approval key each) that register 41 keys each (20 symbols with trade + orderbook, one more
 * trade), reads everything for a few seconds, and reports frames and trade records per second.
 * Simulator and client share the machine's two cores. */
#define _GNU_SOURCE
#include "bench_util.h"
#include "../exsim/spawn.h"
#include "../exsim/wsclient.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#define SESSIONS 8

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_cpu_line();
    double secs = quick ? 1.0 : 5.0;
    pid_t pid;
    int port = exsim_spawn("300", "2026-11-23 09:00", &pid);
    if (!port) return 1;

    /* The first 21 symbols of the demo universe. */
    FILE *f = fopen(STRATA_SOURCE_DIR "/config/universe.csv", "r");
    char codes[21][16], row[256];
    if (!f || !fgets(row, sizeof(row), f)) return 1;
    for (int i = 0; i < 21 && fgets(row, sizeof(row), f); i++) snprintf(codes[i], sizeof(codes[i]), "%.6s", row);
    fclose(f);

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
    uint64_t t0 = bench_ns(), end = t0 + (uint64_t)(secs * 1e9);
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
    double el = (double)(bench_ns() - t0) / 1e9;
    printf("strata-exsim: %d sessions x 41 registrations, speed x300 from 09:00, %.1f s\n\n", SESSIONS, el);
    printf("%-28s %14s\n", "measure", "per second");
    printf("%-28s %14.0f\n", "data frames", (double)frames / el);
    printf("%-28s %14.0f\n", "trade records", (double)records / el);
    printf("\nSUBSCRIBE SUCCESS received: %llu of %d\n", (unsigned long long)acks, SESSIONS * 41);
    char *stats = http_get(port, "/control/stats");
    char *at = stats ? strstr(stats, "\"frames_dropped\":") : NULL;
    long dropped = at ? strtol(at + 17, NULL, 10) : -1;
    printf("frames dropped by the simulator for slow reading: %ld\n", dropped);
    free(stats);
    for (int s = 0; s < SESSIONS; s++) ws_close(&ws[s]);
    exsim_reap(pid);
    if (dropped != 0) { /* loudly: the rates above are then the reader's, not the simulator's */
        fprintf(stderr, "bench_exsim: the simulator dropped %ld frames (or said nothing): the figures are not its "
                "own\n", dropped);
        if (!quick) return 1; /* (--quick only keeps the benchmark working: in CI, under the sanitizers, it drops) */
    }
    return acks == SESSIONS * 41 ? 0 : 1;
}
