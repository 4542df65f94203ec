/* Coalescer benchmark: bursty subscription workloads against the venues' message limits.
 *   bench_coalescer [--quick]
 * For each workload: desired-set changes received, messages the coalescer sent, the ratio to
 * one message per request, limit violations seen by an independent window check (must be 0),
 * and the CPU cost per request (median of runs).
 * Then churn (issue 23.3): a strategy changing its Upbit set five times a second for 30 minutes,
 * an emergency every 13 s; the request-to-send latency of the changes and of the emergencies,
 * without pacing and reserve (the limiter as it was) and with them, in the same run. Simulated
 * time: the figures are exact and the same on any machine. */
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
        st_window_t win[2] = {{5, ST_SEC, 0, 0}, {100, ST_MIN, 0, 0}};
        st_limiter_tuning_t t = {1.0, 0.8, 0.5, 60 * ST_SEC, 10 * ST_SEC, 0.1, 0, 0};
        st_limiter_init(&lim, win, w->venue == ST_VENUE_UPBIT ? 2 : 1, &t);
        sink_t sink = {0};
        st_coalescer_io_t io = {on_send, code_of, NULL, NULL, NULL, &sink};
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

/* Churn on Upbit: every ask waits for the next message (each carries the whole set). */
static void churn(bool paced, st_dur_t length)
{
    st_limiter_t lim;
    if (paced) {
        st_limiter_init_messages(&lim, 5, 100, ST_LIMITER_AGGRESSIVE);
    } else {
        st_window_t win[2] = {{5, ST_SEC, 0, 0}, {100, ST_MIN, 0, 0}};
        st_limiter_tuning_t t;
        st_limiter_mode_tuning(ST_LIMITER_AGGRESSIVE, &t);
        t.margin = t.margin_max = 0;
        st_limiter_init(&lim, win, 2, &t);
    }
    sink_t sink = {0};
    st_coalescer_io_t io = {on_send, code_of, NULL, NULL, NULL, &sink};
    st_coalescer_t c;
    st_coalescer_init(&c, ST_VENUE_UPBIT, NSYM, 100000, &lim, 100 * ST_MSEC, &io);
    size_t cap = 2 * (size_t)(length / (200 * ST_MSEC)) + 16, nask = 0, next = 0, nemerg = 0;
    st_time_t *ask = malloc(cap * sizeof(*ask));
    bool *emerg = malloc(cap * sizeof(*emerg));
    uint64_t *lat = malloc(cap * sizeof(*lat)), *elat = malloc(cap * sizeof(*elat));
    size_t nlat = 0;
    st_time_t now = 0;
    rs = 11;
    for (st_time_t t = 0; t < length; t += 200 * ST_MSEC) {
        for (st_time_t due; (due = st_coalescer_due(&c, now)) <= t;) {
            now = due;
            size_t before = sink.n;
            st_coalescer_flush(&c, now);
            if (sink.n == before) continue;
            for (; next < nask; next++) {
                if (emerg[next]) elat[nemerg++] = (uint64_t)(now - ask[next]);
                else lat[nlat++] = (uint64_t)(now - ask[next]);
            }
        }
        now = t;
        st_key_t key = ST_KEY(rnd(200), ST_CH_TRADE);
        if (st_coalescer_want(&c, key, !(st_ledger_state(&c.ledger, key) & ST_LK_DESIRED), t) == 1) {
            ask[nask] = t;
            emerg[nask++] = false;
        }
        if (t % (13 * ST_SEC) == 0 && t > 0) {
            key = ST_KEY(1000 + rnd(1000), ST_CH_TRADE);
            if (st_coalescer_want(&c, key, !(st_ledger_state(&c.ledger, key) & ST_LK_DESIRED), t) == 1) {
                ask[nask] = t;
                emerg[nask++] = true;
                if (paced) st_coalescer_urgent(&c, t);
            }
        }
    }
    uint64_t p50 = bench_quantile(lat, nlat, 0.5), p99 = bench_quantile(lat, nlat, 0.99), mx = lat[nlat - 1];
    uint64_t e50 = bench_quantile(elat, nemerg, 0.5), e99 = bench_quantile(elat, nemerg, 0.99), emx = elat[nemerg - 1];
    printf("%-28s %8zu %9zu %8.2f s %7.2f s %7.2f s %8.2f s %7.2f s %7.2f s\n",
           paced ? "paced, 10 % reserve (now)" : "greedy windows (before)", nlat + nemerg, sink.n,
           (double)p50 / ST_SEC, (double)p99 / ST_SEC, (double)mx / ST_SEC, (double)e50 / ST_SEC,
           (double)e99 / ST_SEC, (double)emx / ST_SEC);
    st_coalescer_free(&c);
    st_limiter_free(&lim);
    free(sink.at), free(ask), free(emerg), free(lat), free(elat);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_cpu_line();
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
    printf("\nchurn on Upbit (5/s, 100/min): 5 changes a second and an emergency every 13 s for %d min\n\n",
           quick ? 3 : 30);
    printf("%-28s %8s %9s %10s %9s %9s %10s %9s %9s\n", "limiter", "changes", "messages", "change p50", "p99",
           "max", "emerg p50", "p99", "max");
    churn(false, (quick ? 3 : 30) * ST_MIN);
    churn(true, (quick ? 3 : 30) * ST_MIN);
    return 0;
}
