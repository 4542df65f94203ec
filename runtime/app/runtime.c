#include "runtime.h"
#include "cluster.h"
#include "forward.h"
#include "service.h"
#include "core/log.h"
#include "conf/calendar.h"
#include "core/timefmt.h"
#include "feeds/simmkt.h"
#include "record/recfile.h"
#include "subs/ledger.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void record_event(st_runtime_t *rt, st_rec_event_t ev, st_sym_t sym, const char *fmt, ...) ST_PRINTF(4, 5);
static void schedule_close(st_runtime_t *rt);

static void apply_log(const st_config_t *cfg)
{
    const st_log_cfg_t *l = &cfg->runtime.log;
    int rc = st_log_open((st_log_level_t)l->level, (st_log_format_t)l->format, l->file);
    if (rc) st_log_error(CORE, "cannot open log file %s: %s; logging to stderr", l->file, st_strerror(rc));
}

void st_runtime_collect(st_runtime_t *rt, st_counters_t *c)
{
    memset(c, 0, sizeof(*c));
    c->now = st_clock_now(&rt->clock);
    for (size_t i = 0; i < rt->nfeeds; i++) st_feed_sync(rt->feeds[i], c->now);
    c->slot = !rt->day.trading && rt->day.day ? rt->closed_text : rt->slot.slot ? rt->slot.slot->name : NULL;
    for (size_t i = 0; i < rt->nfeeds; i++) { /* each figure added up as ops/status.c's table says */
        st_feed_stats_t fs;
        st_feed_stats(rt->feeds[i], &fs);
        st_status_add_feed(c, &fs, i == 0);
    }
    for (size_t i = 0; i < rt->world->cfg->feeds.n; i++)
        c->api_limit += ST_LIST_AT(rt->world->cfg->feeds, st_feed_cfg_t, i)->rest_rate;
    if (rt->planner) {
        st_plan_stats_t ps;
        st_planner_stats(rt->planner, &ps);
        c->monitored = ps.tier_count[1] + ps.tier_count[2] + ps.tier_count[3] + ps.indices;
        c->tier1 = ps.tier_count[1];
        c->tier2 = ps.tier_count[2];
        c->tier3 = ps.tier_count[3];
        c->indices = ps.indices;
        c->emergencies = ps.emergencies_ok;
        if (rt->signals) {
            st_signals_stats_t ss;
            st_signals_stats(rt->signals, &ss);
            c->signals = ss.emitted;
        }
        c->plan_changes = ps.changes;
        /* The feeds want exactly what the plan says (what the venue holds follows within the
         * coalescer's debounce and pacing): anything else is a bug worth an alert. */
        int64_t planned = 0; /* only feeds the plan subscribes have a ledger that wants anything */
        for (size_t f = 0; f < rt->nfeeds && rt->conn_base; f++)
            if (st_feed_subscribes(rt->feeds[f]))
                for (int k = rt->conn_base[f]; k < rt->conn_base[f] + rt->conn_count[f] && k < ps.nconns; k++)
                    planned += ps.used[k];
        if (planned != c->ws_desired && !rt->mismatch_logged) {
            st_log_alert(PLAN, "feeds want %lld registrations but the plan has %lld",
                         (long long)c->ws_desired, (long long)planned);
            rt->mismatch_logged = true;
        }
        if (c->violations && !rt->violation_logged) {
            st_log_alert(SUBS, "a venue limit was exceeded (%llu violations)", (unsigned long long)c->violations);
            rt->violation_logged = true;
        }
    }
}

/* The planner's settings: everything from the current config, but connections and budgets
 * from the running feeds (lowered by MAX SUBSCRIBE OVER), since a reload keeps the feeds. */
static void planner_cfg(const st_runtime_t *rt, st_planner_cfg_t *pc)
{
    st_planner_cfg_from(pc, rt->world->cfg);
    pc->nconns = rt->conns.nconns;
    memcpy(pc->budget, rt->conns.budget, sizeof(pc->budget));
}

/* A plan change as operations see it: an event in the symbol's history and a log line with its
 * reason — at info when it moves into, out of or within the realtime tiers (an emergency's
 * naming the holders it evicted in the same step: changes[0..n)), at debug between no tier and
 * polling (a whole market's at the start). */
static void note_change(st_runtime_t *rt, const st_plan_change_t *c, const st_plan_change_t *changes, size_t n)
{
    st_symview_add(&rt->view, c->sym, &(st_sv_event_t){.at = c->at, .kind = ST_SV_TIER, .from = c->from_tier,
                                                       .to = c->to_tier, .why = c->why,
                                                       .conn = c->to_conn == ST_CONN_NONE ? -1 : c->to_conn});
    bool realtime = (c->from_tier && c->from_tier <= ST_TIER_SEMI) || (c->to_tier && c->to_tier <= ST_TIER_SEMI);
    st_log_level_t level = realtime ? ST_LL_INFO : ST_LL_DEBUG;
    if (level < st_log_min_level) return;
    char line[400];
    int k = c->from_tier == c->to_tier
                ? snprintf(line, sizeof(line), "%s tier %s, connection %d -> %d (%s", st_symtab_code(&rt->syms, c->sym),
                           st_tier_names[c->to_tier & 3], c->from_conn, c->to_conn, st_plan_why_names[c->why])
                : snprintf(line, sizeof(line), "%s tier %s -> %s (%s", st_symtab_code(&rt->syms, c->sym),
                           st_tier_names[c->from_tier & 3], st_tier_names[c->to_tier & 3], st_plan_why_names[c->why]);
    for (size_t i = 0; i < n && c->why == ST_WHY_EMERGENCY && c->to_tier == ST_TIER_REALTIME; i++) {
        const st_plan_change_t *o = &changes[i]; /* a holder it evicted: out of tier 1-2 for the emergency */
        if (o == c || o->why != ST_WHY_EMERGENCY || !o->from_tier || o->from_tier > ST_TIER_SEMI ||
            (o->to_tier && o->to_tier <= o->from_tier) || k < 0 || (size_t)k >= sizeof(line))
            continue;
        const st_plan_entry_t *e = st_planner_entry(rt->planner, o->sym);
        k += snprintf(line + k, sizeof(line) - (size_t)k, "; evicted %s score %.0f", st_symtab_code(&rt->syms, o->sym),
                      e ? e->score : 0);
    }
    if (k >= 0 && (size_t)k < sizeof(line) - 1) line[k] = ')', line[k + 1] = '\0';
    st_log_(level, ST_SYS_PLAN, "%s", line);
}

/* Hands the planner's pending changes to the feeds that own the connections involved: a feed
 * sees a change when the symbol leaves or enters one of its connections; tier-3 polling and
 * "no tier" go to the first feed (the venue's REST side). */
