/* /status and /metrics as pure functions of a snapshot (runtime/ops/status.c), the Prometheus
 * format checked line by line (tests/prom.h, itself checked on broken input), and the HTTP
 * server (runtime/ops/status_server.c) over loopback: its bearer token, the address it binds,
 * its connection cap, and running out of descriptors. */
#include "../test.h"
#include "../prom.h"
#include "../ws_client.h"

#include "core/http.h"
#include "core/log.h"
#include "core/res.h"
#include "core/timefmt.h"
#include "ops/status.h"
#include "ops/status_server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

static st_strat_info_t strats[2];

static st_status_t snapshot(void)
{
    st_status_t s;
    memset(&s, 0, sizeof(s));
    s.c.now = 1795000000LL * ST_SEC;
    s.c.monitored = 396, s.c.tier1 = 8, s.c.tier2 = 15, s.c.tier3 = 368, s.c.indices = 5;
    s.c.api_calls = 2000, s.c.api_ok = 1990, s.c.api_last_second = 14, s.c.api_limit = 20;
    s.c.subs_requests = 67, s.c.subs_messages = 65, s.c.subs_latency_p99 = 4194 * ST_MSEC, s.c.penalty = 0.5;
    s.c.ticks_delivered = 123456, s.c.sessions = 2, s.c.sessions_open = 1, s.c.reconnects = 3;
    s.c.auth_failures = 2;
    s.generation = 3, s.reloads_ok = 2, s.reloads_failed = 1, s.uptime = 12.5;
    s.total_stocks = 391, s.total_indices = 5;
    s.policy = (st_policy_t){.name = "golden_time", .realtime = 8, .semi = 15, .indices = 5, .reserve = 5, .poll_scale = 0.5};
    s.plan.changes = 434, s.plan.emergencies_ok = 4, s.plan.emergencies_failed = 1, s.plan.rebalances = 5;
    s.nconns = 2;
    s.conns[0] = (st_conn_status_t){.feed = "kis", .used = 41, .held = 41, .budget = 41, .open = true};
    s.conns[1] = (st_conn_status_t){.feed = "kis", .used = 30, .held = 0, .budget = 41}; /* its session is down */
    s.promotions = 33, s.demotions = 20;
    s.signals.emitted = 37, s.signals.suppressed = 4, s.signals.dropped = 2, s.signals.queued = 1;
    strats[0] = (st_strat_info_t){.name = "gap", .kind = "lua", .state = "running", .ticks = 1000, .signals = 37,
                                  .watched = 37, .mem = 65536, .last_error = "", .faults_by = {3, 1, 0}};
    static const uint64_t took[] = {60, 100, 128, 129, 700, 5000, 3000000}; /* ns */
    for (size_t i = 0; i < ST_ARRAY_SIZE(took); i++) st_hist_add(&strats[0].callback_ns, took[i]);
    strats[0].callback_p99_ns = st_hist_quantile(&strats[0].callback_ns, 0.99);
    strats[1] = (st_strat_info_t){.name = "odd \"name\"\\", .kind = "c", .state = "quarantined", .faults = 5, .fault_rate = 0.05,
                                  .last_error = ""};
    s.strategies = strats, s.nstrategies = 2;
    return s;
}

static double jnum(const cJSON *o, const char *path)
{
    double v = st_status_number(o, path);
    if (isnan(v)) fail_msg("no number at %s", path);
    return v;
}

