/* The tier-3 poll scheduler on a fake clock: batches fill and fall into step, calls spread over
 * the interval, overload stretches every interval by the same factor (priorities keep their
 * ratio, nobody starves) and the staleness is reported, removal and updates take effect. */
#include "../test.h"

#include "subs/poller.h"

#define T0 (1000 * ST_SEC)

/* Three symbols every 30 s, 30 per call: after the first calls they ride together, one call
 * every 30 s carrying all three, each refreshed exactly every 30 s. */
static void test_batches_fall_into_step(void **state)
{
    st_poller_t p;
    st_poller_init(&p, 100, 30, 20);
    for (st_sym_t s = 1; s <= 3; s++) st_poller_set(&p, s, 30 * ST_SEC, ST_PRIO_MEDIUM, T0);
    st_sym_t out[30];
    st_time_t prev = 0;
    int calls = 0, full = 0;
    for (st_time_t t = st_poller_next(&p); t < T0 + 10 * ST_MIN; t = st_poller_next(&p)) {
        size_t n = st_poller_take(&p, t, out);
        assert_true(n >= 1);
        calls++;
        if (calls > 2) {
            assert_int_equal(n, 3);
            assert_int_equal(t - prev, 30 * ST_SEC);
            full++;
        }
        prev = t;
    }
    assert_true(full >= 17);
    assert_int_equal(p.cls[ST_PRIO_MEDIUM].age_max, 30 * ST_SEC);
    assert_int_equal(p.cls[ST_PRIO_MEDIUM].symbols, 3);
    assert_true(p.stretch == 1.0);
    st_poller_free(&p);
}

/* 300 symbols every 30 s, one per call (paper accounts: no batching): the first polls are
 * spread over the interval, never more than the budget in any second, and every symbol is
 * refreshed every 30 s from then on. */
static void test_calls_spread_over_the_interval(void **state)
{
    st_poller_t p;
    st_poller_init(&p, 400, 1, 20);
    for (st_sym_t s = 0; s < 300; s++) st_poller_set(&p, s, 30 * ST_SEC, ST_PRIO_LOW, T0);
    int per_second[700] = {0};
    st_sym_t out[1];
    for (st_time_t t = st_poller_next(&p); t < T0 + 10 * ST_MIN; t = st_poller_next(&p)) {
        assert_int_equal(st_poller_take(&p, t, out), 1);
        per_second[(t - T0) / ST_SEC]++;
    }
    int most = 0;
    for (int i = 0; i < 600; i++) most = per_second[i] > most ? per_second[i] : most;
    printf("# most calls in one second: %d (10 per second on average)\n", most);
    assert_true(most <= 20);
    assert_int_equal(p.cls[ST_PRIO_LOW].polls, p.calls);
    assert_int_equal(p.cls[ST_PRIO_LOW].age_max, 30 * ST_SEC);
    st_poller_free(&p);
}

/* The whole market on one call a second: 1,000 MEDIUM (30 s) and 1,700 BACKGROUND (5 min)
 * symbols, 30 per call, want 39 refreshes a second against 30: every interval stretches by
 * 1.3, MEDIUM stays ten times fresher than BACKGROUND, and every symbol is refreshed. */
static void test_overload_stretches_fairly(void **state)
{
    st_poller_t p;
    st_poller_init(&p, 3000, 30, 1);
    for (st_sym_t s = 0; s < 1000; s++) st_poller_set(&p, s, 30 * ST_SEC, ST_PRIO_MEDIUM, T0);
    for (st_sym_t s = 1000; s < 2700; s++) st_poller_set(&p, s, 5 * ST_MIN, ST_PRIO_BACKGROUND, T0);
    assert_true(p.stretch > 1.2999 && p.stretch < 1.3001);
    st_sym_t out[30];
    for (st_time_t t = T0; t < T0 + 30 * ST_MIN; t += ST_SEC) st_poller_take(&p, t, out); /* the limiter's pace */
    st_dur_t med = st_poller_age_mean(&p, ST_PRIO_MEDIUM), bg = st_poller_age_mean(&p, ST_PRIO_BACKGROUND);
    printf("# stretch %.2f: MEDIUM every %.1f s (max %.1f), BACKGROUND every %.1f s (max %.1f)\n", p.stretch,
           (double)med / ST_SEC, (double)p.cls[ST_PRIO_MEDIUM].age_max / ST_SEC, (double)bg / ST_SEC,
           (double)p.cls[ST_PRIO_BACKGROUND].age_max / ST_SEC);
    assert_true(med >= 35 * ST_SEC && med <= 43 * ST_SEC);  /* 30 s x 1.3 = 39 s */
    assert_true(bg >= 350 * ST_SEC && bg <= 430 * ST_SEC); /* 300 s x 1.3 = 390 s */
    assert_true(p.cls[ST_PRIO_BACKGROUND].polls >= 1700);  /* nobody starved */
    assert_true(p.cls[ST_PRIO_MEDIUM].age_max <= 60 * ST_SEC);
    st_poller_free(&p);
}

static void test_remove_update_retry(void **state)
{
    st_poller_t p;
    st_poller_init(&p, 10, 30, 20);
    st_poller_set(&p, 1, 30 * ST_SEC, ST_PRIO_MEDIUM, T0);
    st_poller_set(&p, 2, 30 * ST_SEC, ST_PRIO_MEDIUM, T0);
    assert_true(st_poller_has(&p, 1) && st_poller_has(&p, 2));
    st_poller_remove(&p, 1);
    assert_false(st_poller_has(&p, 1));
    assert_int_equal(p.cls[ST_PRIO_MEDIUM].symbols, 1);
    st_sym_t out[30];
    st_time_t t = st_poller_next(&p);
    assert_int_equal(st_poller_take(&p, t, out), 1);
    assert_int_equal(out[0], 2);
    assert_int_equal(st_poller_next(&p), t + 30 * ST_SEC);
    /* a longer interval moves the next poll by the difference */
    st_poller_set(&p, 2, 60 * ST_SEC, ST_PRIO_LOW, t);
    assert_int_equal(st_poller_next(&p), t + 60 * ST_SEC);
    assert_int_equal(p.cls[ST_PRIO_LOW].symbols, 1);
    assert_int_equal(p.cls[ST_PRIO_MEDIUM].symbols, 0);
    /* a failed poll comes back after a tenth of the interval */
    st_poller_retry(&p, 2, t + ST_SEC);
    assert_int_equal(st_poller_next(&p), t + ST_SEC + 6 * ST_SEC);
    /* nothing is due before its time */
    assert_int_equal(st_poller_take(&p, t + 2 * ST_SEC, out), 0);
    st_poller_set(&p, 2, 0, 0, t);
    assert_int_equal(st_poller_next(&p), ST_TIME_NEVER);
    assert_true(p.demand == 0);
    st_poller_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches_fall_into_step),
        cmocka_unit_test(test_calls_spread_over_the_interval),
        cmocka_unit_test(test_overload_stretches_fairly),
        cmocka_unit_test(test_remove_update_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
