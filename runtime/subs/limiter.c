#include "limiter.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const st_limiter_mode_names[] = {"conservative", "balanced", "aggressive", NULL};

#define MARGIN_HOLD (10 * ST_SEC) /* the margin holds this long after an error, then halves as often */
#define MARGIN_STEP (10 * ST_MSEC) /* the least a skew error widens it by */
#define MARGIN_MAX (250 * ST_MSEC)

void st_limiter_mode_tuning(st_limiter_mode_t mode, st_limiter_tuning_t *t)
{
    switch (mode) {
    case ST_LIMITER_AGGRESSIVE:
        *t = (st_limiter_tuning_t){1.0, 0.9, 0.6, 60 * ST_SEC, 10 * ST_SEC, 0.15, 20 * ST_MSEC, MARGIN_MAX};
        break;
    case ST_LIMITER_BALANCED:
        *t = (st_limiter_tuning_t){0.9, 0.8, 0.5, 120 * ST_SEC, 20 * ST_SEC, 0.10, 30 * ST_MSEC, MARGIN_MAX};
        break;
    default:
        *t = (st_limiter_tuning_t){0.8, 0.8, 0.5, 300 * ST_SEC, 30 * ST_SEC, 0.05, 50 * ST_MSEC, MARGIN_MAX};
        break;
    }
}

void st_limiter_init(st_limiter_t *l, const st_window_t *w, int nwin, const st_limiter_tuning_t *t)
{
    memset(l, 0, sizeof(*l));
    st_require(nwin >= 1 && nwin <= ST_LIMIT_WINDOWS);
    l->nwin = nwin;
    l->t = *t;
    l->penalty = 1.0;
    l->last_error = l->margin_at = INT64_MIN / 2;
    if (l->t.margin_max < l->t.margin) l->t.margin_max = l->t.margin;
    l->margin = l->t.margin;
    for (int i = 0; i < nwin; i++) {
        st_require(w[i].limit >= 1 && w[i].period > 0 && w[i].burst >= 0 && w[i].reserve >= 0 &&
                   w[i].reserve < w[i].limit);
        l->win[i].w = w[i];
        l->win[i].ring = st_xcalloc((size_t)w[i].limit, sizeof(st_time_t));
        if (w[i].reserve) {
            l->win[i].urgent = st_xcalloc((size_t)w[i].reserve, sizeof(st_time_t));
            for (int k = 0; k < w[i].reserve; k++) l->win[i].urgent[k] = INT64_MIN / 2;
        }
    }
}

void st_limiter_init_messages(st_limiter_t *l, int per_second, int per_minute, st_limiter_mode_t mode)
{
    st_limiter_tuning_t t;
    st_limiter_mode_tuning(mode, &t);
    per_second = per_second < 1 ? 1 : per_second;
    st_window_t w[2] = {{per_second, ST_SEC, 0, 0}, {per_minute, ST_MIN, per_second, per_minute / 10}};
    st_limiter_init(l, w, per_minute > 0 ? 2 : 1, &t);
}

void st_limiter_init_calls(st_limiter_t *l, int per_second, st_limiter_mode_t mode)
{
    st_limiter_tuning_t t;
    st_limiter_mode_tuning(mode, &t);
    st_window_t w = {per_second < 1 ? 1 : per_second, ST_SEC, 1, 0};
    st_limiter_init(l, &w, 1, &t);
}