static void test_status_json(void **state)
{
    st_status_t s = snapshot();
    char *text = st_status_json(&s);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    static const struct {
        const char *path;
        double want;
    } want[] = {
        {"total_stocks", 391}, {"total_indices", 5}, {"monitored", 396}, {"generation", 3},
        {"websocket_status.total_subscriptions", 41}, {"websocket_status.total_planned", 71},
        {"websocket_status.available_slots", 11}, {"websocket_status.budget", 82},
        {"websocket_status.connections.1.subscriptions", 0}, {"websocket_status.connections.1.planned", 30},
        {"websocket_status.connections.0.subscriptions", 41},
        {"websocket_status.connections.1.available_slots", 11}, {"websocket_status.connections.0.available_slots", 0},
        {"websocket_status.sessions_open", 1}, {"api_stats.total_calls", 2000}, {"api_stats.success_rate", 0.995},
        {"api_stats.calls_in_last_second", 14}, {"api_stats.limit_per_second", 20}, {"api_stats.auth_failures", 2},
        {"time_slot.policy.realtime", 8}, {"time_slot.policy.poll_scale", 0.5}, {"tiers.realtime", 8},
        {"tiers.semi_realtime", 15}, {"tiers.polling", 368}, {"tiers.indices", 5}, {"coalescer.requests", 67},
        {"coalescer.messages", 65}, {"coalescer.latency_p99_ms", 4194}, {"limiter.penalty", 0.5},
        {"plan.promotions", 33}, {"plan.emergencies", 4}, {"signals.total", 37}, {"signals.dropped", 2},
        {"strategies.0.ticks", 1000}, {"strategies.0.memory_bytes", 65536}, {"strategies.1.faults", 5}, {"strategies.1.fault_rate", 0.05},
        {"strategies.0.callback_p99_us", 4194.304}, {"strategies.0.callbacks_timed", 7},
        {"strategies.0.faults_by_cause.error", 3}, {"strategies.0.faults_by_cause.budget", 1},
        {"strategies.1.callback_p99_us", 0},
        {"reloads.failed", 1},
    };
    for (size_t i = 0; i < ST_ARRAY_SIZE(want); i++) {
        double v = jnum(o, want[i].path);
        if (fabs(v - want[i].want) > 1e-9) fail_msg("%s: %g, want %g", want[i].path, v, want[i].want);
    }
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "time_slot"), "name")->valuestring, "golden_time");
    const cJSON *s1 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "strategies"), 1);
    assert_string_equal(cJSON_GetObjectItem(s1, "name")->valuestring, "odd \"name\"\\");
    assert_string_equal(cJSON_GetObjectItem(s1, "state")->valuestring, "quarantined");
    assert_string_equal(cJSON_GetObjectItem(s1, "kind")->valuestring, "c");
    cJSON_Delete(o);
    free(text);
}

/* The collector (issue 18.3): two feeds' figures add up as the counters' table says — summed,
 * the largest (latencies, margin, stretch, poll ages) or the smallest (the penalty) — for every
 * figure the runtime collects. */
/* The terminal's line, every name in its template found in the counters' table (an unknown one
 * would read "?"). */
static void test_status_line_exact(void **state)
{
    st_tz_set("Asia/Seoul");
    st_counters_t c = {.now = (st_time_t)1795392932 * ST_SEC, /* 09:15:32 KST */
                       .slot = "golden_time", .monitored = 73, .ws_used = 38, .ws_budget = 41,
                       .signals = 12, .api_calls = 156, .api_ok = 154, .api_last_second = 14,
                       .api_limit = 20, .market_trades = 1234567, .halts = 2,
                       .subs_requests = 812, .subs_messages = 97};
    char buf[512];
    st_status_line(&c, buf, sizeof(buf));
    assert_string_equal(buf, "[09:15:32] monitored 73 | websocket 38/41 | slot golden_time | "
                             "signals 12 | api 156 calls, 98.7% ok, 14/20 per s | subs 812 "
                             "changes in 97 msgs | market 1,234,567 trades, 2 halts");
    c.api_calls = c.api_ok = 0;
    st_status_line(&c, buf, sizeof(buf));
    assert_non_null(strstr(buf, "api 0 calls, - ok,"));
    assert_null(strstr(buf, "sessions")); /* the simulated feed has none */
    c.sessions = 2, c.sessions_open = 1, c.reconnects = 3;
    st_status_line(&c, buf, sizeof(buf));
    assert_non_null(strstr(buf, "2 halts | sessions 1/2 up, 3 reconnects"));
    c.sessions_open = c.reconnects = 0; /* a session that is not up is still shown */
    st_status_line(&c, buf, sizeof(buf));
    assert_non_null(strstr(buf, "2 halts | sessions 0/2 up, 0 reconnects"));
    c.slot = NULL, c.api_calls = 3, c.api_ok = 3, c.market_trades = 0;
    st_status_line(&c, buf, sizeof(buf));
    assert_string_equal(buf, "[09:15:32] monitored 73 | websocket 38/41 | slot - | signals 12 | api 3 calls, 100.0% ok, "
                             "14/20 per s | subs 812 changes in 97 msgs | market 0 trades, 2 halts | sessions 0/2 up, "
                             "0 reconnects");
    char small[24]; /* cut, never overrun */
    st_status_line(&c, small, sizeof(small));
    assert_string_equal(small, "[09:15:32] monitored 73");
}



