/* Grouped, printf-checked logging: one macro per level, a subsystem tag, text or JSON lines,
 * to stderr or a file. Timestamps come from the strata clock once one is attached, so a
 * simulated day logs simulated times. Never pass secrets to these functions. */
#ifndef ST_CORE_LOG_H
#define ST_CORE_LOG_H

#include "common.h"

typedef enum { ST_LL_DEBUG, ST_LL_INFO, ST_LL_WARN, ST_LL_ERROR, ST_LL_ALERT } st_log_level_t;
typedef enum { ST_LOG_TEXT, ST_LOG_JSON } st_log_format_t;

/* Subsystem tags. */
#define ST_SYS_CORE   "core"
#define ST_SYS_CONFIG "config"
#define ST_SYS_CLOCK  "clock"
#define ST_SYS_MARKET "market"
#define ST_SYS_PLAN   "plan"
#define ST_SYS_SUBS   "subs"
#define ST_SYS_FEED   "feed"
#define ST_SYS_HOST   "host"
#define ST_SYS_OUT    "out"
#define ST_SYS_LWS    "lws"

extern st_log_level_t st_log_min_level;

void st_log_(st_log_level_t lvl, const char *sys, const char *fmt, ...) ST_PRINTF(3, 4);

#define st_log_at_(lvl, sys, ...)                                                                  \
    do {                                                                                           \
        if ((lvl) >= st_log_min_level) st_log_(lvl, ST_SYS_##sys, __VA_ARGS__);                    \
    } while (0)
#define st_log_debug(sys, ...) st_log_at_(ST_LL_DEBUG, sys, __VA_ARGS__)
#define st_log_info(sys, ...)  st_log_at_(ST_LL_INFO, sys, __VA_ARGS__)
#define st_log_warn(sys, ...)  st_log_at_(ST_LL_WARN, sys, __VA_ARGS__)
#define st_log_error(sys, ...) st_log_at_(ST_LL_ERROR, sys, __VA_ARGS__)
#define st_log_alert(sys, ...) st_log_at_(ST_LL_ALERT, sys, __VA_ARGS__)

/* Configure the sink. path NULL or "" means stderr. Returns 0 or -errno (the previous sink
 * stays in place on failure). */
int st_log_open(st_log_level_t level, st_log_format_t fmt, const char *path);
void st_log_close(void);
/* A path with strftime's '%' (runtime.log.file: "strata-%Y-%m-%d.log") names a file per local
 * date: at a day change the runtime calls this with its clock, and the log goes on in the new
 * day's file (the old one stays as it is). Returns 0 or -errno (the old file kept). */
int st_log_reopen_dated(st_time_t now);
/* A line said again and again is logged once, then counted: its count is said at 10, 100,
 * 1000, ... and, when another line comes (or at st_repeats_flush), if not said just then. */
typedef struct {
    char last[400], prev[400]; /* the line being counted; the one before, for its last count */
    uint64_t repeats;
} st_repeats_t;
/* Feeds line in. True: a new line, to be logged (after "prev (repeated *count ...)" when *count
 * is not 0). False: a repeat, counted; *count, when not 0, is the count to log now. */
bool st_repeats_note(st_repeats_t *r, const char *line, uint64_t *count);
/* The count of the line being counted that was not said yet (0: none); it is forgotten. */
uint64_t st_repeats_flush(st_repeats_t *r);

/* libwebsockets' emit function (lws_set_log_level): its lines under "lws", repeats counted. */
void st_log_lws_line(int level, const char *line);
/* The descriptor log lines go to (2 for stderr): for a signal handler's last words. */
int st_log_fd(void);
/* The time source for log lines: returns µs since the epoch. NULL restores the wall clock. */
void st_log_set_time_source(st_time_t (*now)(void *), void *ctx);
int st_log_level_parse(const char *s, st_log_level_t *out);
const char *st_log_level_name(st_log_level_t l);

#endif
