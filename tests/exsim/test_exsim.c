/* Protocol tests of strata-exsim's KIS side, driven by a minimal independent WebSocket client:
 * registration answers and error codes, the 42nd registration refused, one session per approval
 * key, data frames that decode field by field, PINGPONG to a quiet session, and the accounting
 * endpoint. Waits use deadlines only as hang guards; nothing asserts on speed. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include "../test.h"
#include "spawn.h"
#include "wsclient.h"

#include "feeds/kis_codec.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

static pid_t pid;
static int port;

static int spawn_sim(const char *speed, pid_t *out)
{
    return exsim_spawn(speed, "2026-11-23 10:00", out);
}

static int reap(pid_t p)
{
    return exsim_reap(p);
}

static int start_sim(void **state)
{
    port = spawn_sim("20", &pid);
    return port > 0 ? 0 : -1;
}

static int stop_sim(void **state)
{
    return reap(pid);
}

static char *reg_msg(const char *appkey, const char *type, const char *tr_id, const char *key)
{
    char *m = malloc(512);
    snprintf(m, 512,
             "{\"header\":{\"approval_key\":\"%s\",\"custtype\":\"P\",\"tr_type\":\"%s\",\"content-type\":\"utf-8\"},"
             "\"body\":{\"input\":{\"tr_id\":\"%s\",\"tr_key\":\"%s\"}}}",
             appkey, type, tr_id, key);
    return m;
}

/* Sends a request and returns the next control (JSON) answer, skipping data frames. */
static cJSON *ask(ws_t *w, const char *appkey, const char *type, const char *tr_id, const char *key)
{
    char *m = reg_msg(appkey, type, tr_id, key);
    assert_true(ws_send(w, m));
    free(m);
    for (;;) {
        char *in = NULL;
        assert_true(ws_recv(w, &in, 10000, NULL));
        if (in[0] == '{' && !strstr(in, "PINGPONG")) {
            cJSON *j = cJSON_Parse(in);
            free(in);
            assert_non_null(j);
            return j;
        }
        free(in);
    }
}

static const char *field(cJSON *j, const char *a, const char *b)
{
    cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(j, a), b);
    return cJSON_IsString(x) ? x->valuestring : "";
}

static void expect(cJSON *j, const char *rt, const char *cd, const char *msg1)
{
    if (strcmp(field(j, "body", "msg_cd"), cd) != 0) printf("# got %s %s\n", field(j, "body", "msg_cd"), field(j, "body", "msg1"));
    assert_string_equal(field(j, "body", "rt_cd"), rt);
    assert_string_equal(field(j, "body", "msg_cd"), cd);
    assert_string_equal(field(j, "body", "msg1"), msg1);
    cJSON_Delete(j);
}