static void test_feeds_add_up(void **state)
{
    st_feed_stats_t a = {.ws_used = 10, .ws_budget = 41, .ws_desired = 11, .rest_calls = 100, .rest_ok = 98,
                         .rest_last_second = 7, .subs_requests = 5, .subs_messages = 3, .subs_latency_p99 = 900,
                         .subs_latency_max = 2000, .penalty = 0.5, .margin = 300, .violations = 1,
                         .auth_failures = 2, .market_trades = 1000, .ticks_delivered = 500, .halts = 3, .bursts = 4,
                         .sessions = 2, .sessions_open = 1, .reconnects = 6, .stalls = 2, .malformed = 9,
                         .poll_symbols = 300, .poll_stretch = 1.5, .poll_age = {10, 20, 30, 40, 50, 60},
                         .msgs_second = 3, .msgs_second_limit = 5, .msgs_minute = 40, .msgs_minute_limit = 100};
    st_feed_stats_t b = {.ws_used = 1, .ws_budget = 5, .ws_desired = 2, .rest_calls = 10, .rest_ok = 9,
                         .rest_last_second = 3, .subs_requests = 1, .subs_messages = 1, .subs_latency_p99 = 1500,
                         .subs_latency_max = 1000, .penalty = 0.8, .margin = 700, .violations = 0,
                         .auth_failures = 1, .market_trades = 10, .ticks_delivered = 5, .halts = 1, .bursts = 1,
                         .sessions = 1, .sessions_open = 1, .reconnects = 1, .stalls = 0, .malformed = 1,
                         .poll_symbols = 30, .poll_stretch = 1.1, .poll_age = {15, 5, 35, 0, 55, 65},
                         .msgs_second = 4, .msgs_second_limit = 5};
    st_counters_t c;
    memset(&c, 0xFF, sizeof(c)); /* whatever was there: the first feed's figures replace it */
    st_status_add_feed(&c, &a, true);
    st_status_add_feed(&c, &b, false);
    assert_int_equal(c.ws_used, 11);
    assert_int_equal(c.ws_budget, 46);
    assert_int_equal(c.ws_desired, 13);
    assert_int_equal(c.api_calls, 110);
    assert_int_equal(c.api_ok, 107);
    assert_true(c.api_last_second == 10);
    assert_int_equal(c.subs_requests, 6);
    assert_int_equal(c.subs_messages, 4);
    assert_int_equal(c.subs_latency_p99, 1500);
    assert_int_equal(c.subs_latency_max, 2000);
    assert_true(c.penalty == 0.5);
    assert_int_equal(c.margin, 700);
    assert_int_equal(c.violations, 1);
    assert_int_equal(c.auth_failures, 3);
    assert_int_equal(c.market_trades, 1010);
    assert_int_equal(c.ticks_delivered, 505);
    assert_int_equal(c.halts, 4);
    assert_int_equal(c.bursts, 5);
    assert_int_equal(c.sessions, 3);
    assert_int_equal(c.sessions_open, 2);
    assert_int_equal(c.reconnects, 7);
    assert_int_equal(c.stalls, 2);
    assert_int_equal(c.malformed, 10);
    assert_int_equal(c.poll_symbols, 330);
    assert_true(c.poll_stretch == 1.5);
    assert_int_equal(c.msgs_second, 4); /* the busiest connection's, against the venue's limits */
    assert_int_equal(c.msgs_second_limit, 5);
    assert_int_equal(c.msgs_minute, 40);
    assert_int_equal(c.msgs_minute_limit, 100);
    const st_dur_t ages[6] = {15, 20, 35, 40, 55, 65};
    for (int k = 0; k < 6; k++) assert_int_equal(c.poll_age[k], ages[k]);
}

