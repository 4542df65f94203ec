/* The clock shell on a real libev loop. Simulated time at speed 0 jumps deadline to
 * deadline, so these runs are exact and take no wall time; the x1000 run checks order and
 * that no callback sees a time before its deadline (no wall-time assertions). */
#include "../test.h"

#include "core/clock.h"

typedef struct {
    st_clock_t *clock;
    st_time_t seen[64];
    int ids[64];
    int n;
    st_timer_t *stop_after;
} rec_t;

typedef struct {
    rec_t *rec;
    int id;
} tctx_t;

static void on_fire(st_timer_t *t, st_time_t now, void *ctx)
{
    tctx_t *c = ctx;
    rec_t *r = c->rec;
    assert_true(now <= st_clock_now(r->clock));
    if (r->clock->speed == 0 || r->clock->discrete) assert_int_equal(now, st_clock_now(r->clock));
    r->seen[r->n] = now;
    r->ids[r->n++] = c->id;
    if (r->n == 7) ev_break(r->clock->loop, EVBREAK_ALL);
}

static void run_clock(st_clock_t *clk, rec_t *rec, st_time_t start)
{
    st_timer_t t[4];
    tctx_t c[4];
    st_time_t at[4] = {start + 3 * ST_MIN, start + ST_MIN, start + 2 * ST_MIN, start + ST_MIN};
    for (int i = 0; i < 4; i++) {
        c[i] = (tctx_t){rec, i};
        st_timer_init(&t[i], on_fire, &c[i]);
        st_clock_timer_start(clk, &t[i], at[i], i == 2 ? 30 * ST_SEC : 0);
    }
    ev_run(clk->loop, 0);
    for (int i = 0; i < 4; i++) st_clock_timer_stop(clk, &t[i]);
}

/* speed 0, or a discrete clock at any speed: the same deadlines, seen exactly, in one order. */
static void exact_run(double speed, bool discrete)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_t clk;
    st_time_t start = (st_time_t)1795391400 * ST_SEC;
    st_clock_init_sim(&clk, loop, start, speed);
    st_clock_set_discrete(&clk, discrete);
    assert_int_equal(st_clock_now(&clk), start);
    rec_t rec = {.clock = &clk};
    run_clock(&clk, &rec, start);
    /* 1m: ids 1 and 3 in start order; 2m and 2m30: id 2 (repeats every 30 s); 3m: id 0, then
     * id 2, whose 3m repeat was queued after 0 was started; 3m30: id 2 again. */
    int ids[7] = {1, 3, 2, 2, 0, 2, 2};
    st_dur_t at[7] = {ST_MIN, ST_MIN, 2 * ST_MIN, 150 * ST_SEC, 3 * ST_MIN, 3 * ST_MIN, 210 * ST_SEC};
    assert_int_equal(rec.n, 7);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(rec.ids[i], ids[i]);
        assert_int_equal(rec.seen[i], start + at[i]);
    }
    assert_int_equal(st_clock_now(&clk), start + 210 * ST_SEC); /* no wall time leaks in */
    st_clock_free(&clk);
    ev_loop_destroy(loop);
}

static void test_simulated_as_fast_as_possible(void **state)
{
    exact_run(0, false);
}

/* Issue 17.1: a discrete clock paced at x1000 serves every deadline at exactly its time, in
 * the order speed 0 does (a clock that followed the wall clock at x1000 sees later times). */
static void test_discrete_exact_at_any_speed(void **state)
{
    exact_run(1000, true);
}

static void test_simulated_speed_keeps_order(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_t clk;
    st_time_t start = (st_time_t)1795391400 * ST_SEC;
    st_clock_init_sim(&clk, loop, start, 1000); /* 3.5 simulated minutes in ~0.2 s */
    rec_t rec = {.clock = &clk};
    run_clock(&clk, &rec, start);
    assert_int_equal(rec.n, 7);
    st_dur_t at[7] = {ST_MIN, ST_MIN, 2 * ST_MIN, 150 * ST_SEC, 3 * ST_MIN, 3 * ST_MIN, 210 * ST_SEC};
    for (int i = 0; i < 7; i++) {
        assert_true(rec.seen[i] >= start + at[i]);
        if (i) assert_true(rec.seen[i] >= rec.seen[i - 1]);
    }
    st_clock_free(&clk);
    ev_loop_destroy(loop);
}

