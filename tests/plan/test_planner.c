#include "synth_universe.h"

#include "plan/planner.h"

#include <math.h>

/* The synthetic universe (synth_universe.h): NSYM stocks S0000.. in 10 sectors and 8 indices
 * I01..I08. */
#define NSYM 400
static st_symtab_t syms;
static st_arena_t *arena;
static st_universe_t uni;
static st_sym_t S[NSYM], IX[8];

static int setup(void **state)
{
    int rc = st_test_synth_universe(NSYM, 8, &uni, &syms, &arena);
    for (int i = 0; i < NSYM; i++) {
        char c[8];
        snprintf(c, sizeof(c), "S%04d", i);
        S[i] = st_symtab_find(&syms, c, 5);
    }
    for (int i = 0; i < 8; i++) {
        char c[8];
        snprintf(c, sizeof(c), "I%02d", i + 1);
        IX[i] = st_symtab_find(&syms, c, 3);
    }
    return rc;
}

static int teardown(void **state)
{
    st_arena_destroy(arena);
    st_symtab_free(&syms);
    return 0;
}

static st_planner_cfg_t base_cfg(int nconns)
{
    st_planner_cfg_t c = {.nconns = nconns, .margin = 0.2, .min_dwell = 2 * ST_MIN, .max_swaps = 3,
                          .max_sector_share = 1.0, .failure_threshold = 3,
                          .exclusion_cooldown = 10 * ST_MIN, .poll_min = 15 * ST_SEC,
                          .poll_max = 5 * ST_MIN};
    for (int i = 0; i < nconns; i++) c.budget[i] = 41;
    c.poll[ST_PRIO_CRITICAL] = c.poll[ST_PRIO_HIGH] = 15 * ST_SEC;
    c.poll[ST_PRIO_MEDIUM] = 30 * ST_SEC;
    c.poll[ST_PRIO_LOW] = 60 * ST_SEC;
    c.poll[ST_PRIO_BACKGROUND] = 5 * ST_MIN;
    return c;
}

static st_policy_t pol(int rt, int semi, int idx, int res)
{
    return (st_policy_t){"test", rt, semi, idx, res, 1.0, NULL, false};
}

#define T0 ((st_time_t)1795392000 * ST_SEC)

static void checked(st_planner_t *p)
{
    char why[256];
    int rc = st_planner_check(p, why, sizeof(why));
    if (rc) printf("# invariant: %s\n", why);
    assert_int_equal(rc, 0);
}

static int tier(st_planner_t *p, st_sym_t s)
{
    return st_planner_entry(p, s)->tier;
}

static void test_priorities_map_to_tiers(void **state)
{
    st_planner_cfg_t c = base_cfg(1);
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t po = pol(2, 3, 1, 5);
    st_planner_set_policy(p, &po, T0);
    int r = st_planner_requester(p, "s", 1.0);
    st_planner_demand(p, r, S[0], ST_PRIO_CRITICAL);
    st_planner_demand(p, r, S[1], ST_PRIO_HIGH);
    st_planner_demand(p, r, S[2], ST_PRIO_MEDIUM);
    st_planner_demand(p, r, S[3], ST_PRIO_LOW);
    st_planner_demand(p, r, S[4], ST_PRIO_BACKGROUND);
    st_planner_demand(p, r, IX[0], ST_PRIO_HIGH);
    st_planner_replan(p, T0);
    checked(p);
    assert_int_equal(tier(p, S[0]), ST_TIER_REALTIME);
    assert_int_equal(tier(p, S[1]), ST_TIER_SEMI);
    assert_int_equal(tier(p, S[2]), ST_TIER_POLL);
    assert_int_equal(st_planner_entry(p, S[2])->poll, 30 * ST_SEC);
    assert_int_equal(st_planner_entry(p, S[3])->poll, 60 * ST_SEC);
    assert_int_equal(st_planner_entry(p, S[4])->poll, 5 * ST_MIN);
    assert_true(st_planner_entry(p, IX[0])->flags & ST_PLAN_INDEX);
    assert_int_equal(st_planner_entry(p, IX[0])->conn, 0);
    assert_int_equal(tier(p, S[5]), ST_TIER_NONE);
    st_plan_stats_t st;
    st_planner_stats(p, &st);
    assert_int_equal(st.used[0], 2 + 1 + 1);
    assert_int_equal(st.tier_count[ST_TIER_POLL], 3);
    assert_int_equal(st.indices, 1);
    /* A time slot that polls twice as often: 30 s -> 15 s, 5 m -> 150 s (clamped at 15 s). */
    po.poll_scale = 0.5;
    st_planner_set_policy(p, &po, T0);
    assert_int_equal(st_planner_entry(p, S[2])->poll, 15 * ST_SEC);
    assert_int_equal(st_planner_entry(p, S[4])->poll, 150 * ST_SEC);
    /* Withdrawn: out of every tier. */
    st_planner_demand(p, r, S[0], ST_PRIO_NONE);
    st_planner_replan(p, T0);
    assert_int_equal(tier(p, S[0]), ST_TIER_NONE);
    checked(p);
    st_planner_destroy(p);
}

