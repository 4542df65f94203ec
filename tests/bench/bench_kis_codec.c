/* KIS frame decoding: records per second on one core, for single-record frames and for busy
 * frames of 20 records (KIS batches trades when a symbol is busy).
 *   bench_kis_codec [--quick] */
#include "bench_util.h"

#include "feeds/kis_codec.h"
#include "../feeds/kis_encode.h"

static int sink(const st_kis_record_t *r, void *ctx)
{
    *(double *)ctx += r->tick.u.trade.price;
    return 0;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_cpu_line();
    int runs = quick ? 3 : 15, iters = quick ? 2000 : 50000;
    st_tick_t t[20];
    const char *codes[20];
    for (int i = 0; i < 20; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].kind = ST_TICK_TRADE;
        t[i].venue_time = (st_time_t)1795392000 * ST_SEC + i * ST_SEC;
        t[i].u.trade = (st_trade_t){.price = 73100 + i * 100, .volume = 12 + i, .open = 73900,
                                    .high = 74000, .low = 72800, .prev_close = 73600,
                                    .cum_volume = 8456281, .cum_value = 619384512000.0,
                                    .best_bid = 73000, .best_ask = 73100, .side = ST_SIDE_SELL};
        codes[i] = "005930";
    }
    char one[2048], twenty[32768];
    size_t n1 = st_kis_encode_trades(one, sizeof(one), t, codes, 1, 9 * 3600);
    size_t n20 = st_kis_encode_trades(twenty, sizeof(twenty), t, codes, 20, 9 * 3600);
    printf("KIS decode: H0STCNT0 frames of %zu bytes (1 record) and %zu bytes (20 records)\n\n", n1, n20);
    printf("%-34s %8s %14s %14s\n", "frame", "runs", "records/s", "ns/record");
    struct {
        const char *name;
        const char *buf;
        size_t len;
        int recs;
    } cases[] = {{"1 record per frame", one, n1, 1}, {"20 records per frame", twenty, n20, 20}};
    double acc = 0;
    for (int c = 0; c < 2; c++) {
        uint64_t *ns = malloc(sizeof(uint64_t) * (size_t)runs);
        for (int r = 0; r < runs; r++) {
            uint64_t t0 = bench_ns();
            for (int i = 0; i < iters; i++) {
                st_kis_frame_t f;
                if (st_kis_frame_parse(cases[c].buf, cases[c].len, &f) != 0) return 1;
                if (st_kis_decode(&f, 9 * 3600, 0, sink, &acc) != cases[c].recs) return 1;
            }
            ns[r] = (bench_ns() - t0) / (uint64_t)(iters * cases[c].recs); /* per record */
        }
        uint64_t med = bench_quantile(ns, (size_t)runs, 0.5);
        printf("%-34s %8d %14.2f M %11llu ns\n", cases[c].name, runs, 1e3 / (double)(med ? med : 1),
               (unsigned long long)med);
        free(ns);
    }
    return acc > 0 ? 0 : 1;
}
