/* strata-exsim speaks what ../shared/protocols.md (copied into docs/protocols.md's sources) lists:
 * every field of every message, checked by name and JSON type, against tables written here from
 * the protocol text (not from the simulator's code). Upbit: ticker, trade, orderbook (30 units
 * by default, the ".N" suffix, the level) and candle frames in DEFAULT and SIMPLE naming, the
 * JSON_LIST and SIMPLE_LIST formats, LIST_SUBSCRIPTIONS with the level, the REST ticker, orderbook
 * and trades. KIS: inquire-price, the asking price (output1 and output2), intstock-multprice, and
 * index registrations (H0UPCNT0). Waits are hang guards only. */
#define _GNU_SOURCE
#include "../test.h"
#include "spawn.h"
#include "wsclient.h"

#include <cjson/cJSON.h>

static pid_t pid;
static int port;

static int start_sim(void **state)
{
    port = exsim_spawn("20", "2026-11-23 10:00", &pid);
    return port > 0 ? 0 : -1;
}

static int stop_sim(void **state)
{
    return exsim_reap(pid);
}

/* A field: its DEFAULT name, its SIMPLE name, and its JSON type: 'n' number, 's' string,
 * 'b' boolean, 'z' null or string, 'a' array. */
typedef struct {
    const char *dflt, *simple;
    char type;
} field_t;

/* protocols.md 2.3, ticker */
static const field_t ticker_fields[] = {
    {"type", "ty", 's'}, {"code", "cd", 's'}, {"opening_price", "op", 'n'}, {"high_price", "hp", 'n'},
    {"low_price", "lp", 'n'}, {"trade_price", "tp", 'n'}, {"prev_closing_price", "pcp", 'n'}, {"change", "c", 's'},
    {"change_price", "cp", 'n'}, {"signed_change_price", "scp", 'n'}, {"change_rate", "cr", 'n'},
    {"signed_change_rate", "scr", 'n'}, {"trade_volume", "tv", 'n'}, {"acc_trade_volume", "atv", 'n'},
    {"acc_trade_volume_24h", "atv24h", 'n'}, {"acc_trade_price", "atp", 'n'}, {"acc_trade_price_24h", "atp24h", 'n'},
    {"trade_date", "tdt", 's'}, {"trade_time", "ttm", 's'}, {"trade_timestamp", "ttms", 'n'}, {"ask_bid", "ab", 's'},
    {"acc_ask_volume", "aav", 'n'}, {"acc_bid_volume", "abv", 'n'}, {"highest_52_week_price", "h52wp", 'n'},
    {"highest_52_week_date", "h52wdt", 's'}, {"lowest_52_week_price", "l52wp", 'n'},
    {"lowest_52_week_date", "l52wdt", 's'}, {"market_state", "ms", 's'}, {"is_trading_suspended", "its", 'b'},
    {"delisting_date", "dd", 'z'}, {"market_warning", "mw", 's'}, {"timestamp", "tms", 'n'},
    {"stream_type", "st", 's'}};
/* protocols.md 2.3, trade */
static const field_t trade_fields[] = {
    {"type", "ty", 's'}, {"code", "cd", 's'}, {"trade_price", "tp", 'n'}, {"trade_volume", "tv", 'n'},
    {"ask_bid", "ab", 's'}, {"prev_closing_price", "pcp", 'n'}, {"change", "c", 's'}, {"change_price", "cp", 'n'},
    {"trade_date", "td", 's'}, {"trade_time", "ttm", 's'}, {"trade_timestamp", "ttms", 'n'},
    {"timestamp", "tms", 'n'}, {"sequential_id", "sid", 'n'}, {"best_ask_price", "bap", 'n'},
    {"best_ask_size", "bas", 'n'}, {"best_bid_price", "bbp", 'n'}, {"best_bid_size", "bbs", 'n'},
    {"stream_type", "st", 's'}};
/* protocols.md 2.3, orderbook and its units */
static const field_t book_fields[] = {
    {"type", "ty", 's'}, {"code", "cd", 's'}, {"total_ask_size", "tas", 'n'}, {"total_bid_size", "tbs", 'n'},
    {"orderbook_units", "obu", 'a'}, {"timestamp", "tms", 'n'}, {"level", "lv", 'n'}, {"stream_type", "st", 's'}};