static void plan_apply(st_runtime_t *rt)
{
    size_t n;
    const st_plan_change_t *ch = st_planner_pending(rt->planner, &n);
    if (n == 0) return;
    if (n > rt->feed_changes_cap) {
        rt->feed_changes_cap = n * 2;
        rt->feed_changes = st_xrealloc(rt->feed_changes, rt->feed_changes_cap * sizeof(*ch));
    }
    for (size_t i = 0; i < n; i++) { /* into or out of the realtime tiers (1 best, no tier worst) */
        int from = ch[i].from_tier ? ch[i].from_tier : 4, to = ch[i].to_tier ? ch[i].to_tier : 4;
        if (to < from && to <= ST_TIER_SEMI) rt->promotions++;
        else if (to > from && from <= ST_TIER_SEMI) rt->demotions++;
        record_event(rt, ST_REV_PLAN, ch[i].sym, "{\"from\":%d,\"to\":%d,\"from_conn\":%d,\"to_conn\":%d,\"why\":\"%s\"}",
                     ch[i].from_tier, ch[i].to_tier, ch[i].from_conn == ST_CONN_NONE ? -1 : ch[i].from_conn,
                     ch[i].to_conn == ST_CONN_NONE ? -1 : ch[i].to_conn, st_plan_why_names[ch[i].why]);
        note_change(rt, &ch[i], ch, n);
        st_redisout_plan(rt->redis, &ch[i], st_symtab_code(&rt->syms, ch[i].sym));
    }
    for (size_t f = 0; f < rt->nfeeds; f++) {
        int lo = rt->conn_base[f], hi = lo + rt->conn_count[f];
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            st_plan_change_t c = ch[i];
            bool from_here = c.from_conn != ST_CONN_NONE && c.from_conn >= lo && c.from_conn < hi;
            bool to_here = c.to_conn != ST_CONN_NONE && c.to_conn >= lo && c.to_conn < hi;
            bool rest = c.to_conn == ST_CONN_NONE && f == 0;
            if (!from_here && !to_here && !rest) continue;
            if (!to_here && !rest) c.to_tier = ST_TIER_NONE, c.to_conn = ST_CONN_NONE; /* leaves us */
            rt->feed_changes[k++] = c;
        }
        if (k) st_feed_apply(rt->feeds[f], rt->feed_changes, k, lo, rt->planner);
    }
    st_planner_drain(rt->planner);
}

int st_runtime_emergency(st_runtime_t *rt, int req, st_sym_t sym, double score, char *why, size_t whylen)
{
    int rc = st_planner_emergency(rt->planner, req, sym, score, st_clock_now(&rt->clock), why, whylen);
    plan_apply(rt);
    return rc;
}

/* The config's own demands: market.watch_universe for every symbol, market.watch items on
 * top, pins exactly as listed. Everything the previous config asked for is withdrawn first,
 * so a symbol dropped from the watch list (or the universe) leaves; inputs take effect at the
 * next replan, so what stays asked for does not move. */
static void apply_watch(st_runtime_t *rt)
{
    const st_world_t *w = rt->world;
    int prio = w->cfg->market.watch_universe; /* ST_PRIO_COUNT = none */
    st_planner_release(rt->planner, rt->req_config);
    for (st_sym_t s = 0; s < rt->syms.n; s++) st_planner_pin(rt->planner, s, false);
    for (size_t i = 0; i < w->universe.n; i++)
        st_planner_demand(rt->planner, rt->req_config, w->universe.items[i].sym, prio);
    for (size_t i = 0; i < w->nwatch; i++) {
        st_planner_demand(rt->planner, rt->req_config, w->watch[i].sym, w->watch[i].priority);
        if (w->watch[i].pinned) st_planner_pin(rt->planner, w->watch[i].sym, true);
    }
}

static void on_rebalance(st_timer_t *t, st_time_t now, void *ctx)
{
    st_runtime_t *rt = ctx;
    int n = st_planner_rebalance(rt->planner, now);
    if (n) st_log_debug(PLAN, "rebalance: %d changes", n);
    plan_apply(rt);
}

static void schedule_rebalance(st_runtime_t *rt)
{
    st_dur_t every = rt->world->cfg->rebalance.interval;
    st_time_t now = st_clock_now(&rt->clock);
    st_time_t mid = st_local_midnight(now);
    st_clock_timer_start(&rt->clock, &rt->rebalance_timer, mid + ((now - mid) / every + 1) * every, every);
}

static void print_status(st_runtime_t *rt)
{
    st_counters_t c;
    st_runtime_collect(rt, &c);
    char line[512];
    st_status_line(&c, line, sizeof(line));
    st_report_sample(&rt->report, &c);
    fprintf(rt->out, "%s\n", line);
    fflush(rt->out);
}

static void print_strategies(st_runtime_t *rt)
{
    size_t n = st_strats_count(rt->strats);
    st_strat_info_t *si = st_xcalloc(n + 1, sizeof(*si));
    for (size_t i = 0; i < n; i++) st_strats_info(rt->strats, i, &si[i]);
    st_report_strategies(rt->out, si, n, false);
    fflush(rt->out);
    free(si);
}

static void on_report(st_timer_t *t, st_time_t now, void *ctx)
{
    print_status(ctx);
}

static void schedule_report(st_runtime_t *rt)
{
    st_dur_t every = rt->world->cfg->runtime.report_interval;
    st_clock_timer_stop(&rt->clock, &rt->report_timer);
    if (every <= 0) return;
    /* Aligned to the interval in local time: 09:00, 09:15, … */
    st_time_t now = st_clock_now(&rt->clock);
    st_time_t mid = st_local_midnight(now);
    st_time_t next = mid + ((now - mid) / every + 1) * every;
    st_clock_timer_start(&rt->clock, &rt->report_timer, next, every);
}

static void apply_policy(st_runtime_t *rt, st_time_t now)
{
    st_policy_t pol;
    st_policy_from_slot(&pol, rt->slot.slot);
    pol.closed = !rt->day.trading;
    st_planner_set_policy(rt->planner, &pol, now);
    plan_apply(rt);
}

/* The policy of a day the market does not trade: nothing held, nothing polled. */
static const st_slot_cfg_t closed_slot = {.name = (char *)"closed", .poll_scale = 1};

/* "closed: holiday Chuseok until 2026-09-28 09:00" / "Saturday until …" for day d of world w
 * (buf: "" on a trading day). */
