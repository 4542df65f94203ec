#include "config.h"
#include "calendar.h"
#include "core/log.h"
#include "core/res.h"
#include "core/timefmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const st_priority_names[] = {"critical", "high", "medium", "low", "background", NULL};
static const char *const watch_all_names[] = {"critical", "high", "medium", "low", "background",
                                              "none", NULL};
static const char *const clock_modes[] = {"wall", "simulated", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", "alert", NULL};
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const feed_kinds[] = {"sim", "kis", "upbit", "replay", "redis", NULL};
static const char *const strategy_kinds[] = {"lua", "c", NULL};
static const char *const sink_kinds[] = {"log", "jsonl", "webhook", NULL};
static const char *const limiter_modes[] = {"conservative", "balanced", "aggressive", NULL};
static const char *const replay_modes[] = {"as_recorded", "limited", NULL};
static const char *const tape_scopes[] = {"market", NULL};

#define FLD(T, k, ty, m, ...) {.key = k, .type = ty, .offset = offsetof(T, m), __VA_ARGS__}
#define SCHEMA(var, T, label)                                                                      \
    static const st_schema_t var = {label, sizeof(T), var##_fields, ST_ARRAY_SIZE(var##_fields),  \
                                    offsetof(T, mark)}
#define DUR_RANGE(lo, hi) .min = (double)(lo), .max = (double)(hi)

static const st_field_t clock_schema_fields[] = {
    FLD(st_clock_cfg_t, "mode", ST_T_ENUM, mode, .def = "wall", .names = clock_modes),
    FLD(st_clock_cfg_t, "start", ST_T_STRING, start, .def = "08:50"),
    FLD(st_clock_cfg_t, "stop", ST_T_STRING, stop, .def = ""),
    FLD(st_clock_cfg_t, "speed", ST_T_DOUBLE, speed, .def = "1", .min = 0, .max = 1e6),
};
SCHEMA(clock_schema, st_clock_cfg_t, "runtime.clock");

static const st_field_t log_schema_fields[] = {
    FLD(st_log_cfg_t, "level", ST_T_ENUM, level, .def = "info", .names = log_levels),
    FLD(st_log_cfg_t, "format", ST_T_ENUM, format, .def = "text", .names = log_formats),
    FLD(st_log_cfg_t, "file", ST_T_STRING, file, .def = ""),
};
SCHEMA(log_schema, st_log_cfg_t, "runtime.log");

static const st_field_t runtime_schema_fields[] = {
    FLD(st_runtime_cfg_t, "timezone", ST_T_STRING, timezone, .def = "Asia/Seoul"),
    FLD(st_runtime_cfg_t, "clock", ST_T_STRUCT, clock, .sub = &clock_schema),
    FLD(st_runtime_cfg_t, "log", ST_T_STRUCT, log, .sub = &log_schema),
    FLD(st_runtime_cfg_t, "report_interval", ST_T_DURATION, report_interval, .def = "15m",
        DUR_RANGE(0, ST_DAY)),
    FLD(st_runtime_cfg_t, "session_report", ST_T_STRING, session_report, .def = "strata-session-%Y-%m-%d.json"),
    FLD(st_runtime_cfg_t, "record", ST_T_STRING, record, .def = ""),
};
SCHEMA(runtime_schema, st_runtime_cfg_t, "runtime");

static const st_field_t session_schema_fields[] = {
    FLD(st_session_cfg_t, "pre_open", ST_T_TOD, pre_open, .def = "08:30"),
    FLD(st_session_cfg_t, "open", ST_T_TOD, open, .def = "09:00"),
    FLD(st_session_cfg_t, "closing_auction", ST_T_TOD, closing_auction, .def = "15:20"),
    FLD(st_session_cfg_t, "close", ST_T_TOD, close, .def = "15:30"),
};
SCHEMA(session_schema, st_session_cfg_t, "market.session");

static const st_field_t watch_schema_fields[] = {
    FLD(st_watch_cfg_t, "symbol", ST_T_STRING, symbol, .required = true),
    FLD(st_watch_cfg_t, "priority", ST_T_ENUM, priority, .def = "medium",
        .names = st_priority_names),
    FLD(st_watch_cfg_t, "pinned", ST_T_BOOL, pinned, .def = "false"),
};
SCHEMA(watch_schema, st_watch_cfg_t, "market.watch item");

static const st_field_t day_schema_fields[] = {
    FLD(st_day_cfg_t, "date", ST_T_STRING, date, .required = true),
    FLD(st_day_cfg_t, "name", ST_T_STRING, name, .def = ""),
    FLD(st_day_cfg_t, "open", ST_T_STRING, open, .def = ""),
    FLD(st_day_cfg_t, "close", ST_T_STRING, close, .def = ""),
};
SCHEMA(day_schema, st_day_cfg_t, "calendar day");

static const st_field_t calendar_schema_fields[] = {
    FLD(st_calendar_cfg_t, "name", ST_T_STRING, name, .required = true),
    FLD(st_calendar_cfg_t, "source", ST_T_STRING, source, .def = ""),
    FLD(st_calendar_cfg_t, "updated", ST_T_STRING, updated, .def = ""),
    FLD(st_calendar_cfg_t, "weekends", ST_T_BOOL, weekends, .def = "false"),
    FLD(st_calendar_cfg_t, "from", ST_T_STRING, from, .required = true),
    FLD(st_calendar_cfg_t, "to", ST_T_STRING, to, .required = true),
    FLD(st_calendar_cfg_t, "closed", ST_T_LIST, closed, .sub = &day_schema),
    FLD(st_calendar_cfg_t, "special", ST_T_LIST, special, .sub = &day_schema),
};
const st_schema_t st_calendar_schema = {"calendar", sizeof(st_calendar_cfg_t), calendar_schema_fields,
                                        ST_ARRAY_SIZE(calendar_schema_fields), offsetof(st_calendar_cfg_t, mark)};

static const st_field_t market_schema_fields[] = {
    FLD(st_market_cfg_t, "universe", ST_T_STRING, universe, .def = "universe.csv"),
    FLD(st_market_cfg_t, "indices", ST_T_STRING, indices, .def = ""),
    FLD(st_market_cfg_t, "session", ST_T_STRUCT, session, .sub = &session_schema),
    FLD(st_market_cfg_t, "calendar", ST_T_STRING, calendar, .def = ""),
    FLD(st_market_cfg_t, "closed", ST_T_LIST, closed, .sub = &day_schema),
    FLD(st_market_cfg_t, "special", ST_T_LIST, special, .sub = &day_schema),
    FLD(st_market_cfg_t, "watch", ST_T_LIST, watch, .sub = &watch_schema),
    FLD(st_market_cfg_t, "watch_universe", ST_T_ENUM, watch_universe, .def = "none",
        .names = watch_all_names),
};
SCHEMA(market_schema, st_market_cfg_t, "market");

static const st_field_t cred_schema_fields[] = {
    FLD(st_cred_cfg_t, "app_key_env", ST_T_STRING, app_key_env, .required = true),
    FLD(st_cred_cfg_t, "app_secret_env", ST_T_STRING, app_secret_env, .required = true),
};
SCHEMA(cred_schema, st_cred_cfg_t, "feeds[].keys item");

static const st_field_t feed_record_schema_fields[] = {
    FLD(st_feed_record_cfg_t, "path", ST_T_STRING, path, .def = ""),
    FLD(st_feed_record_cfg_t, "scope", ST_T_ENUM, scope, .def = "market", .names = tape_scopes),
};
SCHEMA(feed_record_schema, st_feed_record_cfg_t, "feed.record");

static const st_field_t feed_schema_fields[] = {
    FLD(st_feed_cfg_t, "name", ST_T_STRING, name, .required = true),
    FLD(st_feed_cfg_t, "kind", ST_T_ENUM, kind, .required = true, .names = feed_kinds),
    FLD(st_feed_cfg_t, "ws_url", ST_T_STRING, ws_url, .def = ""),
    FLD(st_feed_cfg_t, "rest_url", ST_T_STRING, rest_url, .def = ""),
    FLD(st_feed_cfg_t, "paper", ST_T_BOOL, paper, .def = "false"),
    FLD(st_feed_cfg_t, "keys", ST_T_LIST, keys, .sub = &cred_schema),
    FLD(st_feed_cfg_t, "token_dir", ST_T_STRING, token_dir, .def = ""),
    FLD(st_feed_cfg_t, "tls_ca_file", ST_T_STRING, tls_ca_file, .def = ""),
    FLD(st_feed_cfg_t, "orderbook_cache", ST_T_DURATION, orderbook_cache, .def = "30s", DUR_RANGE(0, ST_HOUR)),
    FLD(st_feed_cfg_t, "stall_timeout", ST_T_DURATION, stall_timeout, .def = "30s", DUR_RANGE(ST_SEC, ST_HOUR)),
    FLD(st_feed_cfg_t, "reconnect_min", ST_T_DURATION, reconnect_min, .def = "1s", DUR_RANGE(10 * ST_MSEC, ST_HOUR)),
    FLD(st_feed_cfg_t, "reconnect_max", ST_T_DURATION, reconnect_max, .def = "60s", DUR_RANGE(10 * ST_MSEC, ST_HOUR)),
    FLD(st_feed_cfg_t, "connections", ST_T_INT, connections, .def = "1", .min = 1, .max = 64),
    /* the venue's limits: no default here, the venue's merge step gives its own (0: left out) */
    FLD(st_feed_cfg_t, "budget", ST_T_INT, budget, .min = 1, .max = 1000),
    FLD(st_feed_cfg_t, "rest_rate", ST_T_DOUBLE, rest_rate, .min = 0.1, .max = 10000),
    FLD(st_feed_cfg_t, "ws_rate", ST_T_DOUBLE, ws_rate, .min = 1, .max = 10000),
    FLD(st_feed_cfg_t, "ws_rate_minute", ST_T_INT, ws_rate_minute, .min = 0, .max = 1000000),
    FLD(st_feed_cfg_t, "debounce", ST_T_DURATION, debounce, .def = "100ms", DUR_RANGE(0, 10 * ST_SEC)),
    FLD(st_feed_cfg_t, "limiter", ST_T_ENUM, limiter, .def = "conservative", .names = limiter_modes),
    FLD(st_feed_cfg_t, "seed", ST_T_INT, seed, .def = "1", .min = 0, .max = 9007199254740991.0),
    FLD(st_feed_cfg_t, "activity", ST_T_DOUBLE, activity, .def = "1", .min = 0.01, .max = 100),
    FLD(st_feed_cfg_t, "volatility", ST_T_DOUBLE, volatility, .def = "1", .min = 0, .max = 10),
    FLD(st_feed_cfg_t, "halt_rate", ST_T_DOUBLE, halt_rate, .def = "1", .min = 0, .max = 100),
    FLD(st_feed_cfg_t, "foreign_registrations", ST_T_INT, foreign, .def = "0", .min = 0, .max = 1000),
    FLD(st_feed_cfg_t, "record", ST_T_STRUCT, record, .sub = &feed_record_schema),
    FLD(st_feed_cfg_t, "path", ST_T_STRING, path, .def = ""),
    FLD(st_feed_cfg_t, "mode", ST_T_ENUM, mode, .def = "as_recorded", .names = replay_modes),
    FLD(st_feed_cfg_t, "stream_url", ST_T_STRING, stream_url, .def = ""),
    FLD(st_feed_cfg_t, "stream", ST_T_STRING, stream, .def = ""),
    FLD(st_feed_cfg_t, "from", ST_T_STRING, from, .def = "$"),
    FLD(st_feed_cfg_t, "forward_demands", ST_T_BOOL, forward_demands, .def = "false"),
};
SCHEMA(feed_schema, st_feed_cfg_t, "feed");

static const st_field_t polling_schema_fields[] = {
    FLD(st_polling_cfg_t, "medium", ST_T_DURATION, medium, .def = "30s", DUR_RANGE(ST_SEC, ST_DAY)),
    FLD(st_polling_cfg_t, "low", ST_T_DURATION, low, .def = "60s", DUR_RANGE(ST_SEC, ST_DAY)),
    FLD(st_polling_cfg_t, "background", ST_T_DURATION, background, .def = "5m",
        DUR_RANGE(ST_SEC, ST_DAY)),
    FLD(st_polling_cfg_t, "min_interval", ST_T_DURATION, min_interval, .def = "15s",
        DUR_RANGE(ST_SEC, ST_DAY)),
    FLD(st_polling_cfg_t, "max_interval", ST_T_DURATION, max_interval, .def = "5m",
        DUR_RANGE(ST_SEC, ST_DAY)),
};
SCHEMA(polling_schema, st_polling_cfg_t, "tiers.polling");

static const st_field_t tiers_schema_fields[] = {
    FLD(st_tiers_cfg_t, "polling", ST_T_STRUCT, polling, .sub = &polling_schema),
};
SCHEMA(tiers_schema, st_tiers_cfg_t, "tiers");

static const st_field_t slot_schema_fields[] = {
    FLD(st_slot_cfg_t, "name", ST_T_STRING, name, .required = true),
    FLD(st_slot_cfg_t, "start", ST_T_STRING, start_text, .required = true),
    FLD(st_slot_cfg_t, "realtime", ST_T_INT, realtime, .def = "0", .min = 0, .max = 10000),
    FLD(st_slot_cfg_t, "semi_realtime", ST_T_INT, semi_realtime, .def = "0", .min = 0, .max = 10000),
    FLD(st_slot_cfg_t, "indices", ST_T_INT, indices, .def = "0", .min = 0, .max = 10000),
    FLD(st_slot_cfg_t, "reserve", ST_T_INT, reserve, .def = "0", .min = 0, .max = 10000),
    FLD(st_slot_cfg_t, "poll_scale", ST_T_DOUBLE, poll_scale, .def = "1", .min = 0.05, .max = 20),
    FLD(st_slot_cfg_t, "weights", ST_T_WEIGHTS, weights),
};
SCHEMA(slot_schema, st_slot_cfg_t, "schedule slot");

static const st_field_t rebalance_schema_fields[] = {
    FLD(st_rebalance_cfg_t, "interval", ST_T_DURATION, interval, .def = "5m",
        DUR_RANGE(ST_SEC, ST_DAY)),
    FLD(st_rebalance_cfg_t, "margin", ST_T_DOUBLE, margin, .def = "20%", .min = 0, .max = 10),
    FLD(st_rebalance_cfg_t, "min_dwell", ST_T_DURATION, min_dwell, .def = "2m",
        DUR_RANGE(0, ST_DAY)),
    FLD(st_rebalance_cfg_t, "max_swaps", ST_T_INT, max_swaps, .def = "3", .min = 0, .max = 1000),
};
SCHEMA(rebalance_schema, st_rebalance_cfg_t, "rebalance");

static const st_field_t risk_schema_fields[] = {
    FLD(st_risk_cfg_t, "max_sector_share", ST_T_DOUBLE, max_sector_share, .def = "30%",
        .min = 0.01, .max = 1),
    FLD(st_risk_cfg_t, "failure_threshold", ST_T_INT, failure_threshold, .def = "3", .min = 1,
        .max = 1000),
    FLD(st_risk_cfg_t, "exclusion_cooldown", ST_T_DURATION, exclusion_cooldown, .def = "10m",
        DUR_RANGE(0, ST_DAY)),
};
SCHEMA(risk_schema, st_risk_cfg_t, "risk");

static const st_field_t strategy_schema_fields[] = {
    FLD(st_strategy_cfg_t, "name", ST_T_STRING, name, .required = true),
    FLD(st_strategy_cfg_t, "kind", ST_T_ENUM, kind, .required = true, .names = strategy_kinds),
    FLD(st_strategy_cfg_t, "path", ST_T_STRING, path, .required = true),
    FLD(st_strategy_cfg_t, "enabled", ST_T_BOOL, enabled, .def = "true"),
    FLD(st_strategy_cfg_t, "weight", ST_T_DOUBLE, weight, .def = "1", .min = 0, .max = 100),
    FLD(st_strategy_cfg_t, "all_symbols", ST_T_BOOL, all_symbols, .def = "false"),
    FLD(st_strategy_cfg_t, "memory_mb", ST_T_INT, memory_mb, .def = "64", .min = 1, .max = 4096),
    FLD(st_strategy_cfg_t, "instruction_budget", ST_T_INT, instruction_budget, .def = "10000000", .min = 1000,
        .max = 10000000000),
    FLD(st_strategy_cfg_t, "quarantine_after", ST_T_INT, quarantine_after, .def = "5", .min = 1, .max = 1000),
    FLD(st_strategy_cfg_t, "quarantine_window", ST_T_INT, quarantine_window, .def = "100", .min = 1, .max = 1000000),
    FLD(st_strategy_cfg_t, "params", ST_T_VALUE, params),
};
SCHEMA(strategy_schema, st_strategy_cfg_t, "strategy");

static const st_field_t sink_schema_fields[] = {
    FLD(st_sink_cfg_t, "kind", ST_T_ENUM, kind, .required = true, .names = sink_kinds),
    FLD(st_sink_cfg_t, "path", ST_T_STRING, path, .def = ""),
    FLD(st_sink_cfg_t, "url", ST_T_STRING, url, .def = ""),
    FLD(st_sink_cfg_t, "timeout", ST_T_DURATION, timeout, .def = "2s",
        DUR_RANGE(ST_MSEC, ST_MIN)),
    FLD(st_sink_cfg_t, "retries", ST_T_INT, retries, .def = "5", .min = 0, .max = 100),
};
SCHEMA(sink_schema, st_sink_cfg_t, "signal sink");

static const st_field_t signals_schema_fields[] = {
    FLD(st_signals_cfg_t, "queue", ST_T_INT, queue, .def = "1000", .min = 1, .max = 10000000),
    FLD(st_signals_cfg_t, "cooldown", ST_T_DURATION, cooldown, .def = "60s",
        DUR_RANGE(0, ST_DAY)),
    FLD(st_signals_cfg_t, "sinks", ST_T_LIST, sinks, .sub = &sink_schema),
};
SCHEMA(signals_schema, st_signals_cfg_t, "signals");

static const st_field_t status_schema_fields[] = {
    FLD(st_status_cfg_t, "enabled", ST_T_BOOL, enabled, .def = "true"),
    FLD(st_status_cfg_t, "listen", ST_T_STRING, listen, .def = "127.0.0.1"),
    FLD(st_status_cfg_t, "port", ST_T_INT, port, .def = "8787", .min = 0, .max = 65535),
    FLD(st_status_cfg_t, "token_env", ST_T_STRING, token_env, .def = ""),
    FLD(st_status_cfg_t, "max_connections", ST_T_INT, max_connections, .def = "64", .min = 1, .max = 10000),
    FLD(st_status_cfg_t, "allow_without_token", ST_T_BOOL, allow_without_token, .def = "false"),
};
SCHEMA(status_schema, st_status_cfg_t, "status");

static const char *const redis_ticks[] = {"per_feed", "per_symbol", "none", NULL};
static const st_field_t redis_schema_fields[] = {
    FLD(st_redis_cfg_t, "url", ST_T_STRING, url, .def = ""),
    FLD(st_redis_cfg_t, "prefix", ST_T_STRING, prefix, .def = "strata"),
    FLD(st_redis_cfg_t, "ticks", ST_T_ENUM, ticks, .def = "per_feed", .names = redis_ticks),
    FLD(st_redis_cfg_t, "maxlen", ST_T_INT, maxlen, .def = "1000000", .min = 1, .max = 1000000000),
    FLD(st_redis_cfg_t, "queue", ST_T_INT, queue, .def = "100000", .min = 1, .max = 100000000),
    FLD(st_redis_cfg_t, "status_every", ST_T_DURATION, status_every, .def = "1s", DUR_RANGE(100 * ST_MSEC, ST_HOUR)),
    FLD(st_redis_cfg_t, "reconnect_max", ST_T_DURATION, reconnect_max, .def = "5s", DUR_RANGE(100 * ST_MSEC, ST_HOUR)),
    FLD(st_redis_cfg_t, "demands", ST_T_BOOL, demands, .def = "false"),
    FLD(st_redis_cfg_t, "lease", ST_T_DURATION, lease, .def = "15s", DUR_RANGE(ST_SEC, ST_HOUR)),
};
SCHEMA(redis_schema, st_redis_cfg_t, "outputs.redis");

static const st_field_t outputs_schema_fields[] = {
    FLD(st_outputs_cfg_t, "redis", ST_T_STRUCT, redis, .sub = &redis_schema),
};
SCHEMA(outputs_schema, st_outputs_cfg_t, "outputs");

static const st_field_t cluster_schema_fields[] = {
    FLD(st_cluster_cfg_t, "name", ST_T_STRING, name, .def = ""),
    FLD(st_cluster_cfg_t, "instance", ST_T_STRING, instance, .def = ""),
    FLD(st_cluster_cfg_t, "instance_env", ST_T_STRING, instance_env, .def = "STRATA_INSTANCE"),
    FLD(st_cluster_cfg_t, "ttl", ST_T_DURATION, ttl, .def = "9s", DUR_RANGE(ST_SEC, 5 * ST_MIN)),
};
SCHEMA(cluster_schema, st_cluster_cfg_t, "cluster");

static const st_field_t config_schema_fields[] = {
    FLD(st_config_t, "runtime", ST_T_STRUCT, runtime, .sub = &runtime_schema),
    FLD(st_config_t, "market", ST_T_STRUCT, market, .sub = &market_schema),
    FLD(st_config_t, "feeds", ST_T_LIST, feeds, .sub = &feed_schema),
    FLD(st_config_t, "tiers", ST_T_STRUCT, tiers, .sub = &tiers_schema),
    FLD(st_config_t, "schedule", ST_T_LIST, schedule, .sub = &slot_schema),
    FLD(st_config_t, "rebalance", ST_T_STRUCT, rebalance, .sub = &rebalance_schema),
    FLD(st_config_t, "risk", ST_T_STRUCT, risk, .sub = &risk_schema),
    FLD(st_config_t, "strategies", ST_T_LIST, strategies, .sub = &strategy_schema),
    FLD(st_config_t, "signals", ST_T_STRUCT, signals, .sub = &signals_schema),
    FLD(st_config_t, "status", ST_T_STRUCT, status, .sub = &status_schema),
    FLD(st_config_t, "outputs", ST_T_STRUCT, outputs, .sub = &outputs_schema),
    FLD(st_config_t, "cluster", ST_T_STRUCT, cluster, .sub = &cluster_schema),
};
const st_schema_t st_config_schema = {"config", sizeof(st_config_t), config_schema_fields,
                                      ST_ARRAY_SIZE(config_schema_fields),
                                      offsetof(st_config_t, mark)};

/* The published KRX allocation table (realtime/semi/indices/reserve; each fills 41), with
 * pre- and after-market policies of our own. Parsed by the same decoder as user input. */
static const char default_schedule[] =
    "- {name: pre_market,    start: '00:00', realtime: 4, semi_realtime: 20, indices: 5, reserve: 8,"
    "   poll_scale: 1.0}\n"
    "- {name: golden_time,   start: open, realtime: 8, semi_realtime: 15, indices: 5, reserve: 5,"
    "   poll_scale: 0.5, weights: {gap_trading: 1.5, volume_breakout: 1.0, momentum: 0.8}}\n"
    "- {name: morning_trend, start: open+30m, realtime: 6, semi_realtime: 18, indices: 5, reserve: 6,"
    "   poll_scale: 1.0, weights: {gap_trading: 0.5, volume_breakout: 1.3, momentum: 1.2}}\n"
    "- {name: lunch,         start: '11:30', realtime: 5, semi_realtime: 20, indices: 5, reserve: 6,"
    "   poll_scale: 2.0, weights: {volume_breakout: 0.8, momentum: 1.0}}\n"
    "- {name: closing_trend, start: close-1h30m, realtime: 7, semi_realtime: 16, indices: 5, reserve: 6,"
    "   poll_scale: 0.75, weights: {closing_momentum: 1.5, momentum: 1.0, volume_breakout: 0.8}}\n"
    "- {name: after_market,  start: closing_auction, realtime: 2, semi_realtime: 10, indices: 5, reserve: 22,"
    "   poll_scale: 2.0}\n";

static const char default_feeds[] = "- {name: sim, kind: sim}\n";
static const char default_sinks[] = "- {kind: log}\n";

#define CERR ST_CONF_ERR

static char *resolve(st_config_t *cfg, const char *rel)
{
    char buf[4096];
    if (!rel || !*rel) return (char *)"";
    st_path_resolve(cfg->file, rel, buf, sizeof(buf));
    return st_arena_strdup(cfg->arena, buf);
}

static void check_clock(st_config_t *cfg, st_diags_t *d)
{
    st_clock_cfg_t *c = &cfg->runtime.clock;
    c->stop_tod = -1;
    if (*c->stop && st_parse_tod(c->stop, &c->stop_tod))
        CERR(d, &c->mark, "runtime.clock.stop: expected a time of day such as 15:30, got \"%s\"",
             c->stop);
    if (c->mode != ST_CLOCK_SIMULATED) return;

    const char *tz = cfg->runtime.timezone;
    if (!st_tz_valid(tz)) return; /* reported by check_runtime */
    struct tm tm;
    st_dur_t tod;
    if (st_parse_tod(c->start, &tod) == 0) {
        /* A bare time of day means today (in the venue's zone) at that time. */
        st_tz_localtime(tz, st_wall_now(), &tm);
        tm.tm_hour = (int)(tod / ST_HOUR);
        tm.tm_min = (int)(tod / ST_MIN % 60);
        tm.tm_sec = (int)(tod / ST_SEC % 60);
        tm.tm_isdst = -1;
    } else if (st_parse_datetime(c->start, &tm) != 0) {
        CERR(d, &c->mark,
             "runtime.clock.start: expected \"YYYY-MM-DD HH:MM[:SS]\" or \"HH:MM\", got \"%s\"",
             c->start);
        return;
    }
    if (st_tz_mktime(tz, &tm, &c->start_time) != 0)
        CERR(d, &c->mark, "runtime.clock.start: \"%s\" is not a valid time", c->start);
}

static void check_runtime(st_config_t *cfg, st_diags_t *d)
{
    st_runtime_cfg_t *r = &cfg->runtime;
    if (!st_tz_valid(r->timezone))
        CERR(d, &r->mark, "runtime.timezone: unknown time zone \"%s\" (an IANA name such as Asia/Seoul; is tzdata installed?)",
             r->timezone);
    check_clock(cfg, d);
    if (*r->log.file) r->log.file = resolve(cfg, r->log.file);
    /* An output file: next to the config, or (an embedded config) in the current directory. */
    if (*r->session_report && strncmp(cfg->file, ST_EMBEDDED_PREFIX, strlen(ST_EMBEDDED_PREFIX)) != 0)
        r->session_report = resolve(cfg, r->session_report);
    if (*r->record && strncmp(cfg->file, ST_EMBEDDED_PREFIX, strlen(ST_EMBEDDED_PREFIX)) != 0)
        r->record = resolve(cfg, r->record);
}

static void check_market(st_config_t *cfg, st_diags_t *d)
{
    st_market_cfg_t *m = &cfg->market;
    st_session_cfg_t *s = &m->session;
    if (!(s->pre_open <= s->open && s->open < s->closing_auction && s->closing_auction <= s->close))
        CERR(d, &s->mark, "market.session: times must satisfy pre_open <= open < closing_auction <= close");
    if (!*m->calendar) { /* the venues': crypto trades around the clock, the rest by KRX's days */
        bool crypto = cfg->feeds.n > 0;
        for (size_t i = 0; i < cfg->feeds.n; i++) crypto &= ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i)->kind == ST_FEED_UPBIT;
        m->calendar = (char *)(crypto ? "24/7" : "krx");
    } else if (strcmp(m->calendar, "krx") != 0 && strcmp(m->calendar, "24/7") != 0) {
        m->calendar = resolve(cfg, m->calendar);
        int rc = st_file_check(m->calendar);
        if (rc) CERR(d, &m->mark, "market.calendar: cannot read \"%s\": %s (or krx, the shipped KRX calendar, or 24/7)",
                     m->calendar, st_strerror(rc));
    }
    m->universe = resolve(cfg, m->universe);
    m->indices = resolve(cfg, m->indices);
    int rc = st_file_check(m->universe);
    if (rc) CERR(d, &m->mark, "market.universe: cannot read \"%s\": %s", m->universe, st_strerror(rc));
    if (*m->indices && (rc = st_file_check(m->indices)) != 0)
        CERR(d, &m->mark, "market.indices: cannot read \"%s\": %s", m->indices, st_strerror(rc));
}