static int count_records(const st_kis_record_t *r, void *ctx)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_registrations_and_errors(void **state)
{
    ws_t *w = malloc(sizeof(*w));
    assert_true(ws_open(w, port, "/tryitout/H0STCNT0"));
    cJSON *j = ask(w, "key-A", "1", "H0STCNT0", "005930");
    assert_string_equal(field(j, "header", "tr_key"), "005930");
    cJSON *out = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "body"), "output");
    assert_int_equal(strlen(cJSON_GetObjectItem(out, "iv")->valuestring), 16);
    assert_int_equal(strlen(cJSON_GetObjectItem(out, "key")->valuestring), 32);
    expect(j, "0", "OPSP0000", "SUBSCRIBE SUCCESS");
    expect(ask(w, "key-A", "1", "H0STCNT0", "005930"), "1", "OPSP0002", "ALREADY IN SUBSCRIBE");
    expect(ask(w, "key-A", "2", "H0STCNT0", "000660"), "1", "OPSP0003", "UNSUBSCRIBE ERROR (not found!)");
    expect(ask(w, "key-A", "1", "H0STCNT0", "999999"), "1", "OPSP8992", "SUBSCRIBE ERROR : invalid tr_key");
    expect(ask(w, "key-A", "1", "H9XXXXX0", "005930"), "1", "OPSP8991", "SUBSCRIBE ERROR : invalid tr_id");
    expect(ask(w, "key-A", "3", "H0STCNT0", "005930"), "9", "OPSP8997", "JSON PARSING ERROR : invalid tr_type");
    assert_true(ws_send(w, "{not json"));
    char *in;
    do {
        assert_true(ws_recv(w, &in, 10000, NULL));
    } while (in[0] != '{' && (free(in), 1));
    assert_non_null(strstr(in, "OPSP9999"));
    free(in);
    /* Up to 41 registrations (trade and book both count); the 42nd is refused. */
    expect(ask(w, "key-A", "1", "H0STASP0", "005930"), "0", "OPSP0000", "SUBSCRIBE SUCCESS");
    const char *codes[] = {"000660", "005380", "035420", "000270", "068270", "105560", "055550",
                           "012330", "028260", "066570", "003550", "096770", "017670", "030200",
                           "034730", "015760", "032830", "018260", "011200", "010950"};
    int held = 2;
    for (size_t i = 0; i < ST_ARRAY_SIZE(codes) && held < 41; i++) {
        expect(ask(w, "key-A", "1", "H0STCNT0", codes[i]), "0", "OPSP0000", "SUBSCRIBE SUCCESS");
        if (++held < 41) expect(ask(w, "key-A", "1", "H0STASP0", codes[i]), "0", "OPSP0000", "SUBSCRIBE SUCCESS"), held++;
    }
    assert_int_equal(held, 41);
    expect(ask(w, "key-A", "1", "H0STCNT0", "009150"), "1", "OPSP0008", "MAX SUBSCRIBE OVER");
    /* Unregistering frees a slot. */
    expect(ask(w, "key-A", "2", "H0STASP0", "005930"), "0", "OPSP0001", "UNSUBSCRIBE SUCCESS");
    expect(ask(w, "key-A", "1", "H0STCNT0", "009150"), "0", "OPSP0000", "SUBSCRIBE SUCCESS");

    /* A second session with the same approval key is refused. */
    ws_t *w2 = malloc(sizeof(*w2));
    assert_true(ws_open(w2, port, "/"));
    expect(ask(w2, "key-A", "1", "H0STCNT0", "000660"), "1", "OPSP8996", "ALREADY IN USE appkey");
    ws_close(w2);
    free(w2);

    /* Data: trade frames for registered symbols, 46 fields per record, that decode. */
    int frames = 0, records = 0;
    for (int k = 0; k < 400 && frames < 5; k++) {
        assert_true(ws_recv(w, &in, 15000, NULL));
        if (strncmp(in, "0|H0STCNT0|", 11) == 0) {
            st_kis_frame_t f;
            assert_int_equal(st_kis_frame_parse(in, strlen(in), &f), 0);
            int n = 0;
            assert_int_equal(st_kis_decode(&f, 9 * 3600, 0, count_records, &n), f.count);
            assert_int_equal(n, f.count);
            frames++;
            records += f.count;
        }
        free(in);
    }
    assert_int_equal(frames, 5);
    assert_true(records >= 5);

    /* The accounting endpoint. */
    char *body = http_get(port, "/control/stats");
    assert_non_null(body);
    cJSON *s = cJSON_Parse(body);
    assert_non_null(s);
    assert_int_equal(cJSON_GetObjectItem(s, "max_registrations_ever")->valueint, 41);
    assert_int_equal(cJSON_GetObjectItem(s, "refused_over_cap")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(s, "refused_in_use")->valueint, 1);
    assert_true(cJSON_GetObjectItem(s, "frames_sent")->valuedouble >= 5);
    cJSON *sess = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "sessions"), 1); /* newest first */
    assert_string_equal(cJSON_GetObjectItem(sess, "appkey")->valuestring, "key-A");
    assert_int_equal(cJSON_GetObjectItem(sess, "registrations")->valueint, 41);
    cJSON_Delete(s);
    free(body);
    ws_close(w);
    free(w);
}

/* A message whose bytes arrive in two pieces is one message (found by bench_exsim: the
 * simulator answered JSON PARSING ERROR to messages split across reads). */
static void test_message_split_across_reads(void **state)
{
    ws_t *w = malloc(sizeof(*w));
    assert_true(ws_open(w, port, "/"));
    char *m = reg_msg("key-split", "1", "H0STCNT0", "000660");
    size_t len = strlen(m);
    unsigned char frame[1024], mask[4] = {1, 2, 3, 4};
    size_t hn = 0;
    frame[hn++] = 0x81;
    frame[hn++] = 0x80 | 126;
    frame[hn++] = (unsigned char)(len >> 8);
    frame[hn++] = (unsigned char)len;
    memcpy(frame + hn, mask, 4);
    hn += 4;
    for (size_t i = 0; i < len; i++) frame[hn + i] = (unsigned char)m[i] ^ mask[i % 4];
    size_t half = hn + len / 2;
    assert_int_equal(write(w->fd, frame, half), (ssize_t)half);
    usleep(100000);
    assert_int_equal(write(w->fd, frame + half, hn + len - half), (ssize_t)(hn + len - half));
    free(m);
    char *in = NULL;
    do {
        free(in);
        assert_true(ws_recv(w, &in, 10000, NULL));
    } while (in[0] != '{' || strstr(in, "PINGPONG"));
    assert_non_null(strstr(in, "\"OPSP0000\""));
    free(in);
    ws_close(w);
    free(w);
}