static void closed_text(const st_world_t *w, const st_day_t *d, char *buf, size_t len)
{
    *buf = '\0';
    if (d->trading) return;
    int32_t next = st_calendar_next_trading(&w->calendar, d->day);
    char until[40] = "";
    if (next != INT32_MIN) {
        st_day_t n;
        st_world_day(w, next, &n);
        st_format_datetime(st_day_start(next) + n.s.open, until, sizeof(until), false);
        until[16] = '\0'; /* to the minute */
    }
    bool weekend = st_calendar_entry(&w->calendar, d->day) == NULL;
    snprintf(buf, len, "closed: %s%s%s%s", weekend ? "" : "holiday ", d->name, *until ? " until " : "", until);
}

/* The market day now is in, from the calendar; says once when the calendar no longer covers it. */
static void find_day(st_runtime_t *rt, st_time_t now)
{
    st_world_day(rt->world, st_local_day(now), &rt->day);
    closed_text(rt->world, &rt->day, rt->closed_text, sizeof(rt->closed_text));
    if (!rt->day.covered && !rt->calendar_warned) {
        char from[16], to[16];
        st_format_date(rt->world->calendar.from, from, sizeof(from));
        st_format_date(rt->world->calendar.to, to, sizeof(to));
        st_log_warn(PLAN, "the %s calendar covers %s to %s: later weekdays are taken as regular trading days "
                          "(update it, or list the days in market.closed / market.special)",
                    rt->world->calendar.name, from, to);
        rt->calendar_warned = true;
    }
}

/* A trading day begins (the run's first one included: its counters start at the process's
 * start, its first plan counted): its report starts from zero, yesterday's signal cooldowns
 * end, and the strategies hear on_day(date). */
static void day_begin(st_runtime_t *rt, bool first)
{
    st_counters_t c;
    st_runtime_collect(rt, &c);
    st_report_begin(&rt->report, &c);
    if (first) memset(&rt->day_base, 0, sizeof(rt->day_base)), rt->day_base.day = rt->day.day;
    else st_runtime_day_base(rt);
    rt->session_reported = 0;
    st_signals_new_day(rt->signals);
    char date[16];
    st_format_date(rt->day.day, date, sizeof(date));
    st_strats_day(rt->strats, date);
}

/* The clock entered a new local day: what it is, and said in the log. */
static void new_day(st_runtime_t *rt, st_time_t now)
{
    st_log_reopen_dated(now); /* runtime.log.file with a date in its name: the new day's */
    find_day(rt, now);
    char date[16], open[16], close[16];
    st_format_date(rt->day.day, date, sizeof(date));
    st_format_tod_dur(rt->day.s.open, open, sizeof(open));
    st_format_tod_dur(rt->day.s.close, close, sizeof(close));
    if (!rt->day.trading)
        st_log_info(PLAN, "%s: the market is %s; nothing is streamed or polled", date, rt->closed_text);
    else
        st_log_info(PLAN, "%s: a trading day, session %s-%s%s%s%s", date, open, close, rt->day.special ? " (" : "",
                    rt->day.special ? rt->day.name : "", rt->day.special ? ")" : "");
}

static void update_slot(st_runtime_t *rt, bool announce)
{
    st_time_t now = st_clock_now(&rt->clock);
    char old_name[sizeof(rt->slot_name)]; /* rt->slot may point into a world a reload freed */
    memcpy(old_name, rt->slot_name, sizeof(old_name));
    bool begin = false; /* a trading day begins (not the run's first: st_runtime_run begins that) */
    if (st_local_day(now) != rt->day.day) new_day(rt, now), begin = announce && rt->day.trading;
    else find_day(rt, now); /* a reload may bring another calendar */
    if (rt->day.trading)
        st_schedule_at(rt->world->cfg, &rt->day.s, now, st_local_midnight(now), &rt->slot);
    else
        rt->slot = (st_slot_at_t){&closed_slot, 0, ST_TIME_NEVER};
    st_time_t tomorrow = st_day_start(rt->day.day + 1); /* the day changes there: looked at again */
    if (rt->slot.next_change > tomorrow) rt->slot.next_change = tomorrow;
    const st_slot_cfg_t *s = rt->slot.slot;
    snprintf(rt->slot_name, sizeof(rt->slot_name), "%s", s->name);
    if (begin) day_begin(rt, false); /* its report's first row: the slot in force now */
    if (announce && strcmp(old_name, s->name) != 0 && rt->day.trading) {
        st_log_info(PLAN, "time slot %s: realtime %lld, semi-realtime %lld, indices %lld, reserve %lld, poll x%.2f",
                    s->name, (long long)s->realtime, (long long)s->semi_realtime,
                    (long long)s->indices, (long long)s->reserve, s->poll_scale);
        st_counters_t c;
        st_runtime_collect(rt, &c);
        if (!begin) st_report_slot(&rt->report, &c, s->name);
    }
    if (rt->planner && strcmp(st_planner_policy_name(rt->planner), s->name) != 0) apply_policy(rt, now);
    if (rt->strats && strcmp(old_name, s->name) != 0) st_strats_timeslot(rt->strats, s->name);
    if (strcmp(old_name, s->name) != 0) record_event(rt, ST_REV_SLOT, ST_SYM_NONE, "%s", s->name);
    st_clock_timer_start(&rt->clock, &rt->slot_timer, rt->slot.next_change, 0);
    schedule_close(rt);
}

static void on_slot(st_timer_t *t, st_time_t now, void *ctx)
{
    update_slot(ctx, true);
}

static void defer(st_runtime_t *rt)
{
    if (!ev_is_active(&rt->deferred)) ev_timer_start(rt->loop, &rt->deferred);
}

static void request_stop(st_runtime_t *rt)
{
    rt->work.stop_requested = true;
    defer(rt);
}

static void on_close(st_timer_t *t, st_time_t now, void *ctx)
{
    st_runtime_session_report(ctx);
}

/* At each trading day's close (the calendar's: a special session moves it): the session
 * report. Armed again when the next day begins (update_slot), so a closed day has none. */
static void schedule_close(st_runtime_t *rt)
{
    st_clock_timer_stop(&rt->clock, &rt->close_timer);
    st_time_t at = st_day_start(rt->day.day) + rt->day.s.close;
    if (rt->day.trading && at > st_clock_now(&rt->clock) && rt->session_reported == 0)
        st_clock_timer_start(&rt->clock, &rt->close_timer, at, 0);
}

static void on_stop_time(st_timer_t *t, st_time_t now, void *ctx)
{
    st_log_info(CORE, "clock reached runtime.clock.stop");
    request_stop(ctx);
}