static void test_metrics_format(void **state)
{
    char why[256];
    /* the checker itself refuses what is wrong */
    assert_int_not_equal(prom_check("strata_x 1\n", why, sizeof(why)), 0);                         /* no TYPE */
    assert_int_not_equal(prom_check("# TYPE strata_x counter\nstrata_x 1\n", why, sizeof(why)), 0); /* no _total */
    assert_int_not_equal(prom_check("# TYPE a gauge\na{b=\"c} 1\n", why, sizeof(why)), 0);
    assert_int_not_equal(prom_check("# TYPE a gauge\na{b=\"\\x\"} 1\n", why, sizeof(why)), 0);
    assert_int_not_equal(prom_check("# TYPE a gauge\na one\n", why, sizeof(why)), 0);
    assert_int_not_equal(prom_check("# TYPE a gauge\n# TYPE a gauge\n", why, sizeof(why)), 0);
    assert_int_not_equal(prom_check("# TYPE h histogram\nh_bucket 1\n", why, sizeof(why)), 0); /* no le */
    assert_int_not_equal(prom_check("# TYPE h gauge\nh_sum 1\n", why, sizeof(why)), 0);       /* not a histogram */
    assert_int_equal(prom_check("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 2\nh_count 1\n", why, sizeof(why)), 0);
    assert_int_equal(prom_check("# TYPE a gauge\na{b=\"x\\\"y\",c=\"\"} -1.5e3\n", why, sizeof(why)), 0);

    st_status_t s = snapshot();
    char *text = st_status_metrics(&s);
    int bad = prom_check(text, why, sizeof(why));
    if (bad) fail_msg("line %d: %s", bad, why);
    static const struct {
        const char *series;
        double want;
    } want[] = {
        {"strata_tier_symbols{tier=\"1\"}", 8}, {"strata_tier_symbols{tier=\"3\"}", 368},
        {"strata_websocket_subscriptions{connection=\"1\",feed=\"kis\"}", 0},
        {"strata_websocket_planned{connection=\"1\",feed=\"kis\"}", 30},
        {"strata_websocket_budget{connection=\"0\",feed=\"kis\"}", 41}, {"strata_api_calls_total", 2000},
        {"strata_api_calls_ok_total", 1990}, {"strata_api_calls_last_second", 14},
        {"strata_subscription_latency_p99_seconds", 4.194}, {"strata_limiter_penalty_ratio", 0.5},
        {"strata_auth_failures_total", 2}, {"strata_signals_total", 37}, {"strata_signals_dropped_total", 2}, {"strata_reloads_total{result=\"failed\"}", 1},
        {"strata_time_slot_info{slot=\"golden_time\"}", 1}, {"strata_plan_promotions_total", 33},
        {"strata_strategy_ticks_total{strategy=\"gap\",kind=\"lua\"}", 1000},
        {"strata_strategy_quarantined{strategy=\"odd \\\"name\\\"\\\\\",kind=\"c\"}", 1},
        {"strata_strategy_fault_ratio{strategy=\"odd \\\"name\\\"\\\\\",kind=\"c\"}", 0.05},
        {"strata_strategy_memory_bytes{strategy=\"gap\",kind=\"lua\"}", 65536}, {"strata_ticks_total", 123456},
        /* the callbacks' histogram: cumulative at 2^7, 2^9, … ns */
        {"strata_strategy_callback_seconds_bucket{strategy=\"gap\",kind=\"lua\",le=\"1.28e-07\"}", 3},
        {"strata_strategy_callback_seconds_bucket{strategy=\"gap\",kind=\"lua\",le=\"5.12e-07\"}", 4},
        {"strata_strategy_callback_seconds_bucket{strategy=\"gap\",kind=\"lua\",le=\"2.048e-06\"}", 5},
        {"strata_strategy_callback_seconds_bucket{strategy=\"gap\",kind=\"lua\",le=\"8.192e-06\"}", 6},
        {"strata_strategy_callback_seconds_bucket{strategy=\"gap\",kind=\"lua\",le=\"0.002097152\"}", 6},
        {"strata_strategy_callback_seconds_bucket{strategy=\"gap\",kind=\"lua\",le=\"0.008388608\"}", 7},
        {"strata_strategy_callback_seconds_bucket{strategy=\"gap\",kind=\"lua\",le=\"+Inf\"}", 7},
        {"strata_strategy_callback_seconds_count{strategy=\"gap\",kind=\"lua\"}", 7},
        {"strata_strategy_callback_seconds_sum{strategy=\"gap\",kind=\"lua\"}", 0.003006117},
        {"strata_strategy_callback_seconds_count{strategy=\"odd \\\"name\\\"\\\\\",kind=\"c\"}", 0},
        {"strata_strategy_faults_by_cause_total{strategy=\"gap\",kind=\"lua\",cause=\"error\"}", 3},
        {"strata_strategy_faults_by_cause_total{strategy=\"gap\",kind=\"lua\",cause=\"budget\"}", 1},
        {"strata_strategy_faults_by_cause_total{strategy=\"gap\",kind=\"lua\",cause=\"memory\"}", 0},
    };
    for (size_t i = 0; i < ST_ARRAY_SIZE(want); i++) {
        double v = prom_value(text, want[i].series);
        if (!(fabs(v - want[i].want) < 1e-9)) fail_msg("%s: %g, want %g", want[i].series, v, want[i].want);
    }
    free(text);
}

