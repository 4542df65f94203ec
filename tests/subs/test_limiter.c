#include "../test.h"

#include "subs/limiter.h"

static const st_limiter_tuning_t exact = {1.0, 0.8, 0.5, 60 * ST_SEC, 10 * ST_SEC, 0.1, 0, 0};

static void test_sliding_not_fixed_buckets(void **state)
{
    st_limiter_t l;
    st_window_t w = {5, ST_SEC, 0, 0};
    st_limiter_init(&l, &w, 1, &exact);
    st_time_t t = 900 * ST_MSEC;
    for (int i = 0; i < 5; i++) assert_true(st_limiter_try(&l, t));
    assert_false(st_limiter_try(&l, t));
    /* A fixed one-second bucket would allow five more at 1.0 s; a sliding window does not. */
    assert_false(st_limiter_try(&l, ST_SEC));
    assert_int_equal(st_limiter_next(&l, ST_SEC), 1900 * ST_MSEC);
    assert_false(st_limiter_try(&l, 1900 * ST_MSEC - 1));
    assert_true(st_limiter_try(&l, 1900 * ST_MSEC));
    assert_int_equal(l.grants, 6);
    assert_int_equal(l.denials, 3);
    st_limiter_free(&l);
}

/* Greedy use of 5/s and 100/min for two minutes: exactly 100 grants per minute, at most 5 in
 * any second, checked by an independent count over every grant. */
static void test_two_windows(void **state)
{
    st_limiter_t l;
    st_window_t w[2] = {{5, ST_SEC, 0, 0}, {100, ST_MIN, 0, 0}};
    st_limiter_init(&l, w, 2, &exact);
    static st_time_t g[1000];
    int n = 0;
    for (st_time_t t = 0; t < 2 * ST_MIN;) {
        t = st_limiter_next(&l, t);
        if (t >= 2 * ST_MIN) break;
        assert_true(st_limiter_try(&l, t));
        g[n++] = t;
    }
    assert_int_equal(n, 200);
    for (int i = 0; i < n; i++) {
        int in_sec = 0, in_min = 0;
        for (int j = 0; j <= i; j++) {
            in_sec += g[j] > g[i] - ST_SEC;
            in_min += g[j] > g[i] - ST_MIN;
        }
        assert_true(in_sec <= 5);
        assert_true(in_min <= 100);
    }
    assert_int_equal(g[99], 19 * ST_SEC);  /* 5 per second for 20 seconds */
    assert_int_equal(g[100], ST_MIN);      /* then the minute window holds until 60 s */
    /* what each window holds now, as the venue counts it (the dashboard's limits) */
    st_time_t at = g[n - 1]; /* after the last grant: its second holds 5, its minute 100 */
    assert_int_equal(st_limiter_used(&l, 0, at), 5);
    assert_int_equal(st_limiter_used(&l, 1, at), 100);
    assert_int_equal(st_limiter_used(&l, 0, at + ST_SEC), 0);
    assert_int_equal(st_limiter_used(&l, 1, g[119] + ST_MIN), 80); /* the grants after the 120th */
    st_limiter_free(&l);
}