static bool has_scheme(const char *url, const char *a, const char *b)
{
    return strncmp(url, a, strlen(a)) == 0 || strncmp(url, b, strlen(b)) == 0;
}

/* An environment variable named in the config must be set (its value is never shown). */
static void check_env(st_diags_t *d, const st_mark_t *m, const char *where, const char *name)
{
    const char *v = *name ? getenv(name) : NULL;
    if (!*name)
        CERR(d, m, "%s: expected the name of an environment variable", where);
    else if (!v || !*v)
        CERR(d, m, "%s: environment variable %s is not set (export it before starting strata)", where, name);
}

void st_feed_limits_default(st_feed_cfg_t *f, const st_feed_limits_t *venue)
{
    if (!f->budget) f->budget = venue->budget;
    if (!f->rest_rate) f->rest_rate = venue->rest_rate;
    if (!f->ws_rate) f->ws_rate = venue->ws_rate;
    if (!f->ws_rate_minute) f->ws_rate_minute = venue->ws_rate_minute;
}

/* A network feed's URLs, credentials and reconnect settings, after its venue's own step
 * (st_feed_merges) filled the defaults. */
static void check_network_feed(st_config_t *cfg, st_feed_cfg_t *f, size_t i, st_diags_t *d)
{
    if (!has_scheme(f->ws_url, "ws://", "wss://"))
        CERR(d, &f->mark, "feeds[%zu].ws_url: expected ws://HOST[:PORT][/PATH] or wss://…, got \"%s\"", i, f->ws_url);
    if (!has_scheme(f->rest_url, "http://", "https://"))
        CERR(d, &f->mark, "feeds[%zu].rest_url: expected http://HOST[:PORT] or https://…, got \"%s\"", i, f->rest_url);
    if (*f->tls_ca_file) {
        f->tls_ca_file = resolve(cfg, f->tls_ca_file);
        int rc = st_file_check(f->tls_ca_file);
        if (rc)
            CERR(d, &f->mark, "feeds[%zu].tls_ca_file: cannot read \"%s\": %s", i, f->tls_ca_file, st_strerror(rc));
    }
    if (f->reconnect_min > f->reconnect_max)
        CERR(d, &f->mark, "feeds[%zu]: reconnect_min must not exceed reconnect_max", i);
    for (size_t k = 0; k < f->keys.n; k++) {
        st_cred_cfg_t *c = ST_LIST_AT(f->keys, st_cred_cfg_t, k);
        if (c->mark.bad) continue;
        char where[96];
        snprintf(where, sizeof(where), "feeds[%zu].keys[%zu].app_key_env", i, k);
        check_env(d, &c->mark, where, c->app_key_env);
        snprintf(where, sizeof(where), "feeds[%zu].keys[%zu].app_secret_env", i, k);
        check_env(d, &c->mark, where, c->app_secret_env);
    }
    const st_clock_cfg_t *clk = &cfg->runtime.clock;
    if (!clk->mark.bad && clk->mode == ST_CLOCK_SIMULATED && clk->speed == 0)
        CERR(d, &f->mark, "feeds[%zu]: a %s feed talks to a real server: runtime.clock.speed 0 (as fast as "
             "possible) only works with sim feeds", i, feed_kinds[f->kind]);
}

