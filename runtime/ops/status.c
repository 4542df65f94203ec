#include "status.h"
#include "core/res.h"
#include "core/timefmt.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- /status -------------------------------------------------------------------------------- */

double st_status_number(const cJSON *doc, const char *path)
{
    char key[256];
    snprintf(key, sizeof(key), "%s", path);
    const cJSON *v = doc;
    for (char *save, *k = strtok_r(key, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, atoi(k)) : cJSON_GetObjectItemCaseSensitive(v, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static cJSON *num(cJSON *o, const char *k, double v)
{
    return cJSON_AddNumberToObject(o, k, v);
}

void st_status_add_strategies(cJSON *o, const st_status_t *s, bool timing)
{
    cJSON *strats = cJSON_AddArrayToObject(o, "strategies");
    for (size_t i = 0; i < s->nstrategies; i++) {
        const st_strat_info_t *si = &s->strategies[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", si->name);
        cJSON_AddStringToObject(e, "kind", si->kind);
        cJSON_AddStringToObject(e, "state", si->state);
        num(e, "ticks", (double)si->ticks);
        num(e, "signals", (double)si->signals);
        num(e, "emergencies", (double)si->emergencies);
        num(e, "faults", (double)si->faults);
        num(e, "fault_rate", si->fault_rate);
        num(e, "watched", (double)si->watched);
        num(e, "memory_bytes", (double)si->mem);
        num(e, "reloads", (double)si->reloads);
        if (timing) { /* wall time */
            num(e, "callback_p99_us", (double)si->callback_p99_ns / 1e3);
            num(e, "callbacks_timed", (double)si->callback_ns.count);
        }
        cJSON *by = cJSON_AddObjectToObject(e, "faults_by_cause");
        for (int k = 0; k < ST_FAULT_CAUSES; k++) num(by, st_fault_cause_names[k], (double)si->faults_by[k]);
        cJSON_AddItemToArray(strats, e);
    }
}

/* --- the counters, each described once -------------------------------------------------------- */

/* A number of the snapshot: its place in /status (group, "" for the top level, and key; NULL
 * key: not there) and in /metrics (name, type, help; NULL name: not there), where it is in
 * st_status_t and how to read it, the unit each side shows (µs durations: ms in /status,
 * seconds in /metrics), and, for a figure the feeds report, the st_feed_stats_t field it comes
 * from and how the feeds' add up (summed, the largest, the smallest). The writers and the
 * collector (st_status_add_feed) walk this table; what is not a plain number (the slot's name,
 * the connections, the strategies, labelled series, the poll ages) they handle themselves. */
typedef enum { V_U64, V_I64, V_INT, V_SIZE, V_DBL } vkind_t;
typedef enum { A_NONE, A_SUM, A_MAX, A_MIN } agg_t;
typedef struct {
    const char *group, *key;
    const char *prom, *type, *help;
    size_t off;
    vkind_t kind;
    double json_scale, prom_scale;
    size_t from;        /* offsetof(st_feed_stats_t, …) when agg */
    vkind_t from_kind;
    agg_t agg;
} stat_t;

#define S(g, k, pname, ptype, phelp, field, vk) {g, k, pname, ptype, phelp, offsetof(st_status_t, field), vk, 1, 1, \
                                                 0, V_U64, A_NONE}
#define MS(g, k, pname, phelp, field) \
    {g, k, pname, "gauge", phelp, offsetof(st_status_t, field), V_I64, 1.0 / ST_MSEC, 1.0 / ST_SEC, 0, V_U64, A_NONE}
/* …from the feeds: S or MS, then `FROM(feed field, its kind, how)` */
#define FROM(ffield, fk, how) offsetof(st_feed_stats_t, ffield), fk, how
#define SF(g, k, pname, ptype, phelp, field, vk, from) {g, k, pname, ptype, phelp, offsetof(st_status_t, field), vk, \
                                                        1, 1, from}
#define MSF(g, k, pname, phelp, field, from) \
    {g, k, pname, "gauge", phelp, offsetof(st_status_t, field), V_I64, 1.0 / ST_MSEC, 1.0 / ST_SEC, from}
static const stat_t stats[] = {
    S("", "generation", "strata_config_generation", "gauge", "Config generation running (1 + successful reloads)",
      generation, V_U64),
    S("", "uptime_seconds", "strata_uptime_seconds", "gauge", "Wall time since the start", uptime, V_DBL),
    S("", "total_stocks", "strata_universe_stocks", "gauge", "Stocks in the universe", total_stocks, V_SIZE),
    S("", "total_indices", "strata_universe_indices", "gauge", "Indices in the universe", total_indices, V_SIZE),
    S("", "monitored", "strata_monitored_symbols", "gauge", "Symbols holding any tier", c.monitored, V_I64),
    S("time_slot.policy", "realtime", NULL, NULL, NULL, policy.realtime, V_INT),
    S("time_slot.policy", "semi_realtime", NULL, NULL, NULL, policy.semi, V_INT),
    S("time_slot.policy", "indices", NULL, NULL, NULL, policy.indices, V_INT),
    S("time_slot.policy", "reserve", NULL, NULL, NULL, policy.reserve, V_INT),
    S("time_slot.policy", "poll_scale", NULL, NULL, NULL, policy.poll_scale, V_DBL),
    S("tiers", "realtime", NULL, NULL, NULL, c.tier1, V_I64),
    S("tiers", "semi_realtime", NULL, NULL, NULL, c.tier2, V_I64),
    S("tiers", "polling", NULL, NULL, NULL, c.tier3, V_I64),
    S("tiers", "indices", "strata_index_streams", "gauge", "Index streams held", c.indices, V_I64),
    SF("websocket_status", "sessions", NULL, NULL, NULL, c.sessions, V_I64, FROM(sessions, V_I64, A_SUM)),
    SF("websocket_status", "sessions_open", "strata_websocket_sessions_open", "gauge", "Network WebSocket sessions up",
      c.sessions_open, V_I64, FROM(sessions_open, V_I64, A_SUM)),
    SF("websocket_status", "reconnects", "strata_websocket_reconnects_total", "counter",
      "Sessions lost (dropped, stalled, refused)", c.reconnects, V_U64, FROM(reconnects, V_U64, A_SUM)),
    SF("api_stats", "total_calls", "strata_api_calls_total", "counter", "REST calls made", c.api_calls, V_U64,
       FROM(rest_calls, V_U64, A_SUM)),
    SF("api_stats", "successful_calls", "strata_api_calls_ok_total", "counter", "REST calls answered successfully",
      c.api_ok, V_U64, FROM(rest_ok, V_U64, A_SUM)),
    SF("api_stats", "calls_in_last_second", "strata_api_calls_last_second", "gauge", "REST calls in the last second",
      c.api_last_second, V_DBL, FROM(rest_last_second, V_U64, A_SUM)),
    S("api_stats", "limit_per_second", "strata_api_limit_per_second", "gauge", "REST calls allowed per second",
      c.api_limit, V_DBL),
    SF("api_stats", "auth_failures", "strata_auth_failures_total", "counter",
       "Times a venue refused the credentials (app key, secret)", c.auth_failures, V_U64,
       FROM(auth_failures, V_U64, A_SUM)),
    SF("coalescer", "requests", "strata_subscription_requests_total", "counter",
      "Desired-set changes asked of the coalescers", c.subs_requests, V_U64, FROM(subs_requests, V_U64, A_SUM)),
    SF("coalescer", "messages", "strata_subscription_messages_total", "counter", "Subscription messages sent to venues",
      c.subs_messages, V_U64, FROM(subs_messages, V_U64, A_SUM)),
    MSF("coalescer", "latency_p99_ms", "strata_subscription_latency_p99_seconds",
       "Request-to-send latency, 99th percentile", c.subs_latency_p99, FROM(subs_latency_p99, V_I64, A_MAX)),
    MSF("coalescer", "latency_max_ms", NULL, NULL, c.subs_latency_max, FROM(subs_latency_max, V_I64, A_MAX)),
    SF("limiter", "penalty", "strata_limiter_penalty_ratio", "gauge",
      "Lowest limiter rate over its configured rate (1 = full)", c.penalty, V_DBL, FROM(penalty, V_DBL, A_MIN)),
    MSF("limiter", "margin_ms", "strata_limiter_margin_seconds",
        "Widest timing margin the limiters keep under the venue's windows (wider after a refusal)", c.margin,
        FROM(margin, V_I64, A_MAX)),
    SF("limiter", "messages_last_second", "strata_subscription_messages_last_second", "gauge",
       "Subscription messages the busiest connection sent in the last second", c.msgs_second, V_I64,
       FROM(msgs_second, V_I64, A_MAX)),
    SF("limiter", "messages_per_second", "strata_subscription_messages_limit_per_second", "gauge",
       "Subscription messages a connection may send a second (the venue's limit)", c.msgs_second_limit, V_I64,
       FROM(msgs_second_limit, V_I64, A_MAX)),
    SF("limiter", "messages_last_minute", NULL, NULL, NULL, c.msgs_minute, V_I64, FROM(msgs_minute, V_I64, A_MAX)),
    SF("limiter", "messages_per_minute", NULL, NULL, NULL, c.msgs_minute_limit, V_I64,
       FROM(msgs_minute_limit, V_I64, A_MAX)),
    SF("limiter", "violations", "strata_venue_limit_violations_total", "counter", "Venue limits exceeded (must stay 0)",
      c.violations, V_U64, FROM(violations, V_U64, A_SUM)),
    S("plan", "changes", "strata_plan_changes_total", "counter", "Tier changes made by the planner", plan.changes,
      V_U64),
    S("plan", "replans", NULL, NULL, NULL, plan.replans, V_U64),
    S("plan", "rebalances", "strata_rebalances_total", "counter", "Performance rebalances run", plan.rebalances, V_U64),
    S("plan", "promotions", "strata_plan_promotions_total", "counter",
      "Symbols moved into tier 1 or 2 from a worse tier", promotions, V_U64),
    S("plan", "demotions", "strata_plan_demotions_total", "counter", "Symbols moved out of tier 1 or 2 to a worse tier",
      demotions, V_U64),
    S("plan", "emergencies", "strata_emergencies_total", "counter", "Emergency subscriptions granted",
      plan.emergencies_ok, V_U64),
    S("plan", "emergencies_refused", "strata_emergencies_refused_total", "counter", "Emergency subscriptions refused",
      plan.emergencies_failed, V_U64),
    S("plan", "excluded", NULL, NULL, NULL, plan.excluded, V_INT),
    S("signals", "total", "strata_signals_total", "counter", "Signals emitted (past the cooldown)", signals.emitted,
      V_U64),
    S("signals", "suppressed", "strata_signals_suppressed_total", "counter", "Signals suppressed by the cooldown",
      signals.suppressed, V_U64),
    S("signals", "dropped", "strata_signals_dropped_total", "counter",
      "Signals a webhook lost (queue full, retries exhausted)", signals.dropped, V_U64),
    S("signals", "delivered", "strata_signals_delivered_total", "counter", "Signals a webhook accepted",
      signals.delivered, V_U64),
    S("signals", "queued", "strata_signals_queued", "gauge", "Signals waiting for a webhook", signals.queued, V_SIZE),
    S("redis", "published", "strata_redis_published_total", "counter", "Records Redis acknowledged (outputs.redis)",
      redis.published, V_U64),
    S("redis", "dropped", "strata_redis_dropped_total", "counter",
      "Records not published: queue full, Redis down, or lost with a connection", redis.dropped, V_U64),
    S("redis", "errors", "strata_redis_errors_total", "counter", "Records Redis refused", redis.errors, V_U64),
    S("redis", "outages", "strata_redis_outages_total", "counter", "Redis connections lost or refused",
      redis.outages, V_U64),
    S("redis", "inflight", "strata_redis_inflight", "gauge", "Records sent to Redis, not yet answered",
      redis.inflight, V_SIZE),
    S("redis", "remotes", "strata_redis_remotes", "gauge", "Remote instances holding demands (outputs.redis.demands)",
      remotes, V_SIZE),
    S("cluster", "leader", "strata_cluster_leader", "gauge",
      "1 while this instance holds the cluster's lease and opens the venue sessions (cluster.name), 0 standing by",
      cluster_leader, V_INT),
    S("cluster", "term", "strata_cluster_term", "gauge", "The leadership term this instance holds or last held",
      cluster_term, V_U64),
    S("cluster", "fences", "strata_cluster_fences_total", "counter",
      "Times this instance closed its venue sessions because it could not prove its lease", cluster_fences, V_U64),
    S("cluster", "standby_ticks", "strata_cluster_standby_ticks_total", "counter",
      "Ticks of the leader's streams handed to this instance's strategies while it stood by", cluster_standby_ticks, V_U64),
    S("cluster", "signals_held", "strata_cluster_signals_held_total", "counter",
      "Signals this instance's strategies raised while it stood by, held back (the leader's go out)", cluster_signals_held,
      V_U64),
    SF("market", "ticks", "strata_ticks_total", "counter", "Normalized ticks handed to strategies", c.ticks_delivered,
       V_U64, FROM(ticks_delivered, V_U64, A_SUM)),
    SF("market", "trades", NULL, NULL, NULL, c.market_trades, V_U64, FROM(market_trades, V_U64, A_SUM)),
    SF("market", "halts", NULL, NULL, NULL, c.halts, V_U64, FROM(halts, V_U64, A_SUM)),
    SF("market", "malformed_frames", "strata_malformed_frames_total", "counter", "Venue frames dropped as malformed",
      c.malformed, V_U64, FROM(malformed, V_U64, A_SUM)),
    S("reloads", "ok", NULL, NULL, NULL, reloads_ok, V_U64),
    S("reloads", "failed", NULL, NULL, NULL, reloads_failed, V_U64),
    /* figures /status does not show as a plain number (no group: the key is only a name, for the
     * status line): collected here, written by hand where they are shown */
    SF(NULL, "ws_used", NULL, NULL, NULL, c.ws_used, V_I64, FROM(ws_used, V_I64, A_SUM)),
    SF(NULL, "ws_budget", NULL, NULL, NULL, c.ws_budget, V_I64, FROM(ws_budget, V_I64, A_SUM)),
    SF(NULL, "ws_desired", NULL, NULL, NULL, c.ws_desired, V_I64, FROM(ws_desired, V_I64, A_SUM)),
    SF(NULL, "bursts", NULL, NULL, NULL, c.bursts, V_U64, FROM(bursts, V_U64, A_SUM)),
    SF(NULL, "stalls", NULL, NULL, NULL, c.stalls, V_U64, FROM(stalls, V_U64, A_SUM)),
    SF(NULL, "poll_symbols", NULL, NULL, NULL, c.poll_symbols, V_I64, FROM(poll_symbols, V_I64, A_SUM)),
    SF(NULL, "poll_stretch", NULL, NULL, NULL, c.poll_stretch, V_DBL, FROM(poll_stretch, V_DBL, A_MAX)),
    S(NULL, "signals", NULL, NULL, NULL, c.signals, V_U64), /* the runtime's count (signals.total: the module's) */
};
#undef S
#undef MS
#undef SF
#undef MSF
#undef FROM

/* The number at byte `off` of base, of kind k. */
static double value_at(const void *base, size_t off, vkind_t k)
{
    const char *p = (const char *)base + off;
    switch (k) {
    case V_U64: return (double)*(const uint64_t *)p;
    case V_I64: return (double)*(const int64_t *)p;
    case V_INT: return (double)*(const int *)p;
    case V_SIZE: return (double)*(const size_t *)p;
    default: return *(const double *)p;
    }
}

static double value_of(const st_status_t *s, const stat_t *t)
{
    return value_at(s, t->off, t->kind);
}

/* Whether a row is one of st_counters_t's (st_status_t's c.…). */
static bool is_counter(const stat_t *t)
{
    return t->off - offsetof(st_status_t, c) < sizeof(st_counters_t); /* below c: wraps round, too large */
}

/* A feed's figure, as an integer or as a number. */
static int64_t feed_int(const st_feed_stats_t *fs, const stat_t *t)
{
    const char *p = (const char *)fs + t->from;
    return t->from_kind == V_U64 ? (int64_t)*(const uint64_t *)p : *(const int64_t *)p;
}

static double feed_num(const st_feed_stats_t *fs, const stat_t *t)
{
    return t->from_kind == V_DBL ? *(const double *)((const char *)fs + t->from) : (double)feed_int(fs, t);
}

void st_status_add_feed(st_counters_t *c, const st_feed_stats_t *fs, bool first)
{
    for (size_t i = 0; i < ST_ARRAY_SIZE(stats); i++) {
        const stat_t *t = &stats[i];
        if (t->agg == A_NONE) continue;
        char *p = (char *)c + (t->off - offsetof(st_status_t, c)); /* a counter (test_feed_rows_are_counters) */
        if (t->kind == V_DBL) {
            double *v = (double *)(void *)p, x = feed_num(fs, t);
            *v = first ? x : t->agg == A_SUM ? *v + x : t->agg == A_MAX ? fmax(*v, x) : fmin(*v, x);
        } else if (t->kind == V_U64) {
            uint64_t *v = (uint64_t *)(void *)p, x = (uint64_t)feed_int(fs, t);
            *v = first ? x : t->agg == A_SUM ? *v + x : t->agg == A_MAX ? ST_MAX2(*v, x) : ST_MIN2(*v, x);
        } else {
            int64_t *v = (int64_t *)(void *)p, x = feed_int(fs, t);
            *v = first ? x : t->agg == A_SUM ? *v + x : t->agg == A_MAX ? ST_MAX2(*v, x) : ST_MIN2(*v, x);
        }
    }
    for (size_t k = 0; k < ST_ARRAY_SIZE(c->poll_age); k++)
        c->poll_age[k] = first ? fs->poll_age[k] : ST_MAX2(c->poll_age[k], fs->poll_age[k]);
}

/* The object at a dotted group path under o, made on first use (in the table's order). */
static cJSON *group_of(cJSON *o, const char *path)
{
    char key[64];
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        cJSON *g = cJSON_GetObjectItemCaseSensitive(o, key);
        o = g ? g : cJSON_AddObjectToObject(o, key);
        p += n + (p[n] == '.');
    }
    return o;
}

char *st_status_json(const st_status_t *s)
{
    const st_counters_t *c = &s->c;
    cJSON *o = cJSON_CreateObject();
    char when[40];
    st_format_datetime(c->now, when, sizeof(when), true);
    cJSON_AddStringToObject(o, "time", when);
    cJSON_AddStringToObject(group_of(o, "time_slot"), "name", s->policy.name ? s->policy.name : "");
    if (s->day.day) { /* the market day: whether it trades, and when */
        cJSON *m = group_of(o, "market");
        char buf[40];
        st_format_date(s->day.day, buf, sizeof(buf));
        cJSON_AddStringToObject(m, "date", buf);
        cJSON_AddBoolToObject(m, "trading", s->day.trading);
        cJSON_AddStringToObject(m, "state", s->market_state ? s->market_state : "");
        cJSON_AddStringToObject(m, "name", s->day.name);
        st_format_tod_dur(s->day.s.open, buf, sizeof(buf));
        if (s->day.trading) cJSON_AddStringToObject(m, "open", buf);
        st_format_tod_dur(s->day.s.close, buf, sizeof(buf));
        if (s->day.trading) cJSON_AddStringToObject(m, "close", buf);
    }
    for (size_t i = 0; i < ST_ARRAY_SIZE(stats); i++)
        if (stats[i].group) num(group_of(o, stats[i].group), stats[i].key, value_of(s, &stats[i]) * stats[i].json_scale);

    cJSON *ws = group_of(o, "websocket_status");
    int used = 0, held = 0, budget = 0;
    cJSON *conns = cJSON_CreateArray();
    for (int i = 0; i < s->nconns; i++) {
        const st_conn_status_t *k = &s->conns[i];
        used += k->used, held += k->held, budget += k->budget;
        cJSON *e = cJSON_CreateObject();
        num(e, "connection", i);
        cJSON_AddStringToObject(e, "feed", k->feed ? k->feed : "");
        num(e, "subscriptions", k->held); /* what the venue holds */
        num(e, "planned", k->used);       /* what strata wants it to hold */
        cJSON_AddBoolToObject(e, "open", k->open);
        num(e, "available_slots", k->budget - k->used);
        num(e, "budget", k->budget);
        cJSON_AddItemToArray(conns, e);
    }
    num(ws, "total_subscriptions", held);
    num(ws, "total_planned", used);
    num(ws, "available_slots", budget - used);
    num(ws, "budget", budget);
    cJSON_AddItemToObject(ws, "connections", conns);
    num(group_of(o, "api_stats"), "success_rate", c->api_calls ? (double)c->api_ok / (double)c->api_calls : 1.0);
    st_status_add_strategies(o, s, true);

    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

/* --- the terminal's status line ----------------------------------------------------------------- */

/* The line, written over the table after the clock time: {name} is a counter (st_counters_t) by
 * its /status path, or by its key when /status does not show it; {name:,} writes it with
 * thousands separators, {a/b%} writes a as a percentage of b ("-" when b is 0), {slot} is the
 * time slot's name; a part in [ ] is written only when a number in it is not 0 (the network
 * feeds' sessions: a simulated market has none). */
static const char status_line[] =
    "monitored {monitored} | websocket {ws_used}/{ws_budget} | slot {slot} | signals {signals} | "
    "api {api_stats.total_calls:,} calls, {api_stats.successful_calls/api_stats.total_calls%} ok, "
    "{api_stats.calls_in_last_second}/{api_stats.limit_per_second} per s | "
    "subs {coalescer.requests} changes in {coalescer.messages} msgs | "
    "market {market.trades:,} trades, {market.halts} halts"
    "[ | sessions {websocket_status.sessions_open}/{websocket_status.sessions} up, "
    "{websocket_status.reconnects} reconnects]";

/* The counter a name of the line stands for (n bytes of name); NULL: none (written "?"). */
static const stat_t *counter_named(const char *name, size_t n)
{
    for (size_t i = 0; i < ST_ARRAY_SIZE(stats); i++) {
        const stat_t *t = &stats[i];
        size_t g = t->group && *t->group ? strlen(t->group) + 1 : 0; /* "group." */
        if (is_counter(t) && n == g + strlen(t->key) && (!g || (!strncmp(name, t->group, g - 1) && name[g - 1] == '.')) &&
            !strncmp(name + g, t->key, n - g))
            return t;
    }
    return NULL;
}

static double counter_value(const st_counters_t *c, const char *name, size_t n, bool *known)
{
    const stat_t *t = counter_named(name, n);
    *known &= t != NULL;
    return t ? value_at(c, t->off - offsetof(st_status_t, c), t->kind) : 0;
}

/* Writes the field `spec` (between the braces, n bytes) to out; returns its number (0 for text). */
static double line_field(const st_counters_t *c, const char *spec, size_t n, char *out, size_t len)
{
    bool known = true;
    double v = 0;
    const char *slash = memchr(spec, '/', n);
    if (n == 4 && !memcmp(spec, "slot", 4)) {
        snprintf(out, len, "%s", c->slot ? c->slot : "-");
    } else if (slash && spec[n - 1] == '%') {
        v = counter_value(c, spec, (size_t)(slash - spec), &known);
        double of = counter_value(c, slash + 1, (size_t)(spec + n - 1 - slash - 1), &known);
        if (of) snprintf(out, len, "%.1f%%", 100.0 * v / of);
        else snprintf(out, len, "-");
    } else if (n > 2 && !memcmp(spec + n - 2, ":,", 2)) {
        v = counter_value(c, spec, n - 2, &known);
        st_format_count((uint64_t)v, out, len);
    } else {
        v = counter_value(c, spec, n, &known);
        snprintf(out, len, "%.0f", v);
    }
    if (!known) snprintf(out, len, "?");
    return v;
}

static void put(char *buf, size_t len, size_t *at, const char *s, size_t n)
{
    if (*at + 1 >= len) return;
    n = ST_MIN2(n, len - 1 - *at);
    memcpy(buf + *at, s, n);
    *at += n;
    buf[*at] = '\0';
}

void st_status_line(const st_counters_t *c, char *buf, size_t len)
{
    char tod[16], field[64];
    size_t at = 0, opt = 0;
    bool shown = true; /* outside [ ]: always */
    if (!len) return;
    buf[0] = '\0';
    st_format_tod(c->now, tod, sizeof(tod));
    put(buf, len, &at, "[", 1), put(buf, len, &at, tod, strlen(tod)), put(buf, len, &at, "] ", 2);
    for (const char *p = status_line; *p;) {
        if (*p == '[') {
            opt = at, shown = false, p++;
        } else if (*p == ']') {
            if (!shown) at = opt, buf[at] = '\0';
            shown = true, p++;
        } else if (*p == '{') {
            const char *e = strchr(p, '}');
            shown |= line_field(c, p + 1, (size_t)(e - p - 1), field, sizeof(field)) != 0;
            put(buf, len, &at, field, strlen(field));
            p = e + 1;
        } else {
            size_t n = strcspn(p, "[]{");
            put(buf, len, &at, p, n);
            p += n;
        }
    }
}

/* --- /metrics ------------------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t n, cap;
} sb_t;

ST_PRINTF(2, 3) static void sb_printf(sb_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k >= 0 && (size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        b->cap = b->cap * 2 + (size_t)(k > 0 ? k : 256);
        b->p = st_xrealloc(b->p, b->cap);
    }
}

static void head(sb_t *b, const char *name, const char *type, const char *help)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metric(sb_t *b, const char *name, const char *type, const char *help, double v)
{
    head(b, name, type, help);
    sb_printf(b, "%s %.17g\n", name, v);
}

/* A label value as the exposition format wants it: \, " and newline escaped. */
static const char *label(const char *v, char *buf, size_t len)
{
    size_t n = 0;
    for (const char *p = v ? v : ""; *p && n + 3 < len; p++) {
        if (*p == '\\' || *p == '"') buf[n++] = '\\', buf[n++] = *p;
        else if (*p == '\n') buf[n++] = '\\', buf[n++] = 'n';
        else buf[n++] = *p;
    }
    buf[n] = '\0';
    return buf;
}

/* Per strategy: its tick callbacks' time (a histogram: le at 2^7, 2^9, … 2^29 ns) and its faults
 * by cause. */
static void strategy_histograms(sb_t *b, const st_status_t *s)
{
    char l1[128], l2[128];
    head(b, "strata_strategy_callback_seconds", "histogram",
         "Time a strategy's tick callback took (one call in 256 is timed)");
    for (size_t i = 0; i < s->nstrategies; i++) {
        const st_strat_info_t *si = &s->strategies[i];
        label(si->name, l1, sizeof(l1)), label(si->kind, l2, sizeof(l2));
        for (int k = 7; k <= 29; k += 2)
            sb_printf(b, "strata_strategy_callback_seconds_bucket{strategy=\"%s\",kind=\"%s\",le=\"%.9g\"} %llu\n", l1, l2,
                      (double)((uint64_t)1 << k) / 1e9, (unsigned long long)st_hist_at_most(&si->callback_ns, k));
        sb_printf(b, "strata_strategy_callback_seconds_bucket{strategy=\"%s\",kind=\"%s\",le=\"+Inf\"} %llu\n", l1, l2,
                  (unsigned long long)si->callback_ns.count);
        sb_printf(b, "strata_strategy_callback_seconds_sum{strategy=\"%s\",kind=\"%s\"} %.9g\n", l1, l2,
                  (double)si->callback_ns.sum / 1e9);
        sb_printf(b, "strata_strategy_callback_seconds_count{strategy=\"%s\",kind=\"%s\"} %llu\n", l1, l2,
                  (unsigned long long)si->callback_ns.count);
    }
    head(b, "strata_strategy_faults_by_cause_total", "counter",
         "Failed strategy callbacks by cause (error, budget: instruction budget, memory: memory cap)");
    for (size_t i = 0; i < s->nstrategies; i++)
        for (int k = 0; k < ST_FAULT_CAUSES; k++)
            sb_printf(b, "strata_strategy_faults_by_cause_total{strategy=\"%s\",kind=\"%s\",cause=\"%s\"} %llu\n",
                      label(s->strategies[i].name, l1, sizeof(l1)), label(s->strategies[i].kind, l2, sizeof(l2)),
                      st_fault_cause_names[k], (unsigned long long)s->strategies[i].faults_by[k]);
}

char *st_status_metrics(const st_status_t *s)
{
    const st_counters_t *c = &s->c;
    sb_t b = {st_xmalloc(4096), 0, 4096};
    char l1[128], l2[128];
    metric(&b, "strata_up", "gauge", "1 while strata runs", 1);
    for (size_t i = 0; i < ST_ARRAY_SIZE(stats); i++)
        if (stats[i].prom)
            metric(&b, stats[i].prom, stats[i].type, stats[i].help, value_of(s, &stats[i]) * stats[i].prom_scale);
    head(&b, "strata_reloads_total", "counter", "SIGHUP reloads by result");
    sb_printf(&b, "strata_reloads_total{result=\"ok\"} %llu\nstrata_reloads_total{result=\"failed\"} %llu\n",
              (unsigned long long)s->reloads_ok, (unsigned long long)s->reloads_failed);
    head(&b, "strata_time_slot_info", "gauge", "The time slot in force (value 1)");
    sb_printf(&b, "strata_time_slot_info{slot=\"%s\"} 1\n", label(s->policy.name, l1, sizeof(l1)));
    head(&b, "strata_tier_symbols", "gauge", "Symbols per tier (1 realtime, 2 semi-realtime, 3 polling)");
    sb_printf(&b, "strata_tier_symbols{tier=\"1\"} %lld\nstrata_tier_symbols{tier=\"2\"} %lld\n"
                  "strata_tier_symbols{tier=\"3\"} %lld\n",
              (long long)c->tier1, (long long)c->tier2, (long long)c->tier3);
    head(&b, "strata_websocket_subscriptions", "gauge", "WebSocket registrations the venue holds, per connection");
    for (int i = 0; i < s->nconns; i++)
        sb_printf(&b, "strata_websocket_subscriptions{connection=\"%d\",feed=\"%s\"} %d\n", i,
                  label(s->conns[i].feed, l1, sizeof(l1)), s->conns[i].held);
    head(&b, "strata_websocket_planned", "gauge", "WebSocket registrations the plan wants, per connection");
    for (int i = 0; i < s->nconns; i++)
        sb_printf(&b, "strata_websocket_planned{connection=\"%d\",feed=\"%s\"} %d\n", i,
                  label(s->conns[i].feed, l1, sizeof(l1)), s->conns[i].used);
    head(&b, "strata_websocket_budget", "gauge", "WebSocket registrations allowed, per connection");
    for (int i = 0; i < s->nconns; i++)
        sb_printf(&b, "strata_websocket_budget{connection=\"%d\",feed=\"%s\"} %d\n", i,
                  label(s->conns[i].feed, l1, sizeof(l1)), s->conns[i].budget);

    static const struct {
        const char *name, *type, *help;
    } per[] = {
        {"strata_strategy_ticks_total", "counter", "Ticks dispatched to the strategy"},
        {"strata_strategy_signals_total", "counter", "Signals the strategy raised"},
        {"strata_strategy_emergencies_total", "counter", "Emergency subscriptions the strategy obtained"},
        {"strata_strategy_faults_total", "counter", "Failed strategy callbacks"},
        {"strata_strategy_memory_bytes", "gauge", "Memory held by the strategy's Lua state"},
        {"strata_strategy_quarantined", "gauge", "1 when the strategy is quarantined"},
        {"strata_strategy_fault_ratio", "gauge", "Faults per call over the strategy's last quarantine_window calls"},
    };
    strategy_histograms(&b, s);
    for (size_t m = 0; m < ST_ARRAY_SIZE(per); m++) {
        head(&b, per[m].name, per[m].type, per[m].help);
        for (size_t i = 0; i < s->nstrategies; i++) {
            const st_strat_info_t *si = &s->strategies[i];
            double v = m == 0 ? (double)si->ticks : m == 1 ? (double)si->signals : m == 2 ? (double)si->emergencies
                     : m == 3 ? (double)si->faults : m == 4 ? (double)si->mem
                     : m == 5 ? !strcmp(si->state, "quarantined") : si->fault_rate;
            sb_printf(&b, "%s{strategy=\"%s\",kind=\"%s\"} %.17g\n", per[m].name, label(si->name, l1, sizeof(l1)),
                      label(si->kind, l2, sizeof(l2)), v);
        }
    }
    return b.p;
}
