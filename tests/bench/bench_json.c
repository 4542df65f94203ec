/* JSON libraries on Upbit messages: the parse-and-extract path of the Upbit feed, measured on
 * real message shapes (a DEFAULT ticker, a SIMPLE trade and a 30-level DEFAULT orderbook, as
 * Upbit sends them), with every Debian package available here. Median of runs, one core. Ends
 * with strata's decode against cJSON's parse alone of the same message (goal, issue 19.2: the
 * ticker at least 1.5x as fast); the orderbook row's absolute figure is the one to compare with
 * another client's CPU per orderbook message.
 *   bench_json [--quick] */
#include "bench_util.h"

#include "core/common.h"
#include "feeds/upbit_codec.h"
#include "../feeds/upbit_samples.h"

#include <cjson/cJSON.h>

/* The DEFAULT ticker example of the Upbit documentation (1 KB), and a SIMPLE trade. */
static const char ticker[] = UPBIT_TICKER_DEFAULT;
static const char trade[] = UPBIT_TRADE_SIMPLE;
static char book[8192]; /* made by make_book */

/* A DEFAULT orderbook of 30 levels around 32,287,000 KRW, with Upbit's members and number
 * shapes (prices whole, sizes with 8 decimals). */
static void make_book(void)
{
    int n = snprintf(book, sizeof(book), "{\"type\":\"orderbook\",\"code\":\"KRW-BTC\",\"timestamp\":1676965262177,"
                     "\"total_ask_size\":4.79158413,\"total_bid_size\":2.65609625,\"orderbook_units\":[");
    for (int i = 0; i < 30; i++)
        n += snprintf(book + n, sizeof(book) - (size_t)n,
                      "%s{\"ask_price\":%d.0,\"bid_price\":%d.0,\"ask_size\":0.%08d,\"bid_size\":0.%08d}", i ? "," : "",
                      32288000 + i * 1000, 32287000 - i * 1000, 1234567 + i * 7919, 7654321 - i * 104729);
    snprintf(book + n, sizeof(book) - (size_t)n, "],\"stream_type\":\"REALTIME\",\"level\":0}");
}

typedef struct {
    const char *name;
    double (*run)(const char *msg, size_t len, const char *k1, const char *k2, const char *k3);
} lib_t;

/* Each extracts three fields (price, volume, timestamp) as the feed would. */
static double with_cjson(const char *m, size_t len, const char *a, const char *b, const char *c)
{
    cJSON *j = cJSON_ParseWithLength(m, len);
    double v = cJSON_GetObjectItemCaseSensitive(j, a)->valuedouble + cJSON_GetObjectItemCaseSensitive(j, b)->valuedouble +
               cJSON_GetObjectItemCaseSensitive(j, c)->valuedouble;
    cJSON_Delete(j);
    return v;
}

/* strata's own path: st_upbit_decode (cJSON plus the one-pass field table) into a tick. */
static double with_strata(const char *m, size_t len, const char *a, const char *b, const char *c)
{
    st_upbit_msg_t msg;
    if (st_upbit_decode(m, len, &msg) != 0) return 0;
    return msg.tick.u.trade.price + msg.tick.u.trade.volume + (double)msg.tick.venue_time; /* (book: ask[0..1]) */
}

double bench_with_jsonc(const char *m, size_t len, const char *a, const char *b, const char *c);
double bench_with_jansson(const char *m, size_t len, const char *a, const char *b, const char *c);

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_cpu_line();
    make_book();
    int runs = quick ? 3 : 15, iters = quick ? 200 : 20000;
    lib_t libs[] = {
        {"strata decode", with_strata},
        {"cJSON 1.7", with_cjson},
#ifdef HAVE_JSONC
        {"json-c 0.16", bench_with_jsonc},
#endif
#ifdef HAVE_JANSSON
        {"jansson 2.14", bench_with_jansson},
#endif
    };
    struct {
        const char *name, *msg, *a, *b, *c;
    } msgs[] = {{"ticker, DEFAULT (1 KB)", ticker, "trade_price", "trade_volume", "timestamp"},
                {"trade, SIMPLE (0.3 KB)", trade, "tp", "tv", "tms"},
                {"orderbook, 30 levels (3 KB)", book, "total_ask_size", "total_bid_size", "timestamp"}};
    enum { NMSG = 3 };
    uint64_t meds[8][NMSG] = {{0}};
    printf("JSON parse + extract 3 fields, per message (median of %d runs x %d)\n\n", runs, iters);
    printf("%-16s %-28s %12s %14s\n", "library", "message", "median", "messages/s");
    double sink = 0;
    uint64_t *ns = malloc(sizeof(uint64_t) * (size_t)runs);
    for (size_t l = 0; l < ST_ARRAY_SIZE(libs); l++) {
        for (int m = 0; m < NMSG; m++) {
            size_t len = strlen(msgs[m].msg);
            for (int r = 0; r < runs; r++) {
                uint64_t t0 = bench_ns();
                for (int i = 0; i < iters; i++) sink += libs[l].run(msgs[m].msg, len, msgs[m].a, msgs[m].b, msgs[m].c);
                ns[r] = (bench_ns() - t0) / (uint64_t)iters;
            }
            uint64_t med = meds[l][m] = bench_quantile(ns, (size_t)runs, 0.5);
            printf("%-16s %-28s %9.2f us %14.0f\n", libs[l].name, msgs[m].name, (double)med / 1e3,
                   1e9 / (double)(med ? med : 1));
        }
    }
    free(ns);
    printf("\nstrata decode vs cJSON's parse alone (cJSON / strata):");
    for (int m = 0; m < NMSG; m++)
        printf(" %s %.2fx%s", m == 0 ? "ticker" : m == 1 ? "trade" : "orderbook",
               (double)meds[1][m] / (double)(meds[0][m] ? meds[0][m] : 1), m == 0 ? " (goal at least 1.5x)," : m == 1 ? "," : "\n");
    return sink > 0 ? 0 : 1;
}
