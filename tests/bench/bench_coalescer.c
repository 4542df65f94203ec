/* Coalescer benchmark: bursty subscription workloads against the venues' message limits.
 *   bench_coalescer [--quick]
 * For each workload: desired-set changes received, messages the coalescer sent, the ratio to
 * one message per request, limit violations seen by an independent window check (must be 0),
 * and the CPU cost per request (median of runs). */
#include "bench_util.h"

#include "subs/coalescer.h"

#define NSYM 3000

static char codes[NSYM][8];
static const char *code_of(void *ctx, st_sym_t sym)
{
    return codes[sym];
}

typedef struct {
    st_time_t *at;
    size_t n, cap;
    bool count_only;
} sink_t;

static int on_send(void *ctx, const char *msg, size_t len)
{
    sink_t *s = ctx;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->at = realloc(s->at, s->cap * sizeof(st_time_t));
    }
    s->at[s->n++] = 0; /* filled by the driver */
    return 0;
}

static uint64_t rs = 1;
static uint32_t rnd(uint32_t n)
{
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (uint32_t)(rs % n);
}

typedef struct {
    const char *name;
    st_venue_t venue;
    int bursts, burst_size, keys;
    st_dur_t gap; /* between bursts */
} workload_t;

static size_t violations(const sink_t *s, st_dur_t p1, int n1, st_dur_t p2, int n2)
{
    size_t v = 0, lo1 = 0, lo2 = 0;
    for (size_t i = 0; i < s->n; i++) { /* sorted by time: two moving windows */
        while (s->at[lo1] <= s->at[i] - p1) lo1++;
        while (s->at[lo2] <= s->at[i] - p2) lo2++;
        v += (i - lo1 + 1 > (size_t)n1) || (n2 && i - lo2 + 1 > (size_t)n2);
    }
    return v;
}