static cJSON *control(int p, const char *query)
{
    char path[256];
    snprintf(path, sizeof(path), "/control/fault?%s", query);
    char *body = http_get(p, path);
    assert_non_null(body);
    cJSON *j = cJSON_Parse(body);
    free(body);
    assert_non_null(j);
    return j;
}

static double stat_num(int p, const char *key)
{
    char *body = http_get(p, "/control/stats");
    cJSON *j = cJSON_Parse(body);
    double v = cJSON_GetObjectItem(j, key)->valuedouble;
    cJSON_Delete(j);
    free(body);
    return v;
}

static int rest_port;

static cJSON *rest(const char *method, const char *path, const char *headers, const char *body, int want_status)
{
    int status = 0;
    char *out = http_req(rest_port, method, path, headers, body, &status);
    assert_non_null(out);
    if (status != want_status) printf("# %s %s -> %d %s\n", method, path, status, out);
    assert_int_equal(status, want_status);
    cJSON *j = cJSON_Parse(out);
    free(out);
    assert_non_null(j);
    return j;
}

static const char *jstr(cJSON *j, const char *k)
{
    cJSON *x = cJSON_GetObjectItem(j, k);
    return cJSON_IsString(x) ? x->valuestring : "";
}

/* KIS REST: token (one per minute), approval key, quotations with token and rate checks. Its
 * own simulator runs at x0.001, so every call below falls in one simulated second and the
 * limits are hit exactly, however slow the machine. */