static const field_t unit_fields[] = {
    {"ask_price", "ap", 'n'}, {"bid_price", "bp", 'n'}, {"ask_size", "as", 'n'}, {"bid_size", "bs", 'n'}};
/* protocols.md 2.3, candle */
static const field_t candle_fields[] = {
    {"type", "ty", 's'}, {"code", "cd", 's'}, {"candle_date_time_utc", "cdttmu", 's'},
    {"candle_date_time_kst", "cdttmk", 's'}, {"opening_price", "op", 'n'}, {"high_price", "hp", 'n'},
    {"low_price", "lp", 'n'}, {"trade_price", "tp", 'n'}, {"candle_acc_trade_volume", "catv", 'n'},
    {"candle_acc_trade_price", "catp", 'n'}, {"timestamp", "tms", 'n'}, {"stream_type", "st", 's'}};

static bool typed(const cJSON *x, char type)
{
    switch (type) {
    case 'n': return cJSON_IsNumber(x);
    case 's': return cJSON_IsString(x);
    case 'b': return cJSON_IsBool(x);
    case 'z': return cJSON_IsNull(x) || cJSON_IsString(x);
    default: return cJSON_IsArray(x);
    }
}

/* Every field of the table is in o, by the naming's name, with its type; and nothing else. */
static void check_fields(const cJSON *o, const field_t *f, size_t n, bool simple, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = simple ? f[i].simple : f[i].dflt;
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
        if (!x || !typed(x, f[i].type)) fail_msg("%s: field %s missing or not of type %c", what, name, f[i].type);
    }
    assert_int_equal(cJSON_GetArraySize(o), (int)n);
}

/* The next data object of `type` (the SIMPLE or DEFAULT key), unwrapping a list. */
static cJSON *next_of(ws_t *w, const char *type, bool simple, bool list)
{
    for (int k = 0; k < 20000; k++) {
        char *in;
        assert_true(ws_recv(w, &in, 30000, NULL));
        cJSON *j = cJSON_Parse(in);
        free(in);
        assert_non_null(j);
        if (cJSON_IsArray(j) != list && !cJSON_GetObjectItem(j, "method") && !cJSON_GetObjectItem(j, "mthd"))
            fail_msg("a data message %s a list", list ? "is not" : "is");
        cJSON *o = list ? cJSON_DetachItemFromArray(j, 0) : j;
        if (list) {
            assert_int_equal(cJSON_GetArraySize(j), 0); /* one object per message here */
            cJSON_Delete(j);
        }
        const cJSON *ty = cJSON_GetObjectItem(o, simple ? "ty" : "type");
        if (cJSON_IsString(ty) && strcmp(ty->valuestring, type) == 0) return o;
        cJSON_Delete(o);
    }
    fail_msg("no %s", type);
    return NULL;
}

