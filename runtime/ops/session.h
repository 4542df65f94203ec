/* The session report: what a trading day was, at its close (and at a stop): the symbols
 * monitored, how much of the WebSocket budget was used over the day, the realtime tiers over
 * time, signals per hour and per strategy, the API's success rate, promotions and emergencies.
 * Written to the log as a few lines, and as one JSON document when runtime.session_report
 * names a file. Pure: it formats what the runtime counted. */
#ifndef ST_OPS_SESSION_H
#define ST_OPS_SESSION_H

#include "ops/report.h"
#include "signals/signals.h"
#include "ops/status.h"

/* What the counters were when the day began: the report is of that day, counters since then
 * (the cumulative ones under "since_start"). */
#define ST_SESSION_MAX_STRATEGIES 64
typedef struct {
    int32_t day;   /* the market day (core/timefmt.h day number) */
    st_status_t s; /* its strategies are not kept */
    uint64_t strategy_signals[ST_SESSION_MAX_STRATEGIES]; /* st_signals_strategy's counts by index */
    size_t nstrategies;
} st_session_base_t;

/* The process at the report, for a long run to show it stays flat. */
typedef struct {
    int64_t rss_kb, fds, timers;
} st_session_proc_t;

void st_session_base_take(st_session_base_t *b, int32_t day, const st_status_t *s, const st_signals_t *sig);

/* The report as JSON (malloc'd). per_strategy: the signals module's counts since base. proc
 * may be NULL. */
char *st_session_json(const st_report_t *r, const st_status_t *s, const st_session_base_t *base,
                      const st_signals_t *sig, const st_session_proc_t *proc);
/* The report as log lines (info). */
void st_session_log(const st_report_t *r, const st_status_t *s, const st_session_base_t *base, const st_signals_t *sig);
/* Writes json to the file named by strftime(path_template) of day's local date, replacing it
 * whole (a temporary file renamed over it). The name used goes to path. Returns 0 or -errno. */
int st_session_write(const char *path_template, st_time_t day, const char *json, char *path, size_t pathlen);

#endif