static void test_rest(void **state)
{
    pid_t rest_pid;
    rest_port = spawn_sim("0.001", &rest_pid);
    assert_true(rest_port > 0);
    const char *creds = "{\"grant_type\":\"client_credentials\",\"appkey\":\"REST1\",\"appsecret\":\"S\"}";
    cJSON *t = rest("POST", "/oauth2/tokenP", "Content-Type: application/json\r\n", creds, 200);
    char token[128];
    snprintf(token, sizeof(token), "%s", jstr(t, "access_token"));
    assert_true(strlen(token) > 10);
    assert_string_equal(jstr(t, "token_type"), "Bearer");
    assert_int_equal(cJSON_GetObjectItem(t, "expires_in")->valueint, 86400);
    assert_int_equal(strlen(jstr(t, "access_token_token_expired")), 19);
    cJSON_Delete(t);
    t = rest("POST", "/oauth2/tokenP", "", creds, 403); /* a second one within the minute */
    assert_string_equal(jstr(t, "error_code"), "EGW00133");
    cJSON_Delete(t);
    t = rest("POST", "/oauth2/Approval", "", "{\"grant_type\":\"client_credentials\",\"appkey\":\"REST1\",\"secretkey\":\"S\"}", 200);
    assert_int_equal(strlen(jstr(t, "approval_key")), 36);
    cJSON_Delete(t);
    t = rest("POST", "/oauth2/Approval", "", "{\"appkey\":\"REST1\",\"appsecret\":\"S\"}", 403); /* the field is secretkey */
    cJSON_Delete(t);

    char hdr[512];
    snprintf(hdr, sizeof(hdr), "authorization: Bearer %s\r\nappkey: REST1\r\nappsecret: S\r\ntr_id: FHKST01010100\r\ncusttype: P\r\n", token);
    t = rest("GET", "/uapi/domestic-stock/v1/quotations/inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930", hdr, "", 200);
    assert_string_equal(jstr(t, "rt_cd"), "0");
    cJSON *o = cJSON_GetObjectItem(t, "output");
    assert_string_equal(jstr(o, "stck_shrn_iscd"), "005930");
    assert_true(atof(jstr(o, "stck_prpr")) > 0);
    double up = atof(jstr(o, "stck_mxpr"));
    assert_true(fmod(up, st_krx_tick_size(up)) == 0);
    cJSON_Delete(t);
    t = rest("GET", "/uapi/domestic-stock/v1/quotations/inquire-price?FID_INPUT_ISCD=005930",
             "authorization: Bearer nope\r\nappkey: REST1\r\n", "", 500);
    assert_string_equal(jstr(t, "msg_cd"), "EGW00121");
    cJSON_Delete(t);
    t = rest("GET", "/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn?FID_INPUT_ISCD=000660", hdr, "", 200);
    o = cJSON_GetObjectItem(t, "output1");
    assert_true(atof(jstr(o, "askp1")) > atof(jstr(o, "bidp1")));
    cJSON_Delete(t);
    /* Up to 30 symbols in one call, rows carry their own code. */
    char path[2048];
    int off = snprintf(path, sizeof(path), "/uapi/domestic-stock/v1/quotations/intstock-multprice?");
    const char *codes[] = {"005930", "000660", "035420", "999999"};
    for (int i = 0; i < 4; i++)
        off += snprintf(path + off, sizeof(path) - (size_t)off, "%sFID_COND_MRKT_DIV_CODE_%d=J&FID_INPUT_ISCD_%d=%s",
                        i ? "&" : "", i + 1, i + 1, codes[i]);
    t = rest("GET", path, hdr, "", 200);
    cJSON *rows = cJSON_GetObjectItem(t, "output");
    assert_int_equal(cJSON_GetArraySize(rows), 3); /* the unknown code has no row */
    assert_string_equal(jstr(cJSON_GetArrayItem(rows, 1), "inter_shrn_iscd"), "000660");
    assert_string_equal(jstr(cJSON_GetArrayItem(rows, 1), "inter_kor_isnm"), "SK하이닉스");
    cJSON_Delete(t);
    /* 30 more calls in the same simulated second: 17 served (with the 3 above: 20; the refused
     * token does not count), then EGW00201 (HTTP 500). */
    int ok = 0, limited = 0;
    for (int i = 0; i < 30; i++) {
        int status = 0;
        char *out = http_req(rest_port, "GET", "/uapi/domestic-stock/v1/quotations/inquire-price?FID_INPUT_ISCD=005930", hdr, "", &status);
        if (status == 200) ok++;
        if (status == 500 && strstr(out, "EGW00201")) limited++;
        free(out);
    }
    assert_int_equal(ok, 17);
    assert_int_equal(limited, 13);
    char *body = http_get(rest_port, "/control/stats");
    cJSON *s = cJSON_Parse(body);
    cJSON *r = cJSON_GetObjectItem(s, "rest");
    assert_int_equal(cJSON_GetObjectItem(r, "max_per_second")->valueint, 20);
    assert_int_equal(cJSON_GetObjectItem(r, "refused_rate")->valueint, 13);
    assert_int_equal(cJSON_GetObjectItem(r, "refused_token")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(r, "tokens_refused")->valueint, 1);
    cJSON_Delete(s);
    free(body);
    /* Injected REST faults: an error, then a call that is never answered. */
    cJSON_Delete(control(rest_port, "rest_error=1&rest_timeout=1"));
    t = rest("GET", "/uapi/domestic-stock/v1/quotations/inquire-price?FID_INPUT_ISCD=005930", hdr, "", 500);
    assert_string_equal(jstr(t, "msg_cd"), "EGW00201");
    cJSON_Delete(t);
    int fd = tcp_connect(rest_port);
    char req[600];
    int rn = snprintf(req, sizeof(req), "GET /uapi/domestic-stock/v1/quotations/inquire-price?FID_INPUT_ISCD=005930 HTTP/1.1\r\n"
                                        "Host: x\r\n%s\r\n", hdr);
    assert_int_equal(write(fd, req, (size_t)rn), rn);
    struct pollfd pfd = {fd, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 300), 0); /* held: no answer */
    close(fd);
    cJSON *fj = control(rest_port, "");
    assert_int_equal(cJSON_GetObjectItem(fj, "rest_errors")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(fj, "rest_timeouts")->valueint, 1);
    cJSON_Delete(fj);
    assert_int_equal(reap(rest_pid), 0);
}

/* Injected faults: rejected and delayed answers, malformed frames, a stalled stream, a dropped
 * connection. */