/* A day the market does not trade: pinned symbols, indices and polled ones all leave (the reason
 * says why), an emergency is refused with the reason, and the next trading day's policy brings
 * the same plan back. */
static void test_closed_market_holds_nothing(void **state)
{
    st_planner_cfg_t c = base_cfg(1);
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t po = pol(2, 3, 1, 5);
    st_planner_set_policy(p, &po, T0);
    int r = st_planner_requester(p, "s", 1.0);
    st_planner_demand(p, r, S[0], ST_PRIO_CRITICAL);
    st_planner_pin(p, S[0], true);
    st_planner_demand(p, r, S[1], ST_PRIO_HIGH);
    st_planner_demand(p, r, S[2], ST_PRIO_MEDIUM);
    st_planner_demand(p, r, IX[0], ST_PRIO_HIGH);
    st_planner_replan(p, T0);
    st_planner_drain(p);
    st_policy_t closed = pol(0, 0, 0, 0);
    closed.closed = true;
    st_planner_set_policy(p, &closed, T0 + ST_DAY);
    checked(p);
    st_plan_stats_t st;
    st_planner_stats(p, &st);
    assert_int_equal(st.used[0], 0);
    for (int t = 1; t <= 3; t++) assert_int_equal(st.tier_count[t], 0);
    assert_int_equal(st.indices, 0);
    size_t n;
    const st_plan_change_t *ch = st_planner_pending(p, &n);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ch[i].to_tier, ST_TIER_NONE);
        assert_string_equal(st_plan_why_names[ch[i].why], "market_closed");
    }
    st_planner_drain(p);
    char why[128];
    assert_int_equal(st_planner_emergency(p, r, S[3], 90, T0 + ST_DAY, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "the market is closed today");
    st_planner_replan(p, T0 + ST_DAY); /* the demands stay: still nothing while closed */
    assert_int_equal(tier(p, S[0]), ST_TIER_NONE);
    st_planner_set_policy(p, &po, T0 + 2 * ST_DAY);
    checked(p);
    assert_int_equal(tier(p, S[0]), ST_TIER_REALTIME);
    assert_int_equal(tier(p, S[1]), ST_TIER_SEMI);
    assert_int_equal(tier(p, S[2]), ST_TIER_POLL);
    assert_true(st_planner_entry(p, IX[0])->conn != ST_CONN_NONE);
    st_planner_destroy(p);
}

/* Over capacity, the choice is by value; equal values break by symbol id. */
static void test_choice_by_value_and_ties(void **state)
{
    st_planner_cfg_t c = base_cfg(1);
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t po = pol(2, 2, 0, 0);
    st_planner_set_policy(p, &po, T0);
    int r = st_planner_requester(p, "s", 1.0);
    for (int i = 0; i < 6; i++) st_planner_demand(p, r, S[i], ST_PRIO_CRITICAL);
    st_planner_score(p, S[5], 50); /* the best */
    st_planner_replan(p, T0);
    checked(p);
    assert_int_equal(tier(p, S[5]), ST_TIER_REALTIME);
    assert_int_equal(tier(p, S[0]), ST_TIER_REALTIME); /* tie: lowest id */
    assert_int_equal(tier(p, S[1]), ST_TIER_SEMI);     /* critical overflow: trades at least */
    assert_int_equal(tier(p, S[2]), ST_TIER_SEMI);
    assert_int_equal(tier(p, S[3]), ST_TIER_POLL);
    assert_int_equal(st_planner_entry(p, S[3])->poll, 15 * ST_SEC); /* as fast as allowed */
    assert_true(fabsf(st_planner_entry(p, S[5])->value - (100 + 0.4f * 50)) < 1e-4);
    /* Strategy and slot weights scale the priority part. */
    int heavy = st_planner_requester(p, "heavy", 2.0);
    st_weight_t w[] = {{(char *)"heavy", 1.5}};
    st_weights_t ws = {w, 1};
    po.weights = &ws;
    st_planner_demand(p, heavy, S[4], ST_PRIO_CRITICAL);
    st_planner_set_policy(p, &po, T0);
    assert_true(fabsf(st_planner_entry(p, S[4])->value - 300.0f) < 1e-4);
    st_planner_destroy(p);
}

