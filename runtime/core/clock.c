#include "clock.h"
#include "timefmt.h"

static void rearm(st_clock_t *c);

/* Deadline to deadline: a speed-0 simulated clock, or a discrete one. */
static bool stepping(const st_clock_t *c)
{
    return c->simulated && (c->speed == 0 || c->discrete);
}

/* c->step_ok from what it stands for: after each change of them. (serving: only in a batch of
 * a stepping clock, so simulated.) */
static void step_kept(st_clock_t *c)
{
    c->step_ok = c->serving && c->simulated && c->speed == 0 && c->hold;
}

/* The wall time (ev_now scale) at which a discrete clock serves simulated time t. */
static ev_tstamp paced_at(const st_clock_t *c, st_time_t t)
{
    return c->real_base + (double)(t - c->sim_base) / 1e6 / c->speed;
}

static void on_ev_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    st_clock_t *c = w->data;
    st_time_t next = st_timers_next(&c->timers);
    if (stepping(c)) {
        /* Jump from deadline to deadline while they are due (at speed 0, always), a batch at
         * most, so I/O watchers still get their turn; stop when the loop has work first (hold).
         * Paced, record how late each is served. */
        c->serving = true;
        step_kept(c);
        for (c->batch = 0; next != ST_TIME_NEVER && c->batch < ST_CLOCK_BATCH; c->batch++) {
            if (c->speed > 0) {
                double late = ev_now(loop) - paced_at(c, next);
                if (c->batch > 0 && late < 0) break; /* not due yet: the ev_timer waits for it */
                c->behind = late > 0 ? (st_dur_t)(late * 1e6) : 0;
                if (c->behind > c->behind_max) c->behind_max = c->behind;
            }
            st_timers_advance(&c->timers, next);
            if (!c->hold || *c->hold) break; /* no hold: one deadline per iteration */
            next = st_timers_next(&c->timers);
        }
        c->serving = false;
        step_kept(c);
    } else {
        st_timers_advance(&c->timers, st_clock_now(c));
    }
    rearm(c);
}

static void rearm(st_clock_t *c)
{
    if (c->serving) return; /* once, after the batch */
    ev_timer_stop(c->loop, &c->w);
    st_time_t next = st_timers_next(&c->timers);
    if (next == ST_TIME_NEVER) return;
    double delay;
    if (c->simulated && c->speed == 0) {
        delay = 0;
    } else if (c->discrete) {
        delay = paced_at(c, next) - ev_now(c->loop);
        if (delay < 0) delay = 0;
    } else {
        st_time_t now = st_clock_now(c);
        double sim_delay = next > now ? (double)(next - now) / 1e6 : 0;
        delay = c->simulated ? sim_delay / c->speed : sim_delay;
    }
    ev_timer_set(&c->w, delay, 0);
    ev_timer_start(c->loop, &c->w);
}

static void init_common(st_clock_t *c, struct ev_loop *loop, st_time_t now)
{
    st_timers_init(&c->timers, now);
    c->loop = loop;
    ev_timer_init(&c->w, on_ev_timer, 0, 0);
    c->w.data = c;
}

void st_clock_init_wall(st_clock_t *c, struct ev_loop *loop)
{
    *c = (st_clock_t){0};
    init_common(c, loop, st_wall_now());
}

void st_clock_init_sim(st_clock_t *c, struct ev_loop *loop, st_time_t start, double speed)
{
    *c = (st_clock_t){.simulated = true, .speed = speed, .sim_base = start};
    init_common(c, loop, start);
    c->real_base = ev_now(loop);
}

void st_clock_free(st_clock_t *c)
{
    ev_timer_stop(c->loop, &c->w);
    st_timers_free(&c->timers);
}

st_time_t st_clock_now(st_clock_t *c)
{
    st_time_t t;
    if (!c->simulated)
        t = st_wall_now();
    else if (stepping(c))
        t = c->timers.now;
    else
        t = c->sim_base + (st_time_t)((ev_now(c->loop) - c->real_base) * c->speed * 1e6);
    /* Never behind a deadline already fired: callbacks saw that time. */
    return t > c->timers.now ? t : c->timers.now;
}

st_time_t st_clock_now_cb(void *clock)
{
    return st_clock_now(clock);
}

void st_clock_set_speed(st_clock_t *c, double speed)
{
    if (!c->simulated || speed == c->speed) return;
    c->sim_base = st_clock_now(c);
    c->real_base = ev_now(c->loop);
    c->speed = speed;
    step_kept(c);
    rearm(c);
}

void st_clock_set_discrete(st_clock_t *c, bool on)
{
    if (!c->simulated || on == c->discrete) return;
    c->sim_base = st_clock_now(c); /* the pacing starts from here */
    c->timers.now = c->sim_base;
    c->real_base = ev_now(c->loop);
    c->discrete = on;
    rearm(c);
}

void st_clock_set_hold(st_clock_t *c, const uint32_t *hold)
{
    c->hold = hold;
    step_kept(c);
}

void st_clock_timer_start(st_clock_t *c, st_timer_t *t, st_time_t at, st_dur_t repeat)
{
    if (!stepping(c)) c->timers.now = st_clock_now(c);
    st_timer_start(&c->timers, t, at, repeat);
    rearm(c);
}

void st_clock_timer_stop(st_clock_t *c, st_timer_t *t)
{
    st_timer_stop(&c->timers, t);
    rearm(c);
}