static void test_faults(void **state)
{
    ws_t *w = malloc(sizeof(*w));
    assert_true(ws_open(w, port, "/"));
    cJSON_Delete(control(port, "ack_reject=1"));
    expect(ask(w, "key-F", "1", "H0STCNT0", "005930"), "1", "OPSP0007", "SUBSCRIBE INTERNAL ERROR");
    cJSON_Delete(control(port, "ack_delay=2s"));
    expect(ask(w, "key-F", "1", "H0STCNT0", "005930"), "0", "OPSP0000", "SUBSCRIBE SUCCESS");
    cJSON_Delete(control(port, "ack_delay=0"));
    for (int i = 0; i < 10; i++) { /* a few busy symbols, so frames keep coming */
        const char *codes[] = {"000660", "035420", "005380", "000270", "068270", "105560", "055550", "012330", "028260", "066570"};
        expect(ask(w, "key-F", "1", "H0STCNT0", codes[i]), "0", "OPSP0000", "SUBSCRIBE SUCCESS");
    }
    /* Two malformed frames arrive, and the decoder refuses them. */
    cJSON *f = control(port, "malformed=2");
    assert_int_equal(cJSON_GetObjectItem(f, "malformed")->valueint, 2);
    cJSON_Delete(f);
    int bad = 0;
    for (int k = 0; k < 5000 && bad < 2; k++) {
        char *in;
        assert_true(ws_recv(w, &in, 30000, NULL));
        st_kis_frame_t fr;
        int n = 0;
        if (in[0] == '0' && st_kis_frame_parse(in, strlen(in), &fr) == 0 &&
            st_kis_decode(&fr, 9 * 3600, 0, count_records, &n) < 0)
            bad++;
        free(in);
    }
    assert_int_equal(bad, 2);
    /* A stall of a simulated hour (three real minutes): nothing is sent meanwhile. */
    cJSON_Delete(control(port, "stall=1h"));
    char *in;
    while (ws_recv(w, &in, 200, NULL)) free(in); /* drain what was queued before */
    double before = stat_num(port, "frames_sent");
    usleep(300000);
    assert_true(stat_num(port, "frames_sent") == before);
    cJSON_Delete(control(port, "stall=0"));
    do {
        assert_true(ws_recv(w, &in, 30000, NULL)); /* data again */
    } while (in[0] != '0' && (free(in), 1));
    free(in);
    /* Drop: the connection is closed by the simulator. */
    f = control(port, "drop=1");
    assert_true(cJSON_GetObjectItem(f, "drops")->valueint >= 1);
    cJSON_Delete(f);
    bool open = true;
    for (int k = 0; k < 100000 && open; k++) {
        open = ws_recv(w, &in, 30000, NULL);
        if (open) free(in);
    }
    assert_false(open);
    ws_close(w);
    free(w);
}

/* Receives until a message containing `needle` (skipping others), within a hang guard. */
static char *recv_until(ws_t *w, const char *needle)
{
    for (int k = 0; k < 10000; k++) {
        char *in;
        assert_true(ws_recv(w, &in, 30000, NULL));
        if (strstr(in, needle)) return in;
        free(in);
    }
    fail_msg("never received %s", needle);
    return NULL;
}

/* Upbit: snapshot then realtime, DEFAULT and SIMPLE, replace-on-new-message, the list, PING,
 * the error objects, and the per-connection request limit. */
