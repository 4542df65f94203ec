#include "symbols.h"
#include "core/timefmt.h"
#include "subs/ledger.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the query -------------------------------------------------------------------------------- */

/* n bytes of s into out, cut to fit. */
static void copy(const char *s, size_t n, char *out, size_t len)
{
    snprintf(out, len, "%.*s", (int)n, s);
}

int st_symbols_filter_parse(const char *query, st_symbols_filter_t *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    f->tier = -1;
    for (const char *p = query ? query : ""; *p;) {
        size_t n = strcspn(p, "&"), k = strcspn(p, "=");
        if (n == 0) { /* an empty part ("a=1&&b=2") */
            p++;
            continue;
        }
        if (k > n) k = n;
        char key[16], val[64];
        size_t vlen = n - k - (k < n);
        copy(p, k, key, sizeof(key));
        copy(p + k + (k < n), vlen, val, sizeof(val));
        if (vlen >= sizeof(val)) {
            snprintf(err, errlen, "%.*s: a value of at most %zu bytes, got %zu", (int)ST_MIN2(k, (size_t)32), p,
                     sizeof(val) - 1, vlen);
            return -EINVAL;
        }
        if (!strcmp(key, "tier")) {
            if (strlen(val) != 1 || val[0] < '0' || val[0] > '3') {
                snprintf(err, errlen, "tier=%s: expected 0 (none), 1, 2 or 3", val);
                return -EINVAL;
            }
            f->tier = val[0] - '0';
        } else if (!strcmp(key, "strategy")) {
            snprintf(f->strategy, sizeof(f->strategy), "%s", val);
        } else if (!strcmp(key, "q")) {
            snprintf(f->q, sizeof(f->q), "%s", val);
        } else {
            snprintf(err, errlen, "unknown filter \"%.*s\": tier, strategy or q", (int)k, p);
            return -EINVAL;
        }
        p += n + (p[n] == '&');
    }
    return 0;
}

/* --- one symbol ------------------------------------------------------------------------------- */

static void add_time(cJSON *o, const char *k, st_time_t t)
{
    char buf[40];
    if (!t) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    st_format_datetime(t, buf, sizeof(buf), true);
    cJSON_AddStringToObject(o, k, buf);
}

static void add_int_or_null(cJSON *o, const char *k, int v, bool present)
{
    if (present) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

static const char *prio_name(int prio)
{
    return prio >= 0 && prio < ST_PRIO_COUNT ? st_priority_names[prio] : NULL;
}

static void add_requesters(cJSON *o, const st_symbols_src_t *src, st_sym_t sym)
{
    st_plan_demand_t d[ST_PLAN_MAX_REQUESTERS];
    size_t n = st_planner_demands(src->planner, sym, d, ST_ARRAY_SIZE(d));
    cJSON *a = cJSON_AddArrayToObject(o, "requesters");
    for (size_t i = 0; i < n && i < ST_ARRAY_SIZE(d); i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "name", d[i].requester);
        cJSON_AddStringToObject(r, "priority", prio_name(d[i].prio));
        if (d[i].emergency) cJSON_AddBoolToObject(r, "emergency", true);
        cJSON_AddItemToArray(a, r);
    }
}