static void check_replay_feed(st_config_t *cfg, st_feed_cfg_t *f, size_t i, st_diags_t *d)
{
    if (!*f->path)
        CERR(d, &f->mark, "feeds[%zu]: a replay feed needs path: the recording to replay", i);
    else
        f->path = resolve(cfg, f->path);
    if (cfg->runtime.clock.mode != ST_CLOCK_SIMULATED)
        CERR(d, &f->mark, "feeds[%zu]: a replay feed needs runtime.clock.mode: simulated (starting when the recording "
             "does)", i);
}

/* A redis://HOST[:PORT][/DB] url (HOST an IP address or a name; PORT 6379; DB 0) into its parts;
 * false with the reason said at `what` (the key's name). */
static bool redis_url(st_config_t *cfg, const st_mark_t *m, const char *what, const char *url, char **host_out,
                      int64_t *port, int64_t *db, st_diags_t *d)
{
    const char *p = url;
    char host[256];
    int n = 0;
    *port = 6379, *db = 0;
    if (strncmp(p, "redis://", 8) != 0 || sscanf(p + 8, "%255[^:/]%n", host, &n) != 1) {
        CERR(d, m, "%s: expected redis://HOST[:PORT][/DB], got \"%s\"", what, url);
        return false;
    }
    p += 8 + n;
    char *end;
    if (*p == ':') {
        *port = strtol(p + 1, &end, 10);
        if (end == p + 1 || *port < 1 || *port > 65535) {
            CERR(d, m, "%s: the port must be 1-65535, in \"%s\"", what, url);
            return false;
        }
        p = end;
    }
    if (*p == '/' && p[1]) {
        *db = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || *db < 0 || *db > 15) {
            CERR(d, m, "%s: the database is a number 0-15, in \"%s\"", what, url);
            return false;
        }
    } else if (*p && strcmp(p, "/") != 0) {
        CERR(d, m, "%s: expected redis://HOST[:PORT][/DB], got \"%s\"", what, url);
        return false;
    }
    *host_out = st_arena_strdup(cfg->arena, host);
    return true;
}

