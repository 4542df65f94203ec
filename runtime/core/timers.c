#include "timers.h"

#include <stdlib.h>

static bool before(const st_timer_t *a, const st_timer_t *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void place(st_timers_t *ts, size_t i, st_timer_t *t)
{
    ts->heap[i] = t;
    t->idx = i;
}

static void sift_up(st_timers_t *ts, size_t i)
{
    st_timer_t *t = ts->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(t, ts->heap[p])) break;
        place(ts, i, ts->heap[p]);
        i = p;
    }
    place(ts, i, t);
}

static void sift_down(st_timers_t *ts, size_t i)
{
    st_timer_t *t = ts->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= ts->n) break;
        if (c + 1 < ts->n && before(ts->heap[c + 1], ts->heap[c])) c++;
        if (!before(ts->heap[c], t)) break;
        place(ts, i, ts->heap[c]);
        i = c;
    }
    place(ts, i, t);
}

/* ts->next from the heap: after every change of it. */
static void keep_next(st_timers_t *ts)
{
    ts->next = ts->n ? ts->heap[0]->at : ST_TIME_NEVER;
}

void st_timers_init(st_timers_t *ts, st_time_t now)
{
    *ts = (st_timers_t){.now = now, .next = ST_TIME_NEVER};
}

void st_timers_free(st_timers_t *ts)
{
    for (size_t i = 0; i < ts->n; i++) ts->heap[i]->idx = SIZE_MAX;
    free(ts->heap);
    ts->heap = NULL;
    ts->n = ts->cap = 0;
    keep_next(ts);
}

void st_timer_init(st_timer_t *t, st_timer_cb cb, void *ctx)
{
    *t = (st_timer_t){.idx = SIZE_MAX, .cb = cb, .ctx = ctx};
}

bool st_timer_active(const st_timer_t *t)
{
    return t->idx != SIZE_MAX;
}

void st_timer_stop(st_timers_t *ts, st_timer_t *t)
{
    if (!st_timer_active(t)) return;
    size_t i = t->idx;
    st_require(i < ts->n && ts->heap[i] == t);
    t->idx = SIZE_MAX;
    ts->n--;
    if (i < ts->n) {
        st_timer_t *moved = ts->heap[ts->n];
        place(ts, i, moved);
        sift_down(ts, i);
        if (moved->idx == i) sift_up(ts, i);
    }
    keep_next(ts);
}

void st_timer_start(st_timers_t *ts, st_timer_t *t, st_time_t at, st_dur_t repeat)
{
    st_timer_stop(ts, t);
    t->at = at < ts->now ? ts->now : at;
    t->repeat = repeat > 0 ? repeat : 0;
    t->seq = ts->seq++;
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? ts->cap * 2 : 16;
        ts->heap = st_xrealloc(ts->heap, ts->cap * sizeof(*ts->heap));
    }
    place(ts, ts->n, t);
    sift_up(ts, ts->n++);
    keep_next(ts);
}

size_t st_timers_advance(st_timers_t *ts, st_time_t to)
{
    size_t fired = 0;
    while (ts->n && ts->heap[0]->at <= to) {
        st_timer_t *t = ts->heap[0];
        if (t->at > ts->now) ts->now = t->at;
        if (t->repeat)
            st_timer_start(ts, t, t->at + t->repeat, t->repeat);
        else
            st_timer_stop(ts, t);
        t->cb(t, ts->now, t->ctx);
        fired++;
    }
    if (to > ts->now) ts->now = to;
    ts->fired += fired;
    return fired;
}
