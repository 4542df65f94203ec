/* The leader lease (ops/lease.c) on a fake clock: acquiring and renewing on schedule; fencing a
 * third of the TTL before the lease it can prove runs out when no renewal is answered (Redis
 * down or paused), at once when Redis says the lease is another's; a standby trying again just
 * after the holder's lease expires. Then two instances against a simulated Redis with random
 * delays, lost answers and pauses: never two leaders, and a leader's lease always alive in Redis
 * while it holds sessions. */
#include "../test.h"

#include "ops/lease.h"

static void test_acquire_and_renew(void **state)
{
    st_lease_t l;
    double wake;
    st_lease_init(&l, 9, 100);
    assert_int_equal(st_lease_step(&l, 100, &wake), ST_LEASE_ACQUIRE);
    assert_int_equal(st_lease_step(&l, 100.5, &wake), ST_LEASE_NONE); /* one command at a time */
    st_lease_acquired(&l, 100, 1, 100.01);
    assert_int_equal(l.role, ST_LEASE_LEADER);
    assert_int_equal(l.term, 1);
    assert_true(l.held_until == 109); /* from the send, not the answer */
    assert_int_equal(st_lease_step(&l, 101, &wake), ST_LEASE_NONE);
    assert_true(wake == 103);
    assert_int_equal(st_lease_step(&l, 103, &wake), ST_LEASE_RENEW);
    st_lease_renewed(&l, 103, 103.2);
    assert_true(l.held_until == 112);
    for (double t = 103.5; t < 200; t += 0.5) { /* healthy: renewals, never a fence */
        st_lease_action_t a = st_lease_step(&l, t, &wake);
        assert_int_not_equal(a, ST_LEASE_FENCE);
        if (a == ST_LEASE_RENEW) st_lease_renewed(&l, t, t + 0.1);
    }
    assert_int_equal(l.fences, 0);
    assert_true(l.renewals >= 32);
}

static void test_fence_before_expiry(void **state)
{
    st_lease_t l;
    double wake;
    st_lease_init(&l, 9, 0);
    st_lease_step(&l, 0, &wake);
    st_lease_acquired(&l, 0, 7, 0.5); /* held until 9 */
    assert_int_equal(st_lease_step(&l, 3, &wake), ST_LEASE_RENEW); /* never answered (Redis paused) */
    assert_int_equal(st_lease_step(&l, 5.9, &wake), ST_LEASE_NONE);
    assert_true(wake == 6); /* the fence deadline: 9 - 9/3 */
    assert_int_equal(st_lease_step(&l, 6, &wake), ST_LEASE_FENCE);
    assert_int_equal(l.role, ST_LEASE_STANDBY);
    assert_int_equal(st_lease_step(&l, 6.1, &wake), ST_LEASE_NONE); /* once */
    st_lease_renewed(&l, 3, 7); /* the late answer does not make it leader again */
    assert_int_equal(l.role, ST_LEASE_STANDBY);
    assert_int_equal(l.fences, 1);
    assert_int_equal(l.term, 7); /* the term it held */
}

static void test_lost_and_standby_retry(void **state)
{
    st_lease_t l;
    double wake;
    st_lease_init(&l, 9, 0);
    st_lease_step(&l, 0, &wake);
    st_lease_acquired(&l, 0, 1, 0);
    assert_int_equal(st_lease_step(&l, 3, &wake), ST_LEASE_RENEW);
    assert_true(st_lease_lost(&l, 3.1)); /* the key is another's */
    assert_int_equal(l.role, ST_LEASE_STANDBY);
    assert_false(st_lease_lost(&l, 3.2));
    /* a standby refused with the holder's 1.5 s left tries again just after, not a full interval later */
    st_lease_init(&l, 9, 0);
    assert_int_equal(st_lease_step(&l, 0, &wake), ST_LEASE_ACQUIRE);
    st_lease_refused(&l, 1.5, 0.01);
    assert_int_equal(st_lease_step(&l, 1.0, &wake), ST_LEASE_NONE);
    assert_true(wake > 1.51 && wake < 1.6);
    assert_int_equal(st_lease_step(&l, wake, &wake), ST_LEASE_ACQUIRE);
    st_lease_failed(&l, 1.6); /* no answer: forgotten, tried again at the interval */
    assert_int_equal(st_lease_step(&l, 4.6, &wake), ST_LEASE_ACQUIRE);
}