/* kind: redis: another instance's tick stream. */
static void check_redis_feed(st_config_t *cfg, st_feed_cfg_t *f, size_t i, st_diags_t *d)
{
    char what[64];
    snprintf(what, sizeof(what), "feeds[%zu].stream_url", i);
    f->stream_host = (char *)"";
    if (!*f->stream_url)
        CERR(d, &f->mark, "feeds[%zu]: a redis feed needs stream_url: the Redis the ticks are published to", i);
    else
        redis_url(cfg, &f->mark, what, f->stream_url, &f->stream_host, &f->stream_port, &f->stream_db, d);
    if (!*f->stream || strchr(f->stream, ' '))
        CERR(d, &f->mark, "feeds[%zu]: a redis feed needs stream: the key of a tick stream, such as strata:ticks:kis",
             i);
    if (f->forward_demands && !strstr(f->stream, ":ticks:"))
        CERR(d, &f->mark, "feeds[%zu].forward_demands: the demands go to the publisher's PREFIX:demands, so stream must "
             "be its PREFIX:ticks:…, got \"%s\"", i, f->stream);
    if (!*f->from || strchr(f->from, ' '))
        CERR(d, &f->mark, "feeds[%zu].from: \"$\" (from now on), \"0\" (the whole stream) or an entry id", i);
}

