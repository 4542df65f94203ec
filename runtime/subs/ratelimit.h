/* An adaptive rate limiter over exact sliding windows. Pure: time is an argument.
 *
 * A limiter enforces several windows at once (Upbit WebSocket: 5 per second and 100 per
 * minute; KIS REST: 20 per second). Each window keeps the times of its latest grants in a ring,
 * so a grant at t is allowed exactly when fewer than N grants happened in (t - P, t]: no window
 * of length P ever holds more than N. The limit in force is N x fraction x penalty, at least 1:
 * `fraction` is the share of the venue's nominal limit the mode uses; `penalty` drops by
 * `reduction` on each venue rate error (HTTP 429, KIS EGW00201, …) down to `floor`, and after
 * `recovery_delay` without errors climbs back by `recovery_step` every `recovery_interval`.
 * A Retry-After, an exhausted Upbit Remaining-Req or an HTTP 418 ban blocks every grant until
 * the time it names. One limiter can be shared by every user of a venue's budget. */
#ifndef ST_SUBS_RATELIMIT_H
#define ST_SUBS_RATELIMIT_H

#include "core/common.h"

#define ST_LIMIT_WINDOWS 4

typedef enum { ST_RL_CONSERVATIVE, ST_RL_BALANCED, ST_RL_AGGRESSIVE } st_rl_mode_t;
extern const char *const st_rl_mode_names[];

typedef struct {
    int limit;       /* grants per period */
    st_dur_t period;
} st_window_t;

typedef struct {
    double fraction;  /* of the nominal limit, in (0, 1] */
    double reduction; /* multiplier per rate error */
    double floor;     /* lowest penalty */
    st_dur_t recovery_delay, recovery_interval;
    double recovery_step;
} st_rl_tuning_t;

typedef struct {
    st_window_t w;
    st_time_t *ring; /* the latest w.limit grant times */
    int head, count;
} st_rl_window_t;

typedef struct {
    st_rl_window_t win[ST_LIMIT_WINDOWS];
    int nwin;
    st_rl_tuning_t t;
    double penalty;          /* left by the latest rate error, in [floor, 1] */
    st_time_t last_error;    /* of the latest rate error; recovery counts from here */
    st_time_t blocked_until; /* Retry-After, Remaining-Req sec=0, 418 */
    uint64_t grants, denials, errors;
} st_limiter_t;

/* The tuning of a mode (see docs/limits.md). */
void st_rl_mode_tuning(st_rl_mode_t mode, st_rl_tuning_t *out);

void st_limiter_init(st_limiter_t *l, const st_window_t *w, int nwin, const st_rl_tuning_t *t);
void st_limiter_free(st_limiter_t *l);
/* The limit of window i in force now (after fraction and penalty), at least 1. */
int st_limiter_limit(st_limiter_t *l, int i, st_time_t now);
/* The earliest time >= now at which a grant is allowed. */
st_time_t st_limiter_next(st_limiter_t *l, st_time_t now);
/* Grants one request at now if allowed (recording it), else returns false. */
bool st_limiter_try(st_limiter_t *l, st_time_t now);
/* A venue rate error (429, EGW00201): the penalty drops, recovery waits for quiet. */
void st_limiter_rate_error(st_limiter_t *l, st_time_t now);
/* Blocks every grant until `until` (Retry-After, a 418 ban). */
void st_limiter_block(st_limiter_t *l, st_time_t until);
/* Upbit Remaining-Req: `sec` requests left in the current second; 0 blocks to its end. */
void st_limiter_remaining(st_limiter_t *l, st_time_t now, int sec);
/* Parses "group=default; min=1800; sec=29" into sec; returns 0 or -EINVAL. */
int st_parse_remaining_req(const char *header, int *sec);
/* The penalty in force at now (1 = full rate), recovery included. */
double st_limiter_penalty(st_limiter_t *l, st_time_t now);

#endif