static void test_reserve_and_emergency(void **state)
{
    st_planner_cfg_t c = base_cfg(1);
    c.budget[0] = 20;
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t po = pol(3, 10, 2, 4); /* 6 + 10 + 2 = 18 > 20 - 4: the reserve must hold */
    st_planner_set_policy(p, &po, T0);
    int r = st_planner_requester(p, "s", 1.0);
    for (int i = 0; i < 20; i++) st_planner_demand(p, r, S[i], i < 5 ? ST_PRIO_CRITICAL : ST_PRIO_HIGH);
    st_planner_demand(p, r, IX[0], ST_PRIO_HIGH);
    st_planner_replan(p, T0);
    checked(p);
    st_plan_stats_t st;
    st_planner_stats(p, &st);
    assert_int_equal(st.used[0], 16); /* 20 - reserve 4 */
    /* An emergency takes the reserve: nobody is evicted. */
    char why[256];
    size_t n;
    st_planner_drain(p);
    assert_int_equal(st_planner_emergency(p, r, S[100], 95, T0, why, sizeof(why)), 0);
    assert_int_equal(tier(p, S[100]), ST_TIER_REALTIME);
    assert_true(st_planner_entry(p, S[100])->flags & ST_PLAN_EMERGENCY);
    st_planner_pending(p, &n);
    assert_int_equal(n, 1);
    st_planner_stats(p, &st);
    assert_int_equal(st.used[0], 18);
    checked(p);
    /* The second takes the rest of the reserve; the third must evict the weakest holders. */
    assert_int_equal(st_planner_emergency(p, r, S[101], 95, T0, why, sizeof(why)), 0);
    st_planner_score(p, S[19], 1); /* make everything but S19 weaker... */
    for (int i = 5; i < 19; i++) st_planner_score(p, S[i], 10);
    st_planner_score(p, S[19], 0); /* S19 is the weakest tier-2 holder: value 60 */
    st_planner_drain(p);
    assert_int_equal(st_planner_emergency(p, r, S[102], 95, T0, why, sizeof(why)), 0);
    const st_plan_change_t *ch = st_planner_pending(p, &n);
    checked(p);
    assert_true(n >= 2);
    assert_int_equal(ch[0].delta < 0, 1); /* evictions come first */
    assert_int_equal(tier(p, S[102]), ST_TIER_REALTIME);
    assert_int_equal(st_planner_entry(p, S[19])->tier, ST_TIER_POLL);
    assert_int_equal(ch[0].why, ST_WHY_EMERGENCY);
    /* A holder worth exactly the score is kept (issue 23.17: "worth at least as much"). */
    float weakest = INFINITY;
    for (int i = 0; i < 100; i++) {
        const st_plan_entry_t *e = st_planner_entry(p, S[i]);
        if (e->conn == 0 && !(e->flags & (ST_PLAN_PINNED | ST_PLAN_EMERGENCY)) && e->value < weakest) weakest = e->value;
    }
    assert_true(weakest > 10 && weakest < INFINITY);
    assert_int_equal(st_planner_emergency(p, r, S[103], weakest, T0, why, sizeof(why)), -ENOSPC);
    assert_int_equal(tier(p, S[103]), ST_TIER_NONE);
    /* Nobody worth less than the score: a reasoned failure. */
    assert_int_equal(st_planner_emergency(p, r, S[103], 10, T0, why, sizeof(why)), -ENOSPC);
    assert_non_null(strstr(why, "no room for 10.0"));
    assert_int_equal(tier(p, S[103]), ST_TIER_NONE);
    checked(p);
    /* Excluded and index symbols are refused with their reason. */
    for (int k = 0; k < 3; k++) st_planner_failure(p, S[104], T0);
    assert_int_equal(st_planner_emergency(p, r, S[104], 99, T0, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "excluded"));
    assert_int_equal(st_planner_emergency(p, r, IX[1], 99, T0, why, sizeof(why)), -EINVAL);
    /* Lowering the priority ends the emergency at the next replan, like any input: until then
     * the plan (and its reserve accounting) is unchanged. */
    st_planner_demand(p, r, S[100], ST_PRIO_MEDIUM);
    assert_true(st_planner_entry(p, S[100])->flags & ST_PLAN_EMERGENCY);
    checked(p);
    st_planner_replan(p, T0);
    assert_false(st_planner_entry(p, S[100])->flags & ST_PLAN_EMERGENCY);
    assert_int_equal(tier(p, S[100]), ST_TIER_POLL);
    checked(p);
    st_planner_destroy(p);
}