static void upbit_round(bool simple, bool list)
{
    const char *format = simple ? (list ? "SIMPLE_LIST" : "SIMPLE") : (list ? "JSON_LIST" : "DEFAULT");
    ws_t *w = malloc(sizeof(*w));
    assert_true(ws_open(w, port, "/websocket/v1"));
    char req[512];
    snprintf(req, sizeof(req),
             "[{\"ticket\":\"fields\"},{\"type\":\"ticker\",\"codes\":[\"KRW-BTC\"]},{\"type\":\"trade\",\"codes\":[\"KRW-BTC\"]},"
             "{\"type\":\"orderbook\",\"codes\":[\"KRW-ETH.15\",\"KRW-BTC\"],\"level\":0},"
             "{\"type\":\"candle.1s\",\"codes\":[\"KRW-BTC\"]},{\"format\":\"%s\"}]",
             format);
    assert_true(ws_send(w, req));
    cJSON *o = next_of(w, "ticker", simple, list);
    check_fields(o, ticker_fields, ST_ARRAY_SIZE(ticker_fields), simple, "ticker");
    assert_int_equal(strlen(cJSON_GetObjectItem(o, simple ? "tdt" : "trade_date")->valuestring), 8); /* yyyyMMdd */
    assert_int_equal(strlen(cJSON_GetObjectItem(o, simple ? "ttm" : "trade_time")->valuestring), 6); /* HHmmss */
    assert_int_equal(strlen(cJSON_GetObjectItem(o, simple ? "h52wdt" : "highest_52_week_date")->valuestring), 10);
    cJSON_Delete(o);
    o = next_of(w, "trade", simple, list);
    check_fields(o, trade_fields, ST_ARRAY_SIZE(trade_fields), simple, "trade");
    assert_int_equal(strlen(cJSON_GetObjectItem(o, simple ? "td" : "trade_date")->valuestring), 10); /* yyyy-MM-dd */
    assert_int_equal(strlen(cJSON_GetObjectItem(o, simple ? "ttm" : "trade_time")->valuestring), 8);  /* HH:mm:ss */
    cJSON_Delete(o);
    /* orderbooks: 15 units for "KRW-ETH.15", the default 30 for KRW-BTC */
    int seen = 0;
    while (seen != 3) {
        o = next_of(w, "orderbook", simple, list);
        check_fields(o, book_fields, ST_ARRAY_SIZE(book_fields), simple, "orderbook");
        const cJSON *units = cJSON_GetObjectItem(o, simple ? "obu" : "orderbook_units"), *u;
        cJSON_ArrayForEach(u, units) check_fields(u, unit_fields, ST_ARRAY_SIZE(unit_fields), simple, "unit");
        bool eth = strcmp(cJSON_GetObjectItem(o, simple ? "cd" : "code")->valuestring, "KRW-ETH") == 0;
        assert_int_equal(cJSON_GetArraySize(units), eth ? 15 : 30);
        seen |= eth ? 1 : 2;
        cJSON_Delete(o);
    }
    o = next_of(w, "candle.1s", simple, list);
    check_fields(o, candle_fields, ST_ARRAY_SIZE(candle_fields), simple, "candle");
    assert_string_equal(cJSON_GetObjectItem(o, simple ? "st" : "stream_type")->valuestring, "REALTIME");
    cJSON_Delete(o);
    /* The list says what is held, the orderbook with its level. */
    assert_true(ws_send(w, "[{\"ticket\":\"fields\"},{\"method\":\"LIST_SUBSCRIPTIONS\"}]"));
    for (;;) {
        char *in;
        assert_true(ws_recv(w, &in, 30000, NULL));
        cJSON *j = cJSON_Parse(in);
        free(in);
        if (!cJSON_GetObjectItem(j, simple ? "mthd" : "method")) {
            cJSON_Delete(j);
            continue;
        }
        const cJSON *r, *res = cJSON_GetObjectItem(j, simple ? "rslt" : "result");
        int types = 0;
        cJSON_ArrayForEach(r, res)
        {
            const char *ty = cJSON_GetObjectItem(r, simple ? "ty" : "type")->valuestring;
            assert_true(cJSON_IsArray(cJSON_GetObjectItem(r, simple ? "cds" : "codes")));
            if (strcmp(ty, "orderbook") == 0) assert_true(cJSON_IsNumber(cJSON_GetObjectItem(r, simple ? "lv" : "level")));
            types++;
        }
        assert_int_equal(types, 4); /* ticker, trade, orderbook, candle.1s */
        assert_true(cJSON_IsString(cJSON_GetObjectItem(j, simple ? "tckt" : "ticket")));
        cJSON_Delete(j);
        break;
    }
    ws_close(w);
    free(w);
}

static void test_upbit_streams(void **state)
{
    upbit_round(false, false);
    usleep(1100000); /* a new connection, but one IP: keep clear of the connect limits */
    upbit_round(true, false);
    usleep(1100000);
    upbit_round(false, true);
    usleep(1100000);
    upbit_round(true, true);
}

static cJSON *get_json(int p, const char *path, const char *headers)
{
    int status = 0;
    char *body = http_req(p, "GET", path, headers ? headers : "", "", &status);
    assert_non_null(body);
    if (status != 200) printf("# %s -> %d %s\n", path, status, body);
    assert_int_equal(status, 200);
    cJSON *j = cJSON_Parse(body);
    free(body);
    assert_non_null(j);
    return j;
}

static void check_plain(const cJSON *o, const field_t *f, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, f[i].dflt);
        if (!x || !typed(x, f[i].type)) fail_msg("%s: field %s missing or not of type %c", what, f[i].dflt, f[i].type);
    }
}