static void test_rate_errors_and_recovery_schedule(void **state)
{
    st_limiter_t l;
    st_window_t w = {10, ST_SEC, 0, 0};
    st_limiter_init(&l, &w, 1, &exact);
    assert_int_equal(st_limiter_limit(&l, 0, 0), 10);
    st_limiter_rate_error(&l, 0);
    assert_int_equal(st_limiter_limit(&l, 0, 0), 8);
    st_limiter_rate_error(&l, ST_SEC);
    assert_int_equal(st_limiter_limit(&l, 0, ST_SEC), 6); /* 0.64 */
    st_limiter_rate_error(&l, 2 * ST_SEC);
    assert_int_equal(st_limiter_limit(&l, 0, 2 * ST_SEC), 5); /* floor 0.5 (0.512 -> 5) */
    st_limiter_rate_error(&l, 3 * ST_SEC);
    assert_true(st_limiter_penalty(&l, 3 * ST_SEC) == 0.5);
    /* Quiet from 3 s: +0.1 at 63 s, then every 10 s. */
    st_time_t e = 3 * ST_SEC;
    assert_int_equal(st_limiter_limit(&l, 0, e + 60 * ST_SEC - 1), 5);
    assert_int_equal(st_limiter_limit(&l, 0, e + 60 * ST_SEC), 6);
    assert_int_equal(st_limiter_limit(&l, 0, e + 70 * ST_SEC - 1), 6);
    assert_int_equal(st_limiter_limit(&l, 0, e + 70 * ST_SEC), 7);
    assert_int_equal(st_limiter_limit(&l, 0, e + 100 * ST_SEC), 10);
    assert_int_equal(st_limiter_limit(&l, 0, e + 1000 * ST_SEC), 10);
    /* An error during recovery starts from where recovery had got to. */
    st_limiter_rate_error(&l, e + 75 * ST_SEC); /* penalty 0.7 -> 0.56 */
    assert_int_equal(st_limiter_limit(&l, 0, e + 75 * ST_SEC), 5);
    assert_int_equal(st_limiter_limit(&l, 0, e + 135 * ST_SEC), 6);
    assert_int_equal(l.errors, 5);
    st_limiter_free(&l);
}

static void test_modes(void **state)
{
    st_limiter_tuning_t t;
    st_window_t w = {20, ST_SEC, 0, 0};
    int want[3] = {16, 18, 20};
    for (int m = 0; m < 3; m++) {
        st_limiter_mode_tuning((st_limiter_mode_t)m, &t);
        st_limiter_t l;
        st_limiter_init(&l, &w, 1, &t);
        assert_int_equal(st_limiter_limit(&l, 0, 0), want[m]);
        st_limiter_free(&l);
    }
    st_limiter_mode_tuning(ST_LIMITER_CONSERVATIVE, &t);
    assert_true(t.reduction == 0.8 && t.floor == 0.5);
    assert_string_equal(st_limiter_mode_names[ST_LIMITER_BALANCED], "balanced");
}

static void test_block_and_remaining_req(void **state)
{
    st_limiter_t l;
    st_window_t w = {10, ST_SEC, 0, 0};
    st_limiter_init(&l, &w, 1, &exact);
    st_limiter_block(&l, 5 * ST_SEC); /* Retry-After: 5 */
    assert_int_equal(st_limiter_next(&l, ST_SEC), 5 * ST_SEC);
    assert_false(st_limiter_try(&l, 4 * ST_SEC));
    assert_true(st_limiter_try(&l, 5 * ST_SEC));
    int sec = -1;
    assert_int_equal(st_parse_remaining_req("group=default; min=1800; sec=29", &sec), 0);
    assert_int_equal(sec, 29);
    assert_int_equal(st_parse_remaining_req("group=market; min=573; sec=0", &sec), 0);
    assert_int_equal(sec, 0);
    assert_true(st_parse_remaining_req("group=default; min=1800", &sec) < 0);
    assert_true(st_parse_remaining_req("group=default; xsec=3", &sec) < 0);
    st_limiter_remaining(&l, 7 * ST_SEC + 300 * ST_MSEC, 0);
    assert_int_equal(st_limiter_next(&l, 7 * ST_SEC + 300 * ST_MSEC), 8 * ST_SEC);
    st_limiter_remaining(&l, 9 * ST_SEC, 3); /* requests left: no block */
    assert_int_equal(st_limiter_next(&l, 9 * ST_SEC), 9 * ST_SEC);
    st_limiter_free(&l);
}

/* Random demand with random rate errors: every grant keeps every window within the limit in
 * force at its time, which is never above the nominal one. */
static void test_random_never_over(void **state)
{
    uint64_t r = 12345;
    st_limiter_t l;
    st_window_t w[2] = {{5, ST_SEC, 0, 0}, {100, ST_MIN, 0, 0}};
    st_limiter_init(&l, w, 2, &exact);
    static st_time_t g[20000];
    int n = 0;
    st_time_t t = 0;
    for (int k = 0; k < 40000 && n < 20000; k++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        t += (st_time_t)(r % 400) * ST_MSEC;
        if (r % 97 == 0) st_limiter_rate_error(&l, t);
        if (!st_limiter_try(&l, t)) continue;
        g[n++] = t;
        int lim0 = st_limiter_limit(&l, 0, t), lim1 = st_limiter_limit(&l, 1, t);
        int in0 = 0, in1 = 0;
        for (int j = n - 1; j >= 0 && g[j] > t - ST_MIN; j--) {
            in1++;
            in0 += g[j] > t - ST_SEC;
        }
        assert_true(in0 <= lim0 && lim0 <= 5);
        assert_true(in1 <= lim1 && lim1 <= 100);
    }
    assert_true(n > 1000);
    st_limiter_free(&l);
}