static void schedule_stop(st_runtime_t *rt)
{
    st_dur_t tod = rt->world->cfg->runtime.clock.stop_tod;
    st_clock_timer_stop(&rt->clock, &rt->stop_timer);
    if (rt->stop_at) {
        st_clock_timer_start(&rt->clock, &rt->stop_timer, rt->stop_at, 0);
        return;
    }
    if (tod < 0) return;
    st_time_t now = st_clock_now(&rt->clock);
    st_time_t at = st_local_midnight(now) + tod;
    if (at <= now) at += ST_DAY;
    st_clock_timer_start(&rt->clock, &rt->stop_timer, at, 0);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    st_runtime_t *rt = w->data;
    /* Only note the request; the deferred watcher does the work on the next loop turn. */
    if (w->signum == SIGHUP)
        rt->work.reload_requested = true;
    else
        rt->work.stop_requested = true;
    defer(rt);
}

/* A simulated run where nothing arrives from outside (only sim feeds) runs deadline to deadline,
 * the same at any speed; one that hears from a venue follows the wall clock (clock.h). */
static void choose_clock(st_runtime_t *rt, const st_config_t *cfg)
{
    bool closed = cfg->runtime.clock.mode == ST_CLOCK_SIMULATED;
    for (size_t i = 0; i < cfg->feeds.n && closed; i++)
        closed = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i)->kind == ST_FEED_SIM ||
                 ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i)->kind == ST_FEED_REPLAY;
    st_clock_set_discrete(&rt->clock, closed);
}

/* --- the recording (runtime.record) ------------------------------------------------------- */

static void record_stop(st_runtime_t *rt, int rc)
{
    if (!rt->rec) return;
    uint64_t items, bytes = st_rec_written(rt->rec, &items);
    int crc = st_rec_close(rt->rec);
    rt->rec = NULL;
    ev_timer_stop(rt->loop, &rt->rec_timer);
    if (rc || crc)
        st_log_error(CORE, "recording %s stopped: %s (what was written before stays readable)", rt->rec_path,
                     st_strerror(rc ? rc : crc));
    else
        st_log_info(CORE, "recorded %llu items in %llu bytes to %s", (unsigned long long)items,
                    (unsigned long long)bytes, rt->rec_path);
}

static void record_event(st_runtime_t *rt, st_rec_event_t ev, st_sym_t sym, const char *fmt, ...)
{
    if (!rt->rec) return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    const char *code = sym == ST_SYM_NONE ? "" : st_symtab_code(&rt->syms, sym);
    int rc = st_rec_event(rt->rec, st_clock_now(&rt->clock), ev, code, text, ST_MIN2((size_t)n, sizeof(text) - 1));
    if (rc) record_stop(rt, rc);
}

/* On the wall clock, not strata's: a crash loses at most the last second of work, and a
 * simulated run's events stay what they are (this timer delivers nothing). */
static void on_rec_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    st_runtime_t *rt = w->data;
    int rc = rt->rec ? st_rec_flush(rt->rec) : 0;
    if (rc) record_stop(rt, rc);
}

/* Opens runtime.record (its strftime'd with the start date); never over an existing file. */
static int record_start(st_runtime_t *rt)
{
    const char *tmpl = rt->world->cfg->runtime.record;
    if (!*tmpl || (rt->flags & ST_RT_NO_RECORD)) return 0;
    st_time_t now = st_clock_now(&rt->clock);
    struct tm tm;
    st_tz_localtime(NULL, now, &tm);
    if (strftime(rt->rec_path, sizeof(rt->rec_path), tmpl, &tm) == 0) {
        st_log_error(CORE, "runtime.record: the path \"%s\" is empty or too long once formatted", tmpl);
        return 1;
    }
    rt->rec = st_rec_create(rt->rec_path, now);
    if (!rt->rec) {
        st_log_error(CORE, "runtime.record: cannot create %s: %s%s", rt->rec_path, strerror(errno),
                     errno == EEXIST ? " (strata never writes over a recording)" : "");
        return 1;
    }
    /* Chunks of a second of market time live; faster runs fill them by size, flushed each
     * second of wall time (the chunking is then not the same from run to run; the items are). */
    if (rt->clock.simulated) st_rec_set_span(rt->rec, 0);
    int bg = st_rec_background(rt->rec); /* compression and writes off the loop */
    if (bg) st_log_warn(CORE, "runtime.record: no writer thread (%s): the loop compresses and writes", strerror(-bg));
    ev_timer_init(&rt->rec_timer, on_rec_timer, 1.0, 1.0);
    rt->rec_timer.data = rt;
    ev_timer_start(rt->loop, &rt->rec_timer);
    st_log_info(CORE, "recording to %s", rt->rec_path);
    return 0;
}

/* The stocks' day from a simulated market, for the summary's movers (NULL without one). */
static st_report_day_t *market_days(st_runtime_t *rt, size_t *n)
{
    struct st_simmkt *mkt = NULL;
    for (size_t i = 0; i < rt->nfeeds && !mkt; i++) mkt = st_sim_feed_market(rt->feeds[i]);
    if (!mkt) return NULL;
    const st_universe_t *u = &rt->world->universe;
    st_report_day_t *d = st_xcalloc(u->nstocks ? u->nstocks : 1, sizeof(*d));
    for (size_t i = 0; i < u->nstocks; i++) {
        const st_simmkt_sym_t *s = st_simmkt_sym(mkt, u->items[i].sym);
        if (!s) continue;
        d[(*n)++] = (st_report_day_t){&u->items[i], s->price, s->prev_close, s->cum_value, s->gap, s->trades_today,
                                      s->halts_today};
    }
    return d;
}

static void finish(st_runtime_t *rt)
{
    st_service_stopping(rt);
    st_cluster_destroy(rt->cluster); /* the sessions closed, then the lease handed over */
    rt->cluster = NULL;
    st_forward_destroy(rt->forward);
    rt->forward = NULL;
    for (size_t i = 0; i < rt->nfeeds; i++) st_feed_stop(rt->feeds[i]);
    st_runtime_redis_stop(rt, 2.0); /* what was published reaches Redis, within 2 s */
    record_stop(rt, 0);
    if (rt->clock.behind_max > ST_SEC)
        st_log_warn(CORE, "the run fell behind its speed (x%g) by up to %.1f s: the machine could not keep up; "
                    "no event was dropped or reordered", rt->clock.speed, (double)rt->clock.behind_max / ST_SEC);
    st_counters_t c;
    st_runtime_collect(rt, &c);
    size_t ndays = 0;
    st_report_day_t *days = market_days(rt, &ndays);
    st_report_finish(&rt->report, &c, rt->out, days, ndays);
    free(days);
    print_strategies(rt);
    if (rt->session_reported == 0 && rt->day.trading) st_runtime_session_report(rt); /* the day so far */
    st_clock_timer_stop(&rt->clock, &rt->report_timer);
    st_clock_timer_stop(&rt->clock, &rt->slot_timer);
    st_clock_timer_stop(&rt->clock, &rt->stop_timer);
    st_clock_timer_stop(&rt->clock, &rt->rebalance_timer);
    st_clock_timer_stop(&rt->clock, &rt->close_timer);
    rt->work.stopped = true;
    ev_break(rt->loop, EVBREAK_ALL);
}