/* --- the server and its token --------------------------------------------------------------- */

static int handler(void *ctx, const char *path, const char **ctype, char **body)
{
    if (strcmp(path, "/status") != 0) {
        *body = strdup("nope\n");
        return 404;
    }
    *ctype = "application/json";
    *body = strdup("{\"ok\":true}");
    return 200;
}

typedef struct {
    int status;
    char body[64];
    bool done;
} answer_t;

static void on_answer(const st_http_response_t *r, void *ctx)
{
    answer_t *a = ctx;
    a->status = r->status;
    snprintf(a->body, sizeof(a->body), "%s", r->body ? r->body : "");
    a->done = true;
}

static answer_t get(st_http_t *h, int port, const char *path, const char *auth)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    const char *headers[] = {auth, NULL};
    answer_t a = {0};
    assert_int_equal(st_http_request(h, "GET", url, auth ? headers : NULL, NULL, 5 * ST_SEC, on_answer, &a), 0);
    ev_tstamp t0 = ev_time();
    while (!a.done && ev_time() - t0 < 30) ev_run(EV_DEFAULT, EVRUN_ONCE);
    assert_true(a.done);
    return a;
}

static st_status_server_t *start(const char *addr, int port, const char *token, int max_conns, char *err,
                                 size_t errlen)
{
    st_status_server_cfg_t cfg = {.addr = addr, .port = port, .token = token, .max_connections = max_conns};
    return st_status_server_start(EV_DEFAULT, &cfg, handler, NULL, err, errlen);
}