/* Issue 23.4, the mechanism: a window spent greedily repeats its first burst every period (all
 * 20 grants of second 0 free their slots at once at 1 s), and a burst reaches the venue spread
 * by its own queueing, so the venue sees 21 in its second. A paced window spends one grant per
 * interval after the first, whatever the backlog, so no burst is ever repeated. */
static void test_calls_paced_not_repeated_bursts(void **state)
{
    st_limiter_t l;
    st_window_t greedy = {20, ST_SEC, 0, 0};
    st_limiter_init(&l, &greedy, 1, &exact);
    int at_once = 0;
    for (st_time_t t = 0; t < 3 * ST_SEC; t = st_limiter_next(&l, t + 1)) {
        int n = 0;
        while (st_limiter_try(&l, t)) n++;
        at_once = n > at_once ? n : at_once;
    }
    assert_int_equal(at_once, 20); /* the unpaced window: 20 at 0 s, 20 at 1 s, 20 at 2 s */
    st_limiter_free(&l);

    st_limiter_init_calls(&l, 20, ST_LIMITER_AGGRESSIVE); /* 20 a second, margin 20 ms */
    st_time_t prev = -ST_SEC, t = 0;
    int n = 0;
    st_dur_t gap_min = ST_SEC;
    for (; t < 10 * ST_SEC; t = st_limiter_next(&l, t)) {
        assert_true(st_limiter_try(&l, t));
        assert_false(st_limiter_try(&l, t)); /* never two at once */
        gap_min = ST_MIN2(gap_min, t - prev);
        prev = t;
        n++;
    }
    assert_int_equal(gap_min, 51 * ST_MSEC); /* (1 s + 20 ms) / 20 */
    assert_int_equal(n, 197);                /* 10 s / 51 ms, the first at 0 */
    assert_true(st_limiter_rate(&l, 0, t) > 19.6 && st_limiter_rate(&l, 0, t) < 19.61);
    /* A timer that fires late keeps its slot: late by 20 ms, the next grant is still due on
     * the original schedule, not 51 ms after the late one. */
    st_time_t due = st_limiter_next(&l, t);
    assert_true(st_limiter_try(&l, due + 20 * ST_MSEC));
    assert_int_equal(st_limiter_next(&l, due + 20 * ST_MSEC), due + 51 * ST_MSEC);
    st_limiter_free(&l);
}

/* Issue 23.4: a refusal of a sliding-window venue is timing skew first: the margin doubles and
 * grants pause a quarter of the window, the rate stays; only refusals that persist once the
 * margin is at its widest lower the rate. The margin holds 10 s, then halves every 10 s. */