static cJSON *symbol_object(const st_symbols_src_t *src, const st_instrument_t *ins)
{
    const st_plan_entry_t *e = st_planner_entry(src->planner, ins->sym);
    const st_sv_sym_t *v = st_symview_get(src->view, ins->sym);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "code", ins->code);
    cJSON_AddStringToObject(o, "name", ins->name);
    cJSON_AddStringToObject(o, "sector", ins->sector < src->universe->nsectors ? src->universe->sectors[ins->sector] : "");
    cJSON_AddNumberToObject(o, "tier", e ? e->tier : 0);
    cJSON_AddBoolToObject(o, "index", e && (e->flags & ST_PLAN_INDEX));
    add_int_or_null(o, "connection", e ? e->conn : 0, e && e->conn != ST_CONN_NONE);
    const char *prio = e ? prio_name(e->prio) : NULL;
    if (prio) cJSON_AddStringToObject(o, "priority", prio);
    else cJSON_AddNullToObject(o, "priority");
    add_requesters(o, src, ins->sym);
    cJSON_AddNumberToObject(o, "score", e ? e->score : 0);
    cJSON_AddBoolToObject(o, "pinned", e && (e->flags & ST_PLAN_PINNED));
    cJSON_AddBoolToObject(o, "emergency", e && (e->flags & ST_PLAN_EMERGENCY));
    add_time(o, "since", e && e->tier ? e->since : 0);
    if (e && e->since) cJSON_AddStringToObject(o, "last_move", st_plan_why_names[e->why]); /* it has moved */
    else cJSON_AddNullToObject(o, "last_move");
    if (e && e->tier == ST_TIER_POLL) cJSON_AddNumberToObject(o, "poll_interval_s", (double)e->poll / ST_SEC);
    else cJSON_AddNullToObject(o, "poll_interval_s");
    add_time(o, "last_tick", v ? v->last_tick : 0);
    if (v && v->last_tick) {
        cJSON_AddNumberToObject(o, "last_price", v->last_price);
        cJSON_AddNumberToObject(o, "staleness_s", (double)(src->now - v->last_tick) / ST_SEC);
    } else {
        cJSON_AddNullToObject(o, "last_price");
        cJSON_AddNullToObject(o, "staleness_s");
    }
    cJSON_AddNumberToObject(o, "ticks", v ? (double)v->ticks : 0);
    cJSON_AddNumberToObject(o, "ticks_per_minute", v ? st_symview_per_minute(v, src->now) : 0);
    bool excluded = e && (e->flags & ST_PLAN_EXCLUDED);
    cJSON_AddBoolToObject(o, "excluded", excluded);
    cJSON_AddNumberToObject(o, "failures", e ? e->failures : 0);
    if (excluded) {
        char why[96];
        snprintf(why, sizeof(why), "%u data failures in a row (risk.failure_threshold)", (unsigned)e->failures);
        cJSON_AddStringToObject(o, "excluded_why", why);
        add_time(o, "excluded_until", e->excluded_until);
    }
    return o;
}

/* --- the listing ------------------------------------------------------------------------------ */

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *h = hay; *h; h++)
        if (!strncasecmp(h, needle, n)) return true;
    return n == 0;
}

static bool wanted(const st_symbols_src_t *src, const st_instrument_t *ins, const st_symbols_filter_t *f)
{
    const st_plan_entry_t *e = st_planner_entry(src->planner, ins->sym);
    int tier = e ? e->tier : 0;
    if (f->tier >= 0 ? tier != f->tier
                     : !(tier || (e && (e->prio != ST_PRIO_NONE || (e->flags & ST_PLAN_EXCLUDED)))))
        return false;
    if (*f->q && !contains_nocase(ins->code, f->q) && !contains_nocase(ins->name, f->q)) return false;
    if (*f->strategy) {
        st_plan_demand_t d[ST_PLAN_MAX_REQUESTERS];
        size_t n = st_planner_demands(src->planner, ins->sym, d, ST_ARRAY_SIZE(d));
        bool asks = false;
        for (size_t i = 0; i < n && i < ST_ARRAY_SIZE(d) && !asks; i++) asks = !strcmp(d[i].requester, f->strategy);
        if (!asks) return false;
    }
    return true;
}