static void test_upbit_rest(void **state)
{
    /* GET /v1/ticker: the WebSocket ticker's fields plus the market and KST date and time */
    static const field_t rest_ticker[] = {
        {"market", 0, 's'}, {"trade_date", 0, 's'}, {"trade_time", 0, 's'}, {"trade_date_kst", 0, 's'},
        {"trade_time_kst", 0, 's'}, {"trade_timestamp", 0, 'n'}, {"opening_price", 0, 'n'}, {"high_price", 0, 'n'},
        {"low_price", 0, 'n'}, {"trade_price", 0, 'n'}, {"prev_closing_price", 0, 'n'}, {"change", 0, 's'},
        {"change_price", 0, 'n'}, {"change_rate", 0, 'n'}, {"signed_change_price", 0, 'n'},
        {"signed_change_rate", 0, 'n'}, {"trade_volume", 0, 'n'}, {"acc_trade_price", 0, 'n'},
        {"acc_trade_price_24h", 0, 'n'}, {"acc_trade_volume", 0, 'n'}, {"acc_trade_volume_24h", 0, 'n'},
        {"highest_52_week_price", 0, 'n'}, {"highest_52_week_date", 0, 's'}, {"lowest_52_week_price", 0, 'n'},
        {"lowest_52_week_date", 0, 's'}, {"timestamp", 0, 'n'}};
    cJSON *j = get_json(port, "/v1/ticker?markets=KRW-BTC", NULL);
    check_plain(cJSON_GetArrayItem(j, 0), rest_ticker, ST_ARRAY_SIZE(rest_ticker), "REST ticker");
    cJSON_Delete(j);
    j = get_json(port, "/v1/orderbook?markets=KRW-BTC&count=5", NULL);
    const cJSON *ob = cJSON_GetArrayItem(j, 0), *u;
    static const field_t rest_book[] = {{"market", 0, 's'}, {"timestamp", 0, 'n'}, {"total_ask_size", 0, 'n'},
                                        {"total_bid_size", 0, 'n'}, {"orderbook_units", 0, 'a'}, {"level", 0, 'n'}};
    check_plain(ob, rest_book, ST_ARRAY_SIZE(rest_book), "REST orderbook");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ob, "orderbook_units")), 5);
    cJSON_ArrayForEach(u, cJSON_GetObjectItem(ob, "orderbook_units"))
        check_plain(u, unit_fields, ST_ARRAY_SIZE(unit_fields), "REST orderbook unit");
    cJSON_Delete(j);
    /* GET /v1/trades/ticks: the latest trades, newest first */
    static const field_t ticks[] = {
        {"market", 0, 's'}, {"trade_date_utc", 0, 's'}, {"trade_time_utc", 0, 's'}, {"timestamp", 0, 'n'},
        {"trade_price", 0, 'n'}, {"trade_volume", 0, 'n'}, {"prev_closing_price", 0, 'n'}, {"change_price", 0, 'n'},
        {"ask_bid", 0, 's'}, {"sequential_id", 0, 'n'}};
    for (int k = 0;; k++) { /* until the market has traded (a hang guard, not a clock) */
        j = get_json(port, "/v1/trades/ticks?market=KRW-ETH&count=5", NULL);
        if (cJSON_GetArraySize(j) > 0 || k == 300) break;
        cJSON_Delete(j);
        usleep(200000);
    }
    assert_true(cJSON_GetArraySize(j) >= 1 && cJSON_GetArraySize(j) <= 5);
    double prev = 1e300;
    cJSON_ArrayForEach(u, j)
    {
        check_plain(u, ticks, ST_ARRAY_SIZE(ticks), "REST trade");
        double ts = cJSON_GetObjectItem(u, "timestamp")->valuedouble;
        assert_true(ts <= prev);
        prev = ts;
    }
    cJSON_Delete(j);
}

