#include "report.h"
#include "core/timefmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const st_fault_cause_names[ST_FAULT_CAUSES] = {"error", "budget", "memory"};

void st_format_count(uint64_t v, char *buf, size_t len)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 1 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0 && o + 2 < len) buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
}

static void close_row(st_report_t *r, const st_counters_t *c)
{
    if (r->n == 0) return;
    st_report_row_t *row = &r->rows[r->n - 1];
    row->end = c->now;
    row->trades = c->market_trades - row->at_start.market_trades;
    row->halts = c->halts - row->at_start.halts;
    row->bursts = c->bursts - row->at_start.bursts;
    row->ticks = c->ticks_delivered - row->at_start.ticks_delivered;
}

static void open_row(st_report_t *r, const st_counters_t *c, const char *slot)
{
    if (r->n == ST_ARRAY_SIZE(r->rows)) { /* keep the table bounded on very long runs */
        memmove(r->rows, r->rows + 1, sizeof(r->rows) - sizeof(r->rows[0]));
        r->n--;
    }
    st_report_row_t *row = &r->rows[r->n++];
    memset(row, 0, sizeof(*row));
    snprintf(row->slot, sizeof(row->slot), "%s", slot ? slot : "-");
    row->start = c->now;
    row->at_start = *c;
}

void st_report_sample(st_report_t *r, const st_counters_t *c)
{
    if (r->nsamples && r->samples[r->nsamples - 1].at == c->now) r->nsamples--; /* the newer view of that moment */
    if (r->nsamples == ST_ARRAY_SIZE(r->samples)) return;
    r->samples[r->nsamples++] = (st_report_sample_t){c->now, (int32_t)c->tier1, (int32_t)c->tier2,
                                                     (int32_t)c->indices, (int32_t)c->ws_used, (int32_t)c->ws_budget};
}

void st_report_begin(st_report_t *r, const st_counters_t *c)
{
    memset(r, 0, sizeof(*r));
    r->sim_start = c->now;
    r->mono_start = st_mono_now();
    open_row(r, c, c->slot);
    st_report_sample(r, c);
}

void st_report_slot(st_report_t *r, const st_counters_t *c, const char *slot)
{
    close_row(r, c);
    open_row(r, c, slot);
    st_report_sample(r, c);
}

typedef struct {
    const st_instrument_t *ins;
    double change, value;
} mover_t;

static int by_change_desc(const void *a, const void *b)
{
    double x = ((const mover_t *)a)->change, y = ((const mover_t *)b)->change;
    return (x < y) - (x > y);
}

static int by_value_desc(const void *a, const void *b)
{
    double x = ((const mover_t *)a)->value, y = ((const mover_t *)b)->value;
    return (x < y) - (x > y);
}

static void print_movers(FILE *out, const char *title, const mover_t *m, size_t n, bool value)
{
    fprintf(out, "%-14s", title);
    for (size_t i = 0; i < n; i++) {
        if (value)
            fprintf(out, "%s %s %s %.0fB KRW", i ? "," : "", m[i].ins->code, m[i].ins->name,
                    m[i].value / 1e9);
        else
            fprintf(out, "%s %s %s %+.1f%%", i ? "," : "", m[i].ins->code, m[i].ins->name,
                    m[i].change * 100);
    }
    fputc('\n', out);
}

static void print_market(FILE *out, const st_report_day_t *days, size_t ndays)
{
    mover_t *mv = st_xcalloc(ndays ? ndays : 1, sizeof(*mv));
    size_t n = 0, gaps_up = 0, gaps_down = 0, halted_syms = 0;
    for (size_t i = 0; i < ndays; i++) {
        const st_report_day_t *s = &days[i];
        if (s->trades == 0 || s->prev_close <= 0) continue;
        mv[n++] = (mover_t){s->ins, s->price / s->prev_close - 1, s->cum_value};
        if (s->gap >= 0.03) gaps_up++;
        if (s->gap <= -0.03) gaps_down++;
        if (s->halts) halted_syms++;
    }
    if (n == 0) {
        fprintf(out, "market: no trades yet (the session has not opened)\n");
        free(mv);
        return;
    }
    size_t k = n < 5 ? n : 5;
    qsort(mv, n, sizeof(*mv), by_change_desc);
    print_movers(out, "top gainers:", mv, k, false);
    mover_t losers[5];
    for (size_t i = 0; i < k; i++) losers[i] = mv[n - 1 - i];
    print_movers(out, "top losers:", losers, k, false);
    qsort(mv, n, sizeof(*mv), by_value_desc);
    print_movers(out, "most traded:", mv, k, true);
    fprintf(out, "opening gaps of 3%% or more: %zu up, %zu down; symbols halted by VI: %zu of %zu traded\n",
            gaps_up, gaps_down, halted_syms, n);
    free(mv);
}

/* 950 → "950ns", 2100 → "2.1us", 3400000 → "3.4ms"; 0 → "-". */
static void format_ns(uint64_t ns, char *buf, size_t len)
{
    if (!ns) snprintf(buf, len, "-");
    else if (ns < 1000) snprintf(buf, len, "%lluns", (unsigned long long)ns);
    else if (ns < 1000000) snprintf(buf, len, "%.1fus", (double)ns / 1e3);
    else snprintf(buf, len, "%.1fms", (double)ns / 1e6);
}