static void test_pinned_and_indices_never_evicted(void **state)
{
    st_planner_cfg_t c = base_cfg(1);
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t big = pol(4, 10, 3, 5), small = pol(1, 2, 1, 5);
    st_planner_set_policy(p, &big, T0);
    int r = st_planner_requester(p, "s", 1.0);
    for (int i = 0; i < 10; i++) st_planner_demand(p, r, S[i], ST_PRIO_HIGH);
    st_planner_demand(p, r, IX[0], ST_PRIO_LOW);
    st_planner_demand(p, r, IX[1], ST_PRIO_LOW);
    st_planner_pin(p, S[9], true); /* the weakest by id tie-break */
    st_planner_replan(p, T0);
    for (int i = 0; i < 10; i++) assert_int_equal(tier(p, S[i]), ST_TIER_SEMI);
    assert_int_equal(st_planner_entry(p, IX[1])->conn, 0);
    st_planner_set_policy(p, &small, T0 + ST_MIN);
    checked(p);
    assert_int_equal(tier(p, S[9]), ST_TIER_SEMI);     /* pinned stays */
    assert_int_equal(tier(p, S[0]), ST_TIER_SEMI);     /* the best non-pinned */
    assert_int_equal(tier(p, S[1]), ST_TIER_POLL);
    assert_int_equal(st_planner_entry(p, IX[0])->conn, 0); /* indices stay */
    assert_int_equal(st_planner_entry(p, IX[1])->conn, 0);
    size_t n;
    const st_plan_change_t *ch = st_planner_pending(p, &n);
    bool saw_timeslot = false;
    for (size_t i = 0; i < n; i++) saw_timeslot |= ch[i].why == ST_WHY_TIMESLOT;
    assert_true(saw_timeslot);
    /* An emergency cannot evict the pinned holder. */
    char why[200];
    st_planner_emergency(p, r, S[50], 99, T0, why, sizeof(why));
    assert_int_equal(tier(p, S[9]), ST_TIER_SEMI);
    st_planner_destroy(p);
}

static void test_sector_cap(void **state)
{
    st_planner_cfg_t c = base_cfg(1);
    c.max_sector_share = 0.3;
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t po = pol(2, 8, 0, 5); /* (2 + 8) x 30% = 3 per sector */
    st_planner_set_policy(p, &po, T0);
    int r = st_planner_requester(p, "s", 1.0);
    for (int i = 0; i < 6; i++) st_planner_demand(p, r, S[i * 10], ST_PRIO_HIGH); /* sector 0 */
    st_planner_demand(p, r, S[1], ST_PRIO_HIGH);                                  /* sector 1 */
    st_planner_replan(p, T0);
    checked(p);
    int held0 = 0;
    for (int i = 0; i < 6; i++) held0 += tier(p, S[i * 10]) == ST_TIER_SEMI;
    assert_int_equal(held0, 3);
    assert_int_equal(tier(p, S[0]), ST_TIER_SEMI);
    assert_int_equal(tier(p, S[30]), ST_TIER_POLL);
    assert_int_equal(tier(p, S[1]), ST_TIER_SEMI);
    st_planner_destroy(p);
}

