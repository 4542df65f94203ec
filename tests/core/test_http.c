/* HTTP on the loop (libcurl multi-socket + libev) against strata-exsim: concurrent requests,
 * bodies and headers, an unanswered request timing out, a refused connection, and teardown with
 * a request in flight. Deadlines are hang guards only. */
#define _GNU_SOURCE
#include "../test.h"
#include "../exsim/spawn.h"

#include "core/http.h"

#include <curl/curl.h>

static struct ev_loop *loop;
static int port, slow_port;
static pid_t pid, slow_pid;

typedef struct {
    int status, error;
    char body[4096];
    char headers[2048];
    char message[256];
    bool done;
} result_t;

static int done_count;

static void on_done(const st_http_response_t *r, void *ctx)
{
    result_t *res = ctx;
    res->status = r->status;
    res->error = r->error;
    snprintf(res->body, sizeof(res->body), "%s", r->body);
    snprintf(res->headers, sizeof(res->headers), "%s", r->headers);
    snprintf(res->message, sizeof(res->message), "%s", r->message); /* valid during the call */
    res->done = true;
    done_count++;
}

static void on_guard(struct ev_loop *l, ev_timer *w, int revents)
{
    ev_break(l, EVBREAK_ALL);
}

/* A prepare watcher runs before each poll, so it sees every callback of the iteration before
 * (a check watcher runs before them and would miss the last one). */
static void on_prepare(struct ev_loop *l, ev_prepare *w, int revents)
{
    if (done_count >= *(int *)w->data) ev_break(l, EVBREAK_ALL);
}

/* Runs the loop until `want` callbacks arrived (or a 30 s guard). */
static void run_until(int want)
{
    ev_timer guard;
    ev_timer_init(&guard, on_guard, 30, 0);
    ev_timer_start(loop, &guard);
    ev_prepare prep;
    ev_prepare_init(&prep, on_prepare);
    prep.data = &want;
    ev_prepare_start(loop, &prep);
    ev_run(loop, 0);
    ev_prepare_stop(loop, &prep);
    ev_timer_stop(loop, &guard);
}

static int setup(void **state)
{
    loop = ev_loop_new(EVFLAG_AUTO);
    port = exsim_spawn("1", "2026-11-23 10:00", &pid);
    slow_port = exsim_spawn("0.001", "2026-11-23 10:00", &slow_pid);
    return port > 0 && slow_port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    ev_loop_destroy(loop);
    return exsim_reap(pid) | exsim_reap(slow_pid);
}

static void test_concurrent_requests(void **state)
{
    st_http_t *h = st_http_create(loop);
    char base[64], url[128];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    result_t tok = {0}, apv = {0}, stats = {0};
    done_count = 0;
    snprintf(url, sizeof(url), "%s/oauth2/tokenP", base);
    assert_int_equal(st_http_request(h, "POST", url, NULL, "{\"grant_type\":\"client_credentials\",\"appkey\":\"H1\",\"appsecret\":\"S\"}",
                                     5 * ST_SEC, on_done, &tok), 0);
    snprintf(url, sizeof(url), "%s/oauth2/Approval", base);
    const char *hdrs[] = {"content-type: application/json; charset=utf-8", NULL};
    assert_int_equal(st_http_request(h, "POST", url, hdrs, "{\"grant_type\":\"client_credentials\",\"appkey\":\"H1\",\"secretkey\":\"S\"}",
                                     5 * ST_SEC, on_done, &apv), 0);
    snprintf(url, sizeof(url), "%s/control/stats", base);
    assert_int_equal(st_http_request(h, "GET", url, NULL, NULL, 5 * ST_SEC, on_done, &stats), 0);
    assert_int_equal(st_http_pending(h), 3);
    run_until(3);
    assert_true(tok.done && apv.done && stats.done);
    assert_int_equal(tok.status, 200);
    assert_non_null(strstr(tok.body, "\"access_token\":\"sim-token-"));
    assert_int_equal(apv.status, 200);
    assert_non_null(strstr(apv.body, "\"approval_key\":"));
    assert_int_equal(stats.status, 200);
    assert_non_null(strstr(stats.body, "\"sessions_total\""));
    assert_int_equal(st_http_pending(h), 0);
    /* A second token within the minute: the venue's 403 is a response, not an error. */
    result_t again = {0};
    snprintf(url, sizeof(url), "%s/oauth2/tokenP", base);
    st_http_request(h, "POST", url, NULL, "{\"appkey\":\"H1\",\"appsecret\":\"S\"}", 5 * ST_SEC, on_done, &again);
    run_until(4);
    assert_int_equal(again.status, 403);
    assert_int_equal(again.error, 0);
    assert_non_null(strstr(again.body, "EGW00133"));
    st_http_destroy(h);
}