static void test_upbit(void **state)
{
    ws_t *w = malloc(sizeof(*w));
    assert_true(ws_open(w, port, "/websocket/v1"));
    assert_true(ws_send(w, "[{\"ticket\":\"t1\"},{\"type\":\"trade\",\"codes\":[\"KRW-BTC\",\"KRW-ETH\"]},"
                           "{\"type\":\"orderbook\",\"codes\":[\"KRW-BTC\"],\"is_only_realtime\":true}]"));
    char *in = recv_until(w, "\"stream_type\":\"SNAPSHOT\"");
    assert_non_null(strstr(in, "{\"type\":\"trade\",\"code\":\"KRW-"));
    assert_non_null(strstr(in, "\"trade_date\":\"2026-11-23\""));
    free(in);
    in = recv_until(w, "\"type\":\"orderbook\"");
    assert_non_null(strstr(in, "\"orderbook_units\":[{\"ask_price\":"));
    assert_non_null(strstr(in, "\"stream_type\":\"REALTIME\"")); /* is_only_realtime: no snapshot */
    free(in);
    /* The list, in DEFAULT naming. */
    assert_true(ws_send(w, "[{\"ticket\":\"t1\"},{\"method\":\"LIST_SUBSCRIPTIONS\"}]"));
    in = recv_until(w, "LIST_SUBSCRIPTIONS");
    cJSON *j = cJSON_Parse(in);
    free(in);
    cJSON *res = cJSON_GetObjectItem(j, "result");
    assert_int_equal(cJSON_GetArraySize(res), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "type")->valuestring, "trade");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "codes")), 2);
    assert_string_equal(cJSON_GetObjectItem(j, "ticket")->valuestring, "t1");
    cJSON_Delete(j);
    usleep(1100000); /* the limit is 5 requests per second; nothing here races it */
    /* A new message replaces the set; SIMPLE naming from now on. */
    assert_true(ws_send(w, "[{\"ticket\":\"t2\"},{\"type\":\"ticker\",\"codes\":[\"KRW-XRP\"],\"is_only_realtime\":true},"
                           "{\"format\":\"SIMPLE\"}]"));
    assert_true(ws_send(w, "[{\"ticket\":\"t2\"},{\"method\":\"LIST_SUBSCRIPTIONS\"}]"));
    in = recv_until(w, "\"mthd\":\"LIST_SUBSCRIPTIONS\"");
    assert_non_null(strstr(in, "\"rslt\":[{\"ty\":\"ticker\",\"cds\":[\"KRW-XRP\"]}]"));
    free(in);
    /* REST: the market list, tickers and orderbooks for several markets per call. */
    int st = 0;
    char *body = http_req(port, "GET", "/v1/market/all", "", "", &st);
    assert_int_equal(st, 200);
    cJSON *mk = cJSON_Parse(body);
    assert_int_equal(cJSON_GetArraySize(mk), 20);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(mk, 0), "market")->valuestring, "KRW-BTC");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(mk, 0), "english_name")->valuestring, "BTC");
    cJSON_Delete(mk);
    free(body);
    body = http_req(port, "GET", "/v1/ticker?markets=KRW-BTC,KRW-ETH", "", "", &st);
    assert_int_equal(st, 200);
    assert_non_null(strcasestr(http_resp_headers, "Remaining-Req: group=ticker; min=1800; sec="));
    cJSON *tk = cJSON_Parse(body);
    assert_int_equal(cJSON_GetArraySize(tk), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(tk, 1), "market")->valuestring, "KRW-ETH");
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(tk, 1), "trade_price")->valuedouble > 0);
    cJSON_Delete(tk);
    free(body);
    body = http_req(port, "GET", "/v1/orderbook?markets=KRW-XRP", "", "", &st);
    assert_int_equal(st, 200);
    cJSON *ob = cJSON_Parse(body);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(ob, 0), "orderbook_units")), 30);
    cJSON_Delete(ob);
    free(body);
    body = http_req(port, "GET", "/v1/ticker?markets=KRW-NOPE", "", "", &st);
    assert_int_equal(st, 404);
    assert_non_null(strstr(body, "Code not found"));
    free(body);

    assert_true(ws_send(w, "PING"));
    in = recv_until(w, "status");
    assert_string_equal(in, "{\"status\":\"UP\"}");
    free(in);
    /* Errors. */
    assert_true(ws_send(w, "{\"not\":\"an array\"}"));
    in = recv_until(w, "\"error\"");
    assert_non_null(strstr(in, "WRONG_FORMAT"));
    free(in);
    usleep(1100000);
    const char *bad[][2] = {{"[{\"type\":\"trade\",\"codes\":[\"KRW-BTC\"]}]", "NO_TICKET"},
                            {"[{\"ticket\":\"x\"},{\"format\":\"DEFAULT\"}]", "NO_TYPE"},
                            {"[{\"ticket\":\"x\"},{\"type\":\"trade\"}]", "NO_CODES"},
                            {"[{\"ticket\":\"x\"},{\"type\":\"bogus\",\"codes\":[\"KRW-BTC\"]}]", "INVALID_PARAM"}};
    for (int i = 0; i < 4; i++) {
        assert_true(ws_send(w, bad[i][0]));
        in = recv_until(w, "\"error\"");
        assert_non_null(strstr(in, bad[i][1]));
        free(in);
    }
    ws_close(w);
    free(w);
}

/* The request limit and the idle close, each on a simulator whose clock makes it exact: at
 * x0.001 a burst falls in one simulated second however slow the machine; at x1000 the 120 s
 * idle limit passes in a fraction of a second. */