static void run(const workload_t *w, bool quick)
{
    int reps = quick ? 1 : 5;
    uint64_t *cost = malloc(sizeof(uint64_t) * (size_t)reps);
    uint64_t reqs = 0;
    size_t msgs = 0, viol = 0;
    for (int rep = 0; rep < reps; rep++) {
        rs = 7 + (uint64_t)rep;
        st_limiter_t lim;
        st_window_t win[2] = {{5, ST_SEC}, {100, ST_MIN}};
        st_rl_tuning_t t = {1.0, 0.8, 0.5, 60 * ST_SEC, 10 * ST_SEC, 0.1};
        st_limiter_init(&lim, win, w->venue == ST_VENUE_UPBIT ? 2 : 1, &t);
        sink_t sink = {0};
        st_coalescer_io_t io = {on_send, code_of, NULL, &sink};
        st_coalescer_t c;
        st_coalescer_init(&c, w->venue, NSYM, w->venue == ST_VENUE_KIS ? 41 : 100000, &lim,
                          100 * ST_MSEC, &io);
        uint64_t ns = 0;
        st_time_t now = 0;
        for (int b = 0; b < w->bursts; b++) {
            st_time_t start = (st_time_t)b * w->gap;
            for (int i = 0; i < w->burst_size; i++) {
                st_time_t at = start + (st_time_t)i * 200 * ST_MSEC / w->burst_size; /* 200 ms bursts */
                /* Flushes and acks due before this request. */
                for (st_time_t due; (due = st_coalescer_due(&c, now)) <= at;) {
                    now = due;
                    size_t before = sink.n;
                    uint64_t t0 = bench_ns();
                    st_coalescer_flush(&c, now);
                    ns += bench_ns() - t0;
                    for (size_t k = before; k < sink.n; k++) sink.at[k] = now;
                    if (w->venue == ST_VENUE_KIS) /* the venue answers at once */
                        for (size_t k = 0; k < c.ledger.nkeys; k++) {
                            uint8_t s = c.ledger.state[k];
                            if (s & ST_LK_SUBBING) st_coalescer_ack(&c, (st_key_t)k, ST_ACK_SUBSCRIBED, now);
                            if (s & ST_LK_UNSUBBING) st_coalescer_ack(&c, (st_key_t)k, ST_ACK_UNSUBSCRIBED, now);
                        }
                }
                now = at;
                st_key_t key = ST_KEY(rnd((uint32_t)w->keys), rnd(2) ? ST_CH_TRADE : ST_CH_BOOK);
                bool on = !(st_ledger_state(&c.ledger, key) & ST_LK_DESIRED);
                if (on && w->venue == ST_VENUE_KIS && c.ledger.desired >= 41) on = false;
                uint64_t t0 = bench_ns();
                st_coalescer_want(&c, key, on, at);
                ns += bench_ns() - t0;
            }
        }
        for (st_time_t due; (due = st_coalescer_due(&c, now)) != ST_TIME_NEVER;) {
            now = due;
            size_t before = sink.n;
            st_coalescer_flush(&c, now);
            for (size_t k = before; k < sink.n; k++) sink.at[k] = now;
            if (w->venue == ST_VENUE_KIS)
                for (size_t k = 0; k < c.ledger.nkeys; k++) {
                    uint8_t s = c.ledger.state[k];
                    if (s & ST_LK_SUBBING) st_coalescer_ack(&c, (st_key_t)k, ST_ACK_SUBSCRIBED, now);
                    if (s & ST_LK_UNSUBBING) st_coalescer_ack(&c, (st_key_t)k, ST_ACK_UNSUBSCRIBED, now);
                }
        }
        reqs = c.st.requests;
        msgs = sink.n;
        viol = violations(&sink, ST_SEC, 5, ST_MIN, w->venue == ST_VENUE_UPBIT ? 100 : 0);
        cost[rep] = ns / (reqs ? reqs : 1);
        st_coalescer_free(&c);
        st_limiter_free(&lim);
        free(sink.at);
    }
    uint64_t med = bench_quantile(cost, (size_t)reps, 0.5);
    printf("%-34s %9llu %9zu %8.1fx %10zu %10llu ns\n", w->name, (unsigned long long)reqs, msgs,
           msgs ? (double)reqs / (double)msgs : 0.0, viol, (unsigned long long)med);
    free(cost);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    for (int i = 0; i < NSYM; i++) snprintf(codes[i], sizeof(codes[i]), "%06d", i);
    workload_t ws[] = {
        {"KIS: 10 changes/burst, every 5 s", ST_VENUE_KIS, 60, 10, 40, 5 * ST_SEC},
        {"KIS: 100 changes/burst, every 10 s", ST_VENUE_KIS, 30, 100, 40, 10 * ST_SEC},
        {"KIS: 1000 changes/burst, every 30 s", ST_VENUE_KIS, 10, 1000, 40, 30 * ST_SEC},
        {"Upbit: 10 changes/burst, every 5 s", ST_VENUE_UPBIT, 60, 10, 200, 5 * ST_SEC},
        {"Upbit: 100 changes/burst, every 10 s", ST_VENUE_UPBIT, 30, 100, 200, 10 * ST_SEC},
        {"Upbit: 1000 changes/burst, every 30 s", ST_VENUE_UPBIT, 10, 1000, 1000, 30 * ST_SEC},
    };
    printf("coalescer: 200 ms bursts; KIS cap 41 and 5 msg/s; Upbit 5 msg/s and 100 msg/min; debounce 100 ms\n\n");
    printf("%-34s %9s %9s %9s %10s %13s\n", "workload", "requests", "messages", "fewer", "violations",
           "cpu/request");
    for (size_t i = 0; i < ST_ARRAY_SIZE(ws); i++) {
        if (quick) ws[i].bursts = ws[i].bursts > 3 ? 3 : ws[i].bursts;
        run(&ws[i], quick);
    }
    return 0;
}
