/* The pooled plan equals the single-process plan (issue 22.4, docs/scale-out.md), simulated: a
 * desk of 4 app keys (41 registrations each) on 3 instances. One planner stands for a single
 * process, another for the cluster's leader; both take the same trading day of demands —
 * seeded random watches at every priority from four requesters (one of them remote), scores,
 * emergencies, a rebalance every 5 minutes, the lunch slot's smaller policy — and their moves
 * must be the same, move for move. The leader's moves go to a stream; each key's session is
 * held by the instance rendezvous hashing picks among the live ones, which applies the stream's
 * moves for that key's connection, lagging behind at random as a network would, and on taking a
 * key over loads the leader's plan for it as of a stream position, then applies only what comes
 * after. At 11:00 one instance dies: its keys are taken by the others once their leases expire
 * (the TTL); at 14:00 it comes back and takes back only its own keys. Checked after every event:
 * the stream's moves applied in order from the start give each connection exactly the single
 * process's plan (what a feed applying them gets); no key has two holders; no holder's
 * connection ever holds more than its 41 registrations, however far behind it reads; and a
 * holder that has read the whole stream holds exactly what the single process's plan has on
 * that connection. At the end every key is held and matches. */
#include "synth_universe.h"

#include "plan/pool.h"

#define NSYM 400
#define NKEYS 4
#define NINST 3
#define NREQ 4
#define T0 ((st_time_t)1795392000 * ST_SEC) /* 2026-11-23 00:00 UTC: the day's times below are UTC */
#define TTL (9 * ST_SEC)

static st_symtab_t syms;
static st_arena_t *arena;
static st_universe_t uni;

static int setup(void **state)
{
    return st_test_synth_universe(NSYM, 4, &uni, &syms, &arena);
}

static int teardown(void **state)
{
    st_arena_destroy(arena);
    st_symtab_free(&syms);
    return 0;
}

static uint64_t seed = 20261123;
static uint32_t rnd(uint32_t n)
{
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)((seed >> 33) % n);
}

typedef struct {
    bool live;
    size_t pos;               /* stream entries read */
    bool holds[NKEYS];
    size_t from[NKEYS];       /* the stream position its view of the key was loaded at */
    st_pool_key_t view[NKEYS];
} inst_t;

static st_planner_t *single, *leader;
static st_plan_change_t *stream;
static size_t nstream, capstream;
static inst_t inst[NINST];
static const char *const names[NINST] = {"desk-a", "desk-b", "desk-c"};
static const char *const keys[NKEYS] = {"PSappkey1", "PSappkey2", "PSappkey3", "PSappkey4"};
static st_time_t free_at[NKEYS]; /* when the dead holder's lease of the key expires */
static int taken[NINST], key_moves;

/* Both planners' new moves must be the same; the leader's go to the stream. */
/* Every key's connection as the whole stream from the start builds it: it must be the plan after
 * every batch (a feed applies the same moves in the same order). */
static st_pool_key_t full[NKEYS];
static size_t fullpos;

static void check_full(void)
{
    for (; fullpos < nstream; fullpos++)
        for (int k = 0; k < NKEYS; k++) st_pool_key_apply(&full[k], &stream[fullpos]);
    for (int k = 0; k < NKEYS; k++) {
        st_sym_t s = 0;
        if (!st_pool_key_matches(&full[k], single, &s)) {
            printf("# the stream's moves in order leave symbol %u on key %d where the plan has tier %u on %u\n",
                   (unsigned)s, k + 1, st_planner_entry(single, s)->tier, st_planner_entry(single, s)->conn);
            fail();
        }
        assert_true(full[k].registrations <= 41);
    }
}

static void publish(void)
{
    size_t na, nb;
    const st_plan_change_t *a = st_planner_pending(single, &na), *b = st_planner_pending(leader, &nb);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < nb; i++) { /* field by field: padding is nobody's */
        assert_int_equal(a[i].sym, b[i].sym);
        assert_int_equal(a[i].from_tier, b[i].from_tier), assert_int_equal(a[i].to_tier, b[i].to_tier);
        assert_int_equal(a[i].from_conn, b[i].from_conn), assert_int_equal(a[i].to_conn, b[i].to_conn);
        assert_int_equal(a[i].why, b[i].why), assert_int_equal(a[i].delta, b[i].delta);
        assert_int_equal(a[i].at, b[i].at);
    }
    if (nb) { /* (no changes: maybe no array at all) */
        if (nstream + nb > capstream) {
            capstream = (nstream + nb) * 2 + 64;
            stream = realloc(stream, capstream * sizeof(*stream));
        }
        memcpy(stream + nstream, b, nb * sizeof(*b));
        nstream += nb;
    }
    st_planner_drain(single);
    st_planner_drain(leader);
    check_full();
}

/* The same call on both planners. */
#define BOTH(call) do { st_planner_t *p_ = single; call; p_ = leader; call; } while (0)