static void test_refusal_widens_margin_before_rate(void **state)
{
    st_limiter_t l;
    st_limiter_init_calls(&l, 20, ST_LIMITER_AGGRESSIVE);
    assert_int_equal(st_limiter_margin(&l, 0), 20 * ST_MSEC);
    st_time_t t = 100 * ST_SEC;
    st_limiter_rate_error(&l, t);
    assert_int_equal(st_limiter_margin(&l, t), 40 * ST_MSEC);
    assert_true(st_limiter_penalty(&l, t) == 1.0);
    assert_int_equal(st_limiter_limit(&l, 0, t), 20);
    assert_int_equal(st_limiter_next(&l, t), t + 250 * ST_MSEC); /* the brief pause */
    assert_true(st_limiter_try(&l, t + 250 * ST_MSEC));
    st_dur_t widths[] = {80, 160, 250};
    for (int i = 0; i < 3; i++) {
        st_limiter_rate_error(&l, t + (i + 1) * ST_SEC);
        assert_int_equal(st_limiter_margin(&l, t + (i + 1) * ST_SEC), widths[i] * ST_MSEC);
        assert_true(st_limiter_penalty(&l, t + (i + 1) * ST_SEC) == 1.0);
    }
    assert_int_equal(l.skews, 4);
    /* At its widest, the fifth refusal lowers the rate (aggressive: x0.9). */
    st_time_t e = t + 4 * ST_SEC;
    st_limiter_rate_error(&l, e);
    assert_true(st_limiter_penalty(&l, e) < 0.91 && st_limiter_penalty(&l, e) > 0.89);
    assert_int_equal(st_limiter_limit(&l, 0, e), 18);
    assert_int_equal(l.errors, 5);
    /* Quiet: 250 ms held for 10 s, then 125, 62.5, 31.25, then the base. */
    assert_int_equal(st_limiter_margin(&l, e + 10 * ST_SEC - 1), 250 * ST_MSEC);
    assert_int_equal(st_limiter_margin(&l, e + 10 * ST_SEC), 125 * ST_MSEC);
    assert_int_equal(st_limiter_margin(&l, e + 20 * ST_SEC), 62500);
    assert_int_equal(st_limiter_margin(&l, e + 30 * ST_SEC), 31250);
    assert_int_equal(st_limiter_margin(&l, e + 40 * ST_SEC), 20 * ST_MSEC);
    /* and a refusal after that widens again before it lowers anything */
    st_limiter_rate_error(&l, e + 200 * ST_SEC);
    assert_int_equal(st_limiter_margin(&l, e + 200 * ST_SEC), 40 * ST_MSEC);
    assert_int_equal(st_limiter_limit(&l, 0, e + 200 * ST_SEC), 20); /* recovered meanwhile */
    st_limiter_free(&l);
}

/* Issue 23.3: under a backlog the minute window is spent no faster than it refills (5 at once
 * after a pause, then one every 60.02 s / 86), 10 of its 100 stay for urgent requests, and an
 * urgent request waits only for the per-second window, whatever the ordinary backlog did. */
static void test_minute_window_paced_with_reserve(void **state)
{
    st_limiter_t l;
    st_limiter_init_messages(&l, 5, 100, ST_LIMITER_AGGRESSIVE);
    int n = 0, in_first_5s = 0;
    st_time_t t = 0;
    for (; t < 3 * ST_MIN; t = st_limiter_next(&l, t)) {
        assert_true(st_limiter_try(&l, t));
        n++;
        in_first_5s += t < 5 * ST_SEC;
        /* an urgent request at any moment of the backlog goes within the second */
        if (n % 7 == 0) {
            st_time_t u = st_limiter_next_for(&l, t, true);
            assert_true(u - t <= ST_SEC);
        }
    }
    assert_int_equal(in_first_5s, 12); /* 5 at once, 1.02 s (the second window), then every 698 ms */
    assert_true(n >= 3 * 86 && n <= 3 * 86 + 5); /* never the 100 of a minute in 20 s and a wait */
    /* Ordinary grants stop at 90 of any minute; urgent ones may take the other 10. */
    st_limiter_free(&l);
    st_limiter_init_messages(&l, 5, 100, ST_LIMITER_AGGRESSIVE);
    int ordinary = 0, urgent = 0;
    for (t = 0; t < 50 * ST_SEC; t += ST_SEC) /* 5 a second, urgent, fills the minute window */
        for (int k = 0; k < 5; k++) {
            if (st_limiter_try_for(&l, t, false)) ordinary++;
            else if (st_limiter_try_for(&l, t, true)) urgent++;
        }
    assert_int_equal(ordinary + urgent, 100);
    assert_true(ordinary <= 90);
    assert_int_equal(l.urgent, (uint64_t)urgent);
    st_limiter_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sliding_not_fixed_buckets),
        cmocka_unit_test(test_two_windows),
        cmocka_unit_test(test_rate_errors_and_recovery_schedule),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_block_and_remaining_req),
        cmocka_unit_test(test_random_never_over),
        cmocka_unit_test(test_calls_paced_not_repeated_bursts),
        cmocka_unit_test(test_refusal_widens_margin_before_rate),
        cmocka_unit_test(test_minute_window_paced_with_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