static void on_deferred(struct ev_loop *loop, ev_timer *w, int revents)
{
    st_runtime_t *rt = w->data;
    if (rt->work.reload_requested) {
        rt->work.reload_requested = false;
        st_service_reloading(rt);
        st_runtime_reload(rt); /* a refused config keeps the running one: ready again either way */
        st_service_reloaded(rt);
    }
    if (rt->work.stop_requested && !rt->work.stopped) {
        st_log_info(CORE, "stopping");
        finish(rt);
    }
}

/* Changes a running process cannot take: reported as errors, the old world stays. */
static size_t restart_only_changes(const st_config_t *old, const st_config_t *neu, st_diags_t *d)
{
    size_t before = d->n;
    const st_runtime_cfg_t *o = &old->runtime, *n = &neu->runtime;
    if (strcmp(o->timezone, n->timezone) != 0)
        st_diags_add(d, n->mark.file, n->mark.line, n->mark.col,
                     "runtime.timezone changed (%s -> %s): restart strata to apply it", o->timezone,
                     n->timezone);
    if (o->clock.mode != n->clock.mode)
        st_diags_add(d, n->clock.mark.file, n->clock.mark.line, n->clock.mark.col,
                     "runtime.clock.mode changed: restart strata to apply it");
    return d->n - before;
}

int st_runtime_reload(st_runtime_t *rt)
{
    st_time_t t0 = st_mono_now();
    st_diags_t d;
    st_diags_init(&d);
    st_log_info(CONFIG, "reload: reading %s", rt->config_path);
    st_world_t *next = st_world_build(rt->config_path, &rt->syms, &d);
    /* Every new or changed strategy is compiled, and started on trial (init, on_reload) next to
     * the running ones, before anything running is touched: all or nothing. */
    if (next && (restart_only_changes(rt->world->cfg, next->cfg, &d) || st_strats_stage(rt->strats, next->cfg, &d) ||
                 st_strats_start(rt->strats, true, &d))) {
        st_world_free(next);
        next = NULL;
    }
    if (!next) {
        for (size_t i = 0; i < d.n; i++) {
            char buf[1400];
            st_diag_format(&d.items[i], buf, sizeof(buf));
            st_log_error(CONFIG, "%s", buf);
        }
        st_log_error(CONFIG, "reload failed with %zu error%s; still running generation %llu",
                     d.n, d.n == 1 ? "" : "s", (unsigned long long)rt->generation);
        record_event(rt, ST_REV_RELOAD, ST_SYM_NONE, "{\"ok\":false,\"errors\":%zu}", d.n);
        st_diags_free(&d);
        rt->reloads_failed++;
        return ST_ECONFIG;
    }
    st_diags_free(&d);
    if (!st_config_feeds_equal(rt->world->cfg, next->cfg))
        st_log_warn(CONFIG, "reload: feed settings changed; feeds keep their running settings until a restart");
    if (!st_config_outputs_equal(rt->world->cfg, next->cfg))
        st_log_warn(CONFIG, "reload: signals or status settings changed; they apply after a restart");
    for (size_t i = 0; i < next->universe.n; i++) {
        if (!st_universe_get(&rt->world->universe, next->universe.items[i].sym)) {
            st_log_warn(CONFIG, "reload: the universe has new symbols (%s, ...); they are planned and "
                                "streamed after a restart", next->universe.items[i].code);
            break;
        }
    }

    /* commit; the old world dies last, once nothing can read it (nginx's old cycle) */
    st_world_t *old = rt->world;
    rt->world = next;
    next->generation = ++rt->generation;
    apply_log(next->cfg);
    st_clock_set_speed(&rt->clock, next->cfg->runtime.clock.speed);
    choose_clock(rt, next->cfg);
    st_planner_cfg_t pc;
    planner_cfg(rt, &pc);
    st_planner_set_cfg(rt->planner, &pc);
    apply_watch(rt);
    int swapped = st_strats_commit(rt->strats);
    update_slot(rt, false);
    apply_policy(rt, st_clock_now(&rt->clock)); /* counts or weights may have changed: the plan
                                                 * moves by the diff only */
    schedule_report(rt);
    schedule_stop(rt);
    schedule_rebalance(rt); /* the close: update_slot arms it for the day */
    st_world_free(old);
    rt->reloads_ok++;
    record_event(rt, ST_REV_RELOAD, ST_SYM_NONE, "{\"ok\":true,\"generation\":%llu}", (unsigned long long)rt->generation);
    st_log_info(CONFIG, "reload: generation %llu running, %d strateg%s started or swapped (%.1f ms)",
                (unsigned long long)rt->generation, swapped, swapped == 1 ? "y" : "ies",
                (double)(st_mono_now() - t0) / 1e3);
    return 0;
}

/* A venue refused a registration: an invalid symbol counts as a data failure (the planner
 * excludes it after risk.failure_threshold of them); MAX SUBSCRIBE OVER means the connection
 * holds fewer than its budget says, so the planner's budget for it drops to what the venue
 * allows and the plan is made again. */
/* A subscription sent or answered: recorded (runtime.record), with the plan's connection number. */
static void on_subscription(st_feed_t *f, int conn, st_sym_t sym, st_channel_t ch, const char *op, void *ctx)
{
    st_runtime_t *rt = ctx;
    int c = rt->conn_base ? rt->conn_base[f->index] + conn : conn;
    record_event(rt, ST_REV_SUBSCRIBE, sym, "{\"conn\":%d,\"channel\":\"%s\",\"op\":\"%s\"}", c,
                 (unsigned)ch < ST_CH_COUNT ? st_channel_names[ch] : "?", op);
    st_symview_add(&rt->view, sym, &(st_sv_event_t){.at = st_clock_now(&rt->clock), .kind = ST_SV_SUBSCRIPTION,
                                                    .conn = (int16_t)c, .channel = (uint8_t)ch, .op = op});
}