static void test_upbit_limits(void **state)
{
    pid_t slow_pid, fast_pid;
    int slow = spawn_sim("0.001", &slow_pid), fast = spawn_sim("1000", &fast_pid);
    assert_true(slow > 0 && fast > 0);
    ws_t *w = malloc(sizeof(*w));
    assert_true(ws_open(w, slow, "/websocket/v1"));
    for (int i = 0; i < 9; i++) assert_true(ws_send(w, "[{\"ticket\":\"x\"},{\"method\":\"LIST_SUBSCRIPTIONS\"}]"));
    int lists = 0, refused = 0;
    char *in;
    bool open = true;
    while (open && (open = ws_recv(w, &in, 30000, NULL))) {
        lists += strstr(in, "LIST_SUBSCRIPTIONS") != NULL;
        refused += strstr(in, "TOO_MANY_REQUEST") != NULL;
        free(in);
    }
    assert_int_equal(lists, 5);   /* 5 per second */
    assert_int_equal(refused, 3); /* the third violation closes the connection */
    assert_int_equal(stat_num(slow, "upbit_violations"), 3);
    ws_close(w);
    /* REST: 10 per second per group, Remaining-Req counting down, then 429; five 429s within
     * ten seconds (ignoring them) lead to 418. */
    for (int i = 0; i < 10; i++) {
        int st = 0;
        free(http_req(slow, "GET", "/v1/ticker?markets=KRW-BTC", "", "", &st));
        assert_int_equal(st, 200);
        char want[64];
        snprintf(want, sizeof(want), "group=ticker; min=1800; sec=%d", 9 - i);
        assert_non_null(strstr(http_resp_headers, want));
    }
    int st = 0;
    char *b = http_req(slow, "GET", "/v1/orderbook?markets=KRW-BTC", "", "", &st); /* another group */
    assert_int_equal(st, 200);
    free(b);
    for (int i = 0; i < 5; i++) {
        free(http_req(slow, "GET", "/v1/ticker?markets=KRW-BTC", "", "", &st));
        assert_int_equal(st, 429);
        assert_non_null(strstr(http_resp_headers, "sec=0"));
    }
    b = http_req(slow, "GET", "/v1/orderbook?markets=KRW-BTC", "", "", &st);
    assert_int_equal(st, 418); /* banned, every group */
    assert_non_null(strstr(b, "ip_blocked"));
    free(b);

    /* Idle: nothing sent for 120 simulated seconds closes the connection. */
    assert_true(ws_open(w, fast, "/websocket/v1"));
    open = true;
    for (int k = 0; k < 100000 && open; k++) {
        open = ws_recv(w, &in, 30000, NULL);
        if (open) free(in);
    }
    assert_false(open);
    assert_true(stat_num(fast, "upbit_closed") >= 1);
    ws_close(w);
    free(w);
    assert_int_equal(reap(slow_pid), 0);
    assert_int_equal(reap(fast_pid), 0);
}

/* An access token past its life is refused with EGW00123 (a simulator whose tokens live one
 * simulated minute, at x1000: it expires within a tenth of a second). */
static void test_expired_token(void **state)
{
    pid_t p;
    rest_port = exsim_spawn_with("1000", "2026-11-23 10:00", "--token-ttl", "1m", &p);
    assert_true(rest_port > 0);
    cJSON *t = rest("POST", "/oauth2/tokenP", "", "{\"appkey\":\"EXP\",\"appsecret\":\"S\"}", 200);
    assert_int_equal(cJSON_GetObjectItem(t, "expires_in")->valueint, 60);
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "authorization: Bearer %s\r\nappkey: EXP\r\n", jstr(t, "access_token"));
    cJSON_Delete(t);
    for (int i = 0; i < 3000; i++) { /* until the simulated minute has passed */
        int status = 0;
        char *out = http_req(rest_port, "GET", "/uapi/domestic-stock/v1/quotations/inquire-price?FID_INPUT_ISCD=005930",
                             hdr, "", &status);
        bool expired = status == 500 && strstr(out, "EGW00123");
        free(out);
        if (expired) break;
        assert_true(status == 200 || (status == 500 && i > 0));
        usleep(10000);
        assert_true(i < 2999);
    }
    assert_int_equal(reap(p), 0);
}