/* Incumbents are replaced only at a rebalance, by the margin, after the dwell. */
static void test_hysteresis(void **state)
{
    st_planner_cfg_t c = base_cfg(1);
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t po = pol(0, 1, 0, 5);
    st_planner_set_policy(p, &po, T0);
    int r = st_planner_requester(p, "s", 1.0);
    st_planner_demand(p, r, S[0], ST_PRIO_HIGH); /* value 60 */
    st_planner_demand(p, r, S[1], ST_PRIO_HIGH);
    st_planner_replan(p, T0);
    assert_int_equal(tier(p, S[0]), ST_TIER_SEMI);
    st_planner_score(p, S[1], 25); /* 70: better, but not by 20% (72) */
    st_planner_rebalance(p, T0 + 10 * ST_MIN);
    assert_int_equal(tier(p, S[0]), ST_TIER_SEMI);
    st_planner_score(p, S[1], 40); /* 76 > 72 */
    st_planner_replan(p, T0 + 10 * ST_MIN); /* a replan never swaps incumbents */
    assert_int_equal(tier(p, S[0]), ST_TIER_SEMI);
    st_planner_rebalance(p, T0 + 10 * ST_MIN);
    assert_int_equal(tier(p, S[1]), ST_TIER_SEMI);
    assert_int_equal(tier(p, S[0]), ST_TIER_POLL);
    /* S1 just arrived: even a much better S0 waits for the dwell. */
    st_planner_score(p, S[0], 100); /* 100 > 76 x 1.2 */
    st_planner_rebalance(p, T0 + 11 * ST_MIN);
    assert_int_equal(tier(p, S[1]), ST_TIER_SEMI);
    st_planner_rebalance(p, T0 + 12 * ST_MIN);
    assert_int_equal(tier(p, S[0]), ST_TIER_SEMI);
    checked(p);
    st_plan_change_t h[8];
    size_t n = st_planner_history(p, h, 8);
    assert_true(n >= 2);
    assert_int_equal(h[n - 1].why, ST_WHY_REBALANCE);
    st_planner_destroy(p);
}

/* A rebalance fills idle tier-2 capacity with the best scored tier-3 symbols; a symbol that
 * wants tier 2 then displaces such a filler at once. */
static void test_rebalance_promotes_and_demand_displaces(void **state)
{
    st_planner_cfg_t c = base_cfg(1);
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t po = pol(0, 2, 0, 5);
    st_planner_set_policy(p, &po, T0);
    int r = st_planner_requester(p, "s", 1.0);
    for (int i = 0; i < 5; i++) st_planner_demand(p, r, S[i], ST_PRIO_MEDIUM);
    st_planner_score(p, S[3], 90);
    st_planner_score(p, S[4], 80);
    st_planner_replan(p, T0);
    assert_int_equal(tier(p, S[3]), ST_TIER_POLL); /* a replan does not promote */
    st_planner_rebalance(p, T0);
    assert_int_equal(tier(p, S[3]), ST_TIER_SEMI);
    assert_int_equal(tier(p, S[4]), ST_TIER_SEMI);
    assert_true(st_planner_entry(p, S[4])->flags & ST_PLAN_PROMOTED);
    st_planner_demand(p, r, S[0], ST_PRIO_HIGH);
    st_planner_replan(p, T0 + 1);
    assert_int_equal(tier(p, S[0]), ST_TIER_SEMI);
    assert_int_equal(tier(p, S[4]), ST_TIER_POLL); /* the weaker filler gave way */
    checked(p);
    /* A pinned filler is never displaced (found by the property test). */
    st_planner_pin(p, S[3], true);
    st_planner_demand(p, r, S[1], ST_PRIO_HIGH);
    st_planner_replan(p, T0 + 2);
    assert_int_equal(tier(p, S[3]), ST_TIER_SEMI);
    assert_int_equal(tier(p, S[1]), ST_TIER_POLL); /* waits for room */
    checked(p);
    st_planner_destroy(p);
}

static void test_exclusion_and_readmission(void **state)
{
    st_planner_cfg_t c = base_cfg(1);
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t po = pol(2, 4, 0, 5);
    st_planner_set_policy(p, &po, T0);
    int r = st_planner_requester(p, "s", 1.0);
    st_planner_demand(p, r, S[7], ST_PRIO_CRITICAL);
    st_planner_replan(p, T0);
    st_planner_failure(p, S[7], T0);
    st_planner_failure(p, S[7], T0);
    st_planner_success(p, S[7]); /* not consecutive */
    st_planner_failure(p, S[7], T0);
    st_planner_failure(p, S[7], T0);
    st_planner_replan(p, T0);
    assert_int_equal(tier(p, S[7]), ST_TIER_REALTIME);
    st_planner_failure(p, S[7], T0 + ST_SEC);
    st_planner_replan(p, T0 + ST_SEC);
    assert_int_equal(tier(p, S[7]), ST_TIER_NONE);
    assert_true(st_planner_entry(p, S[7])->flags & ST_PLAN_EXCLUDED);
    checked(p);
    st_planner_replan(p, T0 + ST_SEC + 10 * ST_MIN - 1);
    assert_int_equal(tier(p, S[7]), ST_TIER_NONE);
    st_planner_replan(p, T0 + ST_SEC + 10 * ST_MIN);
    assert_int_equal(tier(p, S[7]), ST_TIER_REALTIME);
    checked(p);
    st_planner_destroy(p);
}