static void check_feeds(st_config_t *cfg, st_diags_t *d)
{
    for (size_t i = 0; i < cfg->feeds.n; i++) {
        st_feed_cfg_t *f = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i);
        if (f->mark.bad) continue;
        for (size_t j = 0; j < i; j++)
            if (strcmp(ST_LIST_AT(cfg->feeds, st_feed_cfg_t, j)->name, f->name) == 0)
                CERR(d, &f->mark, "feeds[%zu]: duplicate feed name \"%s\"", i, f->name);
        if (*f->record.path && f->kind != ST_FEED_SIM)
            CERR(d, &f->record.mark, "feeds[%zu].record: only a sim feed records its market's tape (runtime.record "
                 "records what any feed delivers)", i);
        else if (*f->record.path && strncmp(cfg->file, ST_EMBEDDED_PREFIX, strlen(ST_EMBEDDED_PREFIX)) != 0)
            f->record.path = resolve(cfg, f->record.path);
        st_feed_merges[f->kind](cfg, f, i, d); /* every kind has one: its limits at least */
        st_require(f->budget > 0 && f->rest_rate > 0 && f->ws_rate > 0);
        if (f->kind == ST_FEED_KIS || f->kind == ST_FEED_UPBIT)
            check_network_feed(cfg, f, i, d);
        else if (f->kind == ST_FEED_REPLAY)
            check_replay_feed(cfg, f, i, d);
        else if (f->kind == ST_FEED_REDIS)
            check_redis_feed(cfg, f, i, d);
        if (f->forward_demands && f->kind != ST_FEED_REDIS)
            CERR(d, &f->mark, "feeds[%zu].forward_demands: only a redis feed forwards its strategies' demands", i);
    }
}