/* --- two instances, one simulated Redis ----------------------------------------------------- */

typedef struct {
    int kind;        /* 1 acquire, 2 renew; negated when Redis refused it; 0 no command */
    double sent, at; /* sent by the instance; to be executed by Redis at `at` */
    bool done;       /* executed */
    double reply;    /* the answer arrives at; < 0: lost (the instance hears of a failure 2 s later) */
} cmd_t;

static uint64_t rng = 88172645463325252ull;
static double rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void test_two_instances_never_both_lead(void **state)
{
    const double ttl = 6, step = 0.01;
    st_lease_t in[2];
    double wake;
    st_lease_init(&in[0], ttl, 0);
    st_lease_init(&in[1], ttl, 0.3);
    int owner = -1;           /* Redis: the key's value, -1 none */
    double expiry = 0;        /* and when it goes */
    uint64_t term = 0, commands = 0;
    double paused_until = -1; /* CLIENT PAUSE: commands wait */
    bool dead[2] = {false, false};
    cmd_t cur[2] = {{0}, {0}}; /* the lease sends one command at a time */
    int takeovers = 0, last_leader = -1;
    for (double t = 0; t < 3000; t += step) {
        if (rnd() < 0.0005) paused_until = t + 1 + rnd() * 8; /* Redis stalls, up to 9 s */
        if (!dead[0] && t > 1500 && rnd() < 0.001) dead[0] = true; /* one instance dies (SIGKILL) */
        if (owner >= 0 && t >= expiry) owner = -1; /* the TTL ran out */
        for (int w = 0; w < 2; w++) { /* Redis executes what arrived, unless paused */
            cmd_t *c = &cur[w];
            if (!c->kind || c->done || c->at > t || t < paused_until) continue;
            bool ok = c->kind == 1 ? owner < 0 : owner == w;
            if (ok) {
                owner = w;
                expiry = t + ttl; /* from execution: no earlier than the send */
                if (c->kind == 1) term++;
            } else {
                c->kind = -c->kind;
            }
            c->done = true;
            c->at = t;
            c->reply = rnd() < 0.05 ? -1 : t + rnd() * 0.3;
        }
        for (int w = 0; w < 2; w++) {
            if (dead[w]) continue;
            st_lease_t *l = &in[w];
            cmd_t *c = &cur[w];
            if (c->kind && c->done && (c->reply < 0 ? c->at + 2 : c->reply) <= t) { /* its answer */
                if (c->reply < 0) st_lease_failed(l, t);
                else if (c->kind == 1) st_lease_acquired(l, c->sent, term, t);
                else if (c->kind == -1) st_lease_refused(l, owner >= 0 ? expiry - c->at : -1, t);
                else if (c->kind == 2) st_lease_renewed(l, c->sent, t);
                else st_lease_lost(l, t);
                c->kind = 0;
            }
            st_lease_action_t a = st_lease_step(l, t, &wake);
            if (a == ST_LEASE_ACQUIRE || a == ST_LEASE_RENEW) {
                assert_int_equal(c->kind, 0);
                *c = (cmd_t){a == ST_LEASE_ACQUIRE ? 1 : 2, t, t + rnd() * 0.2, false, 0};
                commands++;
            }
        }
        /* the invariants: at most one instance holds sessions, and a holder's lease is alive */
        int leaders = 0;
        for (int w = 0; w < 2; w++) {
            if (dead[w] || in[w].role != ST_LEASE_LEADER) continue;
            leaders++;
            assert_int_equal(owner, w);
            assert_true(t < expiry);
            if (last_leader != w) takeovers += last_leader >= 0, last_leader = w;
        }
        assert_true(leaders <= 1);
    }
    printf("# %llu commands, %d takeovers, fences %llu + %llu, terms %llu\n", (unsigned long long)commands,
           takeovers, (unsigned long long)in[0].fences, (unsigned long long)in[1].fences, (unsigned long long)term);
    assert_true(takeovers >= 1); /* the run did exercise a failover */
    assert_true(in[0].fences + in[1].fences >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_and_renew),
        cmocka_unit_test(test_fence_before_expiry),
        cmocka_unit_test(test_lost_and_standby_retry),
        cmocka_unit_test(test_two_instances_never_both_lead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