static void test_connections_sticky_and_balanced(void **state)
{
    st_planner_cfg_t c = base_cfg(2);
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t po = pol(2, 4, 1, 5);
    st_planner_set_policy(p, &po, T0);
    int r = st_planner_requester(p, "s", 1.0);
    for (int i = 0; i < 4; i++) st_planner_demand(p, r, S[i], ST_PRIO_HIGH);
    st_planner_replan(p, T0);
    /* Spread over the connections by free room: 0, 1, 0, 1. */
    assert_int_equal(st_planner_entry(p, S[0])->conn, 0);
    assert_int_equal(st_planner_entry(p, S[1])->conn, 1);
    assert_int_equal(st_planner_entry(p, S[2])->conn, 0);
    assert_int_equal(st_planner_entry(p, S[3])->conn, 1);
    /* An upgrade stays on its connection; nothing else moves. */
    st_planner_drain(p);
    st_planner_demand(p, r, S[1], ST_PRIO_CRITICAL);
    st_planner_replan(p, T0);
    size_t n;
    const st_plan_change_t *ch = st_planner_pending(p, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ch[0].sym, S[1]);
    assert_int_equal(ch[0].from_conn, 1);
    assert_int_equal(ch[0].to_conn, 1);
    assert_int_equal(ch[0].delta, 1);
    checked(p);
    st_planner_destroy(p);
}

/* A symbol's changes before a drain keep their order: S[0] taken to tier 1 then let go, S[1]
 * taken to tier 1 then lowered to tier 2 — each way back after its way in, whatever the
 * decreases-first order does with the others. Applied in the order given (as the feeds and the
 * plan stream do), they leave what the plan holds. Before, the way back came first and a feed
 * kept S[0]'s subscriptions after the plan had let it go. */
static void test_pending_keeps_each_symbols_order(void **state)
{
    st_planner_cfg_t c = base_cfg(1);
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t po = pol(5, 5, 0, 0);
    st_planner_set_policy(p, &po, T0);
    int r = st_planner_requester(p, "s", 1.0);
    st_planner_demand(p, r, S[5], ST_PRIO_HIGH);
    st_planner_replan(p, T0);
    st_planner_drain(p); /* S[5] in tier 2 */
    st_planner_demand(p, r, S[0], ST_PRIO_CRITICAL);
    st_planner_demand(p, r, S[1], ST_PRIO_CRITICAL);
    st_planner_replan(p, T0);
    st_planner_demand(p, r, S[0], ST_PRIO_NONE);
    st_planner_demand(p, r, S[1], ST_PRIO_HIGH);
    st_planner_demand(p, r, S[5], ST_PRIO_NONE);
    st_planner_replan(p, T0 + ST_SEC);
    size_t n;
    const st_plan_change_t *ch = st_planner_pending(p, &n);
    assert_int_equal(n, 5);
    assert_int_equal(ch[0].sym, S[5]); /* a decrease of a symbol with nothing before it: first */
    uint8_t tier_of[2] = {0, 0};
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 2; k++)
            if (ch[i].sym == S[k]) {
                assert_int_equal(ch[i].from_tier, tier_of[k]); /* each from where the one before left it */
                tier_of[k] = ch[i].to_tier;
            }
    assert_int_equal(tier_of[0], tier(p, S[0]));
    assert_int_equal(tier_of[1], tier(p, S[1]));
    assert_int_equal(tier(p, S[1]), ST_TIER_SEMI);
    ch = st_planner_pending(p, &n); /* asked again: the same order */
    assert_int_equal(n, 5);
    assert_int_equal(ch[0].sym, S[5]);
    checked(p);
    st_planner_destroy(p);
}

/* --- property test --------------------------------------------------------------------- */

static uint64_t rs;
static uint32_t rnd(uint32_t n)
{
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (uint32_t)(rs % n);
}

static uint64_t plan_digest(const st_planner_t *p)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < NSYM; i++) {
        const st_plan_entry_t *e = st_planner_entry(p, S[i]);
        h = (h ^ (uint64_t)(e->tier * 256 + e->conn + e->flags * 65536)) * 1099511628211ull;
    }
    return h;
}

