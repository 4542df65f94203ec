/* JSON libraries on Upbit messages: the parse-and-extract path of the Upbit feed, measured on
 * real message shapes (a DEFAULT ticker and a SIMPLE trade, as Upbit sends them), with every
 * Debian package available here. Median of runs, one core.
 *   bench_json [--quick] */
#include "bench_util.h"

#include "core/common.h"
#include "feeds/upbit_codec.h"

#include <cjson/cJSON.h>

/* The DEFAULT ticker example of the Upbit documentation (1 KB), and a SIMPLE trade. */
static const char ticker[] =
    "{\"type\":\"ticker\",\"code\":\"KRW-BTC\",\"opening_price\":31883000,\"high_price\":32310000,"
    "\"low_price\":31855000,\"trade_price\":32287000,\"prev_closing_price\":31883000.00000000,"
    "\"acc_trade_price\":78039261076.51241000,\"change\":\"RISE\",\"change_price\":404000.00000000,"
    "\"signed_change_price\":404000.00000000,\"change_rate\":0.0126713295,\"signed_change_rate\":0.0126713295,"
    "\"ask_bid\":\"ASK\",\"trade_volume\":0.03103806,\"acc_trade_volume\":2429.58834336,\"trade_date\":\"20230221\","
    "\"trade_time\":\"074102\",\"trade_timestamp\":1676965262139,\"acc_ask_volume\":1146.25573608,"
    "\"acc_bid_volume\":1283.33260728,\"highest_52_week_price\":57678000.00000000,\"highest_52_week_date\":"
    "\"2022-03-28\",\"lowest_52_week_price\":20700000.00000000,\"lowest_52_week_date\":\"2022-12-30\","
    "\"market_state\":\"ACTIVE\",\"is_trading_suspended\":false,\"delisting_date\":null,\"market_warning\":"
    "\"NONE\",\"timestamp\":1676965262177,\"acc_trade_price_24h\":228827082483.70729000,"
    "\"acc_trade_volume_24h\":7158.80283560,\"stream_type\":\"REALTIME\"}";
static const char trade[] =
    "{\"ty\":\"trade\",\"cd\":\"KRW-BTC\",\"tms\":1730336862082,\"td\":\"2024-10-31\",\"ttm\":\"01:07:42\","
    "\"ttms\":1730336862047,\"tp\":100473000.0,\"tv\":0.00014208,\"ab\":\"BID\",\"pcp\":100571000.0,"
    "\"c\":\"FALL\",\"cp\":98000.0,\"sid\":17303368620470000,\"bap\":100473000,\"bas\":0.43139478,"
    "\"bbp\":100465000,\"bbs\":0.01990656,\"st\":\"SNAPSHOT\"}";

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

/* strata's own path: st_up_decode (cJSON plus the one-pass field table) into a tick. */
static double with_strata(const char *m, size_t len, const char *a, const char *b, const char *c)
{
    st_up_msg_t msg;
    if (st_up_decode(m, len, &msg) != 0) return 0;
    return msg.tick.u.trade.price + msg.tick.u.trade.volume + (double)msg.tick.venue_time;
}

double bench_with_jsonc(const char *m, size_t len, const char *a, const char *b, const char *c);
double bench_with_jansson(const char *m, size_t len, const char *a, const char *b, const char *c);

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
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
                {"trade, SIMPLE (0.3 KB)", trade, "tp", "tv", "tms"}};
    printf("JSON parse + extract 3 fields, per message (median of %d runs x %d)\n\n", runs, iters);
    printf("%-16s %-26s %12s %14s\n", "library", "message", "median", "messages/s");
    double sink = 0;
    uint64_t *ns = malloc(sizeof(uint64_t) * (size_t)runs);
    for (size_t l = 0; l < ST_ARRAY_SIZE(libs); l++) {
        for (int m = 0; m < 2; m++) {
            size_t len = strlen(msgs[m].msg);
            for (int r = 0; r < runs; r++) {
                uint64_t t0 = bench_ns();
                for (int i = 0; i < iters; i++) sink += libs[l].run(msgs[m].msg, len, msgs[m].a, msgs[m].b, msgs[m].c);
                ns[r] = (bench_ns() - t0) / (uint64_t)iters;
            }
            uint64_t med = bench_quantile(ns, (size_t)runs, 0.5);
            printf("%-16s %-26s %9.2f us %14.0f\n", libs[l].name, msgs[m].name, (double)med / 1e3,
                   1e9 / (double)(med ? med : 1));
        }
    }
    free(ns);
    return sink > 0 ? 0 : 1;
}