void st_report_strategies(FILE *out, const st_strat_info_t *s, size_t n, bool timing)
{
    if (!n) return;
    fprintf(out, "\n%-20s %-4s %-12s %12s %8s %6s %7s %8s%s\n", "strategy", "kind", "state", "ticks", "signals", "emerg",
            "faults", "watched", timing ? "  tick p99" : "");
    for (size_t i = 0; i < n; i++) {
        char ticks[32], p99[32] = "";
        st_format_count(s[i].ticks, ticks, sizeof(ticks));
        if (timing) {
            p99[0] = ' ', p99[1] = ' ';
            format_ns(s[i].callback_p99_ns, p99 + 2, sizeof(p99) - 2);
        }
        fprintf(out, "%-20s %-4s %-12s %12s %8llu %6llu %7llu %8zu%s\n", s[i].name, s[i].kind, s[i].state, ticks,
                (unsigned long long)s[i].signals, (unsigned long long)s[i].emergencies,
                (unsigned long long)s[i].faults, s[i].watched, p99);
    }
}

void st_report_finish(st_report_t *r, const st_counters_t *c, FILE *out, const st_report_day_t *days, size_t ndays)
{
    close_row(r, c);
    char from[32], to[32], span[32];
    st_format_datetime(r->sim_start, from, sizeof(from), false);
    st_format_tod(c->now, to, sizeof(to));
    st_format_duration((c->now - r->sim_start) / ST_SEC * ST_SEC, span, sizeof(span));
    double wall = (double)(st_mono_now() - r->mono_start) / 1e6;
    fprintf(out, "\nstrata session summary: %s -> %s (%s of market time in %.1f s of wall time)\n",
            from, to, span, wall);
    fprintf(out, "%-16s %-8s %-8s %12s %8s %8s %10s\n", "time slot", "from", "to", "trades", "halts",
            "bursts", "ticks");
    uint64_t tt = 0, th = 0, tb = 0, tk = 0;
    for (size_t i = 0; i < r->n; i++) {
        const st_report_row_t *row = &r->rows[i];
        char a[16], b[16], trades[32], ticks[32];
        st_format_tod(row->start, a, sizeof(a));
        st_format_tod(row->end, b, sizeof(b));
        st_format_count(row->trades, trades, sizeof(trades));
        st_format_count(row->ticks, ticks, sizeof(ticks));
        fprintf(out, "%-16s %-8s %-8s %12s %8llu %8llu %10s\n", row->slot, a, b, trades,
                (unsigned long long)row->halts, (unsigned long long)row->bursts, ticks);
        tt += row->trades, th += row->halts, tb += row->bursts, tk += row->ticks;
    }
    char trades[32], ticks[32];
    st_format_count(tt, trades, sizeof(trades));
    st_format_count(tk, ticks, sizeof(ticks));
    fprintf(out, "%-16s %-8s %-8s %12s %8llu %8llu %10s\n", "total", "", "", trades,
            (unsigned long long)th, (unsigned long long)tb, ticks);
    fprintf(out, "monitored %lld (tier 1: %lld, tier 2: %lld, tier 3: %lld, indices: %lld) | websocket "
                 "%lld/%lld | plan changes %llu, emergencies %llu | signals %llu | api %llu calls\n",
            (long long)c->monitored, (long long)c->tier1, (long long)c->tier2, (long long)c->tier3,
            (long long)c->indices, (long long)c->ws_used, (long long)c->ws_budget,
            (unsigned long long)c->plan_changes, (unsigned long long)c->emergencies,
            (unsigned long long)c->signals, (unsigned long long)c->api_calls);
    char ratio[80];
    if (c->subs_messages && c->subs_requests >= c->subs_messages)
        snprintf(ratio, sizeof(ratio), "%.1fx fewer", (double)c->subs_requests / (double)c->subs_messages);
    else if (c->subs_messages) /* resubscriptions after reconnects are messages without a change */
        snprintf(ratio, sizeof(ratio), "%.1fx more: resubscriptions",
                 (double)c->subs_messages / (double)ST_MAX2(c->subs_requests, 1));
    else
        snprintf(ratio, sizeof(ratio), "none sent");
    fprintf(out, "subscriptions: %llu desired-set changes sent in %llu messages (%s), "
                 "request-to-send p99 %.0f ms, max %.0f ms, limiter at %.0f%%, violations %llu\n",
            (unsigned long long)c->subs_requests, (unsigned long long)c->subs_messages, ratio,
            (double)c->subs_latency_p99 / 1e3, (double)c->subs_latency_max / 1e3, c->penalty * 100,
            (unsigned long long)c->violations);
    if (c->sessions > 0)
        fprintf(out, "sessions: %lld of %lld up at the end, %llu lost and reconnected (%llu stalled), %llu malformed "
                     "frames dropped\n",
                (long long)c->sessions_open, (long long)c->sessions, (unsigned long long)c->reconnects,
                (unsigned long long)c->stalls, (unsigned long long)c->malformed);
    if (c->sessions > 0) { /* REST polling: the staleness each priority got */
        static const char *const names[] = {"critical", "high", "medium", "low", "background", "fallback"};
        fprintf(out, "polling: %lld symbols by REST, intervals stretched x%.2f; mean time between refreshes:",
                (long long)c->poll_symbols, c->poll_stretch < 1 ? 1.0 : c->poll_stretch);
        int shown = 0;
        for (size_t k = 0; k < ST_ARRAY_SIZE(c->poll_age); k++)
            if (c->poll_age[k] > 0) fprintf(out, " %s %.1f s", names[k], (double)c->poll_age[k] / ST_SEC), shown++;
        fprintf(out, "%s\n", shown ? "" : " none refreshed twice yet");
    }
    if (days) print_market(out, days, ndays);
    fflush(out);
}