/* Applies pending changes in order to the previous per-connection usage: never over budget. */
static void check_transition(st_planner_t *p, int *usage, int nconns)
{
    size_t n;
    const st_plan_change_t *ch = st_planner_pending(p, &n);
    for (size_t i = 0; i < n; i++) {
        int from = ch[i].from_tier == ST_TIER_REALTIME ? 2 : ch[i].from_tier == ST_TIER_SEMI ? 1 : 0;
        int to = ch[i].to_tier == ST_TIER_REALTIME ? 2 : ch[i].to_tier == ST_TIER_SEMI ? 1 : 0;
        if (ch[i].from_conn != ST_CONN_NONE) usage[ch[i].from_conn] -= from;
        if (ch[i].to_conn != ST_CONN_NONE) usage[ch[i].to_conn] += to;
        for (int c = 0; c < nconns; c++) {
            if (usage[c] > 41) printf("# change %zu of %zu: connection %d at %d\n", i, n, c, usage[c]);
            assert_true(usage[c] <= 41);
        }
    }
    st_planner_drain(p);
    st_plan_stats_t st;
    st_planner_stats(p, &st);
    for (int c = 0; c < nconns; c++) assert_int_equal(usage[c], st.used[c]);
}

static uint64_t random_walk(uint64_t seed, int steps, int nconns)
{
    rs = seed * 2654435761u + 1;
    st_planner_cfg_t c = base_cfg(nconns);
    c.max_sector_share = 0.3;
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t pols[4] = {pol(8, 15, 5, 5), pol(6, 18, 5, 6), pol(5, 20, 5, 6), pol(7, 16, 5, 6)};
    st_planner_set_policy(p, &pols[0], T0);
    int reqs[4];
    for (int i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof(name), "r%d", i);
        reqs[i] = st_planner_requester(p, name, 0.5 + i * 0.5);
    }
    int usage[ST_PLAN_MAX_CONNS] = {0};
    check_transition(p, usage, nconns);
    st_time_t now = T0;
    char why[256];
    /* Pinned holders at the start of a batch whose own inputs the batch leaves alone must still
     * hold their tier at its end: nothing evicts a pinned symbol. */
    static uint8_t touched[NSYM + 16], held_pinned[NSYM + 16];
    size_t nsyms = (size_t)syms.n;
    memset(touched, 0, sizeof(touched));
    for (int k = 0; k < steps; k++) {
        now += rnd(30) * ST_SEC;
        st_sym_t s = rnd(10) == 0 ? IX[rnd(8)] : S[rnd(120)];
        int req = reqs[rnd(4)];
        uint32_t op = rnd(12);
        if (op <= 7) touched[s] = 1; /* its demand, score, pin or failures */
        /* Inputs (demand, score, pin, failures) take effect at the next replan, which the
         * runtime runs after each batch of them; batches here are 1 to 3 inputs long. */
        switch (op) {
        case 0: case 1: case 2: case 3:
            st_planner_demand(p, req, s, (int)rnd(ST_PRIO_COUNT + 1));
            break;
        case 4: st_planner_score(p, s, rnd(101)); break;
        case 5: st_planner_pin(p, s, rnd(4) == 0); break;
        case 6: st_planner_failure(p, s, now); break;
        case 7: st_planner_success(p, s); break;
        case 8: st_planner_emergency(p, req, s, 50 + rnd(50), now, why, sizeof(why)); break;
        case 9: st_planner_set_policy(p, &pols[rnd(4)], now); break;
        case 10: st_planner_rebalance(p, now); break;
        default: st_planner_replan(p, now); break;
        }
        if (rnd(3) != 0) continue; /* the batch goes on */
        st_planner_replan(p, now);
        for (size_t i = 0; i < nsyms; i++) {
            const st_plan_entry_t *e = st_planner_entry(p, (st_sym_t)i);
            if (held_pinned[i] && !touched[i] && (e->flags & ST_PLAN_PINNED)) {
                /* Kept, or upgraded (a critical symbol waiting in tier 2): never demoted. */
                bool kept = (e->tier == ST_TIER_REALTIME || e->tier == ST_TIER_SEMI) && e->tier <= held_pinned[i];
                if (!kept) printf("# seed %llu step %d: pinned symbol %zu went from tier %d to %d\n",
                                  (unsigned long long)seed, k, i, held_pinned[i], e->tier);
                assert_true(kept);
            }
            held_pinned[i] = (e->flags & ST_PLAN_PINNED) && (e->tier == ST_TIER_REALTIME || e->tier == ST_TIER_SEMI)
                                 ? e->tier : 0;
            touched[i] = 0;
        }
        if (st_planner_check(p, why, sizeof(why)) != 0) {
            printf("# seed %llu step %d: %s\n", (unsigned long long)seed, k, why);
            fail();
        }
        check_transition(p, usage, nconns);
    }
    uint64_t d = plan_digest(p);
    st_plan_stats_t st;
    st_planner_stats(p, &st);
    assert_true(st.emergencies_ok > 0 && st.swaps + st.changes > 0);
    st_planner_destroy(p);
    return d;
}

