/* GET /status and GET /metrics of a running runtime (in-process, the simulated market with the
 * gap strategy), read over loopback at 10:00 with the simulated clock held still, and compared
 * field by field with the runtime's own counters. */
#include "runtime_fixture.h"
#include "../prom.h"

#include "app/runtime.h"
#include "core/http.h"
#include "core/log.h"
#include "core/res.h"

#include <cjson/cJSON.h>
#include <math.h>

static st_runtime_t rt;
static st_timer_t probe_timer;
static st_http_t *http;
static char *status_body, *metrics_body, *symbols_body, *symbol_body;
static int answers;
static char tier1_codes[4096]; /* the plan's tier-1 symbols when the answers were in, " "-separated */
static st_plan_entry_t entry_005930;
static st_status_t snap;
static st_strat_info_t snap_strats[4];

static void on_answer(const st_http_response_t *r, void *ctx)
{
    char **dst = ctx;
    assert_int_equal(r->status, 200);
    *dst = strdup(r->body);
    if (++answers == 4) {
        st_runtime_status(&rt, &snap, snap_strats); /* the clock stood still: the same numbers */
        for (size_t i = 0; i < rt.world->universe.n; i++) {
            const st_instrument_t *ins = &rt.world->universe.items[i];
            if (st_planner_entry(rt.planner, ins->sym)->tier == ST_TIER_REALTIME)
                snprintf(tier1_codes + strlen(tier1_codes), sizeof(tier1_codes) - strlen(tier1_codes), "%s%s",
                         *tier1_codes ? " " : "", ins->code);
        }
        entry_005930 = *st_planner_entry(rt.planner, st_symtab_find(&rt.syms, "005930", 6));
        st_clock_set_speed(&rt.clock, 0);
    }
}

