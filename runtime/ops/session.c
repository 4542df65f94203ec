#include "session.h"
#include "core/log.h"
#include "core/timefmt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Mean registrations used over the samples, and the peak. */
static void ws_use(const st_report_t *r, double *mean, int *peak, int *budget)
{
    double sum = 0;
    *peak = 0, *budget = 0;
    for (size_t i = 0; i < r->nsamples; i++) {
        sum += r->samples[i].ws_used;
        if (r->samples[i].ws_used > *peak) *peak = r->samples[i].ws_used;
        if (r->samples[i].ws_budget > *budget) *budget = r->samples[i].ws_budget;
    }
    *mean = r->nsamples ? sum / (double)r->nsamples : 0;
}

/* The realtime tiers' use at each sample. */
static void add_over_time(cJSON *o, const st_report_t *r)
{
    char buf[40];
    cJSON *over = cJSON_AddArrayToObject(o, "realtime_over_time");
    for (size_t i = 0; i < r->nsamples; i++) {
        const st_report_sample_t *p = &r->samples[i];
        cJSON *e = cJSON_CreateObject();
        st_format_tod(p->at, buf, sizeof(buf));
        cJSON_AddStringToObject(e, "time", buf);
        cJSON_AddNumberToObject(e, "tier1", p->tier1);
        cJSON_AddNumberToObject(e, "tier2", p->tier2);
        cJSON_AddNumberToObject(e, "indices", p->indices);
        cJSON_AddNumberToObject(e, "ws_used", p->ws_used);
        cJSON_AddItemToArray(over, e);
    }
}

void st_session_base_take(st_session_base_t *b, int32_t day, const st_status_t *s, const st_signals_t *sig)
{
    memset(b, 0, sizeof(*b));
    b->day = day;
    b->s = *s;
    b->s.strategies = NULL, b->s.nstrategies = 0;
    for (size_t i = 0; sig && i < st_signals_strategies(sig) && i < ST_SESSION_MAX_STRATEGIES; i++)
        st_signals_strategy(sig, i, &b->strategy_signals[b->nstrategies++]);
}

/* The day's figures: s less what they were at the day's start. */
static void day_figures(const st_status_t *s, const st_session_base_t *b, st_status_t *d)
{
    *d = *s;
    if (!b) return;
    const st_status_t *o = &b->s;
    d->c.api_calls -= o->c.api_calls, d->c.api_ok -= o->c.api_ok;
    d->c.market_trades -= o->c.market_trades, d->c.ticks_delivered -= o->c.ticks_delivered;
    d->c.halts -= o->c.halts, d->c.signals -= o->c.signals;
    d->signals.emitted -= o->signals.emitted, d->signals.suppressed -= o->signals.suppressed;
    d->signals.dropped -= o->signals.dropped;
    for (int h = 0; h < 24; h++) d->signals.per_hour[h] -= o->signals.per_hour[h];
    d->promotions -= o->promotions, d->demotions -= o->demotions;
    d->plan.emergencies_ok -= o->plan.emergencies_ok, d->plan.emergencies_failed -= o->plan.emergencies_failed;
    d->plan.changes -= o->plan.changes, d->plan.rebalances -= o->plan.rebalances;
}

/* A strategy's signals since the day's start. */
static uint64_t strategy_signals(const st_signals_t *sig, const st_session_base_t *b, size_t i, const char **name)
{
    uint64_t n;
    *name = st_signals_strategy(sig, i, &n);
    return b && i < b->nstrategies ? n - b->strategy_signals[i] : n;
}

/* The counters since the process started, next to the day's. */
static void add_since_start(cJSON *o, const st_status_t *s)
{
    cJSON *t = cJSON_AddObjectToObject(o, "since_start");
    cJSON_AddNumberToObject(t, "signals", (double)s->signals.emitted);
    cJSON_AddNumberToObject(t, "api_calls", (double)s->c.api_calls);
    cJSON_AddNumberToObject(t, "api_ok", (double)s->c.api_ok);
    cJSON_AddNumberToObject(t, "market_trades", (double)s->c.market_trades);
    cJSON_AddNumberToObject(t, "ticks", (double)s->c.ticks_delivered);
    cJSON_AddNumberToObject(t, "promotions", (double)s->promotions);
    cJSON_AddNumberToObject(t, "emergencies", (double)s->plan.emergencies_ok);
    cJSON_AddNumberToObject(t, "plan_changes", (double)s->plan.changes);
    cJSON_AddNumberToObject(t, "reloads", (double)s->reloads_ok);
}

