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
/* libwebsockets' emit function (lws_set_log_level): its lines under "lws", repeats counted. */
void st_log_lws_line(int level, const char *line);
/* The descriptor log lines go to (2 for stderr): for a signal handler's last words. */
int st_log_fd(void);
/* The time source for log lines: returns µs since the epoch. NULL restores the wall clock. */
void st_log_set_time_source(st_time_t (*now)(void *), void *ctx);
int st_log_level_parse(const char *s, st_log_level_t *out);
const char *st_log_level_name(st_log_level_t l);

#endif
