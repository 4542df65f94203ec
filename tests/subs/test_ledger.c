/* The subscription ledger (runtime/subs/ledger.c) on its own (issue 23.18): desired, in flight
 * and confirmed per key with exact counters through every transition, the venue's answers
 * (subscribed, unsubscribed, invalid, max-over, other errors), a lost connection, an Upbit
 * message replacing the whole set, and keys out of range. */
#include "../test.h"

#include "subs/ledger.h"

#define A ST_KEY(1, ST_CH_TRADE)
#define B ST_KEY(2, ST_CH_BOOK)
#define C ST_KEY(3, ST_CH_TRADE)

static void counts(const st_ledger_t *l, int desired, int confirmed, int subbing, int unsubbing)
{
    assert_int_equal(l->desired, desired);
    assert_int_equal(l->confirmed, confirmed);
    assert_int_equal(l->subbing, subbing);
    assert_int_equal(l->unsubbing, unsubbing);
    assert_int_equal(st_ledger_held(l), confirmed + subbing);
}

static bool has(const st_ledger_t *l, st_key_t k, uint8_t bit)
{
    return (st_ledger_state(l, k) & bit) != 0;
}

static void test_register_and_unregister(void **state)
{
    st_ledger_t l;
    st_ledger_init(&l, 8, 41);
    assert_int_equal(l.cap, 41);
    assert_int_equal(st_ledger_want(&l, A, true, 100), 1);
    assert_int_equal(st_ledger_want(&l, A, true, 200), 0); /* no change */
    counts(&l, 1, 0, 0, 0);
    assert_true(has(&l, A, ST_LK_DESIRED) && has(&l, A, ST_LK_DIRTY));
    assert_int_equal(l.ndirty, 1);
    assert_int_equal(l.since[A], 101); /* when first asked, +1 */
    /* withdrawn before it was sent: still one dirty entry, the first time kept */
    assert_int_equal(st_ledger_want(&l, A, false, 300), 1);
    counts(&l, 0, 0, 0, 0);
    assert_int_equal(l.ndirty, 1);
    assert_int_equal(l.since[A], 101);
    assert_int_equal(st_ledger_want(&l, A, true, 400), 1);

    st_ledger_sent(&l, A, true);
    counts(&l, 1, 0, 1, 0);
    assert_int_equal(l.since[A], 0);
    assert_true(has(&l, A, ST_LK_SUBBING));
    st_ledger_ack(&l, A, ST_ACK_SUBSCRIBED);
    counts(&l, 1, 1, 0, 0);
    assert_true(has(&l, A, ST_LK_CONFIRMED) && !has(&l, A, ST_LK_SUBBING));

    /* an unregister in flight still counts against the cap */
    st_ledger_want(&l, A, false, 500);
    st_ledger_sent(&l, A, false);
    counts(&l, 0, 1, 0, 1);
    assert_int_equal(st_ledger_held(&l), 1);
    st_ledger_ack(&l, A, ST_ACK_UNSUBSCRIBED);
    counts(&l, 0, 0, 0, 0);
    assert_false(has(&l, A, ST_LK_CONFIRMED));
    st_ledger_free(&l);
}

static void test_refusals(void **state)
{
    st_ledger_t l;
    st_ledger_init(&l, 8, 41);
    /* invalid: failed, not retried until wanted anew */
    st_ledger_want(&l, A, true, 0);
    st_ledger_sent(&l, A, true);
    l.state[A] &= (uint8_t)~ST_LK_DIRTY, l.ndirty = 0; /* the coalescer took it off the list */
    st_ledger_ack(&l, A, ST_ACK_INVALID);
    counts(&l, 1, 0, 0, 0);
    assert_true(has(&l, A, ST_LK_FAILED));
    assert_int_equal(l.reason[A], ST_ACK_INVALID);
    assert_false(has(&l, A, ST_LK_DIRTY));
    st_ledger_want(&l, A, false, 10);
    st_ledger_want(&l, A, true, 20);
    assert_false(has(&l, A, ST_LK_FAILED));
    assert_true(has(&l, A, ST_LK_DIRTY));

    /* max-over and any other refusal: the key is dirty again, to be retried */
    st_ledger_want(&l, B, true, 0);
    st_ledger_sent(&l, B, true);
    l.state[B] &= (uint8_t)~ST_LK_DIRTY;
    st_ledger_ack(&l, B, ST_ACK_MAX_OVER);
    assert_int_equal(l.reason[B], ST_ACK_MAX_OVER);
    assert_true(has(&l, B, ST_LK_DIRTY) && !has(&l, B, ST_LK_SUBBING));
    st_ledger_sent(&l, B, true);
    l.state[B] &= (uint8_t)~ST_LK_DIRTY;
    st_ledger_ack(&l, B, ST_ACK_ERROR);
    assert_int_equal(l.reason[B], ST_ACK_ERROR);
    assert_true(has(&l, B, ST_LK_DIRTY));
    counts(&l, 2, 0, 0, 0);
    /* an answer that matches what is wanted leaves it clean */
    st_ledger_sent(&l, B, true);
    l.state[B] &= (uint8_t)~ST_LK_DIRTY;
    st_ledger_ack(&l, B, ST_ACK_SUBSCRIBED);
    assert_false(has(&l, B, ST_LK_DIRTY));
    st_ledger_free(&l);
}