static void on_refused(st_feed_t *f, int conn, st_sym_t sym, int ack, int cap, void *ctx)
{
    st_runtime_t *rt = ctx;
    st_time_t now = st_clock_now(&rt->clock);
    if (ack == ST_ACK_INVALID) {
        rt->failures++;
        st_planner_failure(rt->planner, sym, now);
    } else {
        int c = rt->conn_base[f->index] + conn;
        if (c < rt->conns.nconns && cap < rt->conns.budget[c]) {
            st_log_error(PLAN, "connection %d holds only %d registrations: planning with that", c, cap);
            rt->conns.budget[c] = cap; /* kept across reloads */
            st_planner_cfg_t pc;
            planner_cfg(rt, &pc);
            st_planner_set_cfg(rt->planner, &pc);
        }
    }
    st_planner_replan(rt->planner, now);
    plan_apply(rt);
}

static void on_tick(const st_tick_t *t, void *ctx)
{
    st_runtime_t *rt = ctx;
    if (rt->rec) {
        int rc = st_rec_tick_id(rt->rec, t, t->sym, st_symtab_code(&rt->syms, t->sym), ST_CONN_NONE);
        if (rc) record_stop(rt, rc);
    }
    /* data came: the run of failures is broken (no run before the first: the call a tick spared) */
    if (rt->failures) st_planner_success(rt->planner, t->sym);
    st_symview_tick(&rt->view, t);
    st_strats_tick(rt->strats, t);
    if (rt->redis) st_redisout_tick(rt->redis, t, st_symtab_code(&rt->syms, t->sym)); /* after the strategies */
}

/* --- the strategies' side ------------------------------------------------------------------- */

static void on_plan_dirty(void *ctx)
{
    ((st_runtime_t *)ctx)->work.plan_dirty = true;
}

/* Runs before the loop waits, after the callback (a tick, a timer) that changed the demands:
 * one replan for all of them, and the feeds told outside any feed's own callback. */
static void on_replan(struct ev_loop *loop, ev_prepare *w, int revents)
{
    st_runtime_t *rt = w->data;
    if (!rt->work.plan_dirty || rt->work.stopped) return;
    rt->work.plan_dirty = false;
    st_planner_replan(rt->planner, st_clock_now(&rt->clock));
    plan_apply(rt);
}

static int strat_emergency(void *ctx, int req, st_sym_t sym, double score, char *why, size_t whylen)
{
    st_runtime_t *rt = ctx;
    rt->work.plan_dirty = true; /* the planner decides now; the feeds hear of it on_replan */
    int rc = st_planner_emergency(rt->planner, req, sym, score, st_clock_now(&rt->clock), why, whylen);
    st_forward_emergency(rt->forward, st_planner_requester_name(rt->planner, req), sym, score); /* and to the venue's owner */
    record_event(rt, ST_REV_EMERGENCY, sym, "{\"score\":%.6g,\"granted\":%s}", score, rc == 0 ? "true" : "false");
    st_sv_event_t ev = {.at = st_clock_now(&rt->clock), .kind = ST_SV_EMERGENCY, .ok = rc == 0, .value = score};
    snprintf(ev.who, sizeof(ev.who), "%s", st_planner_requester_name(rt->planner, req));
    if (rc) snprintf(ev.text, sizeof(ev.text), "%s", why);
    st_symview_add(&rt->view, sym, &ev);
    return rc;
}

/* The first feed that has orderbooks on demand answers. */
static int strat_book(void *ctx, st_sym_t sym, st_book_cb cb, void *cbctx)
{
    st_runtime_t *rt = ctx;
    for (size_t i = 0; i < rt->nfeeds; i++) {
        int rc = st_feed_orderbook(rt->feeds[i], sym, cb, cbctx);
        if (rc != -ENOTSUP) return rc;
    }
    return -ENOTSUP;
}

static void strat_signal(void *ctx, const char *strategy, uint64_t fingerprint, st_sym_t sym, const char *side, double strength,
                         const char *reason)
{
    st_runtime_t *rt = ctx;
    const st_sv_sym_t *sv = st_symview_get(&rt->view, sym);
    const st_plan_entry_t *e = st_planner_entry(rt->planner, sym);
    st_signal_t sig = {.time = st_clock_now(&rt->clock), .strength = strength, .price = sv ? sv->last_price : 0,
                       .generation = rt->generation, .fingerprint = fingerprint, .tier = e ? e->tier : 0};
    snprintf(sig.strategy, sizeof(sig.strategy), "%s", strategy);
    snprintf(sig.symbol, sizeof(sig.symbol), "%s", st_symtab_code(&rt->syms, sym));
    snprintf(sig.side, sizeof(sig.side), "%s", side);
    snprintf(sig.reason, sizeof(sig.reason), "%s", reason);
    if (rt->cluster && st_cluster_hold_signal(rt->cluster, &sig)) return; /* a standby's: the leader's go out */
    if (st_signals_emit(rt->signals, &sig) != 0) return;
    if (rt->signal_hook) rt->signal_hook(rt->signal_hook_ctx, &sig);
    st_redisout_signal(rt->redis, &sig);
    st_sv_event_t ev = {.at = sig.time, .kind = ST_SV_SIGNAL, .value = strength};
    snprintf(ev.who, sizeof(ev.who), "%s", strategy);
    snprintf(ev.text, sizeof(ev.text), "%s", side);
    st_symview_add(&rt->view, sym, &ev);
    record_event(rt, ST_REV_SIGNAL, sym, "{\"strategy\":\"%s\",\"side\":\"%s\",\"strength\":%.17g,\"price\":%.17g}",
                     sig.strategy, sig.side, sig.strength, sig.price);
}


/* The local midnight of "YYYY-MM-DD" in the runtime's zone; false when it is no date. */
static bool day_start(const char *day, st_time_t *out)
{
    char text[40];
    struct tm tm;
    snprintf(text, sizeof(text), "%.12s 00:00", day);
    if (strlen(day) != 10 || st_parse_datetime(text, &tm) != 0) return false;
    struct tm want = tm, got;
    if (st_tz_mktime(NULL, &tm, out) != 0) return false;
    *out = st_local_midnight(*out + ST_HOUR); /* whatever the DST */
    st_tz_localtime(NULL, *out, &got); /* mktime makes 11-31 12-01: no such day */
    return got.tm_year == want.tm_year && got.tm_mon == want.tm_mon && got.tm_mday == want.tm_mday;
}

/* opts->from/to: where the clock starts (from's day at runtime.clock.start's time of day) and
 * stops (to's day at runtime.clock.stop, or its end). */