const char *const st_anchor_names[] = {"", "pre_open", "open", "closing_auction", "close", NULL};

/* "09:30", or an anchor with an optional offset: "open", "open+30m", "close-1h30m". */
static int parse_start(st_slot_cfg_t *s)
{
    s->anchor = ST_AT_CLOCK;
    if (st_parse_tod(s->start_text, &s->start) == 0) return 0;
    for (int a = ST_AT_CLOSE; a > ST_AT_CLOCK; a--) { /* closing_auction before close: longest first */
        size_t n = strlen(st_anchor_names[a]);
        if (strncmp(s->start_text, st_anchor_names[a], n) != 0) continue;
        const char *rest = s->start_text + n;
        s->anchor = a, s->start = 0;
        if (!*rest) return 0;
        if ((*rest != '+' && *rest != '-') || st_parse_duration(rest + 1, &s->start) || s->start >= ST_DAY) return -EINVAL;
        if (*rest == '-') s->start = -s->start;
        return 0;
    }
    return -EINVAL;
}

static void check_schedule(st_config_t *cfg, st_diags_t *d)
{
    int64_t budget = st_config_ws_budget(cfg);
    const st_session_cfg_t *sc = &cfg->market.session;
    st_session_t reg;
    st_session_of(cfg, &reg);
    bool session_ok = !sc->mark.bad && sc->pre_open <= sc->open && sc->open < sc->closing_auction &&
                      sc->closing_auction <= sc->close; /* else reported by check_market */
    for (size_t i = 0; i < cfg->schedule.n; i++) {
        st_slot_cfg_t *s = ST_LIST_AT(cfg->schedule, st_slot_cfg_t, i);
        if (s->mark.bad) continue;
        if (parse_start(s)) {
            CERR(d, &s->mark, "schedule[%zu] \"%s\": start: expected a time of day (09:30) or a time of the session "
                 "with an offset (open, open+30m, close-1h, pre_open, closing_auction), got \"%s\"", i, s->name,
                 s->start_text);
            s->mark.bad = true;
            continue;
        }
        st_slot_cfg_t *p = i > 0 ? ST_LIST_AT(cfg->schedule, st_slot_cfg_t, i - 1) : NULL;
        if (p && !p->mark.bad && session_ok && st_slot_start(s, &reg) <= st_slot_start(p, &reg))
            CERR(d, &s->mark, "schedule[%zu] \"%s\": start must be later than the previous slot's (\"%s\") on a regular "
                 "day", i, s->name, p->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ST_LIST_AT(cfg->schedule, st_slot_cfg_t, j)->name, s->name) == 0)
                CERR(d, &s->mark, "schedule[%zu]: duplicate slot name \"%s\"", i, s->name);
        int64_t need = s->realtime * 2 + s->semi_realtime + s->indices + s->reserve;
        if (budget > 0 && need > budget)
            CERR(d, &s->mark,
                 "schedule[%zu] \"%s\": realtime*2 + semi_realtime + indices + reserve = %lld exceeds the WebSocket budget of %lld",
                 i, s->name, (long long)need, (long long)budget);
    }
}