static void test_server_and_token(void **state)
{
    char err[256];
    st_status_server_t *s = start("127.0.0.1", 0, "s3cret", 0, err, sizeof(err));
    assert_non_null(s);
    int port = st_status_server_port(s);
    assert_true(port > 0);
    st_http_t *h = st_http_create(EV_DEFAULT);
    assert_int_equal(get(h, port, "/status", NULL).status, 401);
    assert_int_equal(get(h, port, "/status", "Authorization: Bearer wrong").status, 401);
    assert_int_equal(get(h, port, "/status", "Authorization: Bearer s3cret0").status, 401);
    assert_int_equal(get(h, port, "/status", "Authorization: Basic s3cret").status, 401);
    answer_t a = get(h, port, "/status", "Authorization: Bearer s3cret");
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "{\"ok\":true}");
    assert_int_equal(get(h, port, "/other", "Authorization: Bearer s3cret").status, 404);
    assert_int_equal(st_status_server_requests(s), 6);
    /* the port is taken: a second server says so */
    assert_null(start("127.0.0.1", port, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot listen"));
    st_http_destroy(h);
    st_status_server_stop(s);
}

/* Issue 16.2: a token of any length is compared whole (a 600-byte one read past a 512-byte
 * buffer before, which ASan and UBSan flag). */
static void test_long_token(void **state)
{
    char token[601], hdr[700], err[256];
    memset(token, 'k', 600);
    token[600] = '\0';
    st_status_server_t *s = start("127.0.0.1", 0, token, 0, err, sizeof(err));
    assert_non_null(s);
    int port = st_status_server_port(s);
    st_http_t *h = st_http_create(EV_DEFAULT);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
    assert_int_equal(get(h, port, "/status", hdr).status, 200);
    hdr[strlen(hdr) - 1] = 'x'; /* the last byte differs */
    assert_int_equal(get(h, port, "/status", hdr).status, 401);
    hdr[strlen(hdr) - 1] = '\0'; /* one byte short */
    assert_int_equal(get(h, port, "/status", hdr).status, 401);
    st_http_destroy(h);
    st_status_server_stop(s);
}

/* Issue 16.1: the endpoint listens on exactly the configured address. Bound to 127.0.0.1, the
 * socket says so and 127.0.0.2 (loopback too, so a test may knock there) and [::1] on the same
 * port are refused: nothing listens on 0.0.0.0 or [::]. Bound to ::1, IPv4 is refused. (Tests
 * only ever connect to loopback addresses.) */
static void test_binds_exactly(void **state)
{
    char err[256], want[64];
    st_status_server_t *s = start("127.0.0.1", 0, NULL, 0, err, sizeof(err));
    assert_non_null(s);
    int port = st_status_server_port(s);
    snprintf(want, sizeof(want), "127.0.0.1:%d", port);
    assert_string_equal(st_status_server_bound(s), want);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    assert_int_equal(getsockname(st_status_server_fd(s), (struct sockaddr *)&ss, &sl), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr), 0x7f000001);
    int fd = st_test_tcp_connect(AF_INET, "127.0.0.1", port);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(st_test_tcp_connect(AF_INET, "127.0.0.2", port), -ECONNREFUSED);
    int v6 = st_test_tcp_connect(AF_INET6, "::1", port);
    assert_true(v6 == -ECONNREFUSED || v6 == -EADDRNOTAVAIL || v6 == -EAFNOSUPPORT);
    st_status_server_stop(s);

    s = start("::1", 0, NULL, 0, err, sizeof(err));
    if (!s) { /* no IPv6 on this machine */
        printf("# no IPv6 loopback here (%s): the IPv6 half is skipped\n", err);
        return;
    }
    port = st_status_server_port(s);
    snprintf(want, sizeof(want), "[::1]:%d", port);
    assert_string_equal(st_status_server_bound(s), want);
    assert_int_equal(st_test_tcp_connect(AF_INET, "127.0.0.1", port), -ECONNREFUSED);
    fd = st_test_tcp_connect(AF_INET6, "::1", port);
    assert_true(fd >= 0);
    close(fd);
    st_status_server_stop(s);
}

static void spin(double secs)
{
    ev_tstamp t0 = ev_time();
    while (ev_time() - t0 < secs) ev_run(EV_DEFAULT, EVRUN_NOWAIT);
}

/* Issue 16.3: at most max_connections are served at once; more are closed at accept, and the
 * endpoint answers again once they go. */
static void test_connection_cap(void **state)
{
    char err[256];
    st_status_server_t *s = start("127.0.0.1", 0, NULL, 3, err, sizeof(err));
    assert_non_null(s);
    int port = st_status_server_port(s), idle[5];
    for (int i = 0; i < 5; i++) assert_true((idle[i] = st_test_tcp_connect(AF_INET, "127.0.0.1", port)) >= 0);
    st_status_server_stats_t st;
    ev_tstamp t0 = ev_time();
    do {
        ev_run(EV_DEFAULT, EVRUN_NOWAIT);
        st_status_server_stats(s, &st);
    } while (st.connections + (int)st.refused < 5 && ev_time() - t0 < 30);
    assert_int_equal(st.connections, 3);
    assert_int_equal(st.refused, 2);
    for (int i = 0; i < 5; i++) close(idle[i]);
    t0 = ev_time();
    do {
        ev_run(EV_DEFAULT, EVRUN_NOWAIT);
        st_status_server_stats(s, &st);
    } while (st.connections > 0 && ev_time() - t0 < 30);
    assert_int_equal(st.connections, 0);
    st_http_t *h = st_http_create(EV_DEFAULT);
    assert_int_equal(get(h, port, "/status", NULL).status, 200);
    st_http_destroy(h);
    st_status_server_stop(s);
}

