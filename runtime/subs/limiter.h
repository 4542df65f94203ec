/* An adaptive rate limiter over exact sliding windows. Pure: time is an argument.
 *
 * A limiter enforces several windows at once (Upbit WebSocket: 5 per second and 100 per
 * minute; KIS REST: 20 per second). Each window keeps the times of its latest grants in a ring,
 * so a grant at t is allowed exactly when fewer than N grants happened in (t - P - margin, t]:
 * no window of length P ever holds more than N, even when each grant reaches the venue up to
 * `margin` later than the one before it. The limit in force is N x fraction x penalty, at
 * least 1: `fraction` is the share of the venue's nominal limit the mode uses.
 *
 * A paced window (burst > 0) is also spent no faster than it refills: after a pause up to
 * `burst` grants go at once, then one every (P + margin) / (limit - reserve - burst + 1), so a
 * backlog never spends a minute's allowance in seconds and then waits. `reserve` grants of a
 * window are kept for urgent requests (emergency subscriptions): ordinary grants stop short of
 * them; an urgent grant may use them, skips the pacing and does not delay the ordinary ones.
 *
 * A venue rate error (HTTP 429, KIS EGW00201, …) first means timing skew between our clock and
 * the venue's: the margin doubles (up to margin_max) and grants pause for a quarter of the
 * shortest window. Only errors that persist once the margin is at its widest lower the rate:
 * the penalty drops by `reduction` down to `floor`, and after `recovery_delay` without errors
 * climbs back by `recovery_step` every `recovery_interval`. The margin narrows again after 10 s
 * without errors, halving every 10 s down to its base. A Retry-After, an exhausted Upbit
 * Remaining-Req or an HTTP 418 ban blocks every grant until the time it names. One limiter can
 * be shared by every user of a venue's budget. */
#ifndef ST_SUBS_LIMITER_H
#define ST_SUBS_LIMITER_H

#include "core/common.h"

#define ST_LIMIT_WINDOWS 4

typedef enum { ST_LIMITER_CONSERVATIVE, ST_LIMITER_BALANCED, ST_LIMITER_AGGRESSIVE } st_limiter_mode_t;
extern const char *const st_limiter_mode_names[];

typedef struct {
    int limit;       /* grants per period */
    st_dur_t period;
    int burst;       /* > 0: paced, at most this many at once after a pause */
    int reserve;     /* grants kept for urgent requests */
} st_window_t;

typedef struct {
    double fraction;  /* of the nominal limit, in (0, 1] */
    double reduction; /* multiplier per rate error */
    double floor;     /* lowest penalty */
    st_dur_t recovery_delay, recovery_interval;
    double recovery_step;
    st_dur_t margin, margin_max; /* added to every period: base, and widest after skew */
} st_limiter_tuning_t;

typedef struct {
    st_window_t w;
    st_time_t *ring; /* the latest w.limit grant times */
    int head, count;
    st_time_t tat;   /* paced: when the next ordinary grant is due without a burst */
    st_time_t *urgent; /* the latest w.reserve urgent grant times (they spend the reserve) */
    int uhead;
} st_limiter_window_t;

typedef struct {
    st_limiter_window_t win[ST_LIMIT_WINDOWS];
    int nwin;
    st_limiter_tuning_t t;
    double penalty;          /* left by the latest rate error, in [floor, 1] */
    st_time_t last_error;    /* of the latest rate error; recovery counts from here */
    st_time_t blocked_until; /* Retry-After, Remaining-Req sec=0, 418 */
    st_dur_t margin;         /* left by the latest skew error, in [t.margin, t.margin_max] */
    st_time_t margin_at;     /* of the latest error; the margin narrows from here */
    uint64_t grants, denials, errors, urgent;
    uint64_t skews; /* errors answered by a wider margin alone */
} st_limiter_t;

/* The tuning of a mode (see docs/limits.md). */
void st_limiter_mode_tuning(st_limiter_mode_t mode, st_limiter_tuning_t *out);

void st_limiter_init(st_limiter_t *l, const st_window_t *w, int nwin, const st_limiter_tuning_t *t);
void st_limiter_free(st_limiter_t *l);
/* A venue's subscription messages: per_second, and per_minute when > 0, that window paced
 * (bursts of per_second) with a tenth of it kept for emergencies. */
void st_limiter_init_messages(st_limiter_t *l, int per_second, int per_minute, st_limiter_mode_t mode);
/* A REST account's calls: per_second, paced one call at a time. */
void st_limiter_init_calls(st_limiter_t *l, int per_second, st_limiter_mode_t mode);
/* The limit of window i in force now (after fraction and penalty), at least 1. */
int st_limiter_limit(st_limiter_t *l, int i, st_time_t now);
/* The earliest time >= now at which an ordinary (or urgent) grant is allowed. */
st_time_t st_limiter_next_for(st_limiter_t *l, st_time_t now, bool urgent);
/* Grants one ordinary (or urgent) request at now if allowed (recording it), else false. */
bool st_limiter_try_for(st_limiter_t *l, st_time_t now, bool urgent);
static inline st_time_t st_limiter_next(st_limiter_t *l, st_time_t now)
{
    return st_limiter_next_for(l, now, false);
}
static inline bool st_limiter_try(st_limiter_t *l, st_time_t now)
{
    return st_limiter_try_for(l, now, false);
}
/* Ordinary grants per second window i allows in the long run now (pacing and margin included). */
double st_limiter_rate(st_limiter_t *l, int i, st_time_t now);
/* Grants of window i within its period before now (what the venue counts against its limit,
 * w.limit, now). */
int st_limiter_used(const st_limiter_t *l, int i, st_time_t now);
/* A venue rate error (429, EGW00201): a wider margin and a short pause; once the margin is at
 * its widest, the penalty drops and recovery waits for quiet. */
void st_limiter_rate_error(st_limiter_t *l, st_time_t now);
/* Blocks every grant until `until` (Retry-After, a 418 ban). */
void st_limiter_block(st_limiter_t *l, st_time_t until);
/* Upbit Remaining-Req: `sec` requests left in the current second; 0 blocks to its end. */
void st_limiter_remaining(st_limiter_t *l, st_time_t now, int sec);
/* Parses "group=default; min=1800; sec=29" into sec; returns 0 or -EINVAL. */
int st_parse_remaining_req(const char *header, int *sec);
/* The penalty in force at now (1 = full rate), recovery included. */
double st_limiter_penalty(st_limiter_t *l, st_time_t now);
/* The timing margin in force at now, narrowing included. */
st_dur_t st_limiter_margin(st_limiter_t *l, st_time_t now);

#endif