static int holder_of(int k)
{
    int h = -1;
    for (int i = 0; i < NINST; i++)
        if (inst[i].live && inst[i].holds[k]) {
            assert_int_equal(h, -1); /* never two holders */
            h = i;
        }
    return h;
}

/* Key leases: the rendezvous owner takes a key its holder gave up politely at once, one whose
 * holder died once that lease has expired; it loads the leader's plan for the key as of now. */
static void leases(st_time_t now)
{
    bool live[NINST];
    for (int i = 0; i < NINST; i++) live[i] = inst[i].live;
    for (int k = 0; k < NKEYS; k++) {
        int want = st_pool_owner(keys[k], names, live, NINST), h = holder_of(k);
        if (want == h) continue;
        if (h >= 0) { /* a live holder that is no longer the owner releases it */
            inst[h].holds[k] = false;
            h = -1;
        } else if (now < free_at[k]) {
            continue; /* the dead holder's lease still runs */
        }
        if (want < 0) continue;
        inst[want].holds[k] = true;
        inst[want].from[k] = nstream;
        st_pool_key_resync(&inst[want].view[k], leader);
        taken[want]++, key_moves++;
    }
}


/* Each live instance reads some of the stream (all of it when `all`), then the checks. */
static void sessions(bool all)
{
    for (int i = 0; i < NINST; i++) {
        inst_t *x = &inst[i];
        if (!x->live) continue;
        size_t until = all || rnd(3) == 0 ? nstream : x->pos + rnd((uint32_t)(nstream - x->pos) + 1);
        for (; x->pos < until; x->pos++)
            for (int k = 0; k < NKEYS; k++)
                if (x->holds[k] && x->pos >= x->from[k]) st_pool_key_apply(&x->view[k], &stream[x->pos]);
        for (int k = 0; k < NKEYS; k++) {
            if (!x->holds[k]) continue;
            assert_true(x->view[k].registrations <= 41);
            st_sym_t s = 0;
            if (x->pos == nstream && !st_pool_key_matches(&x->view[k], single, &s)) {
                printf("# %s, key %d: symbol %u differs from the single process's plan\n", names[i], k + 1, (unsigned)s);
                fail();
            }
        }
    }
}