static st_status_server_t *start_live(const char *token, double timeout)
{
    char err[256];
    st_status_server_cfg_t cfg = {.addr = "127.0.0.1", .token = token, .live_timeout = timeout, .public_path = "/"};
    st_status_server_t *s = st_status_server_start(EV_DEFAULT, &cfg, handler, NULL, err, sizeof(err));
    assert_non_null(s);
    return s;
}

static void live_open(ws_client_t *c, st_status_server_t *s)
{
    ws_open(c, st_test_tcp_connect(AF_INET, "127.0.0.1", st_status_server_port(s)), "strata-live");
    for (int i = 0; i < 300 && !c->upgraded; i++) ws_pump(c, 0.01, true);
    assert_true(c->upgraded);
}

/* Issue 20.2: the live channel takes the token as its first message (a wrong one: closed with
 * 1008), then sends the latest frame; two broadcasts before it could take the first: only the
 * second; the page at / needs no token, everything else does. */
static void test_live_channel(void **state)
{
    st_status_server_t *s = start_live("s3cret", 0);
    ws_client_t bad, good;
    live_open(&bad, s);
    ws_send_text(&bad, "guess");
    int op = 0;
    const char *p = NULL;
    size_t n = 0;
    for (int i = 0; i < 300 && !ws_next(&bad, &op, &p, &n); i++) ws_pump(&bad, 0.01, true);
    assert_int_equal(op, 8); /* close */
    assert_true(n >= 2 && ((unsigned char)p[0] << 8 | (unsigned char)p[1]) == 1008);
    ws_close(&bad);

    live_open(&good, s);
    ws_send_text(&good, "s3cret");
    for (int i = 0; i < 300 && st_status_server_live(s) < 1; i++) ws_pump(&good, 0.01, true);
    assert_int_equal(st_status_server_live(s), 1);
    st_status_server_broadcast(s, "{\"n\":1}", 7);
    for (int i = 0; i < 300 && !ws_next(&good, &op, &p, &n); i++) ws_pump(&good, 0.01, true);
    assert_int_equal(op, 1);
    assert_int_equal(n, 7);
    assert_memory_equal(p, "{\"n\":1}", 7);
    st_status_server_broadcast(s, "{\"n\":2}", 7);
    st_status_server_broadcast(s, "{\"n\":3}", 7); /* before the loop ran: the latest only */
    ws_pump(&good, 0.2, true);
    assert_true(ws_next(&good, &op, &p, &n));
    assert_memory_equal(p, "{\"n\":3}", 7);
    assert_false(ws_next(&good, &op, &p, &n));

    st_http_t *h = st_http_create(EV_DEFAULT);
    assert_int_equal(get(h, st_status_server_port(s), "/", NULL).status, 404); /* the handler's answer: no 401 */
    assert_int_equal(get(h, st_status_server_port(s), "/status", NULL).status, 401);
    st_http_destroy(h);
    int idle = st_test_tcp_connect(AF_INET, "127.0.0.1", st_status_server_port(s));
    st_status_server_stats_t st;
    for (int i = 0; i < 300; i++) { /* the live client and the idle one */
        spin(0.01);
        st_status_server_stats(s, &st);
        if (st.connections == 2) break;
    }
    assert_int_equal(st.connections, 2);
    ws_close(&good);
    for (int i = 0; i < 100; i++) spin(0.01);
    st_status_server_stats(s, &st);
    assert_int_equal(st.connections, 1); /* the live client counted out once: the idle one stays */
    close(idle);
    for (int i = 0; i < 300 && st.connections; i++) {
        spin(0.01);
        st_status_server_stats(s, &st);
    }
    assert_int_equal(st.connections, 0);
    assert_int_equal(st.live_refused, 1);
    st_status_server_stop(s);
}

