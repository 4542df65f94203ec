/* The one clock of a strata process. Wall mode follows real time; simulated mode starts at a
 * configured date-time and runs `speed` times faster than real time, or as fast as possible
 * (speed 0: time jumps from one timer deadline to the next). Every timer in the program is an
 * st_timer_t on this clock; the clock maps the earliest deadline onto a single ev_timer.
 *
 * A discrete simulated clock (st_clock_set_discrete: every feed is simulated, nothing arrives
 * from outside) never reads the wall clock for its time: it moves from one deadline to the next
 * and `now` is the deadline being served, so a run is the same sequence of events at any speed;
 * `speed` only paces the deadlines against the wall clock. When the machine cannot keep up, the
 * run falls behind (st_clock_behind) and nothing is dropped or reordered. A clock that hears
 * from the network (a venue's messages arrive when they arrive) must follow the wall clock. */
#ifndef ST_CORE_CLOCK_H
#define ST_CORE_CLOCK_H

#include "timers.h"

#include <ev.h>

typedef struct st_clock {
    st_timers_t timers;
    struct ev_loop *loop;
    ev_timer w;
    bool simulated;
    bool discrete;       /* simulated, deadline to deadline (see above) */
    double speed;        /* simulated: × real time, 0 = as fast as possible */
    st_dur_t behind;     /* discrete: how far the last deadline was served after its paced time */
    st_dur_t behind_max;
    st_time_t sim_base;  /* simulated time at the anchor */
    ev_tstamp real_base; /* ev_now() at the anchor */
    const uint32_t *hold; /* st_clock_set_hold */
    bool serving;        /* inside a batch of deadlines: the ev_timer is set once, after it */
    bool step_ok;        /* serving at speed 0 with a hold: st_clock_step may step (step_kept) */
    int batch;           /* events served in this batch (deadlines and steps) */
} st_clock_t;

/* With a hold (st_clock_set_hold), a deadline-to-deadline clock serves the deadlines that are
 * due (all of them at speed 0) in one loop iteration, up to ST_CLOCK_BATCH, so a run is not one
 * loop iteration and one system call per event. It stops early when the hold is nonzero: the
 * loop has work before the next deadline (the runtime: a plan to apply, a stop), so what
 * happens between deadlines happens as before; a callback's ev_break only takes effect after
 * the batch, so a user that breaks the loop from a timer says so through the hold. A word the
 * user keeps, not a callback: a replay asks it once a tick (st_clock_step). Without one: one
 * deadline per loop iteration. */
#define ST_CLOCK_BATCH 4096 /* a replay: ~0.1-1 ms between two looks at I/O; 256 cost it 8 % in epoll_wait */

void st_clock_init_wall(st_clock_t *c, struct ev_loop *loop);
void st_clock_init_sim(st_clock_t *c, struct ev_loop *loop, st_time_t start, double speed);
void st_clock_free(st_clock_t *c);
st_time_t st_clock_now(st_clock_t *c);
/* Changes the speed of a simulated clock from now on (reload). */
void st_clock_set_speed(st_clock_t *c, double speed);
/* A simulated clock becomes discrete (on) or follows the wall clock at its speed (off). */
void st_clock_set_discrete(st_clock_t *c, bool on);

/* The hold: the loop has work while *hold is nonzero (NULL: no hold). */
void st_clock_set_hold(st_clock_t *c, const uint32_t *hold);

/* From a timer's callback, for the caller's next event at t: when the clock runs as fast as
 * possible, serves a batch, the loop has no work (the hold) and no deadline comes at or before
 * t, the clock moves to t and returns true — the caller serves its event now, as its timer
 * would have, without the timer's heap operations (a replay: one event per tick). False: the
 * caller arms a timer. The order of events is the timers' order: a timer armed now for t would
 * come after every deadline already at t. Counts in the batch (ST_CLOCK_BATCH). */
static inline bool st_clock_step(st_clock_t *c, st_time_t t) /* (inline: once a tick of a replay) */
{
    if (!c->step_ok || c->batch + 1 >= ST_CLOCK_BATCH || *c->hold || st_timers_next(&c->timers) <= t)
        return false;
    c->batch++;
    if (t > c->timers.now) c->timers.now = t;
    return true;
}

/* Timers on this clock. `at` is strata time; repeat 0 = one-shot. */
void st_clock_timer_start(st_clock_t *c, st_timer_t *t, st_time_t at, st_dur_t repeat);
void st_clock_timer_stop(st_clock_t *c, st_timer_t *t);
/* Adapter for st_log_set_time_source. */
st_time_t st_clock_now_cb(void *clock);

#endif