static int run_days(st_runtime_t *rt, const st_config_t *cfg, const st_runtime_opts_t *opts, st_time_t *start,
                    st_diags_t *diags)
{
    const st_clock_cfg_t *c = &cfg->runtime.clock;
    st_time_t from = st_local_midnight(c->start_time), to;
    if (c->mode != ST_CLOCK_SIMULATED) {
        st_diags_add(diags, cfg->file, c->mark.line, c->mark.col, "--from/--to need runtime.clock.mode: simulated");
        return ST_ECONFIG;
    }
    if (opts->from && !day_start(opts->from, &from)) {
        st_diags_add(diags, "--from", 0, 0, "expected a day as YYYY-MM-DD, got \"%s\"", opts->from);
        return ST_ECONFIG;
    }
    to = from;
    if (opts->to && !day_start(opts->to, &to)) {
        st_diags_add(diags, "--to", 0, 0, "expected a day as YYYY-MM-DD, got \"%s\"", opts->to);
        return ST_ECONFIG;
    }
    if (to < from) {
        st_diags_add(diags, "--to", 0, 0, "%s is before --from %s", opts->to, opts->from ? opts->from : "");
        return ST_ECONFIG;
    }
    *start = from + st_local_tod(c->start_time);
    rt->stop_at = c->stop_tod >= 0 ? to + c->stop_tod : st_day_start(st_local_day(to) + 1) - 1; /* to's last µs */
    if (rt->stop_at <= *start) {
        st_diags_add(diags, cfg->file, c->mark.line, c->mark.col, "the run would stop before it starts");
        return ST_ECONFIG;
    }
    return 0;
}

/* A simulated run that starts "today" (runtime.clock.start a bare time of day) on a day the
 * market does not trade simulates the next trading day instead, and says so; a date given
 * is run as it is (a closed day then stays closed). */
static st_time_t trading_start(st_runtime_t *rt, const st_config_t *cfg, st_time_t start)
{
    st_dur_t tod;
    if (cfg->runtime.clock.mode != ST_CLOCK_SIMULATED || st_parse_tod(cfg->runtime.clock.start, &tod) != 0) return start;
    st_day_t d;
    st_world_day(rt->world, st_local_day(start), &d);
    int32_t next = st_calendar_next_trading(&rt->world->calendar, d.day);
    if (d.trading || next == INT32_MIN) return start;
    return st_day_start(next) + tod;
}

/* Says why a run that starts "today" simulates another day (trading_start). */
static void say_moved(const st_runtime_t *rt, const st_config_t *cfg, st_time_t start)
{
    char today[16], day[16], closed[160];
    st_day_t d;
    st_world_day(rt->world, st_local_day(cfg->runtime.clock.start_time), &d);
    st_format_date(d.day, today, sizeof(today));
    st_format_date(st_local_day(start), day, sizeof(day));
    closed_text(rt->world, &d, closed, sizeof(closed));
    st_log_info(CORE, "today, %s, the %s market is %s: simulating the next trading day, %s", today,
                rt->world->calendar.name, closed, day);
}

int st_runtime_init(st_runtime_t *rt, const char *config_path, FILE *out, st_diags_t *diags)
{
    return st_runtime_init_with(rt, config_path, out, NULL, diags);
}

void st_runtime_feed_env(st_runtime_t *rt, st_feed_env_t *env)
{
    *env = (st_feed_env_t){&rt->clock, &rt->world->universe, &rt->syms, rt->world->cfg, on_tick, rt, on_refused,
                           on_subscription, &rt->world->calendar};
}

/* The feeds, and where each one's connections start in the planner's numbering. */
static int create_feeds(st_runtime_t *rt, const st_config_t *cfg, st_diags_t *diags)
{
    rt->nfeeds = cfg->feeds.n;
    rt->feeds = st_xcalloc(rt->nfeeds, sizeof(*rt->feeds));
    rt->conn_base = st_xcalloc(rt->nfeeds, sizeof(int));
    rt->conn_count = st_xcalloc(rt->nfeeds, sizeof(int));
    for (size_t i = 0, base = 0; i < rt->nfeeds; i++) { /* the order st_planner_cfg_from uses */
        const st_feed_cfg_t *fc = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i);
        rt->conn_base[i] = (int)base;
        rt->conn_count[i] = (int)fc->connections; /* a replay plans like the venue it replays */
        base += (size_t)rt->conn_count[i];
    }
    st_feed_env_t env;
    st_runtime_feed_env(rt, &env);
    for (size_t i = 0; i < rt->nfeeds; i++) {
        char err[256] = "";
        st_feed_cfg_t fc = *ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i);
        if ((rt->flags & ST_RT_UNLIMITED) && fc.kind == ST_FEED_REPLAY) fc.mode = ST_REPLAY_AS_RECORDED;
        int rc = st_feed_create(&fc, (uint16_t)i, &env, &rt->feeds[i], err, sizeof(err));
        if (rc) {
            st_diags_add(diags, cfg->file, fc.mark.line, fc.mark.col, "%s", err);
            return rc;
        }
    }
    return 0;
}

/* Signals (SIGINT, SIGTERM, SIGHUP), the deferred work and the replan after each loop pass. */
static void init_watchers(st_runtime_t *rt)
{
    ev_signal_init(&rt->sigint, on_signal, SIGINT);
    ev_signal_init(&rt->sigterm, on_signal, SIGTERM);
    ev_signal_init(&rt->sighup, on_signal, SIGHUP);
    rt->sigint.data = rt->sigterm.data = rt->sighup.data = rt;
    ev_timer_init(&rt->deferred, on_deferred, 0, 0);
    rt->deferred.data = rt;
    ev_prepare_init(&rt->replan, on_replan);
    rt->replan.data = rt;
}