static void check_strategies(st_config_t *cfg, st_diags_t *d)
{
    for (size_t i = 0; i < cfg->strategies.n; i++) {
        st_strategy_cfg_t *s = ST_LIST_AT(cfg->strategies, st_strategy_cfg_t, i);
        if (s->mark.bad) continue;
        for (size_t j = 0; j < i; j++)
            if (strcmp(ST_LIST_AT(cfg->strategies, st_strategy_cfg_t, j)->name, s->name) == 0)
                CERR(d, &s->mark, "strategies[%zu]: duplicate strategy name \"%s\"", i, s->name);
        s->path = resolve(cfg, s->path);
        int rc = st_file_check(s->path);
        if (rc) CERR(d, &s->mark, "strategies[%zu] \"%s\": cannot read \"%s\": %s", i, s->name, s->path, st_strerror(rc));
    }
}

static void check_signals(st_config_t *cfg, st_diags_t *d)
{
    for (size_t i = 0; i < cfg->signals.sinks.n; i++) {
        st_sink_cfg_t *s = ST_LIST_AT(cfg->signals.sinks, st_sink_cfg_t, i);
        if (s->mark.bad) continue;
        if (s->kind == ST_SINK_JSONL) {
            if (!*s->path)
                CERR(d, &s->mark, "signals.sinks[%zu]: a jsonl sink needs a path", i);
            else
                s->path = resolve(cfg, s->path);
        }
        if (s->kind == ST_SINK_WEBHOOK && strncmp(s->url, "http://", 7) != 0 &&
            strncmp(s->url, "https://", 8) != 0)
            CERR(d, &s->mark, "signals.sinks[%zu]: a webhook sink needs an http:// or https:// url", i);
    }
}

/* status.listen: an IP literal ("localhost" is 127.0.0.1); one that is not loopback needs a
 * token, or an explicit allow_without_token. */