/* Signals: totals, per hour of the day, per strategy. */
static void add_signals(cJSON *o, const st_status_t *s, const st_session_base_t *b, const st_signals_t *sig)
{
    char buf[40];
    cJSON *sg = cJSON_AddObjectToObject(o, "signals");
    cJSON_AddNumberToObject(sg, "total", (double)s->signals.emitted);
    cJSON_AddNumberToObject(sg, "suppressed", (double)s->signals.suppressed);
    cJSON_AddNumberToObject(sg, "dropped", (double)s->signals.dropped);
    cJSON *hours = cJSON_AddObjectToObject(sg, "per_hour");
    for (int h = 0; h < 24; h++) {
        if (!s->signals.per_hour[h]) continue;
        snprintf(buf, sizeof(buf), "%02d", h);
        cJSON_AddNumberToObject(hours, buf, (double)s->signals.per_hour[h]);
    }
    cJSON *per = cJSON_AddObjectToObject(sg, "per_strategy");
    for (size_t i = 0; sig && i < st_signals_strategies(sig); i++) {
        const char *name;
        uint64_t n = strategy_signals(sig, b, i, &name);
        cJSON_AddNumberToObject(per, name, (double)n);
    }
}

/* Each time slot's span and activity (the running one up to now). */
static void add_slots(cJSON *o, const st_report_t *r, const st_counters_t *c)
{
    char buf[40];
    cJSON *slots = cJSON_AddArrayToObject(o, "time_slots");
    for (size_t i = 0; i < r->n; i++) {
        const st_report_row_t *row = &r->rows[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "slot", row->slot);
        st_format_tod(row->start, buf, sizeof(buf));
        cJSON_AddStringToObject(e, "from", buf);
        bool open = row->end == 0; /* the slot running now */
        st_format_tod(open ? c->now : row->end, buf, sizeof(buf));
        cJSON_AddStringToObject(e, "to", buf);
        cJSON_AddNumberToObject(e, "trades", (double)(open ? c->market_trades - row->at_start.market_trades : row->trades));
        cJSON_AddNumberToObject(e, "ticks", (double)(open ? c->ticks_delivered - row->at_start.ticks_delivered : row->ticks));
        cJSON_AddItemToArray(slots, e);
    }
}

