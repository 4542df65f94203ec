/* The tier planner: which symbols get which tier, on which connection, within the venues'
 * budgets. Pure and deterministic: inputs in, plan out, time as an argument, no I/O.
 *
 * Rules (docs/planner.md explains them and how to tune them):
 * - value v = base[priority] x weight + 0.4 x score; base critical 100, high 60, medium 30,
 *   low 15, background 5; weight = requester weight x the time slot's weight for it (the best
 *   over the requesters holding the symbol's strongest priority); an emergency holder is worth
 *   at least its priority score. Ties break by symbol id.
 * - desired tier: CRITICAL -> 1 (trade + orderbook, 2 registrations), HIGH -> 2 (trade, 1),
 *   the rest -> 3 (REST polling at the priority's interval x the slot's poll_scale).
 * - the policy's realtime / semi_realtime / indices / reserve counts apply per connection;
 *   reserve registrations are used only by emergencies; no connection ever holds more than its
 *   budget, and the change list orders every decrease before any increase (each symbol's own
 *   changes kept in their order), so no transition exceeds it either.
 * - pinned symbols and indices are never evicted; at most max_sector_share of each tier 1+2
 *   capacity goes to one sector; excluded symbols (failure_threshold consecutive failures)
 *   hold no tier until their cool-down ends.
 * - a replan makes only forced changes (demand gone, capacity shrunk, exclusion, free capacity
 *   filled, a symbol that wants a tier displacing one that does not); incumbents are replaced by
 *   better challengers only at a rebalance, by a margin, after a minimum dwell: no flapping.
 * - an emergency takes a reserve slot, or evicts at once the lowest-value non-pinned holders
 *   worth less than its score; if nothing can give way it fails with a reason. */
#ifndef ST_PLAN_PLANNER_H
#define ST_PLAN_PLANNER_H

#include "conf/config.h"
#include "market/universe.h"

#define ST_PLAN_MAX_CONNS 64
#define ST_PLAN_MAX_REQUESTERS 64
#define ST_PRIO_NONE ST_PRIO_COUNT

typedef enum { ST_TIER_NONE = 0, ST_TIER_REALTIME = 1, ST_TIER_SEMI = 2, ST_TIER_POLL = 3 } st_tier_t;

/* Flags of a plan entry. */
#define ST_PLAN_PINNED    0x01u
#define ST_PLAN_EMERGENCY 0x02u
#define ST_PLAN_PROMOTED  0x04u /* holds tier 2 through a rebalance, without demanding it */
#define ST_PLAN_INDEX     0x08u /* an index stream (one registration, an index slot) */
#define ST_PLAN_EXCLUDED  0x10u

typedef enum {
    ST_WHY_DEMAND,      /* a requester asked for it (or stopped asking) */
    ST_WHY_CAPACITY,    /* the tier is full, or shrank */
    ST_WHY_DISPLACED,   /* a symbol that wants the tier took the place of one that does not */
    ST_WHY_REBALANCE,   /* replaced by (or replacing) a better performer */
    ST_WHY_EMERGENCY,   /* an emergency subscription took it in, or evicted it */
    ST_WHY_EXCLUDED,    /* too many consecutive failures */
    ST_WHY_READMITTED,  /* cool-down over */
    ST_WHY_SECTOR_CAP,  /* its sector holds its share of tiers 1-2 */
    ST_WHY_TIMESLOT,    /* the new time slot's policy */
    ST_WHY_CLOSED,      /* the market is closed today (the calendar): nothing is held */
    ST_WHY_COUNT
} st_plan_why_t;
extern const char *const st_plan_why_names[];
extern const char *const st_tier_names[4]; /* by st_tier_t, for people: "none", "1", "2", "3" */

typedef struct {
    uint8_t tier;  /* st_tier_t */
    uint8_t conn;  /* connection for tiers 1-2 and index streams; ST_CONN_NONE otherwise */
    uint8_t flags; /* ST_PLAN_* */
    uint8_t prio;  /* strongest demanded priority, ST_PRIO_NONE if none */
    float score;   /* performance score 0-100 */
    float value;   /* as of the last replan */
    float emergency_score;
    uint16_t sector;
    uint16_t failures;
    uint8_t why;              /* st_plan_why_t of its last change of tier or connection */
    st_time_t since;          /* when it took its current tier */
    st_time_t excluded_until; /* 0 when not excluded */
    st_dur_t poll;            /* tier 3: polling interval */
} st_plan_entry_t;

/* Registrations a symbol of this tier takes on its connection: 2 in tier 1 (trades and
 * orderbook), 1 in tier 2 (an index stream is tier 2 too), none in tier 3 or none. */
static inline int st_plan_cost(uint8_t tier)
{
    return tier == ST_TIER_REALTIME ? 2 : tier == ST_TIER_SEMI ? 1 : 0;
}

typedef struct {
    st_sym_t sym;
    uint8_t from_tier, to_tier;
    uint8_t from_conn, to_conn;
    uint8_t why; /* st_plan_why_t */
    int16_t delta; /* registrations: to - from, on the connections involved */
    st_time_t at;
} st_plan_change_t;

