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

/* The report as JSON (malloc'd). per_strategy: the signals module's counts. */
char *st_session_json(const st_report_t *r, const st_status_t *s, const st_signals_t *sig);
/* The report as log lines (info). */
void st_session_log(const st_report_t *r, const st_status_t *s, const st_signals_t *sig);
/* Writes json to the file named by strftime(path_template) of day's local date, replacing it
 * whole (a temporary file renamed over it). The name used goes to path. Returns 0 or -errno. */
int st_session_write(const char *path_template, st_time_t day, const char *json, char *path, size_t pathlen);

#endif
