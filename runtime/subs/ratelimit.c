#include "ratelimit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const st_rl_mode_names[] = {"conservative", "balanced", "aggressive", NULL};

void st_rl_mode_tuning(st_rl_mode_t mode, st_rl_tuning_t *t)
{
    switch (mode) {
    case ST_RL_AGGRESSIVE:
        *t = (st_rl_tuning_t){1.0, 0.9, 0.6, 60 * ST_SEC, 10 * ST_SEC, 0.15};
        break;
    case ST_RL_BALANCED:
        *t = (st_rl_tuning_t){0.9, 0.8, 0.5, 120 * ST_SEC, 20 * ST_SEC, 0.10};
        break;
    default:
        *t = (st_rl_tuning_t){0.8, 0.8, 0.5, 300 * ST_SEC, 30 * ST_SEC, 0.05};
        break;
    }
}

void st_limiter_init(st_limiter_t *l, const st_window_t *w, int nwin, const st_rl_tuning_t *t)
{
    memset(l, 0, sizeof(*l));
    st_require(nwin >= 1 && nwin <= ST_LIMIT_WINDOWS);
    l->nwin = nwin;
    l->t = *t;
    l->penalty = 1.0;
    l->last_error = INT64_MIN / 2;
    for (int i = 0; i < nwin; i++) {
        st_require(w[i].limit >= 1 && w[i].period > 0);
        l->win[i].w = w[i];
        l->win[i].ring = st_xcalloc((size_t)w[i].limit, sizeof(st_time_t));
    }
}

void st_limiter_free(st_limiter_t *l)
{
    for (int i = 0; i < l->nwin; i++) free(l->win[i].ring);
    memset(l, 0, sizeof(*l));
}

/* After an error at E that left p0: p0 until E + delay, then one step more at the end of the
 * quiet period and every interval after it, up to 1. A pure function of the time. */
double st_limiter_penalty(st_limiter_t *l, st_time_t now)
{
    st_dur_t quiet = now - l->last_error - l->t.recovery_delay;
    if (quiet < 0) return l->penalty;
    double steps = 1.0 + (double)(quiet / l->t.recovery_interval);
    return fmin(1.0, l->penalty + steps * l->t.recovery_step);
}

int st_limiter_limit(st_limiter_t *l, int i, st_time_t now)
{
    int n = (int)floor(l->win[i].w.limit * l->t.fraction * st_limiter_penalty(l, now) + 1e-9);
    return n < 1 ? 1 : n;
}

/* The time of the k-th most recent grant of window i (k = 1 is the latest). */
static st_time_t nth_latest(const st_rl_window_t *w, int k)
{
    int idx = (w->head - k + w->w.limit * 2) % w->w.limit;
    return w->ring[idx];
}

st_time_t st_limiter_next(st_limiter_t *l, st_time_t now)
{
    st_time_t t = now > l->blocked_until ? now : l->blocked_until;
    for (int i = 0; i < l->nwin; i++) {
        const st_rl_window_t *w = &l->win[i];
        int lim = st_limiter_limit(l, i, t);
        if (w->count < lim) continue;
        /* The lim-th latest grant must leave the window: allowed at its time + period. */
        st_time_t free_at = nth_latest(w, lim) + w->w.period;
        if (free_at > t) t = free_at;
    }
    return t;
}

bool st_limiter_try(st_limiter_t *l, st_time_t now)
{
    if (st_limiter_next(l, now) > now) {
        l->denials++;
        return false;
    }
    for (int i = 0; i < l->nwin; i++) {
        st_rl_window_t *w = &l->win[i];
        w->ring[w->head] = now;
        w->head = (w->head + 1) % w->w.limit;
        if (w->count < w->w.limit) w->count++;
    }
    l->grants++;
    return true;
}

void st_limiter_rate_error(st_limiter_t *l, st_time_t now)
{
    l->penalty = fmax(l->t.floor, st_limiter_penalty(l, now) * l->t.reduction);
    l->last_error = now;
    l->errors++;
}

void st_limiter_block(st_limiter_t *l, st_time_t until)
{
    if (until > l->blocked_until) l->blocked_until = until;
}

void st_limiter_remaining(st_limiter_t *l, st_time_t now, int sec)
{
    if (sec <= 0) st_limiter_block(l, (now / ST_SEC + 1) * ST_SEC);
}

int st_parse_remaining_req(const char *h, int *sec)
{
    const char *p = h;
    while ((p = strstr(p, "sec=")) != NULL) {
        if (p == h || p[-1] == ' ' || p[-1] == ';') {
            char *end;
            long v = strtol(p + 4, &end, 10);
            if (end == p + 4 || v < 0) return -EINVAL;
            *sec = (int)v;
            return 0;
        }
        p += 4;
    }
    return -EINVAL;
}