/* KIS: the names protocols.md 1.9, 1.10 and 1.10b list; every value a string. */
static const char *const price_names[] = {
    "iscd_stat_cls_code", "marg_rate", "rprs_mrkt_kor_name", "new_hgpr_lwpr_cls_code", "bstp_kor_isnm",
    "temp_stop_yn", "oprc_rang_cont_yn", "clpr_rang_cont_yn", "crdt_able_yn", "grmn_rate_cls_code", "elw_pblc_yn",
    "stck_prpr", "prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "acml_tr_pbmn", "acml_vol", "prdy_vrss_vol_rate",
    "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_mxpr", "stck_llam", "stck_sdpr", "wghn_avrg_stck_prc",
    "hts_frgn_ehrt", "frgn_ntby_qty", "pgtr_ntby_qty", "pvt_scnd_dmrs_prc", "pvt_frst_dmrs_prc", "pvt_pont_val",
    "pvt_frst_dmsp_prc", "pvt_scnd_dmsp_prc", "dmrs_val", "dmsp_val", "cpfn", "rstc_wdth_prc", "stck_fcam",
    "stck_sspr", "aspr_unit", "hts_deal_qty_unit_val", "lstn_stcn", "hts_avls", "per", "pbr", "stac_month",
    "vol_tnrt", "eps", "bps", "d250_hgpr", "d250_hgpr_date", "d250_hgpr_vrss_prpr_rate", "d250_lwpr",
    "d250_lwpr_date", "d250_lwpr_vrss_prpr_rate", "stck_dryy_hgpr", "dryy_hgpr_vrss_prpr_rate", "dryy_hgpr_date",
    "stck_dryy_lwpr", "dryy_lwpr_vrss_prpr_rate", "dryy_lwpr_date", "w52_hgpr", "w52_hgpr_vrss_prpr_ctrt",
    "w52_hgpr_date", "w52_lwpr", "w52_lwpr_vrss_prpr_ctrt", "w52_lwpr_date", "whol_loan_rmnd_rate", "ssts_yn",
    "stck_shrn_iscd", "fcam_cnnm", "cpfn_cnnm", "apprch_rate", "frgn_hldn_qty", "vi_cls_code", "ovtm_vi_cls_code",
    "last_ssts_cntg_qty", "invt_caful_yn", "mrkt_warn_cls_code", "short_over_yn", "sltr_yn", "mang_issu_cls_code"};
static const char *const book2_names[] = {
    "antc_mkop_cls_code", "stck_prpr", "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_sdpr", "antc_cnpr",
    "antc_cntg_vrss_sign", "antc_cntg_vrss", "antc_cntg_prdy_ctrt", "antc_vol", "stck_shrn_iscd", "vi_cls_code"};
static const char *const multi_names[] = {
    "kospi_kosdaq_cls_name", "mrkt_trtm_cls_name", "hour_cls_code", "inter_shrn_iscd", "inter_kor_isnm",
    "inter2_prpr", "inter2_prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "acml_vol", "inter2_oprc", "inter2_hgpr",
    "inter2_lwpr", "inter2_llam", "inter2_mxpr", "inter2_askp", "inter2_bidp", "seln_rsqn", "shnu_rsqn",
    "total_askp_rsqn", "total_bidp_rsqn", "acml_tr_pbmn", "inter2_prdy_clpr", "oprc_vrss_hgpr_rate",
    "intr_antc_cntg_vrss", "intr_antc_cntg_vrss_sign", "intr_antc_cntg_prdy_ctrt", "intr_antc_vol", "inter2_sdpr"};

static void check_strings(const cJSON *o, const char *const *names, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, names[i])))
            fail_msg("%s: field %s missing or not a string", what, names[i]);
    assert_int_equal(cJSON_GetArraySize(o), (int)n); /* nothing protocols.md does not list */
}