int st_runtime_init_with(st_runtime_t *rt, const char *config_path, FILE *out, const st_runtime_opts_t *opts,
                         st_diags_t *diags)
{
    static const st_runtime_opts_t none = {0};
    if (!opts) opts = &none;
    memset(rt, 0, sizeof(*rt));
    rt->work.stopped = true;
    rt->flags = opts->flags;
    rt->out = out;
    rt->config_path = st_xstrdup(config_path);
    st_symtab_init(&rt->syms);
    rt->world = st_world_build(config_path, &rt->syms, diags);
    if (!rt->world) return ST_ECONFIG;
    const st_config_t *cfg = rt->world->cfg;
    rt->world->generation = rt->generation = 1;

    int rc = st_tz_set(cfg->runtime.timezone);
    if (rc) return rc;

    rt->loop = ev_default_loop(EVFLAG_AUTO);
    if (!rt->loop) return -ENOMEM;
    st_time_t start = cfg->runtime.clock.start_time;
    if ((opts->from || opts->to) && (rc = run_days(rt, cfg, opts, &start, diags)) != 0) return rc;
    if (!opts->from && !opts->to) start = trading_start(rt, cfg, start);
    if (cfg->runtime.clock.mode == ST_CLOCK_SIMULATED)
        st_clock_init_sim(&rt->clock, rt->loop, start, cfg->runtime.clock.speed);
    else
        st_clock_init_wall(&rt->clock, rt->loop);
    choose_clock(rt, cfg);
    st_clock_set_hold(&rt->clock, &rt->work.any);
    st_log_set_time_source(st_clock_now_cb, &rt->clock);
    apply_log(cfg); /* after the clock: a dated log file is named by the run's day */
    if (start != cfg->runtime.clock.start_time && !opts->from && !opts->to) say_moved(rt, cfg, start);

    st_timer_init(&rt->report_timer, on_report, rt);
    st_timer_init(&rt->slot_timer, on_slot, rt);
    st_timer_init(&rt->stop_timer, on_stop_time, rt);
    st_timer_init(&rt->rebalance_timer, on_rebalance, rt);
    st_timer_init(&rt->close_timer, on_close, rt);

    st_planner_cfg_from(&rt->conns, cfg);
    rt->planner = st_planner_create(&rt->conns, &rt->world->universe);
    rt->req_config = st_planner_requester(rt->planner, "config", 1.0);
    char err[256] = "";
    rt->signals = st_signals_create(&cfg->signals, rt->loop, err, sizeof(err));
    if (!rt->signals) {
        st_diags_add(diags, cfg->file, cfg->signals.mark.line, cfg->signals.mark.col, "%s", err);
        return ST_ECONFIG;
    }
    st_symview_init(&rt->view, rt->syms.n);
    st_strats_env_t se = {.clock = &rt->clock, .syms = &rt->syms, .planner = rt->planner, .view = &rt->view,
                          .plan_dirty = on_plan_dirty, .emergency = strat_emergency, .orderbook = strat_book,
                          .signal = strat_signal, .ctx = rt};
    rt->strats = st_strats_create(&se);
    rc = st_strats_stage(rt->strats, cfg, diags);
    if (rc || (rc = create_feeds(rt, cfg, diags)) != 0) return rc;
    init_watchers(rt);
    return 0;
}

int st_runtime_run(st_runtime_t *rt)
{
    const st_config_t *cfg = rt->world->cfg;
    char when[40];
    st_format_datetime(st_clock_now(&rt->clock), when, sizeof(when), false);
    st_log_info(CORE, "strata starting: %s, %zu symbols + %zu indices, clock %s from %s (x%g)",
                rt->config_path, rt->world->universe.nstocks,
                rt->world->universe.n - rt->world->universe.nstocks,
                cfg->runtime.clock.mode == ST_CLOCK_SIMULATED ? "simulated" : "wall", when,
                cfg->runtime.clock.mode == ST_CLOCK_SIMULATED ? cfg->runtime.clock.speed : 1.0);
    ev_signal_start(rt->loop, &rt->sigint);
    ev_signal_start(rt->loop, &rt->sigterm);
    ev_signal_start(rt->loop, &rt->sighup);
    if (record_start(rt)) return 1; /* before the first plan: it is recorded too */
    st_runtime_redis_start(rt);     /* and published */
    apply_watch(rt);
    st_strats_commit(rt->strats); /* init(params): their first demands */
    update_slot(rt, false);
    apply_policy(rt, st_clock_now(&rt->clock)); /* the first plan, before the feeds start */
    ev_prepare_start(rt->loop, &rt->replan);
    rt->started = ev_time();
    st_runtime_status_start(rt);
    rt->forward = st_forward_create(rt);
    rt->cluster = st_cluster_create(rt); /* in a cluster the lease starts the feeds */
    for (size_t i = 0; i < rt->nfeeds && !rt->cluster; i++) {
        int rc = st_feed_start(rt->feeds[i]);
        if (rc) {
            st_log_error(FEED, "%s: cannot start: %s", rt->feeds[i]->name, st_strerror(rc));
            return 1;
        }
    }
    if (rt->day.trading) {
        day_begin(rt, true);
    } else { /* a closed day: the summary counts from here */
        st_counters_t c;
        st_runtime_collect(rt, &c);
        st_report_begin(&rt->report, &c);
        rt->day_base.day = rt->day.day;
    }
    schedule_report(rt);
    schedule_stop(rt);
    schedule_rebalance(rt); /* the close: update_slot arms it for the day */
    rt->work.stopped = false;
    print_status(rt);
    st_service_ready(rt);
    ev_run(rt->loop, 0);
    if (!rt->work.stopped) finish(rt); /* the loop ran out of watchers */
    st_log_info(CORE, "stopped");
    return 0;
}

int st_runtime_open(st_runtime_t *rt, const char *config_path, FILE *out, const st_runtime_opts_t *opts)
{
    st_diags_t d;
    st_diags_init(&d);
    int rc = st_runtime_init_with(rt, config_path, out, opts, &d);
    for (size_t i = 0; i < d.n; i++) {
        char buf[1400];
        st_diag_format(&d.items[i], buf, sizeof(buf));
        fprintf(stderr, "%s\n", buf);
    }
    if (rc && d.n == 0) fprintf(stderr, "strata: cannot start: %s\n", st_strerror(rc));
    st_diags_free(&d);
    if (rc) st_runtime_free(rt);
    return rc ? 1 : 0;
}

void st_runtime_free(st_runtime_t *rt)
{
    record_stop(rt, 0); /* a run that ended early */
    st_cluster_destroy(rt->cluster);
    rt->cluster = NULL;
    st_forward_destroy(rt->forward);
    rt->forward = NULL;
    for (size_t i = 0; i < rt->nfeeds; i++) st_feed_destroy(rt->feeds[i]); /* books still asked
                                                                            * for are answered */
    if (rt->loop) ev_timer_stop(rt->loop, &rt->live_timer), ev_timer_stop(rt->loop, &rt->service_timer);
    st_runtime_redis_stop(rt, 0);
    st_status_server_stop(rt->status);
    st_strats_destroy(rt->strats); /* their shutdown callbacks, while the clock and planner exist */
    st_signals_destroy(rt->signals);
    st_symview_free(&rt->view);
    free(rt->feeds);
    free(rt->conn_base);
    free(rt->conn_count);
    free(rt->feed_changes);
    st_planner_destroy(rt->planner);
    if (rt->loop) {
        ev_signal_stop(rt->loop, &rt->sigint);
        ev_signal_stop(rt->loop, &rt->sigterm);
        ev_signal_stop(rt->loop, &rt->sighup);
        ev_timer_stop(rt->loop, &rt->deferred);
        ev_prepare_stop(rt->loop, &rt->replan);
        st_clock_free(&rt->clock);
        st_log_set_time_source(NULL, NULL);
    }
    st_world_free(rt->world);
    st_symtab_free(&rt->syms);
    free(rt->config_path);
    st_log_close();
    memset(rt, 0, sizeof(*rt));
}