static void test_pooled_plan_is_the_single_process_plan(void **state)
{
    st_planner_cfg_t c = {.nconns = NKEYS, .margin = 0.2, .min_dwell = 2 * ST_MIN, .max_swaps = 3,
                          .max_sector_share = 0.5, .failure_threshold = 3, .exclusion_cooldown = 10 * ST_MIN,
                          .poll_min = 15 * ST_SEC, .poll_max = 5 * ST_MIN};
    for (int i = 0; i < NKEYS; i++) c.budget[i] = 41;
    for (int p = 0; p < ST_PRIO_COUNT; p++) c.poll[p] = 30 * ST_SEC;
    single = st_planner_create(&c, &uni);
    leader = st_planner_create(&c, &uni);
    const char *reqs[NREQ] = {"gap", "leaders", "screener", "remote:r1/s"};
    int req[NREQ];
    for (int r = 0; r < NREQ; r++) {
        req[r] = st_planner_requester(single, reqs[r], 1.0 + r * 0.25);
        assert_int_equal(st_planner_requester(leader, reqs[r], 1.0 + r * 0.25), req[r]);
    }
    st_policy_t morning = {"morning", 12, 15, 1, 2, 1.0, NULL, false}, lunch = {"lunch", 5, 10, 1, 2, 1.0, NULL, false};
    st_time_t now = T0 + 9 * ST_HOUR, end = T0 + 15 * ST_HOUR + 30 * ST_MIN, next_rebalance = now + 5 * ST_MIN;
    BOTH(st_planner_set_policy(p_, &morning, now));
    for (int i = 0; i < NINST; i++) {
        inst[i].live = true;
        for (int k = 0; k < NKEYS; k++) st_pool_key_init(&inst[i].view[k], k, uni.n);
    }
    for (int k = 0; k < NKEYS; k++) st_pool_key_init(&full[k], k, uni.n);
    BOTH(st_planner_replan(p_, now));
    publish();
    leases(now);
    sessions(true);
    for (int k = 0; k < NKEYS; k++) assert_true(holder_of(k) >= 0);
    int slot = 0, events = 0, emergencies = 0, granted = 0, down_events = 0;
    int taken_at_death[NINST] = {0};
    while (now < end) {
        now += (st_time_t)(1 + rnd(5)) * ST_SEC;
        events++;
        uint32_t what = rnd(100);
        st_sym_t sym = (st_sym_t)rnd((uint32_t)uni.n);
        int r = (int)rnd(NREQ);
        if (what < 70) {
            int prio = (int)rnd(ST_PRIO_COUNT + 1); /* ST_PRIO_NONE too: the demand is dropped */
            BOTH(st_planner_demand(p_, req[r], sym, prio));
        } else if (what < 90) {
            double score = rnd(101);
            BOTH(st_planner_score(p_, sym, score));
        } else if (what < 93) {
            double score = 50 + rnd(150);
            char w1[128], w2[128];
            int a = st_planner_emergency(single, req[r], sym, score, now, w1, sizeof(w1));
            int b = st_planner_emergency(leader, req[r], sym, score, now, w2, sizeof(w2));
            assert_int_equal(a, b);
            if (a) assert_string_equal(w1, w2);
            emergencies++, granted += a == 0;
        }
        if (slot == 0 && now >= T0 + 11 * ST_HOUR + 30 * ST_MIN) {
            BOTH(st_planner_set_policy(p_, &lunch, now));
            slot = 1;
        }
        if (slot == 1 && now >= T0 + 13 * ST_HOUR) {
            BOTH(st_planner_set_policy(p_, &morning, now));
            slot = 2;
        }
        if (now >= next_rebalance) {
            BOTH(st_planner_rebalance(p_, now));
            next_rebalance += 5 * ST_MIN;
        }
        BOTH(st_planner_replan(p_, now));
        publish();
        if (inst[1].live && now >= T0 + 11 * ST_HOUR && now < T0 + 14 * ST_HOUR) { /* desk-b dies: its leases run out */
            inst[1].live = false;
            for (int k = 0; k < NKEYS; k++)
                if (inst[1].holds[k]) free_at[k] = now + TTL;
            memcpy(taken_at_death, taken, sizeof(taken));
            printf("# 11:00 desk-b dies holding %d key(s)\n", (int)(inst[1].holds[0] + inst[1].holds[1] +
                                                                      inst[1].holds[2] + inst[1].holds[3]));
        }
        if (!inst[1].live && now >= T0 + 14 * ST_HOUR) { /* back: it reads the stream from its end */
            inst[1].live = true;
            inst[1].pos = nstream;
            memset(inst[1].holds, 0, sizeof(inst[1].holds));
            int before = key_moves;
            leases(now);
            printf("# 14:00 desk-b is back: %d key(s) moved to it, %d stayed\n", key_moves - before,
                   NKEYS - (key_moves - before));
            for (int k = 0; k < NKEYS; k++) /* only its own keys moved */
                assert_int_equal(inst[1].holds[k], st_pool_owner(keys[k], names, (bool[]){true, true, true}, NINST) == 1);
        }
        leases(now);
        for (int k = 0; k < NKEYS; k++) down_events += holder_of(k) < 0;
        sessions(false);
        char why[256];
        assert_int_equal(st_planner_check(leader, why, sizeof(why)), 0);
    }
    sessions(true);
    for (int k = 0; k < NKEYS; k++) assert_true(holder_of(k) >= 0);
    st_plan_stats_t st;
    st_planner_stats(single, &st);
    int held = 0;
    for (int i = 0; i < NINST; i++)
        for (int k = 0; k < NKEYS; k++) held += inst[i].holds[k] ? inst[i].view[k].registrations : 0;
    int used = 0;
    for (int k = 0; k < NKEYS; k++) used += st.used[k];
    printf("# %d events, %zu moves (the same in both planners), %d/%d emergencies granted; %d key takeovers, "
           "keys unheld at %d event(s) (a dead holder's TTL); at 15:30 %d registrations held = %d planned\n",
           events, nstream, granted, emergencies, key_moves, down_events, held, used);
    assert_int_equal(held, used);
    assert_true(nstream > 500 && granted > 0 && down_events > 0);
    assert_true(taken[0] + taken[2] > taken_at_death[0] + taken_at_death[2]); /* the others took desk-b's keys */
    for (int i = 0; i < NINST; i++)
        for (int k = 0; k < NKEYS; k++) st_pool_key_free(&inst[i].view[k]);
    for (int k = 0; k < NKEYS; k++) st_pool_key_free(&full[k]);
    st_planner_destroy(single);
    st_planner_destroy(leader);
    free(stream);
}

/* Rendezvous hashing moves only the keys of an instance that joins or leaves. */
static void test_owner_moves_only_what_it_must(void **state)
{
    const char *many[6] = {"n1", "n2", "n3", "n4", "n5", "n6"};
    bool live[6] = {true, true, true, true, true, false};
    char key[32];
    int moved = 0, gained = 0;
    for (int k = 0; k < 200; k++) {
        snprintf(key, sizeof(key), "key-%d", k);
        int before = st_pool_owner(key, many, live, 6);
        assert_true(before >= 0 && before < 5);
        live[5] = true;
        int after = st_pool_owner(key, many, live, 6);
        live[5] = false;
        if (after != before) {
            assert_int_equal(after, 5); /* a key moves only to the newcomer */
            moved++;
        }
        gained += after == 5;
    }
    assert_int_equal(moved, gained);
    assert_true(gained > 10 && gained < 70); /* about a sixth of 200 */
    bool none[6] = {false};
    assert_int_equal(st_pool_owner("k", many, none, 6), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_pooled_plan_is_the_single_process_plan),
                                       cmocka_unit_test(test_owner_moves_only_what_it_must)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