static void test_property_random_sequences(void **state)
{
    for (uint64_t seed = 1; seed <= 200; seed++) {
        int nconns = 1 + (int)(seed % 3);
        uint64_t a = random_walk(seed, 400, nconns);
        uint64_t b = random_walk(seed, 400, nconns);
        assert_int_equal(a, b); /* same inputs, same plan */
    }
}

/* --- a day against the default table ---------------------------------------------------- */

static void test_scenario_default_day(void **state)
{
    const char *text = "market: {universe: config/universe.csv}\n";
    st_config_t *cfg;
    st_diags_t d;
    st_diags_init(&d);
    assert_int_equal(st_config_parse("t.yaml", text, strlen(text), &cfg, &d), 0);
    st_planner_cfg_t pc;
    st_planner_cfg_from(&pc, cfg);
    assert_int_equal(pc.nconns, 1);
    assert_int_equal(pc.budget[0], 41);
    pc.max_sector_share = 1; /* this walk checks the table, not the sector rule */
    st_planner_t *p = st_planner_create(&pc, &uni);
    int r = st_planner_requester(p, "gap_trading", 1.0);
    /* More demand than any slot can hold, in every class. */
    for (int i = 0; i < 12; i++) st_planner_demand(p, r, S[i], ST_PRIO_CRITICAL);
    for (int i = 12; i < 40; i++) st_planner_demand(p, r, S[i], ST_PRIO_HIGH);
    for (int i = 40; i < 300; i++) st_planner_demand(p, r, S[i], ST_PRIO_MEDIUM);
    for (int i = 0; i < 8; i++) st_planner_demand(p, r, IX[i], ST_PRIO_HIGH);
    for (size_t k = 0; k < cfg->schedule.n; k++) {
        const st_slot_cfg_t *slot = ST_LIST_AT(cfg->schedule, st_slot_cfg_t, k);
        st_policy_t po;
        st_policy_from_slot(&po, slot);
        st_planner_set_policy(p, &po, T0 + (st_time_t)k * ST_HOUR);
        checked(p);
        st_plan_stats_t st;
        st_planner_stats(p, &st);
        assert_string_equal(st_planner_policy_name(p), slot->name);
        assert_int_equal(st.tier_count[ST_TIER_REALTIME], slot->realtime);
        assert_int_equal(st.tier_count[ST_TIER_SEMI], slot->semi_realtime);
        int idx = st.indices;
        /* Indices are never evicted, so a slot with fewer index slots keeps the earlier ones. */
        assert_true(idx >= slot->indices);
        assert_int_equal(st.used[0], slot->realtime * 2 + slot->semi_realtime + idx);
        assert_true(41 - st.used[0] >= slot->reserve || idx > slot->indices);
        assert_int_equal(st.tier_count[ST_TIER_POLL], 308 - slot->realtime - slot->semi_realtime - idx);
    }
    st_planner_destroy(p);
    st_config_free(cfg);
    st_diags_free(&d);
}

int main(void)
{
    st_test_chdir_source(); /* the configs name the checkout's files by relative paths */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priorities_map_to_tiers),
        cmocka_unit_test(test_closed_market_holds_nothing),
        cmocka_unit_test(test_choice_by_value_and_ties),
        cmocka_unit_test(test_reserve_and_emergency),
        cmocka_unit_test(test_pinned_and_indices_never_evicted),
        cmocka_unit_test(test_sector_cap),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_rebalance_promotes_and_demand_displaces),
        cmocka_unit_test(test_exclusion_and_readmission),
        cmocka_unit_test(test_connections_sticky_and_balanced),
        cmocka_unit_test(test_pending_keeps_each_symbols_order),
        cmocka_unit_test(test_property_random_sequences),
        cmocka_unit_test(test_scenario_default_day),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