static void test_kis_rest(void **state)
{
    int status = 0;
    char *body = http_req(port, "POST", "/oauth2/tokenP", "",
                          "{\"grant_type\":\"client_credentials\",\"appkey\":\"FIELDS\",\"appsecret\":\"S\"}", &status);
    assert_int_equal(status, 200);
    cJSON *t = cJSON_Parse(body);
    free(body);
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "authorization: Bearer %s\r\nappkey: FIELDS\r\nappsecret: S\r\ncusttype: P\r\n",
             cJSON_GetObjectItem(t, "access_token")->valuestring);
    cJSON_Delete(t);
    cJSON *j = get_json(port, "/uapi/domestic-stock/v1/quotations/inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930", hdr);
    check_strings(cJSON_GetObjectItem(j, "output"), price_names, ST_ARRAY_SIZE(price_names), "inquire-price");
    cJSON_Delete(j);
    j = get_json(port, "/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930", hdr);
    const char *book1_fixed[] = {"aspr_acpt_hour", "total_askp_rsqn", "total_bidp_rsqn", "total_askp_rsqn_icdc",
                                 "total_bidp_rsqn_icdc", "ovtm_total_askp_icdc", "ovtm_total_bidp_icdc",
                                 "ovtm_total_askp_rsqn", "ovtm_total_bidp_rsqn", "ntby_aspr_rsqn", "new_mkop_cls_code"};
    static char names[71][32];
    const char *book1[71];
    size_t n = 0;
    const char *per_level[] = {"askp", "bidp", "askp_rsqn", "bidp_rsqn", "askp_rsqn_icdc", "bidp_rsqn_icdc"};
    for (size_t k = 0; k < 6; k++)
        for (int i = 1; i <= 10; i++) snprintf(names[n], sizeof(names[n]), "%s%d", per_level[k], i), book1[n] = names[n], n++;
    for (size_t k = 0; k < ST_ARRAY_SIZE(book1_fixed); k++) book1[n++] = book1_fixed[k];
    check_strings(cJSON_GetObjectItem(j, "output1"), book1, n, "asking price output1");
    check_strings(cJSON_GetObjectItem(j, "output2"), book2_names, ST_ARRAY_SIZE(book2_names), "asking price output2");
    cJSON_Delete(j);
    j = get_json(port, "/uapi/domestic-stock/v1/quotations/intstock-multprice?FID_COND_MRKT_DIV_CODE_1=J&FID_INPUT_ISCD_1=005930"
                       "&FID_COND_MRKT_DIV_CODE_2=J&FID_INPUT_ISCD_2=000660", hdr);
    const cJSON *row;
    int rows = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(j, "output"))
    {
        check_strings(row, multi_names, ST_ARRAY_SIZE(multi_names), "multprice row");
        rows++;
    }
    assert_int_equal(rows, 2);
    cJSON_Delete(j);
}

/* Index registrations: H0UPCNT0 with an index code is served as H0UPCNT0 frames; a stock tr_id
 * with an index code, or H0UPCNT0 with a stock, is an unknown key (OPSP8992). */
static void test_kis_index(void **state)
{
    ws_t *w = malloc(sizeof(*w));
    assert_true(ws_open(w, port, "/tryitout/H0UPCNT0"));
    const char *cases[][3] = {{"H0UPCNT0", "0001", "OPSP0000"}, {"H0STCNT0", "1001", "OPSP8992"},
                              {"H0UPCNT0", "005930", "OPSP8992"}};
    for (int i = 0; i < 3; i++) {
        char m[512];
        snprintf(m, sizeof(m),
                 "{\"header\":{\"approval_key\":\"idx-key\",\"custtype\":\"P\",\"tr_type\":\"1\",\"content-type\":\"utf-8\"},"
                 "\"body\":{\"input\":{\"tr_id\":\"%s\",\"tr_key\":\"%s\"}}}",
                 cases[i][0], cases[i][1]);
        assert_true(ws_send(w, m));
        for (;;) {
            char *in;
            assert_true(ws_recv(w, &in, 30000, NULL));
            bool answer = in[0] == '{' && !strstr(in, "PINGPONG");
            if (answer) assert_non_null(strstr(in, cases[i][2]));
            free(in);
            if (answer) break;
        }
    }
    for (int k = 0;; k++) { /* a data frame under the index's tr_id */
        char *in = NULL;
        assert_true(k < 10000);
        assert_true(ws_recv(w, &in, 30000, NULL));
        bool data = in[0] == '0';
        if (data) assert_int_equal(strncmp(in, "0|H0UPCNT0|", 11), 0);
        free(in);
        if (data) break;
    }
    ws_close(w);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upbit_streams),
        cmocka_unit_test(test_upbit_rest),
        cmocka_unit_test(test_kis_rest),
        cmocka_unit_test(test_kis_index),
    };
    return cmocka_run_group_tests(tests, start_sim, stop_sim);
}