/* What the planner needs of the configuration; st_planner_cfg_from fills it. */
typedef struct {
    int nconns;
    int budget[ST_PLAN_MAX_CONNS]; /* registrations per connection */
    double margin;
    st_dur_t min_dwell;
    int max_swaps;
    double max_sector_share;
    int failure_threshold;
    st_dur_t exclusion_cooldown;
    st_dur_t poll[ST_PRIO_COUNT]; /* tier-3 interval per priority (critical/high overflow use min) */
    st_dur_t poll_min, poll_max;
} st_planner_cfg_t;

typedef struct {
    const char *name;
    int realtime, semi, indices, reserve; /* per connection */
    double poll_scale;
    const st_weights_t *weights; /* requester name -> weight; may be NULL */
    bool closed; /* the market does not trade today: no tier for anyone, emergencies refused */
} st_policy_t;

typedef struct {
    int tier_count[4];       /* symbols per tier (index streams count in tier 2... see indices) */
    int indices;             /* index streams held */
    int emergencies;
    int used[ST_PLAN_MAX_CONNS]; /* registrations per connection */
    int budget[ST_PLAN_MAX_CONNS];
    int nconns;
    int excluded;
    uint64_t replans, rebalances, changes, emergencies_ok, emergencies_failed, swaps;
} st_plan_stats_t;

typedef struct st_planner st_planner_t;

void st_planner_cfg_from(st_planner_cfg_t *pc, const st_config_t *cfg);
void st_policy_from_slot(st_policy_t *pol, const st_slot_cfg_t *slot);

/* The universe gives sectors and which symbols are indices; it is copied. */
st_planner_t *st_planner_create(const st_planner_cfg_t *cfg, const st_universe_t *u);
void st_planner_destroy(st_planner_t *p);
/* New settings (reload): budgets, margins, intervals. Connections may not shrink below the
 * number in use; call st_planner_replan afterwards. */
void st_planner_set_cfg(st_planner_t *p, const st_planner_cfg_t *cfg);
void st_planner_set_universe(st_planner_t *p, const st_universe_t *u);

/* A requester (the config's watch list, a strategy) and its base weight. Returns its id, or
 * -ENOSPC. Re-registering a name returns the same id with the new weight. */
int st_planner_requester(st_planner_t *p, const char *name, double weight);
/* A requester's name ("" for an id it does not know). */
const char *st_planner_requester_name(const st_planner_t *p, int req);
/* Sets requester req's priority for sym (ST_PRIO_NONE withdraws it). Takes effect at the next
 * replan. Returns 0 or -EINVAL for an unknown symbol or requester. */
int st_planner_demand(st_planner_t *p, int req, st_sym_t sym, int prio);
/* Withdraws every demand and emergency of a requester (removed or quarantined strategy). */
void st_planner_release(st_planner_t *p, int req);
int st_planner_score(st_planner_t *p, st_sym_t sym, double score);
int st_planner_pin(st_planner_t *p, st_sym_t sym, bool pinned);
/* A data failure / success for sym; threshold consecutive failures exclude it (replan). */
void st_planner_failure(st_planner_t *p, st_sym_t sym, st_time_t now);
void st_planner_success(st_planner_t *p, st_sym_t sym);

/* The policy in force; a change replans in one step (reason: time slot). */
void st_planner_set_policy(st_planner_t *p, const st_policy_t *pol, st_time_t now);
/* Forced changes only. Returns the number of changes made. */
int st_planner_replan(st_planner_t *p, st_time_t now);
/* Replan, then replace bottom performers of tiers 1-2 by better tier-3 candidates. */
int st_planner_rebalance(st_planner_t *p, st_time_t now);
/* Tier 1 for sym at once, for requester req (it holds the emergency until it lowers the
 * symbol's priority or is released). Returns 0, or -ENOSPC / -EINVAL with the reason in why. */
int st_planner_emergency(st_planner_t *p, int req, st_sym_t sym, double priority_score,
                         st_time_t now, char *why, size_t whylen);

const st_plan_entry_t *st_planner_entry(const st_planner_t *p, st_sym_t sym);
/* Who asks for a symbol: a requester, its priority for it, whether it holds its emergency. */
typedef struct {
    const char *requester; /* valid until the planner's next call */
    uint8_t prio;          /* st_prio_t */
    bool emergency;
} st_plan_demand_t;
/* sym's demands, in the requesters' order; returns how many there are (out gets at most max). */
size_t st_planner_demands(const st_planner_t *p, st_sym_t sym, st_plan_demand_t *out, size_t max);
void st_planner_stats(const st_planner_t *p, st_plan_stats_t *out);
const char *st_planner_policy_name(const st_planner_t *p);

/* Changes since the last drain, in a safe order: decreases before increases, except that a
 * symbol's own changes keep the order they were made in — applied in this order they never
 * exceed a budget and leave exactly the plan. The pointer is valid until the next planner call;
 * drain clears them. */
const st_plan_change_t *st_planner_pending(const st_planner_t *p, size_t *n);
void st_planner_drain(st_planner_t *p);
/* The last changes (newest last), up to 256, for status. */
size_t st_planner_history(const st_planner_t *p, st_plan_change_t *out, size_t max);

/* Checks every invariant of the current plan (budget, reserve, caps, one tier per symbol,
 * pinned and index holders placed); returns 0 or -EINVAL with the broken rule in why. For tests. */
int st_planner_check(const st_planner_t *p, char *why, size_t whylen);

#endif
