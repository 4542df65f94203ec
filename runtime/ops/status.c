#include "status.h"
#include "core/res.h"
#include "core/timefmt.h"

#include <cjson/cJSON.h>
#include <math.h>
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

void st_status_add_strategies(cJSON *o, const st_status_t *s)
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
        cJSON_AddItemToArray(strats, e);
    }
}

char *st_status_json(const st_status_t *s)
{
    const st_counters_t *c = &s->c;
    cJSON *o = cJSON_CreateObject();
    char when[40];
    st_format_datetime(c->now, when, sizeof(when), true);
    cJSON_AddStringToObject(o, "time", when);
    num(o, "generation", (double)s->generation);
    num(o, "uptime_seconds", s->uptime);
    num(o, "total_stocks", (double)s->total_stocks);
    num(o, "total_indices", (double)s->total_indices);
    num(o, "monitored", (double)c->monitored);

    cJSON *slot = cJSON_AddObjectToObject(o, "time_slot");
    cJSON_AddStringToObject(slot, "name", s->policy.name ? s->policy.name : "");
    cJSON *pol = cJSON_AddObjectToObject(slot, "policy");
    num(pol, "realtime", s->policy.realtime);
    num(pol, "semi_realtime", s->policy.semi);
    num(pol, "indices", s->policy.indices);
    num(pol, "reserve", s->policy.reserve);
    num(pol, "poll_scale", s->policy.poll_scale);

    cJSON *tiers = cJSON_AddObjectToObject(o, "tiers");
    num(tiers, "realtime", (double)c->tier1);
    num(tiers, "semi_realtime", (double)c->tier2);
    num(tiers, "polling", (double)c->tier3);
    num(tiers, "indices", (double)c->indices);

    cJSON *ws = cJSON_AddObjectToObject(o, "websocket_status");
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
    num(ws, "sessions", (double)c->sessions);
    num(ws, "sessions_open", (double)c->sessions_open);
    num(ws, "reconnects", (double)c->reconnects);
    cJSON_AddItemToObject(ws, "connections", conns);

    cJSON *api = cJSON_AddObjectToObject(o, "api_stats");
    num(api, "total_calls", (double)c->api_calls);
    num(api, "successful_calls", (double)c->api_ok);
    num(api, "success_rate", c->api_calls ? (double)c->api_ok / (double)c->api_calls : 1.0);
    num(api, "calls_in_last_second", c->api_last_second);
    num(api, "limit_per_second", c->api_limit);
    num(api, "auth_failures", (double)c->auth_failures);

    cJSON *co = cJSON_AddObjectToObject(o, "coalescer");
    num(co, "requests", (double)c->subs_requests);
    num(co, "messages", (double)c->subs_messages);
    num(co, "latency_p99_ms", (double)c->subs_latency_p99 / ST_MSEC);
    num(co, "latency_max_ms", (double)c->subs_latency_max / ST_MSEC);
    cJSON *lim = cJSON_AddObjectToObject(o, "limiter");
    num(lim, "penalty", c->penalty);
    num(lim, "margin_ms", (double)c->margin / ST_MSEC);
    num(lim, "violations", (double)c->violations);

    cJSON *plan = cJSON_AddObjectToObject(o, "plan");
    num(plan, "changes", (double)s->plan.changes);
    num(plan, "replans", (double)s->plan.replans);
    num(plan, "rebalances", (double)s->plan.rebalances);
    num(plan, "promotions", (double)s->promotions);
    num(plan, "demotions", (double)s->demotions);
    num(plan, "emergencies", (double)s->plan.emergencies_ok);
    num(plan, "emergencies_refused", (double)s->plan.emergencies_failed);
    num(plan, "excluded", s->plan.excluded);

    cJSON *sig = cJSON_AddObjectToObject(o, "signals");
    num(sig, "total", (double)s->signals.emitted);
    num(sig, "suppressed", (double)s->signals.suppressed);
    num(sig, "dropped", (double)s->signals.dropped);
    num(sig, "delivered", (double)s->signals.delivered);
    num(sig, "queued", (double)s->signals.queued);

    st_status_add_strategies(o, s);

    cJSON *feeds = cJSON_AddObjectToObject(o, "market");
    num(feeds, "ticks", (double)c->ticks_delivered);
    num(feeds, "trades", (double)c->market_trades);
    num(feeds, "halts", (double)c->halts);
    num(feeds, "malformed_frames", (double)c->malformed);

    cJSON *rl = cJSON_AddObjectToObject(o, "reloads");
    num(rl, "ok", (double)s->reloads_ok);
    num(rl, "failed", (double)s->reloads_failed);

    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
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

char *st_status_metrics(const st_status_t *s)
{
    const st_counters_t *c = &s->c;
    sb_t b = {st_xmalloc(4096), 0, 4096};
    char l1[128], l2[128];
    metric(&b, "strata_up", "gauge", "1 while strata runs", 1);
    metric(&b, "strata_uptime_seconds", "gauge", "Wall time since the start", s->uptime);
    metric(&b, "strata_config_generation", "gauge", "Config generation running (1 + successful reloads)",
           (double)s->generation);
    head(&b, "strata_reloads_total", "counter", "SIGHUP reloads by result");
    sb_printf(&b, "strata_reloads_total{result=\"ok\"} %llu\nstrata_reloads_total{result=\"failed\"} %llu\n",
              (unsigned long long)s->reloads_ok, (unsigned long long)s->reloads_failed);
    metric(&b, "strata_universe_stocks", "gauge", "Stocks in the universe", (double)s->total_stocks);
    metric(&b, "strata_universe_indices", "gauge", "Indices in the universe", (double)s->total_indices);
    metric(&b, "strata_monitored_symbols", "gauge", "Symbols holding any tier", (double)c->monitored);
    head(&b, "strata_time_slot_info", "gauge", "The time slot in force (value 1)");
    sb_printf(&b, "strata_time_slot_info{slot=\"%s\"} 1\n", label(s->policy.name, l1, sizeof(l1)));
    head(&b, "strata_tier_symbols", "gauge", "Symbols per tier (1 realtime, 2 semi-realtime, 3 polling)");
    sb_printf(&b, "strata_tier_symbols{tier=\"1\"} %lld\nstrata_tier_symbols{tier=\"2\"} %lld\n"
                  "strata_tier_symbols{tier=\"3\"} %lld\n",
              (long long)c->tier1, (long long)c->tier2, (long long)c->tier3);
    metric(&b, "strata_index_streams", "gauge", "Index streams held", (double)c->indices);

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
    metric(&b, "strata_websocket_sessions_open", "gauge", "Network WebSocket sessions up", (double)c->sessions_open);
    metric(&b, "strata_websocket_reconnects_total", "counter", "Sessions lost (dropped, stalled, refused)",
           (double)c->reconnects);

    metric(&b, "strata_api_calls_total", "counter", "REST calls made", (double)c->api_calls);
    metric(&b, "strata_auth_failures_total", "counter", "Times a venue refused the credentials (app key, secret)",
           (double)c->auth_failures);
    metric(&b, "strata_api_calls_ok_total", "counter", "REST calls answered successfully", (double)c->api_ok);
    metric(&b, "strata_api_calls_last_second", "gauge", "REST calls in the last second", c->api_last_second);
    metric(&b, "strata_api_limit_per_second", "gauge", "REST calls allowed per second", c->api_limit);

    metric(&b, "strata_subscription_requests_total", "counter", "Desired-set changes asked of the coalescers",
           (double)c->subs_requests);
    metric(&b, "strata_subscription_messages_total", "counter", "Subscription messages sent to venues",
           (double)c->subs_messages);
    metric(&b, "strata_subscription_latency_p99_seconds", "gauge", "Request-to-send latency, 99th percentile",
           (double)c->subs_latency_p99 / ST_SEC);
    metric(&b, "strata_limiter_penalty_ratio", "gauge", "Lowest limiter rate over its configured rate (1 = full)",
           c->penalty);
    metric(&b, "strata_limiter_margin_seconds", "gauge",
           "Widest timing margin the limiters keep under the venue's windows (wider after a refusal)",
           (double)c->margin / ST_SEC);
    metric(&b, "strata_venue_limit_violations_total", "counter", "Venue limits exceeded (must stay 0)",
           (double)c->violations);

    metric(&b, "strata_plan_changes_total", "counter", "Tier changes made by the planner", (double)s->plan.changes);
    metric(&b, "strata_plan_promotions_total", "counter", "Symbols moved into tier 1 or 2 from a worse tier",
           (double)s->promotions);
    metric(&b, "strata_plan_demotions_total", "counter", "Symbols moved out of tier 1 or 2 to a worse tier",
           (double)s->demotions);
    metric(&b, "strata_rebalances_total", "counter", "Performance rebalances run", (double)s->plan.rebalances);
    metric(&b, "strata_emergencies_total", "counter", "Emergency subscriptions granted", (double)s->plan.emergencies_ok);
    metric(&b, "strata_emergencies_refused_total", "counter", "Emergency subscriptions refused",
           (double)s->plan.emergencies_failed);

    metric(&b, "strata_ticks_total", "counter", "Normalized ticks handed to strategies", (double)c->ticks_delivered);
    metric(&b, "strata_malformed_frames_total", "counter", "Venue frames dropped as malformed", (double)c->malformed);

    metric(&b, "strata_signals_total", "counter", "Signals emitted (past the cooldown)", (double)s->signals.emitted);
    metric(&b, "strata_signals_suppressed_total", "counter", "Signals suppressed by the cooldown",
           (double)s->signals.suppressed);
    metric(&b, "strata_signals_dropped_total", "counter", "Signals a webhook lost (queue full, retries exhausted)",
           (double)s->signals.dropped);
    metric(&b, "strata_signals_delivered_total", "counter", "Signals a webhook accepted", (double)s->signals.delivered);
    metric(&b, "strata_signals_queued", "gauge", "Signals waiting for a webhook", (double)s->signals.queued);

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
