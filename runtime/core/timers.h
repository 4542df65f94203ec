/* A pure timer heap on strata time. Timers fire in deadline order, and timers due at the same
 * instant fire in the order they were started, so a run is deterministic. No I/O: the caller
 * says what time it is (the clock shell in clock.c, or a test). */
#ifndef ST_CORE_TIMERS_H
#define ST_CORE_TIMERS_H

#include "common.h"

typedef struct st_timer st_timer_t;
typedef void (*st_timer_cb)(st_timer_t *t, st_time_t now, void *ctx);

struct st_timer {
    st_time_t at;     /* next deadline */
    st_dur_t repeat;  /* 0: one-shot */
    uint64_t seq;     /* start order, breaks ties */
    size_t idx;       /* position in the heap; SIZE_MAX when inactive */
    st_timer_cb cb;
    void *ctx;
};

typedef struct {
    st_timer_t **heap;
    size_t n, cap;
    uint64_t seq;
    st_time_t now;
    st_time_t next; /* the earliest deadline (ST_TIME_NEVER: none), kept by every change */
    uint64_t fired;
} st_timers_t;

void st_timers_init(st_timers_t *ts, st_time_t now);
void st_timers_free(st_timers_t *ts);
/* Initialises a timer in the stopped state (safe to stop or restart). */
void st_timer_init(st_timer_t *t, st_timer_cb cb, void *ctx);
/* (Re)starts t to fire at `at` (clamped to now), then every `repeat` if non-zero. */
void st_timer_start(st_timers_t *ts, st_timer_t *t, st_time_t at, st_dur_t repeat);
void st_timer_stop(st_timers_t *ts, st_timer_t *t);
bool st_timer_active(const st_timer_t *t);
/* Earliest deadline, or ST_TIME_NEVER. (Inline, one load: a replay asks once a tick.) */
static inline st_time_t st_timers_next(const st_timers_t *ts)
{
    return ts->next;
}
/* Fires every timer due at or before `to`, in order; during a callback ts->now is that timer's
 * deadline. Callbacks may start and stop timers (a timer started for a time <= to fires in this
 * same call). Ends with ts->now = to. Returns the number of callbacks run. */
size_t st_timers_advance(st_timers_t *ts, st_time_t to);

#endif