static void test_reset_and_replace(void **state)
{
    st_ledger_t l;
    st_ledger_init(&l, 8, 41);
    st_ledger_want(&l, A, true, 0);
    st_ledger_want(&l, B, true, 0);
    st_ledger_want(&l, C, true, 0);
    st_ledger_sent(&l, A, true);
    st_ledger_ack(&l, A, ST_ACK_SUBSCRIBED);
    st_ledger_sent(&l, B, true);
    st_ledger_sent(&l, C, true);
    st_ledger_ack(&l, C, ST_ACK_INVALID);
    counts(&l, 3, 1, 1, 0);
    /* the connection is lost: nothing held; wanted keys dirty; a failed one stays failed */
    st_ledger_want(&l, ST_KEY(4, ST_CH_TRADE), true, 7); /* asked for while the connection was down */
    st_ledger_reset(&l, 500);
    assert_int_equal(l.since[ST_KEY(4, ST_CH_TRADE)], 501); /* its wait counts from the reconnect */
    assert_int_equal(l.since[A], 0); /* a resubscription is no request */
    counts(&l, 4, 0, 0, 0);
    assert_int_equal(l.ndirty, 4); /* C is listed too; the coalescer never sends a failed key */
    assert_true(has(&l, A, ST_LK_DIRTY) && has(&l, B, ST_LK_DIRTY) && has(&l, C, ST_LK_FAILED));

    /* Upbit: one message replaces the set. A confirmed and still wanted, B wanted, an old
     * confirmed key no longer wanted */
    st_ledger_t u;
    st_ledger_init(&u, 8, 15);
    st_ledger_want(&u, A, true, 0);
    st_ledger_sent(&u, A, true);
    st_ledger_ack(&u, A, ST_ACK_SUBSCRIBED);
    st_ledger_want(&u, C, true, 0);
    st_ledger_sent(&u, C, true);
    st_ledger_ack(&u, C, ST_ACK_SUBSCRIBED);
    st_ledger_want(&u, C, false, 5);
    st_ledger_want(&u, B, true, 5);
    st_ledger_replaced(&u);
    counts(&u, 2, 1, 1, 0); /* A streams, B in flight until its first data, C stopped */
    assert_true(has(&u, B, ST_LK_SUBBING) && !has(&u, C, ST_LK_CONFIRMED));
    assert_int_equal(u.ndirty, 0);
    assert_int_equal(u.since[B], 0);
    st_ledger_ack(&u, B, ST_ACK_SUBSCRIBED);
    counts(&u, 2, 2, 0, 0);
    st_ledger_free(&u);
    st_ledger_free(&l);
}

static void test_out_of_range(void **state)
{
    st_ledger_t l;
    st_ledger_init(&l, 2, 41);
    st_key_t far = ST_KEY(2, ST_CH_TRADE); /* symbols 0 and 1 only */
    assert_int_equal(st_ledger_want(&l, far, true, 0), -EINVAL);
    st_ledger_ack(&l, far, ST_ACK_SUBSCRIBED);
    assert_int_equal(st_ledger_state(&l, far), 0);
    counts(&l, 0, 0, 0, 0);
    st_ledger_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_and_unregister),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_reset_and_replace),
        cmocka_unit_test(test_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