static void check_status(st_config_t *cfg, st_diags_t *d)
{
    st_status_cfg_t *s = &cfg->status;
    if (*s->token_env) check_env(d, &s->mark, "status.token_env", s->token_env);
    if (!strcmp(s->listen, "localhost")) s->listen = st_arena_strdup(cfg->arena, "127.0.0.1");
    struct in_addr a4;
    struct in6_addr a6;
    bool loopback;
    if (inet_pton(AF_INET, s->listen, &a4) == 1) {
        loopback = (ntohl(a4.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, s->listen, &a6) == 1) {
        loopback = IN6_IS_ADDR_LOOPBACK(&a6);
    } else {
        CERR(d, &s->mark, "status.listen: \"%s\" is not an IP address (127.0.0.1, ::1, or an address of this "
                          "machine)", s->listen);
        return;
    }
    if (s->enabled && !loopback && !*s->token_env && !s->allow_without_token)
        CERR(d, &s->mark, "status.listen: %s is not a loopback address and status.token_env is empty: anyone who "
                          "can reach it could read the status; set a token, or status.allow_without_token: true",
             s->listen);
}

/* outputs.redis.url, and the prefix. */
static void check_outputs(st_config_t *cfg, st_diags_t *d)
{
    st_redis_cfg_t *r = &cfg->outputs.redis;
    r->host = (char *)"", r->port = 6379, r->db = 0;
    if (r->mark.bad || !*r->url) return;
    if (!redis_url(cfg, &r->mark, "outputs.redis.url", r->url, &r->host, &r->port, &r->db, d)) return;
    if (!*r->prefix || strchr(r->prefix, ' '))
        CERR(d, &r->mark, "outputs.redis.prefix: a key prefix without spaces, such as strata:desk1");
}

/* cluster: a name of key characters, on the Redis of outputs.redis. */
static void check_cluster(st_config_t *cfg, st_diags_t *d)
{
    st_cluster_cfg_t *c = &cfg->cluster;
    if (c->mark.bad || !*c->name) return;
    if (strspn(c->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(c->name))
        CERR(d, &c->mark, "cluster.name: letters, digits, '_', '-' and '.' only, got \"%s\"", c->name);
    if (strchr(c->instance, ' ') || strchr(c->instance, '/'))
        CERR(d, &c->mark, "cluster.instance: no spaces or '/', got \"%s\"", c->instance);
    if (!*cfg->outputs.redis.url)
        CERR(d, &c->mark, "cluster: the lease is kept in Redis: set outputs.redis.url");
}

int st_config_parse(const char *path, const char *text, size_t len, st_config_t **out,
                    st_diags_t *diags)
{
    st_arena_t *arena = st_arena_create(0);
    st_config_t *cfg = st_arena_alloc(arena, sizeof(*cfg));
    size_t before = diags->n;
    int rc = st_schema_decode(&st_config_schema, path, text, len, cfg, arena, diags);
    cfg->arena = arena;
    cfg->file = st_arena_strdup(arena, path);
    if (rc == ST_EPARSE) { /* nothing was decoded: no cross-field checks to run */
        st_arena_destroy(arena);
        return ST_ECONFIG;
    }
    if (rc == 0) {
        if (cfg->feeds.n == 0)
            st_schema_decode_list(&feed_schema, "(default feeds)", default_feeds, &cfg->feeds, arena,
                                  diags);
        if (cfg->schedule.n == 0)
            st_schema_decode_list(&slot_schema, "(default schedule)", default_schedule,
                                  &cfg->schedule, arena, diags);
        if (cfg->signals.sinks.n == 0)
            st_schema_decode_list(&sink_schema, "(default sinks)", default_sinks,
                                  &cfg->signals.sinks, arena, diags);
        st_require(diags->n == before);
    }
    /* Cross-field checks run even after decode errors, so one run reports everything. */
    check_runtime(cfg, diags);
    check_market(cfg, diags);
    check_feeds(cfg, diags);
    check_schedule(cfg, diags);
    check_strategies(cfg, diags);
    check_signals(cfg, diags);
    check_status(cfg, diags);
    check_outputs(cfg, diags);
    check_cluster(cfg, diags); /* after outputs: it needs its url */
    if (diags->n > before) {
        st_diags_sort(diags, before);
        st_arena_destroy(arena);
        return ST_ECONFIG;
    }
    *out = cfg;
    return 0;
}

int st_config_load(const char *path, st_config_t **out, st_diags_t *diags)
{
    char *text;
    size_t len;
    int rc = st_file_read(path, &text, &len);
    if (rc) {
        st_diags_add(diags, path, 0, 0, "cannot read config: %s", st_strerror(rc));
        return rc;
    }
    rc = st_config_parse(path, text, len, out, diags);
    free(text);
    return rc;
}

void st_config_free(st_config_t *cfg)
{
    if (cfg) st_arena_destroy(cfg->arena);
}

bool st_config_outputs_equal(const st_config_t *a, const st_config_t *b)
{
    return st_schema_equal(&signals_schema, &a->signals, &b->signals) &&
           st_schema_equal(&status_schema, &a->status, &b->status) &&
           st_schema_equal(&outputs_schema, &a->outputs, &b->outputs);
}

bool st_config_feeds_equal(const st_config_t *a, const st_config_t *b)
{
    if (a->feeds.n != b->feeds.n) return false;
    for (size_t i = 0; i < a->feeds.n; i++)
        if (!st_schema_equal(&feed_schema, ST_LIST_AT(a->feeds, st_feed_cfg_t, i), ST_LIST_AT(b->feeds, st_feed_cfg_t, i)))
            return false;
    return true;
}

st_dur_t st_slot_start(const st_slot_cfg_t *slot, const st_session_t *s)
{
    st_dur_t base = 0;
    switch (slot->anchor) {
    case ST_AT_PRE_OPEN: base = s->pre_open; break;
    case ST_AT_OPEN: base = s->open; break;
    case ST_AT_CLOSING_AUCTION: base = s->closing_auction; break;
    case ST_AT_CLOSE: base = s->close; break;
    default: break;
    }
    st_dur_t t = base + slot->start;
    return t < 0 ? 0 : t >= ST_DAY ? ST_DAY - ST_SEC : t;
}

int64_t st_config_ws_budget(const st_config_t *cfg)
{
    int64_t total = 0;
    for (size_t i = 0; i < cfg->feeds.n; i++) {
        const st_feed_cfg_t *f = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i);
        total += f->budget * f->connections; /* a replay plans like the venue it replays */
    }
    return total;
}