/* A quiet session receives PINGPONG; echoing it is counted as an answer. */
static void test_pingpong(void **state)
{
    ws_t *w = malloc(sizeof(*w));
    assert_true(ws_open(w, port, "/"));
    char *in = NULL;
    assert_true(ws_recv(w, &in, 30000, NULL)); /* nothing registered: the first frame is a ping */
    assert_non_null(strstr(in, "\"tr_id\":\"PINGPONG\""));
    assert_non_null(strstr(in, "\"datetime\":\"20261123"));
    assert_true(ws_send(w, in));
    free(in);
    for (int i = 0; i < 100; i++) {
        char *body = http_get(port, "/control/stats");
        cJSON *s = cJSON_Parse(body);
        cJSON *me = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "sessions"), 0);
        int pongs = cJSON_GetObjectItem(me, "pongs")->valueint;
        cJSON_Delete(s);
        free(body);
        if (pongs == 1) break;
        usleep(50000);
        assert_true(i < 99);
    }
    /* With answers not accepted, the next echo is not counted. */
    cJSON_Delete(control(port, "pong_ignore=1"));
    in = NULL;
    do {
        free(in);
        assert_true(ws_recv(w, &in, 30000, NULL));
    } while (!strstr(in, "PINGPONG"));
    assert_true(ws_send(w, in));
    free(in);
    /* A sync point on the same connection (messages are handled in order): once this answer
     * is back, the echo above has been handled, ignored. Only then turn answers back on. */
    expect(ask(w, "key-P", "3", "H0STCNT0", "005930"), "9", "OPSP8997", "JSON PARSING ERROR : invalid tr_type");
    cJSON_Delete(control(port, "pong_ignore=0"));
    char *body = http_get(port, "/control/stats");
    cJSON *s = cJSON_Parse(body);
    cJSON *me = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "sessions"), 0);
    assert_int_equal(cJSON_GetObjectItem(me, "pongs")->valueint, 1);
    assert_true(cJSON_GetObjectItem(me, "pings")->valueint >= 2);
    cJSON_Delete(s);
    free(body);
    ws_close(w);
    free(w);
}

/* Issue 23.14: the simulator listens on 127.0.0.1 only. It once bound [::] (libwebsockets'
 * default with IPv6), reachable on every interface: 127.0.0.2 and [::1] must be refused. */
static int connect_to(int family, const char *addr, int p)
{
    int fd = st_test_tcp_connect(family, addr, p);
    if (fd >= 0) close(fd);
    return fd >= 0 ? 0 : fd;
}

static void test_loopback_only(void **state)
{
    assert_int_equal(connect_to(AF_INET, "127.0.0.1", port), 0);
    assert_int_equal(connect_to(AF_INET, "127.0.0.2", port), -ECONNREFUSED);
    int v6 = connect_to(AF_INET6, "::1", port);
    assert_true(v6 == -ECONNREFUSED || v6 == -EADDRNOTAVAIL || v6 == -EAFNOSUPPORT);
}

/* Issue 23.13: without --start the simulator serves a market: now during a KRX session, else
 * 5 minutes before the next trading day's open (the calendar's); its first line says which.
 * (--now stands in for the wall clock.) */
static void expect_start(const char *now, const char *want, bool moved)
{
    char cmd[4400], line[512] = "";
    snprintf(cmd, sizeof(cmd), "%s --port 0 --duration 1s --now '%s'", exsim_path(), now);
    FILE *fp = popen(cmd, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof(line), fp));
    pclose(fp);
    printf("# now %s: %s", now, line);
    assert_non_null(strstr(line, want));
    assert_true((strstr(line, "the next session's open") != NULL) == moved);
}

static void test_default_start(void **state)
{
    expect_start("2026-12-03 10:00", "market time 2026-12-03 10:00:00 KST", false); /* Thursday, open */
    expect_start("2026-12-03 07:00", "market time 2026-12-03 08:55:00 KST", true);  /* before it */
    expect_start("2026-12-03 20:00", "market time 2026-12-04 08:55:00 KST", true);  /* after hours */
    expect_start("2026-12-04 16:00", "market time 2026-12-07 08:55:00 KST", true);  /* Friday evening */
    expect_start("2026-12-05 10:00", "market time 2026-12-07 08:55:00 KST", true);  /* Saturday */
    /* issue 21.1: the calendar's days, as strata's */
    expect_start("2026-09-24 10:00", "market time 2026-09-28 08:55:00 KST", true);  /* Chuseok */
    expect_start("2026-12-31 10:00", "market time 2027-01-04 09:55:00 KST", true);  /* year-end; a 10:00 open */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_only),
        cmocka_unit_test(test_default_start),
        cmocka_unit_test(test_registrations_and_errors),
        cmocka_unit_test(test_message_split_across_reads),
        cmocka_unit_test(test_rest),
        cmocka_unit_test(test_expired_token),
        cmocka_unit_test(test_pingpong),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_upbit),
        cmocka_unit_test(test_upbit_limits),
    };
    return cmocka_run_group_tests(tests, start_sim, stop_sim);
}