static void test_speed_change_is_continuous(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_t clk;
    st_time_t start = (st_time_t)1795391400 * ST_SEC;
    st_clock_init_sim(&clk, loop, start, 100);
    st_time_t before = st_clock_now(&clk);
    st_clock_set_speed(&clk, 5);
    st_time_t after = st_clock_now(&clk);
    assert_true(after >= before);
    assert_true(after - before < ST_SEC); /* re-anchored, no jump */
    assert_true(clk.speed == 5);
    st_clock_free(&clk);
    ev_loop_destroy(loop);
}

static void test_wall_clock_tracks_real_time(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_t clk;
    st_clock_init_wall(&clk, loop);
    st_time_t a = st_clock_now(&clk);
    st_time_t b = st_clock_now(&clk);
    assert_true(b >= a);
    assert_false(clk.simulated);
    st_clock_free(&clk);
    ev_loop_destroy(loop);
}

/* A batch: with a hold, a speed-0 clock serves deadline after deadline in one loop iteration,
 * and stops the moment hold says the loop has work (here: after the third deadline), then
 * carries on at the next iteration; the order and times are those of one deadline per
 * iteration. */
typedef struct {
    int fired, iterations, hold_after;
    st_time_t seen[8];
    st_clock_t *clk;
    uint32_t hold;
} batch_t;

static void batch_fire(st_timer_t *t, st_time_t now, void *ctx)
{
    batch_t *b = ctx;
    b->seen[b->fired++] = now;
    if (b->fired == 6) ev_break(b->clk->loop, EVBREAK_ALL);
    b->hold = b->fired == b->hold_after || b->fired >= 6;
}

static void batch_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    ((batch_t *)w->data)->iterations++;
}

static void test_batch_stops_where_hold_says(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_t clk;
    st_time_t start = (st_time_t)1795391400 * ST_SEC;
    st_clock_init_sim(&clk, loop, start, 0);
    st_clock_set_discrete(&clk, true);
    batch_t b = {.hold_after = 3, .clk = &clk};
    st_clock_set_hold(&clk, &b.hold);
    ev_prepare pw;
    ev_prepare_init(&pw, batch_prepare);
    pw.data = &b;
    ev_prepare_start(loop, &pw);
    st_timer_t t[8];
    for (int i = 0; i < 8; i++) {
        st_timer_init(&t[i], batch_fire, &b);
        st_clock_timer_start(&clk, &t[i], start + (8 - i) * ST_SEC, 0);
    }
    ev_run(loop, 0);
    assert_int_equal(b.fired, 6); /* the break held: none after the sixth */
    for (int i = 0; i < 6; i++) assert_int_equal(b.seen[i], start + (i + 1) * ST_SEC);
    assert_int_equal(st_clock_now(&clk), start + 6 * ST_SEC);
    printf("# 6 deadlines in %d loop iterations\n", b.iterations);
    assert_true(b.iterations <= 3); /* 1-3, then 4-6: not one iteration each */
    for (int i = 0; i < 8; i++) st_clock_timer_stop(&clk, &t[i]);
    ev_prepare_stop(loop, &pw);
    st_clock_free(&clk);
    ev_loop_destroy(loop);
}

/* st_clock_step: a source of events (a replay) serves its next one without a timer when no
 * deadline comes at or before it; the events come in the order and at the times the timers
 * would give — here compared with the same run arming a timer for every event. */
typedef struct {
    st_clock_t *clk;
    st_timer_t src, other;
    const st_dur_t *at; /* the source's event times, after start */
    int next, nat;
    bool step;          /* use st_clock_step */
    uint32_t hold;      /* the loop's work: here, the source is done (as a stop) */
    int stepped;
    char log[64];       /* 's' a source event, 'o' the other timer, in order */
    st_time_t when[64];
    int n;
    st_time_t start;
} step_t;

static void step_note(step_t *s, char who, st_time_t now)
{
    assert_true(s->n < 63);
    s->log[s->n] = who;
    s->when[s->n++] = now;
}