static void on_probe(st_timer_t *t, st_time_t now, void *ctx)
{
    st_clock_set_speed(&rt.clock, 1e-9); /* hold simulated time while the answers travel */
    char url[128];
    int port = st_status_server_port(rt.status);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/status", port);
    assert_int_equal(st_http_request(http, "GET", url, NULL, NULL, 10 * ST_SEC, on_answer, &status_body), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
    assert_int_equal(st_http_request(http, "GET", url, NULL, NULL, 10 * ST_SEC, on_answer, &metrics_body), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/symbols?tier=1", port);
    assert_int_equal(st_http_request(http, "GET", url, NULL, NULL, 10 * ST_SEC, on_answer, &symbols_body), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/symbols/005930", port);
    assert_int_equal(st_http_request(http, "GET", url, NULL, NULL, 10 * ST_SEC, on_answer, &symbol_body), 0);
}

static double jnum(const cJSON *o, const char *path)
{
    double v = st_status_number(o, path);
    if (isnan(v)) fail_msg("no number at %s", path);
    return v;
}

#define SAME(got, want)                                                                            \
    do {                                                                                           \
        double g_ = (got), w_ = (double)(want);                                                    \
        if (!(fabs(g_ - w_) <= 1e-9 * fmax(1, fabs(w_)))) fail_msg("%s: %g, want %g", #got, g_, w_); \
    } while (0)

static void test_status_and_metrics_match_the_counters(void **state)
{
    char *dir = st_test_tmpdir();
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 08:50\", stop: \"10:01\", speed: 0}\n"
             "  log: {file: %s/strata.log}\n"
             "market:\n  universe: %s/config/universe.csv\n  indices: %s/config/indices.csv\n"
             "  watch_universe: background\n  watch: [{symbol: \"005930\", priority: critical}]\n"
             "feeds:\n  - {name: sim, kind: sim, seed: 3, budget: 41}\n"
             "strategies:\n  - {name: gap, kind: lua, path: %s/strategies/gap.lua, all_symbols: true}\n"
             "status: {port: 0}\n",
             dir, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR);
    /* the session report, at the stop (10:01), to a dated file next to the config */
    char *nl = strstr(yaml, "\nmarket:");
    char rest[2048];
    snprintf(rest, sizeof(rest), "%s", nl);
    snprintf(nl, sizeof(yaml) - (size_t)(nl - yaml), "\n  session_report: day-%%Y%%m%%d.json%s", rest);
    char *cfg = st_test_write(dir, "strata.yaml", yaml);
    FILE *out = fopen("/dev/null", "w");
    st_test_runtime_init(&rt, cfg, out);
    http = st_http_create(rt.loop);
    st_timer_init(&probe_timer, on_probe, NULL);
    st_clock_timer_start(&rt.clock, &probe_timer, st_test_at("10:00"), 0);
    assert_int_equal(st_runtime_run(&rt), 0);
    assert_int_equal(answers, 4);

    cJSON *s = cJSON_Parse(status_body);
    assert_non_null(s);
    const st_counters_t *c = &snap.c;
    SAME(jnum(s, "total_stocks"), rt.world->universe.nstocks);
    SAME(jnum(s, "monitored"), c->monitored);
    int used = 0, budget = 0;
    for (int k = 0; k < snap.plan.nconns; k++) used += snap.plan.used[k], budget += snap.plan.budget[k];
    st_feed_stats_t fs;
    st_feed_stats(rt.feeds[0], &fs);
    SAME(jnum(s, "websocket_status.total_subscriptions"), fs.conn_held[0]); /* what the venue holds */
    SAME(jnum(s, "websocket_status.total_planned"), used);
    SAME(jnum(s, "websocket_status.available_slots"), budget - used);
    SAME(jnum(s, "websocket_status.connections.0.subscriptions"), fs.conn_held[0]);
    SAME(jnum(s, "websocket_status.connections.0.planned"), snap.plan.used[0]);
    SAME(jnum(s, "websocket_status.connections.0.available_slots"), snap.plan.budget[0] - snap.plan.used[0]);
    SAME(jnum(s, "api_stats.total_calls"), c->api_calls);
    SAME(jnum(s, "api_stats.success_rate"), (double)c->api_ok / (double)c->api_calls);
    SAME(jnum(s, "api_stats.calls_in_last_second"), c->api_last_second);
    SAME(jnum(s, "tiers.realtime"), c->tier1);
    SAME(jnum(s, "tiers.semi_realtime"), c->tier2);
    SAME(jnum(s, "tiers.polling"), c->tier3);
    SAME(jnum(s, "tiers.indices"), c->indices);
    SAME(jnum(s, "coalescer.requests"), c->subs_requests);
    SAME(jnum(s, "coalescer.messages"), c->subs_messages);
    SAME(jnum(s, "limiter.penalty"), c->penalty);
    SAME(jnum(s, "limiter.messages_per_second"), 5); /* the simulated venue's (KIS-like) pace */
    SAME(jnum(s, "limiter.messages_last_second"), c->msgs_second);
    assert_true(c->msgs_second <= 5);
    SAME(jnum(s, "plan.changes"), snap.plan.changes);
    SAME(jnum(s, "plan.promotions"), rt.promotions);
    SAME(jnum(s, "signals.total"), snap.signals.emitted);
    SAME(jnum(s, "strategies.0.ticks"), snap_strats[0].ticks);
    SAME(jnum(s, "strategies.0.signals"), snap_strats[0].signals);
    SAME(jnum(s, "market.ticks"), c->ticks_delivered);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "time_slot"), "name")->valuestring, "morning_trend");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "strategies"), 0), "state")->valuestring,
                        "running");
    assert_true(snap.signals.emitted > 0 && c->api_calls > 0 && c->tier1 > 0);
    cJSON_Delete(s);

    char why[256];
    int bad = prom_check(metrics_body, why, sizeof(why));
    if (bad) fail_msg("/metrics line %d: %s", bad, why);
    SAME(prom_value(metrics_body, "strata_api_calls_total"), c->api_calls);
    SAME(prom_value(metrics_body, "strata_tier_symbols{tier=\"1\"}"), c->tier1);
    SAME(prom_value(metrics_body, "strata_websocket_subscriptions{connection=\"0\",feed=\"sim\"}"), fs.conn_held[0]);
    SAME(prom_value(metrics_body, "strata_websocket_planned{connection=\"0\",feed=\"sim\"}"), used);
    SAME(prom_value(metrics_body, "strata_signals_total"), snap.signals.emitted);
    SAME(prom_value(metrics_body, "strata_ticks_total"), c->ticks_delivered);
    SAME(prom_value(metrics_body, "strata_strategy_ticks_total{strategy=\"gap\",kind=\"lua\"}"), snap_strats[0].ticks);
    SAME(prom_value(metrics_body, "strata_time_slot_info{slot=\"morning_trend\"}"), 1);
    /* one tick callback in 256 timed, the first among them: by count, whatever the clock says */
    SAME(prom_value(metrics_body, "strata_strategy_callback_seconds_count{strategy=\"gap\",kind=\"lua\"}"),
         (snap_strats[0].ticks + 255) / 256);
    SAME(jnum(s = cJSON_Parse(status_body), "strategies.0.callbacks_timed"), (snap_strats[0].ticks + 255) / 256);
    cJSON_Delete(s);
    printf("# at 10:00: %d of %d registrations, %llu API calls, %llu signals\n", used, budget,
           (unsigned long long)c->api_calls, (unsigned long long)snap.signals.emitted);

    /* GET /symbols?tier=1 lists the plan's tier-1 symbols; GET /symbols/005930 says its entry,
     * and its history ends with the move that gave it its tier; the log said that move */
    s = cJSON_Parse(symbols_body);
    assert_non_null(s);
    char listed[4096] = "";
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(s, "symbols"))
        snprintf(listed + strlen(listed), sizeof(listed) - strlen(listed), "%s%s", *listed ? " " : "",
                 cJSON_GetObjectItem(e, "code")->valuestring);
    assert_string_equal(listed, tier1_codes);
    SAME(jnum(s, "count"), c->tier1);
    cJSON_Delete(s);
    s = cJSON_Parse(symbol_body);
    assert_non_null(s);
    SAME(jnum(s, "symbol.tier"), entry_005930.tier);
    SAME(jnum(s, "symbol.connection"), entry_005930.conn);
    SAME(jnum(s, "symbol.score"), entry_005930.score);
    const cJSON *h = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "symbol"), "history"), *last_move = NULL;
    cJSON_ArrayForEach(e, h)
        if (!strcmp(cJSON_GetObjectItem(e, "kind")->valuestring, "tier")) last_move = e;
    assert_non_null(last_move);
    SAME(jnum(last_move, "to"), entry_005930.tier);
    assert_string_equal(cJSON_GetObjectItem(last_move, "why")->valuestring, st_plan_why_names[entry_005930.why]);
    static const char *const tiers[] = {"none", "1", "2", "3"};
    char line[128];
    snprintf(line, sizeof(line), "[info] plan: 005930 tier %s -> %s (%s)", tiers[(int)jnum(last_move, "from") & 3],
             tiers[entry_005930.tier & 3], st_plan_why_names[entry_005930.why]);
    char logpath[300], *log;
    snprintf(logpath, sizeof(logpath), "%s/strata.log", dir);
    assert_int_equal(st_file_read(logpath, &log, NULL), 0);
    if (!strstr(log, line)) fail_msg("the log has no line \"%s\"", line);
    free(log);
    cJSON_Delete(s);
    printf("# tier 1 at 10:00: %s\n", tier1_codes);

    /* the session report agrees with the counters at the stop */
    st_strat_info_t end_strats[4];
    st_status_t end;
    st_runtime_status(&rt, &end, end_strats);
    char path[300], *text;
    snprintf(path, sizeof(path), "%s/day-20261123.json", dir);
    assert_int_equal(st_file_read(path, &text, NULL), 0);
    cJSON *r = cJSON_Parse(text);
    assert_non_null(r);
    SAME(jnum(r, "symbols.monitored"), end.c.monitored);
    SAME(jnum(r, "signals.total"), end.signals.emitted);
    SAME(jnum(r, "signals.per_strategy.gap"), end.signals.emitted);
    SAME(jnum(r, "signals.per_hour.09"), end.signals.per_hour[9]);
    SAME(jnum(r, "api.calls"), end.c.api_calls);
    SAME(jnum(r, "plan.promotions"), end.promotions);
    SAME(jnum(r, "plan.emergencies"), end.plan.emergencies_ok);
    SAME(jnum(r, "websocket.available"), 41);
    assert_true(jnum(r, "websocket.used_peak") <= 41 && jnum(r, "websocket.efficiency") > 0);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(r, "realtime_over_time")) >= 5); /* 08:50 … 10:00, every 15 min */
    cJSON_Delete(r);
    free(text);

    st_http_destroy(http);
    st_runtime_free(&rt);
    fclose(out);
    free(status_body), free(metrics_body), free(symbols_body), free(symbol_body), free(cfg);
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_and_metrics_match_the_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