char *st_session_json(const st_report_t *r, const st_status_t *total, const st_session_base_t *base,
                      const st_signals_t *sig, const st_session_proc_t *proc)
{
    st_status_t day;
    day_figures(total, base, &day);
    const st_status_t *s = &day;
    const st_counters_t *c = &s->c;
    cJSON *o = cJSON_CreateObject();
    char buf[40];
    cJSON *sess = cJSON_AddObjectToObject(o, "session");
    st_format_date(base ? base->day : st_local_day(r->sim_start), buf, sizeof(buf));
    cJSON_AddStringToObject(sess, "date", buf);
    st_format_datetime(r->sim_start, buf, sizeof(buf), false);
    cJSON_AddStringToObject(sess, "start", buf);
    st_format_datetime(c->now, buf, sizeof(buf), false);
    cJSON_AddStringToObject(sess, "end", buf);
    cJSON_AddNumberToObject(sess, "market_seconds", (double)(c->now - r->sim_start) / ST_SEC);
    cJSON_AddNumberToObject(sess, "wall_seconds", s->uptime);

    cJSON *sym = cJSON_AddObjectToObject(o, "symbols");
    cJSON_AddNumberToObject(sym, "monitored", (double)c->monitored);
    cJSON_AddNumberToObject(sym, "stocks", (double)s->total_stocks);
    cJSON_AddNumberToObject(sym, "indices", (double)s->total_indices);

    double mean;
    int peak, budget;
    ws_use(r, &mean, &peak, &budget);
    cJSON *ws = cJSON_AddObjectToObject(o, "websocket");
    cJSON_AddNumberToObject(ws, "available", budget);
    cJSON_AddNumberToObject(ws, "used_mean", mean);
    cJSON_AddNumberToObject(ws, "used_peak", peak);
    cJSON_AddNumberToObject(ws, "efficiency", budget ? mean / budget : 0);

    add_over_time(o, r);

    add_signals(o, s, base, sig);

    cJSON *api = cJSON_AddObjectToObject(o, "api");
    cJSON_AddNumberToObject(api, "calls", (double)c->api_calls);
    cJSON_AddNumberToObject(api, "ok", (double)c->api_ok);
    cJSON_AddNumberToObject(api, "success_rate", c->api_calls ? (double)c->api_ok / (double)c->api_calls : 1.0);

    cJSON *plan = cJSON_AddObjectToObject(o, "plan");
    cJSON_AddNumberToObject(plan, "promotions", (double)s->promotions);
    cJSON_AddNumberToObject(plan, "demotions", (double)s->demotions);
    cJSON_AddNumberToObject(plan, "emergencies", (double)s->plan.emergencies_ok);
    cJSON_AddNumberToObject(plan, "emergencies_refused", (double)s->plan.emergencies_failed);
    cJSON_AddNumberToObject(plan, "changes", (double)s->plan.changes);
    cJSON_AddNumberToObject(plan, "rebalances", (double)s->plan.rebalances);

    add_slots(o, r, c);

    st_status_add_strategies(o, s, false); /* the report stays the same run after run */
    add_since_start(o, total);
    if (proc) {
        cJSON *pr = cJSON_AddObjectToObject(o, "process");
        cJSON_AddNumberToObject(pr, "rss_kb", (double)proc->rss_kb);
        cJSON_AddNumberToObject(pr, "fds", (double)proc->fds);
        cJSON_AddNumberToObject(pr, "timers", (double)proc->timers);
    }
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

void st_session_log(const st_report_t *r, const st_status_t *total, const st_session_base_t *base, const st_signals_t *sig)
{
    st_status_t day;
    day_figures(total, base, &day);
    const st_status_t *s = &day;
    const st_counters_t *c = &s->c;
    double mean;
    int peak, budget;
    ws_use(r, &mean, &peak, &budget);
    char calls[32], per[512] = "", hours[512] = "";
    st_format_count(c->api_calls, calls, sizeof(calls));
    size_t n = 0;
    for (size_t i = 0; sig && i < st_signals_strategies(sig) && n < sizeof(per); i++) {
        const char *name;
        uint64_t k = strategy_signals(sig, base, i, &name);
        n += (size_t)snprintf(per + n, sizeof(per) - n, "%s%s %llu", i ? ", " : "", name, (unsigned long long)k);
    }
    n = 0;
    for (int h = 0; h < 24 && n < sizeof(hours); h++)
        if (s->signals.per_hour[h])
            n += (size_t)snprintf(hours + n, sizeof(hours) - n, "%s%02dh %llu", n ? ", " : "", h,
                                  (unsigned long long)s->signals.per_hour[h]);
    st_log_info(OUT, "session report: %lld symbols monitored (%zu stocks, %zu indices); websocket %.1f of %d "
                     "registrations used on average (%.0f%%), %d at the peak",
                (long long)c->monitored, s->total_stocks, s->total_indices, mean, budget,
                budget ? 100 * mean / budget : 0.0, peak);
    st_log_info(OUT, "session report: %llu signals%s%s%s, by hour: %s; %llu suppressed, %llu dropped",
                (unsigned long long)s->signals.emitted, *per ? " (" : "", per, *per ? ")" : "", *hours ? hours : "-",
                (unsigned long long)s->signals.suppressed, (unsigned long long)s->signals.dropped);
    st_log_info(OUT, "session report: api %s calls, %.1f%% ok; %llu promotions, %llu demotions, %llu emergencies "
                     "(%llu turned down), %llu plan changes",
                calls, c->api_calls ? 100.0 * (double)c->api_ok / (double)c->api_calls : 100.0,
                (unsigned long long)s->promotions, (unsigned long long)s->demotions,
                (unsigned long long)s->plan.emergencies_ok, (unsigned long long)s->plan.emergencies_failed,
                (unsigned long long)s->plan.changes);
}

int st_session_write(const char *path_template, st_time_t day, const char *json, char *path, size_t pathlen)
{
    struct tm tm;
    st_tz_localtime(NULL, day, &tm);
    if (strftime(path, pathlen, path_template, &tm) == 0) return -ENAMETOOLONG;
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp) return -errno;
    bool ok = fputs(json, fp) >= 0 && fputc('\n', fp) != EOF;
    ok = fclose(fp) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno ? errno : EIO;
        unlink(tmp);
        return -e;
    }
    return 0;
}