/* Issue 20.2: a client that takes no frames is dropped once one has waited for it longer than
 * live_timeout, instead of frames piling up for it; a client that says nothing is closed. */
static void test_live_slow_client_dropped(void **state)
{
    st_status_server_t *s = start_live(NULL, 0.3);
    ws_client_t slow, mute;
    live_open(&slow, s);
    live_open(&mute, s);
    ws_send_text(&slow, "");
    for (int i = 0; i < 300 && st_status_server_live(s) < 1; i++) ws_pump(&slow, 0.01, true);
    size_t big = 1 << 20;
    char *frame = malloc(big);
    memset(frame, 'x', big);
    st_status_server_stats_t st = {0};
    for (int i = 0; i < 600 && !st.live_dropped; i++) { /* a frame every 50 ms it never reads */
        st_status_server_broadcast(s, frame, big);
        ws_pump(&slow, 0.05, false);
        st_status_server_stats(s, &st);
    }
    assert_int_equal(st.live_dropped, 1);
    assert_int_equal(st_status_server_live(s), 0);
    for (int i = 0; i < 1500 && !mute.closed; i++) ws_pump(&mute, 0.01, true); /* 5 s without a token */
    assert_true(mute.closed);
    free(frame);
    ws_close(&slow), ws_close(&mute);
    st_status_server_stop(s);
}

/* Issue 16.3: out of descriptors (idle connections under a low RLIMIT_NOFILE), the endpoint
 * pauses accepting and says so once, instead of a log line per try (1.4 million in 5 s before);
 * once descriptors are free it serves again. */
static void test_out_of_descriptors(void **state)
{
    char err[256], path[] = "/tmp/strata-status-log-XXXXXX";
    int lfd = mkstemp(path);
    assert_true(lfd >= 0);
    close(lfd);
    st_log_open(ST_LL_INFO, ST_LOG_TEXT, path);
    st_status_server_t *s = start("127.0.0.1", 0, NULL, 1000, err, sizeof(err));
    assert_non_null(s);
    int port = st_status_server_port(s);
    /* 30 connections wait in the backlog, then the limit drops to 5 descriptors above what is
     * open: the server can take 5 of them, then runs out */
    int clients[30], n = 30;
    for (int i = 0; i < n; i++) assert_true((clients[i] = st_test_tcp_connect(AF_INET, "127.0.0.1", port)) >= 0);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int probe = dup(0); /* the lowest free descriptor: about how many are open */
    close(probe);
    low = old;
    low.rlim_cur = (rlim_t)probe + 5;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    spin(2.5); /* accepting resumes every second, and runs out again */
    st_status_server_stats_t st;
    st_status_server_stats(s, &st);
    printf("# %d clients, %d served before descriptors ran out\n", n, st.connections);
    assert_true(st.connections >= 1 && st.connections < n);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    for (int i = 0; i < n; i++) close(clients[i]);
    spin(1.5); /* the pause is a second */
    st_http_t *h = st_http_create(EV_DEFAULT);
    assert_int_equal(get(h, port, "/status", NULL).status, 200);
    st_http_destroy(h);
    st_status_server_stop(s);
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    char *log;
    assert_int_equal(st_file_read(path, &log, NULL), 0);
    int lines = 0;
    for (const char *p = log; (p = strstr(p, "cannot accept")); p++) lines++;
    printf("# 'cannot accept' logged %d time(s)\n", lines);
    assert_int_equal(lines, 1);
    assert_null(strstr(log, "errno 24"));
    free(log);
    unlink(path);
}

int main(void)
{
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_json),
        cmocka_unit_test(test_status_line_exact),
        cmocka_unit_test(test_feeds_add_up),
        cmocka_unit_test(test_metrics_format),
        cmocka_unit_test(test_server_and_token),
        cmocka_unit_test(test_long_token),
        cmocka_unit_test(test_binds_exactly),
        cmocka_unit_test(test_connection_cap),
        cmocka_unit_test(test_live_channel),
        cmocka_unit_test(test_live_slow_client_dropped),
        cmocka_unit_test(test_out_of_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