static void test_headers(void **state)
{
    st_http_t *h = st_http_create(loop);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/ticker?markets=KRW-BTC,KRW-ETH", slow_port);
    result_t r = {0};
    done_count = 0;
    st_http_request(h, "GET", url, NULL, NULL, 5 * ST_SEC, on_done, &r);
    run_until(1);
    assert_int_equal(r.status, 200);
    char v[128];
    assert_non_null(st_http_header(r.headers, "remaining-req", v, sizeof(v)));
    assert_string_equal(v, "group=ticker; min=1800; sec=9");
    assert_null(st_http_header(r.headers, "x-absent", v, sizeof(v)));
    assert_non_null(strstr(r.body, "\"market\":\"KRW-ETH\""));
    st_http_destroy(h);
}

static void test_timeout_and_refused(void **state)
{
    st_http_t *h = st_http_create(loop);
    char url[256];
    result_t tok = {0}, held = {0}, refused = {0};
    done_count = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/oauth2/tokenP", slow_port);
    st_http_request(h, "POST", url, NULL, "{\"appkey\":\"H2\",\"appsecret\":\"S\"}", 5 * ST_SEC, on_done, &tok);
    run_until(1);
    assert_int_equal(tok.status, 200);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/control/fault?rest_timeout=1", slow_port);
    result_t f = {0};
    st_http_request(h, "GET", url, NULL, NULL, 5 * ST_SEC, on_done, &f);
    run_until(2);
    /* The simulator never answers this one: the timeout ends it. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/uapi/domestic-stock/v1/quotations/inquire-price?FID_INPUT_ISCD=005930",
             slow_port);
    const char *hdrs[] = {"authorization: Bearer sim-token-1-H2", "appkey: H2", NULL};
    st_http_request(h, "GET", url, hdrs, NULL, 300 * ST_MSEC, on_done, &held);
    /* Nothing listens on port 1 of loopback. */
    st_http_request(h, "GET", "http://127.0.0.1:1/", NULL, NULL, 5 * ST_SEC, on_done, &refused);
    run_until(4);
    assert_int_equal(held.status, 0);
    assert_int_equal(held.error, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(refused.status, 0);
    assert_int_equal(refused.error, CURLE_COULDNT_CONNECT);
    /* libcurl's words, still readable in the callback (they were freed before it, once) */
    assert_non_null(strstr(refused.message, "127.0.0.1"));
    assert_non_null(strstr(held.message, "imed out"));
    st_http_destroy(h);
}

static void test_destroy_with_request_in_flight(void **state)
{
    st_http_t *h = st_http_create(loop);
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/control/fault?rest_timeout=1", slow_port);
    result_t f = {0}, held = {0};
    done_count = 0;
    st_http_request(h, "GET", url, NULL, NULL, 5 * ST_SEC, on_done, &f);
    run_until(1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/uapi/domestic-stock/v1/quotations/inquire-price?FID_INPUT_ISCD=005930",
             slow_port);
    const char *hdrs[] = {"authorization: Bearer sim-token-1-H2", "appkey: H2", NULL};
    st_http_request(h, "GET", url, hdrs, NULL, 10 * ST_SEC, on_done, &held);
    /* Let it reach the simulator, then tear down: no callback, nothing leaked (ASan). */
    ev_run(loop, EVRUN_NOWAIT);
    ev_run(loop, EVRUN_NOWAIT);
    assert_int_equal(st_http_pending(h), 1);
    st_http_destroy(h);
    assert_false(held.done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_requests),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_timeout_and_refused),
        cmocka_unit_test(test_destroy_with_request_in_flight),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