void st_limiter_free(st_limiter_t *l)
{
    for (int i = 0; i < l->nwin; i++) free(l->win[i].ring), free(l->win[i].urgent);
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

/* The margin left by the latest error: held MARGIN_HOLD, then halved every MARGIN_HOLD down to
 * the base. A pure function of the time. */
st_dur_t st_limiter_margin(st_limiter_t *l, st_time_t now)
{
    st_dur_t quiet = now - l->margin_at;
    if (quiet < MARGIN_HOLD) return l->margin;
    int64_t halvings = quiet / MARGIN_HOLD;
    st_dur_t m = halvings >= 62 ? 0 : l->margin >> halvings;
    return m > l->t.margin ? m : l->t.margin;
}

int st_limiter_limit(st_limiter_t *l, int i, st_time_t now)
{
    int n = (int)floor(l->win[i].w.limit * l->t.fraction * st_limiter_penalty(l, now) + 1e-9);
    return n < 1 ? 1 : n;
}

/* The reserve in force scales with the limit; ordinary grants always keep at least one. */
static int reserve_of(st_limiter_t *l, int i, int lim)
{
    const st_window_t *w = &l->win[i].w;
    int r = w->reserve ? (int)ceil((double)w->reserve * lim / w->limit - 1e-9) : 0;
    return r >= lim ? lim - 1 : r;
}

/* A paced window's interval between ordinary grants in the long run. */
static st_dur_t pace_of(st_limiter_t *l, int i, int lim, st_dur_t margin)
{
    const st_window_t *w = &l->win[i].w;
    int n = lim - reserve_of(l, i, lim) - (w->burst - 1);
    return (w->period + margin) / (n < 1 ? 1 : n);
}

double st_limiter_rate(st_limiter_t *l, int i, st_time_t now)
{
    int lim = st_limiter_limit(l, i, now);
    st_dur_t m = st_limiter_margin(l, now);
    if (l->win[i].w.burst > 0) return (double)ST_SEC / (double)pace_of(l, i, lim, m);
    return (double)(lim - reserve_of(l, i, lim)) * ST_SEC / (double)(l->win[i].w.period + m);
}

/* The time of the k-th most recent grant of window i (k = 1 is the latest). */
static st_time_t nth_latest(const st_limiter_window_t *w, int k)
{
    int idx = (w->head - k + w->w.limit * 2) % w->w.limit;
    return w->ring[idx];
}

int st_limiter_used(const st_limiter_t *l, int i, st_time_t now)
{
    const st_limiter_window_t *w = &l->win[i];
    int n = 0;
    for (int k = 1; k <= w->count && nth_latest(w, k) > now - w->w.period; k++) n++;
    return n;
}

st_time_t st_limiter_next_for(st_limiter_t *l, st_time_t now, bool urgent)
{
    st_time_t t = now > l->blocked_until ? now : l->blocked_until;
    st_dur_t m = st_limiter_margin(l, t);
    for (int i = 0; i < l->nwin; i++) {
        const st_limiter_window_t *w = &l->win[i];
        int lim = st_limiter_limit(l, i, t);
        if (!urgent && w->w.burst > 0) { /* paced: no sooner than the schedule allows */
            st_time_t gate = w->tat - (st_dur_t)(w->w.burst - 1) * pace_of(l, i, lim, m);
            if (gate > t) t = gate;
        }
        if (!urgent) { /* the reserve left: what urgent grants in the window have not spent */
            int used = 0;
            for (int k = 0; k < w->w.reserve; k++) used += w->urgent[k] > t - w->w.period - m;
            lim -= ST_MAX2(0, reserve_of(l, i, lim) - used);
        }
        if (w->count < lim) continue;
        /* The lim-th latest grant must leave the window: allowed at its time + period + margin. */
        st_time_t free_at = nth_latest(w, lim) + w->w.period + m;
        if (free_at > t) t = free_at;
    }
    return t;
}

bool st_limiter_try_for(st_limiter_t *l, st_time_t now, bool urgent)
{
    if (st_limiter_next_for(l, now, urgent) > now) {
        l->denials++;
        return false;
    }
    st_dur_t m = st_limiter_margin(l, now);
    for (int i = 0; i < l->nwin; i++) {
        st_limiter_window_t *w = &l->win[i];
        w->ring[w->head] = now;
        w->head = (w->head + 1) % w->w.limit;
        if (w->count < w->w.limit) w->count++;
        if (urgent && w->w.reserve) {
            w->urgent[w->uhead] = now;
            w->uhead = (w->uhead + 1) % w->w.reserve;
        }
        if (w->w.burst > 0 && !urgent) { /* up to half an interval late keeps its slot: timers fire late */
            st_dur_t pace = pace_of(l, i, st_limiter_limit(l, i, now), m);
            w->tat = (w->tat > now - pace / 2 ? w->tat : now - pace / 2) + pace;
        }
    }
    l->grants++;
    l->urgent += urgent;
    return true;
}

void st_limiter_rate_error(st_limiter_t *l, st_time_t now)
{
    l->errors++;
    st_dur_t m = st_limiter_margin(l, now), shortest = l->win[0].w.period;
    for (int i = 1; i < l->nwin; i++) shortest = ST_MIN2(shortest, l->win[i].w.period);
    st_limiter_block(l, now + shortest / 4);
    if (m < l->t.margin_max) { /* skew first: grants further apart, the rate kept */
        st_dur_t wider = ST_MAX2(2 * m, m + MARGIN_STEP);
        l->margin = ST_MIN2(wider, l->t.margin_max);
        l->margin_at = now;
        l->skews++;
        return;
    }
    l->margin = m;
    l->margin_at = now; /* persisting: the margin holds and the rate drops */
    l->penalty = fmax(l->t.floor, st_limiter_penalty(l, now) * l->t.reduction);
    l->last_error = now;
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