static char *print(cJSON *o)
{
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

char *st_symbols_json(const st_symbols_src_t *src, const st_symbols_filter_t *f)
{
    cJSON *o = cJSON_CreateObject();
    add_time(o, "time", src->now);
    cJSON *count = cJSON_AddNumberToObject(o, "count", 0);
    cJSON *a = cJSON_AddArrayToObject(o, "symbols");
    size_t n = 0;
    for (size_t i = 0; i < src->universe->n; i++) {
        const st_instrument_t *ins = &src->universe->items[i];
        if (!wanted(src, ins, f)) continue;
        cJSON_AddItemToArray(a, symbol_object(src, ins));
        n++;
    }
    cJSON_SetNumberValue(count, (double)n);
    return print(o);
}

typedef struct {
    const st_instrument_t *ins;
    uint32_t rate;
} busy_t;

/* Busiest first, then by code: the same order every time. */
static bool busier(const busy_t *x, const busy_t *y)
{
    return x->rate != y->rate ? x->rate > y->rate : strcmp(x->ins->code, y->ins->code) < 0;
}

char *st_symbols_live_json(const st_symbols_src_t *src, size_t top)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *held = cJSON_AddArrayToObject(o, "held"), *polling = cJSON_AddArrayToObject(o, "polling");
    busy_t *best = st_xcalloc(top + 1, sizeof(*best)); /* the `top` busiest so far, in order */
    size_t nbest = 0;
    for (size_t i = 0; i < src->universe->n; i++) {
        const st_instrument_t *ins = &src->universe->items[i];
        const st_plan_entry_t *e = st_planner_entry(src->planner, ins->sym);
        if (!e) continue;
        if (e->tier == ST_TIER_REALTIME || e->tier == ST_TIER_SEMI) {
            cJSON_AddItemToArray(held, symbol_object(src, ins));
        } else if (e->tier == ST_TIER_POLL && top) { /* a whole market: keep the best, sort nothing */
            const st_sv_sym_t *v = st_symview_get(src->view, ins->sym);
            busy_t b = {ins, v ? st_symview_per_minute(v, src->now) : 0};
            if (nbest == top && !busier(&b, &best[top - 1])) continue;
            size_t k = nbest < top ? nbest++ : top - 1;
            for (; k > 0 && busier(&b, &best[k - 1]); k--) best[k] = best[k - 1];
            best[k] = b;
        }
    }
    for (size_t i = 0; i < nbest; i++) cJSON_AddItemToArray(polling, symbol_object(src, best[i].ins));
    free(best);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static cJSON *event_object(const st_sv_event_t *ev)
{
    cJSON *o = cJSON_CreateObject();
    add_time(o, "at", ev->at);
    cJSON_AddStringToObject(o, "kind", ev->kind < ST_SV_KINDS ? st_sv_kind_names[ev->kind] : "?");
    switch (ev->kind) {
    case ST_SV_TIER:
        cJSON_AddNumberToObject(o, "from", ev->from);
        cJSON_AddNumberToObject(o, "to", ev->to);
        cJSON_AddStringToObject(o, "why", ev->why < ST_WHY_COUNT ? st_plan_why_names[ev->why] : "?");
        add_int_or_null(o, "connection", ev->conn, ev->conn >= 0);
        break;
    case ST_SV_EMERGENCY:
        cJSON_AddStringToObject(o, "strategy", ev->who);
        cJSON_AddNumberToObject(o, "score", ev->value);
        cJSON_AddBoolToObject(o, "granted", ev->ok);
        if (!ev->ok) cJSON_AddStringToObject(o, "why", ev->text);
        break;
    case ST_SV_SIGNAL:
        cJSON_AddStringToObject(o, "strategy", ev->who);
        cJSON_AddStringToObject(o, "side", ev->text);
        cJSON_AddNumberToObject(o, "strength", ev->value);
        break;
    default: /* ST_SV_SUBSCRIPTION */
        cJSON_AddStringToObject(o, "op", ev->op ? ev->op : "?");
        cJSON_AddStringToObject(o, "channel", ev->channel < ST_CH_COUNT ? st_channel_names[ev->channel] : "?");
        add_int_or_null(o, "connection", ev->conn, ev->conn >= 0);
        break;
    }
    return o;
}

char *st_symbols_one_json(const st_symbols_src_t *src, const char *code)
{
    const st_instrument_t *ins = NULL;
    for (size_t i = 0; i < src->universe->n && !ins; i++)
        if (!strcmp(src->universe->items[i].code, code)) ins = &src->universe->items[i];
    if (!ins) return NULL;
    cJSON *o = symbol_object(src, ins);
    const st_sv_sym_t *v = st_symview_get(src->view, ins->sym);
    cJSON *h = cJSON_AddArrayToObject(o, "history");
    for (size_t i = 0; v && i < st_symview_nevents(v); i++) cJSON_AddItemToArray(h, event_object(st_symview_event(v, i)));
    cJSON_AddNumberToObject(o, "history_dropped", v ? (double)(v->nevents - st_symview_nevents(v)) : 0);
    cJSON *top = cJSON_CreateObject();
    add_time(top, "time", src->now);
    cJSON_AddItemToObject(top, "symbol", o);
    return print(top);
}
