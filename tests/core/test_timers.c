#include "../test.h"

#include "core/timers.h"

typedef struct {
    st_time_t at[4096];
    int id[4096];
    size_t n;
} log_t;

typedef struct {
    int id;
    log_t *log;
    st_timers_t *ts;
    st_timer_t *chain; /* started from the callback */
    st_dur_t chain_delay;
} probe_t;

static void on_fire(st_timer_t *t, st_time_t now, void *ctx)
{
    probe_t *p = ctx;
    p->log->at[p->log->n] = now;
    p->log->id[p->log->n++] = p->id;
    if (p->chain) st_timer_start(p->ts, p->chain, now + p->chain_delay, 0);
}

static void test_order_and_ties(void **state)
{
    st_timers_t ts;
    st_timers_init(&ts, 1000);
    log_t log = {0};
    st_timer_t t[5];
    probe_t p[5];
    st_time_t when[5] = {5000, 3000, 5000, 2000, 5000};
    for (int i = 0; i < 5; i++) {
        p[i] = (probe_t){.id = i, .log = &log, .ts = &ts};
        st_timer_init(&t[i], on_fire, &p[i]);
        st_timer_start(&ts, &t[i], when[i], 0);
    }
    assert_int_equal(st_timers_next(&ts), 2000);
    assert_int_equal(st_timers_advance(&ts, 4999), 2);
    assert_int_equal(ts.now, 4999);
    assert_int_equal(st_timers_advance(&ts, 10000), 3);
    int expect_id[5] = {3, 1, 0, 2, 4}; /* equal deadlines fire in start order */
    st_time_t expect_at[5] = {2000, 3000, 5000, 5000, 5000};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(log.id[i], expect_id[i]);
        assert_int_equal(log.at[i], expect_at[i]);
    }
    assert_int_equal(st_timers_next(&ts), ST_TIME_NEVER);
    st_timers_free(&ts);
}

static void test_repeat_stop_and_past(void **state)
{
    st_timers_t ts;
    st_timers_init(&ts, 0);
    log_t log = {0};
    st_timer_t rep, once;
    probe_t pr = {.id = 1, .log = &log, .ts = &ts}, po = {.id = 2, .log = &log, .ts = &ts};
    st_timer_init(&rep, on_fire, &pr);
    st_timer_init(&once, on_fire, &po);
    st_timer_start(&ts, &rep, 100, 100);
    st_timer_start(&ts, &once, 250, 0);
    assert_int_equal(st_timers_advance(&ts, 350), 4); /* 100 200 250 300 */
    assert_int_equal(log.at[0], 100);
    assert_int_equal(log.at[1], 200);
    assert_int_equal(log.id[2], 2);
    assert_int_equal(log.at[3], 300);
    assert_true(st_timer_active(&rep));
    assert_false(st_timer_active(&once));
    st_timer_stop(&ts, &rep);
    st_timer_stop(&ts, &rep); /* idempotent */
    assert_int_equal(st_timers_advance(&ts, 1000), 0);
    /* A deadline in the past fires at the current time, not before it. */
    st_timer_start(&ts, &once, 10, 0);
    assert_int_equal(st_timers_advance(&ts, 1000), 1);
    assert_int_equal(log.at[4], 1000);
    st_timers_free(&ts);
}

static void test_start_from_callback_fires_in_same_advance(void **state)
{
    st_timers_t ts;
    st_timers_init(&ts, 0);
    log_t log = {0};
    st_timer_t a, b;
    probe_t pb = {.id = 2, .log = &log, .ts = &ts};
    probe_t pa = {.id = 1, .log = &log, .ts = &ts, .chain = &b, .chain_delay = 50};
    st_timer_init(&a, on_fire, &pa);
    st_timer_init(&b, on_fire, &pb);
    st_timer_start(&ts, &a, 100, 0);
    assert_int_equal(st_timers_advance(&ts, 200), 2);
    assert_int_equal(log.at[1], 150);
    assert_int_equal(log.id[1], 2);
    st_timers_free(&ts);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xs(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The earliest live deadline, ST_TIME_NEVER when none: what st_timers_next must say. */
static st_time_t earliest(const st_time_t *deadline, const bool *live, int n)
{
    st_time_t m = ST_TIME_NEVER;
    for (int i = 0; i < n; i++)
        if (live[i] && deadline[i] < m) m = deadline[i];
    return m;
}

/* Many timers, random starts, stops and restarts: after each, the next deadline is the
 * earliest live one (st_timers_next, kept by every change); every firing is in non-decreasing
 * time order, at exactly its deadline, and stopped timers never fire. */
static void test_random_against_reference(void **state)
{
    enum { N = 1000 };
    st_timers_t ts;
    st_timers_init(&ts, 0);
    static log_t log;
    static st_timer_t t[N];
    static probe_t p[N];
    st_time_t deadline[N];
    bool live[N];
    for (int i = 0; i < N; i++) {
        p[i] = (probe_t){.id = i, .log = &log, .ts = &ts};
        st_timer_init(&t[i], on_fire, &p[i]);
        deadline[i] = (st_time_t)(xs() % 100000);
        st_timer_start(&ts, &t[i], deadline[i], 0);
        live[i] = true;
    }
    for (int k = 0; k < 500; k++) {
        int i = (int)(xs() % N);
        if (xs() % 2) {
            st_timer_stop(&ts, &t[i]);
            live[i] = false;
        } else {
            deadline[i] = (st_time_t)(xs() % 100000);
            st_timer_start(&ts, &t[i], deadline[i], 0);
            live[i] = true;
        }
        assert_int_equal(st_timers_next(&ts), earliest(deadline, live, N));
    }
    size_t expect = 0;
    for (int i = 0; i < N; i++) expect += live[i];
    assert_int_equal(st_timers_advance(&ts, 100000), expect);
    assert_int_equal(st_timers_next(&ts), ST_TIME_NEVER);
    for (size_t k = 0; k < log.n; k++) {
        assert_true(live[log.id[k]]);
        assert_int_equal(log.at[k], deadline[log.id[k]]);
        if (k) assert_true(log.at[k - 1] <= log.at[k]);
    }
    st_timers_free(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_ties),
        cmocka_unit_test(test_repeat_stop_and_past),
        cmocka_unit_test(test_start_from_callback_fires_in_same_advance),
        cmocka_unit_test(test_random_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
