/* /status and /metrics as pure functions of a snapshot (runtime/out/status.c), the Prometheus
 * format checked line by line (tests/prom.h, itself checked on broken input), and the HTTP
 * server's bearer token (runtime/out/status_server.c) over loopback. */
#include "../test.h"
#include "../prom.h"

#include "core/http.h"
#include "core/log.h"
#include "out/status.h"
#include "out/status_server.h"

#include <cjson/cJSON.h>

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
    s.generation = 3, s.reloads_ok = 2, s.reloads_failed = 1, s.uptime = 12.5;
    s.total_stocks = 391, s.total_indices = 5;
    s.policy = (st_policy_t){.name = "golden_time", .realtime = 8, .semi = 15, .indices = 5, .reserve = 5, .poll_scale = 0.5};
    s.plan.changes = 434, s.plan.emergencies_ok = 4, s.plan.emergencies_failed = 1, s.plan.rebalances = 5;
    s.nconns = 2;
    s.conns[0] = (st_conn_status_t){"kis", 41, 41};
    s.conns[1] = (st_conn_status_t){"kis", 30, 41};
    s.promotions = 33, s.demotions = 20;
    s.signals.emitted = 37, s.signals.suppressed = 4, s.signals.dropped = 2, s.signals.queued = 1;
    strats[0] = (st_strat_info_t){.name = "gap", .kind = "lua", .state = "running", .ticks = 1000, .signals = 37,
                                  .watched = 37, .mem = 65536, .last_error = ""};
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
        {"websocket_status.total_subscriptions", 71}, {"websocket_status.available_slots", 11},
        {"websocket_status.budget", 82}, {"websocket_status.connections.1.subscriptions", 30},
        {"websocket_status.connections.1.available_slots", 11}, {"websocket_status.connections.0.available_slots", 0},
        {"websocket_status.sessions_open", 1}, {"api_stats.total_calls", 2000}, {"api_stats.success_rate", 0.995},
        {"api_stats.calls_in_last_second", 14}, {"api_stats.limit_per_second", 20},
        {"time_slot.policy.realtime", 8}, {"time_slot.policy.poll_scale", 0.5}, {"tiers.realtime", 8},
        {"tiers.semi_realtime", 15}, {"tiers.polling", 368}, {"tiers.indices", 5}, {"coalescer.requests", 67},
        {"coalescer.messages", 65}, {"coalescer.latency_p99_ms", 4194}, {"limiter.penalty", 0.5},
        {"plan.promotions", 33}, {"plan.emergencies", 4}, {"signals.total", 37}, {"signals.dropped", 2},
        {"strategies.0.ticks", 1000}, {"strategies.0.memory_bytes", 65536}, {"strategies.1.faults", 5}, {"strategies.1.fault_rate", 0.05},
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
        {"strata_websocket_subscriptions{connection=\"1\",feed=\"kis\"}", 30},
        {"strata_websocket_budget{connection=\"0\",feed=\"kis\"}", 41}, {"strata_api_calls_total", 2000},
        {"strata_api_calls_ok_total", 1990}, {"strata_api_calls_last_second", 14},
        {"strata_subscription_latency_p99_seconds", 4.194}, {"strata_limiter_penalty_ratio", 0.5},
        {"strata_signals_total", 37}, {"strata_signals_dropped_total", 2}, {"strata_reloads_total{result=\"failed\"}", 1},
        {"strata_time_slot_info{slot=\"golden_time\"}", 1}, {"strata_plan_promotions_total", 33},
        {"strata_strategy_ticks_total{strategy=\"gap\",kind=\"lua\"}", 1000},
        {"strata_strategy_quarantined{strategy=\"odd \\\"name\\\"\\\\\",kind=\"c\"}", 1},
        {"strata_strategy_fault_ratio{strategy=\"odd \\\"name\\\"\\\\\",kind=\"c\"}", 0.05},
        {"strata_strategy_memory_bytes{strategy=\"gap\",kind=\"lua\"}", 65536}, {"strata_ticks_total", 123456},
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

static void test_server_and_token(void **state)
{
    char err[256];
    st_status_server_t *s = st_status_server_start(EV_DEFAULT, "127.0.0.1", 0, "s3cret", handler, NULL, err, sizeof(err));
    assert_non_null(s);
    int port = st_status_server_port(s);
    assert_true(port > 0);
    st_http_t *h = st_http_create(EV_DEFAULT);
    assert_int_equal(get(h, port, "/status", NULL).status, 401);
    assert_int_equal(get(h, port, "/status", "Authorization: Bearer wrong").status, 401);
    assert_int_equal(get(h, port, "/status", "Authorization: Bearer s3cret0").status, 401);
    answer_t a = get(h, port, "/status", "Authorization: Bearer s3cret");
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "{\"ok\":true}");
    assert_int_equal(get(h, port, "/other", "Authorization: Bearer s3cret").status, 404);
    assert_int_equal(st_status_server_requests(s), 5);
    /* the port is taken: a second server says so */
    assert_null(st_status_server_start(EV_DEFAULT, "127.0.0.1", port, NULL, handler, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot listen"));
    st_http_destroy(h);
    st_status_server_stop(s);
}

int main(void)
{
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_json),
        cmocka_unit_test(test_metrics_format),
        cmocka_unit_test(test_server_and_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