static void step_src(st_timer_t *t, st_time_t now, void *ctx)
{
    step_t *s = ctx;
    for (;;) {
        while (s->next < s->nat && s->start + s->at[s->next] <= now) step_note(s, 's', now), s->next++;
        s->hold = s->next == s->nat;
        if (s->next == s->nat) return;
        if (!s->step || !st_clock_step(s->clk, s->start + s->at[s->next])) break;
        assert_int_equal(st_clock_now(s->clk), s->start + s->at[s->next]);
        now = s->start + s->at[s->next];
        s->stepped++;
    }
    st_clock_timer_start(s->clk, &s->src, s->start + s->at[s->next], 0);
}

static void step_other(st_timer_t *t, st_time_t now, void *ctx)
{
    step_note(ctx, 'o', now);
}

static void step_run(step_t *s, bool step)
{
    static const st_dur_t at[] = {ST_SEC, 2 * ST_SEC, 3 * ST_SEC, 3 * ST_SEC, 4 * ST_SEC, 6 * ST_SEC, 7 * ST_SEC};
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_t clk;
    st_time_t start = (st_time_t)1795391400 * ST_SEC;
    st_clock_init_sim(&clk, loop, start, 0);
    st_clock_set_discrete(&clk, true);
    *s = (step_t){.clk = &clk, .at = at, .nat = 7, .step = step, .start = start};
    st_clock_set_hold(&clk, &s->hold);
    assert_false(st_clock_step(&clk, start + ST_SEC)); /* outside a batch: never */
    st_timer_init(&s->src, step_src, s);
    st_timer_init(&s->other, step_other, s);
    st_clock_timer_start(&clk, &s->src, start + ST_SEC, 0);
    st_clock_timer_start(&clk, &s->other, start + 3 * ST_SEC, 2 * ST_SEC); /* 3 s, 5 s, 7 s, ... */
    while (s->next < s->nat) ev_run(loop, EVRUN_ONCE);
    st_clock_timer_stop(&clk, &s->other);
    st_clock_free(&clk);
    ev_loop_destroy(loop);
}

static void test_step_keeps_the_timers_order(void **state)
{
    step_t a, b;
    step_run(&a, false);
    step_run(&b, true);
    /* 1 s, 2 s; at 3 s the other timer first (it was there first), then the source's two; 4 s;
     * the other's 5 s; 6 s; at 7 s the other first again */
    assert_string_equal(a.log, "ssosssosos");
    assert_string_equal(b.log, a.log);
    for (int i = 0; i < a.n; i++) assert_int_equal(b.when[i], a.when[i]);
    assert_int_equal(a.stepped, 0);
    printf("# %d of 7 events stepped without a timer\n", b.stepped);
    assert_int_equal(b.stepped, 2); /* 1 s -> 2 s, and 3 s -> 4 s; every other waits for a deadline */
}

/* No step while the loop has work (the hold), nor on a paced clock. */
static void test_step_refused(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_t clk;
    st_time_t start = (st_time_t)1795391400 * ST_SEC;
    st_clock_init_sim(&clk, loop, start, 0);
    st_clock_set_discrete(&clk, true);
    step_t s = {.hold = 1, .nat = 1};
    st_clock_set_hold(&clk, &s.hold);
    clk.serving = clk.step_ok = true; /* as inside a batch at speed 0 (on_ev_timer) */
    assert_false(st_clock_step(&clk, start + ST_SEC)); /* the loop has work */
    s.hold = 0;
    assert_true(st_clock_step(&clk, start + ST_SEC));
    assert_int_equal(st_clock_now(&clk), start + ST_SEC);
    st_clock_set_speed(&clk, 10); /* paced: each event waits for its wall time */
    clk.serving = true;
    assert_false(st_clock_step(&clk, start + 2 * ST_SEC));
    assert_int_equal(st_clock_now(&clk), start + ST_SEC);
    clk.serving = false;
    st_clock_free(&clk);
    ev_loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simulated_as_fast_as_possible),
        cmocka_unit_test(test_discrete_exact_at_any_speed),
        cmocka_unit_test(test_batch_stops_where_hold_says),
        cmocka_unit_test(test_step_keeps_the_timers_order),
        cmocka_unit_test(test_step_refused),
        cmocka_unit_test(test_simulated_speed_keeps_order),
        cmocka_unit_test(test_speed_change_is_continuous),
        cmocka_unit_test(test_wall_clock_tracks_real_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
