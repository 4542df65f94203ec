#include "planner.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const st_tier_names[4] = {"none", "1", "2", "3"};
const char *const st_plan_why_names[] = {"demand",    "capacity",  "displaced",
                                         "rebalance", "emergency", "excluded",
                                         "readmitted", "sector_cap", "timeslot", "market_closed", NULL};

static const double prio_base[ST_PRIO_COUNT + 1] = {100, 60, 30, 15, 5, 0};
#define SCORE_WEIGHT 0.4
#define NOCONN ST_CONN_NONE
#define HISTORY 256

typedef struct {
    char name[48];
    double weight;   /* base weight (strategy config) */
    double slot_w;   /* × the slot's weight for this name */
    uint8_t *prio;   /* per symbol; ST_PRIO_NONE when not demanded */
    bool used;
} requester_t;

struct st_planner {
    st_planner_cfg_t cfg;
    st_policy_t pol;
    char pol_name[48];
    st_weight_t *weights; /* copy of the policy's weights */
    size_t nweights;

    size_t n; /* symbols covered by the arrays below */
    st_plan_entry_t *e;
    int8_t *emerg_req; /* requester holding an emergency, -1 */
    requester_t req[ST_PLAN_MAX_REQUESTERS];
    int nreq;

    /* Per connection: normal tier-1, tier-2, index holders and emergency holders. */
    int t1[ST_PLAN_MAX_CONNS], t2[ST_PLAN_MAX_CONNS], ix[ST_PLAN_MAX_CONNS], em[ST_PLAN_MAX_CONNS];
    int *sector_count; /* tier 1+2 holders per sector (index streams excluded) */
    size_t nsectors;

    st_plan_change_t *pending;
    size_t npending, cap_pending;
    bool *moved_later; /* by symbol, while st_planner_pending sorts: it has a change in the second part */
    st_plan_change_t hist[HISTORY];
    size_t hist_n; /* total ever recorded */

    st_sym_t *scratch, *scratch2;
    st_plan_why_t shrink_why; /* why capacity shrank: a new time slot, or capacity in general */
    uint64_t replans, rebalances, changes, em_ok, em_failed, swaps;
};

/* --- helpers ------------------------------------------------------------------------------ */

static int used(const st_planner_t *p, int c)
{
    return 2 * (p->t1[c] + p->em[c]) + p->t2[c] + p->ix[c];
}

static int normal_used(const st_planner_t *p, int c)
{
    return 2 * p->t1[c] + p->t2[c] + p->ix[c];
}

static int normal_room(const st_planner_t *p, int c)
{
    int reserve = ST_MAX2(p->pol.reserve, 2 * p->em[c]);
    return p->cfg.budget[c] - reserve - normal_used(p, c);
}

static int sector_cap(const st_planner_t *p)
{
    int cap = (int)floor(p->cfg.max_sector_share * (p->pol.realtime + p->pol.semi) * p->cfg.nconns);
    return cap < 1 ? 1 : cap;
}

static bool is_index(const st_plan_entry_t *e)
{
    return e->flags & ST_PLAN_INDEX;
}

static int desired_tier(const st_plan_entry_t *e)
{
    if (e->flags & ST_PLAN_EMERGENCY) return ST_TIER_REALTIME;
    if (e->prio == ST_PRIO_CRITICAL) return ST_TIER_REALTIME;
    if (e->prio == ST_PRIO_HIGH) return ST_TIER_SEMI;
    return ST_TIER_POLL;
}

/* A closed market (the calendar's) holds nothing: no stream, no polling. */
static bool eligible(const st_planner_t *p, const st_plan_entry_t *e)
{
    return !p->pol.closed && e->prio != ST_PRIO_NONE && !(e->flags & ST_PLAN_EXCLUDED);
}

/* Higher value first; ties by symbol id (deterministic). */
static const st_planner_t *sort_ctx;
static int by_value_desc(const void *a, const void *b)
{
    st_sym_t x = *(const st_sym_t *)a, y = *(const st_sym_t *)b;
    float vx = sort_ctx->e[x].value, vy = sort_ctx->e[y].value;
    if (vx != vy) return vx > vy ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int by_value_asc(const void *a, const void *b)
{
    return -by_value_desc(a, b);
}

static void sort_syms(const st_planner_t *p, st_sym_t *v, size_t n, bool desc)
{
    sort_ctx = p;
    qsort(v, n, sizeof(*v), desc ? by_value_desc : by_value_asc);
}

/* Moves the k best of v[0..n) to the front, best first; returns how many (<= k). Linear in n
 * for the usual case where most symbols are worse than the k-th. */
static size_t select_top(const st_planner_t *p, st_sym_t *v, size_t n, size_t k)
{
    sort_ctx = p;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        st_sym_t x = v[i];
        if (m == k && by_value_desc(&x, &v[m - 1]) >= 0) continue;
        size_t j = m < k ? m++ : m - 1;
        while (j > 0 && by_value_desc(&x, &v[j - 1]) < 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    return m;
}

static void record(st_planner_t *p, st_sym_t sym, uint8_t ft, uint8_t fc, uint8_t tt, uint8_t tc,
                   st_plan_why_t why, st_time_t now)
{
    if (ft == tt && fc == tc) return;
    st_plan_change_t ch = {sym, ft, tt, fc, tc, (uint8_t)why, (int16_t)(st_plan_cost(tt) - st_plan_cost(ft)), now};
    if (p->npending == p->cap_pending) {
        p->cap_pending = p->cap_pending ? p->cap_pending * 2 : 64;
        p->pending = st_xrealloc(p->pending, p->cap_pending * sizeof(*p->pending));
    }
    p->pending[p->npending++] = ch;
    p->hist[p->hist_n++ % HISTORY] = ch;
    p->e[sym].why = (uint8_t)why;
    p->changes++;
}

/* Moves sym to (tier, conn), keeping the per-connection and sector counts exact. */
static void place(st_planner_t *p, st_sym_t sym, uint8_t tier, uint8_t conn, st_plan_why_t why,
                  st_time_t now)
{
    st_plan_entry_t *e = &p->e[sym];
    uint8_t ft = e->tier, fc = e->conn;
    bool was_held = fc != NOCONN, em = e->flags & ST_PLAN_EMERGENCY;
    if (was_held) {
        if (is_index(e)) p->ix[fc]--;
        else if (ft == ST_TIER_REALTIME && em) p->em[fc]--;
        else if (ft == ST_TIER_REALTIME) p->t1[fc]--;
        else if (ft == ST_TIER_SEMI) p->t2[fc]--;
        if (!is_index(e) && e->sector) p->sector_count[e->sector]--;
    }
    if (tier != ST_TIER_REALTIME && tier != ST_TIER_SEMI) conn = NOCONN;
    if (conn != NOCONN) {
        if (is_index(e)) p->ix[conn]++;
        else if (tier == ST_TIER_REALTIME && em) p->em[conn]++;
        else if (tier == ST_TIER_REALTIME) p->t1[conn]++;
        else p->t2[conn]++;
        if (!is_index(e) && e->sector) p->sector_count[e->sector]++;
    }
    if (tier != ST_TIER_SEMI) e->flags &= (uint8_t)~ST_PLAN_PROMOTED;
    if (ft != tier) e->since = now;
    e->tier = tier;
    e->conn = conn;
    record(p, sym, ft, fc, tier, conn, why, now);
}

/* The connection with room for one more holder of `tier` (index stream when idx), preferring
 * `prefer` (where the symbol already is), then the most free registrations, then the lowest
 * index. NOCONN when none. */
static uint8_t find_conn(const st_planner_t *p, uint8_t tier, bool idx, uint8_t prefer, int extra)
{
    int best = -1, best_free = -1;
    for (int c = 0; c < p->cfg.nconns; c++) {
        int count = idx ? p->ix[c] : tier == ST_TIER_REALTIME ? p->t1[c] : p->t2[c];
        int cap = idx ? p->pol.indices : tier == ST_TIER_REALTIME ? p->pol.realtime : p->pol.semi;
        int need = idx ? 1 : st_plan_cost(tier);
        if (c == prefer) need -= extra; /* an in-place upgrade frees what it held */
        if (count >= cap || normal_room(p, c) < need) continue;
        if (c == prefer) return (uint8_t)c;
        int fr = normal_room(p, c);
        if (fr > best_free) best = c, best_free = fr;
    }
    return best < 0 ? NOCONN : (uint8_t)best;
}

static bool sector_full(const st_planner_t *p, const st_plan_entry_t *e)
{
    return e->sector && p->sector_count[e->sector] >= sector_cap(p);
}

/* --- demands and values ---------------------------------------------------------------- */

static double slot_weight(const st_planner_t *p, const char *name)
{
    for (size_t i = 0; i < p->nweights; i++)
        if (strcmp(p->weights[i].key, name) == 0) return p->weights[i].v;
    return 1.0;
}

static void refresh_symbol(st_planner_t *p, st_sym_t sym)
{
    st_plan_entry_t *e = &p->e[sym];
    uint8_t best = ST_PRIO_NONE;
    double w = 0;
    for (int r = 0; r < p->nreq; r++) {
        if (!p->req[r].used) continue;
        uint8_t pr = p->req[r].prio[sym];
        if (pr < best) best = pr, w = 0;
        if (pr == best && pr != ST_PRIO_NONE) w = fmax(w, p->req[r].slot_w);
    }
    e->prio = best;
    double v = prio_base[best] * w + SCORE_WEIGHT * e->score;
    if (e->flags & ST_PLAN_EMERGENCY) v = fmax(v, e->emergency_score);
    e->value = (float)v;
}

static void grow(st_planner_t *p, size_t n)
{
    if (n <= p->n) return;
    size_t old = p->n;
    p->e = st_xrealloc(p->e, n * sizeof(*p->e));
    p->emerg_req = st_xrealloc(p->emerg_req, n);
    p->scratch = st_xrealloc(p->scratch, n * sizeof(st_sym_t));
    p->scratch2 = st_xrealloc(p->scratch2, n * sizeof(st_sym_t));
    p->moved_later = st_xrealloc(p->moved_later, n * sizeof(*p->moved_later));
    for (size_t i = old; i < n; i++) {
        p->e[i] = (st_plan_entry_t){.conn = NOCONN, .prio = ST_PRIO_NONE};
        p->emerg_req[i] = -1;
        p->moved_later[i] = false;
    }
    for (int r = 0; r < p->nreq; r++) {
        p->req[r].prio = st_xrealloc(p->req[r].prio, n);
        memset(p->req[r].prio + old, ST_PRIO_NONE, n - old);
    }
    p->n = n;
}

/* --- configuration ----------------------------------------------------------------------- */

void st_planner_cfg_from(st_planner_cfg_t *pc, const st_config_t *cfg)
{
    memset(pc, 0, sizeof(*pc));
    for (size_t i = 0; i < cfg->feeds.n; i++) {
        const st_feed_cfg_t *f = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i);
        for (int64_t k = 0; k < f->connections && pc->nconns < ST_PLAN_MAX_CONNS; k++)
            pc->budget[pc->nconns++] = (int)f->budget;
    }
    pc->margin = cfg->rebalance.margin;
    pc->min_dwell = cfg->rebalance.min_dwell;
    pc->max_swaps = (int)cfg->rebalance.max_swaps;
    pc->max_sector_share = cfg->risk.max_sector_share;
    pc->failure_threshold = (int)cfg->risk.failure_threshold;
    pc->exclusion_cooldown = cfg->risk.exclusion_cooldown;
    const st_polling_cfg_t *pl = &cfg->tiers.polling;
    pc->poll[ST_PRIO_CRITICAL] = pc->poll[ST_PRIO_HIGH] = pl->min_interval;
    pc->poll[ST_PRIO_MEDIUM] = pl->medium;
    pc->poll[ST_PRIO_LOW] = pl->low;
    pc->poll[ST_PRIO_BACKGROUND] = pl->background;
    pc->poll_min = pl->min_interval;
    pc->poll_max = pl->max_interval;
}

void st_policy_from_slot(st_policy_t *pol, const st_slot_cfg_t *s)
{
    *pol = (st_policy_t){s->name, (int)s->realtime, (int)s->semi_realtime, (int)s->indices,
                         (int)s->reserve, s->poll_scale, &s->weights, false};
}

void st_planner_set_universe(st_planner_t *p, const st_universe_t *u)
{
    grow(p, u->by_sym_len);
    size_t nsec = u->nsectors ? u->nsectors : 1;
    if (nsec > p->nsectors) {
        p->sector_count = st_xrealloc(p->sector_count, nsec * sizeof(int));
        memset(p->sector_count + p->nsectors, 0, (nsec - p->nsectors) * sizeof(int));
        p->nsectors = nsec;
    }
    for (size_t i = 0; i < u->n; i++) {
        st_plan_entry_t *e = &p->e[u->items[i].sym];
        bool held = e->conn != NOCONN && !is_index(e);
        if (held && e->sector) p->sector_count[e->sector]--;
        e->sector = u->items[i].market == ST_MKT_INDEX ? 0 : u->items[i].sector;
        if (held && e->sector) p->sector_count[e->sector]++;
        if (e->conn == NOCONN) {
            if (u->items[i].market == ST_MKT_INDEX)
                e->flags |= ST_PLAN_INDEX;
            else
                e->flags &= (uint8_t)~ST_PLAN_INDEX;
        }
    }
}

static void free_weights(st_planner_t *p)
{
    for (size_t i = 0; i < p->nweights; i++) free(p->weights[i].key);
    free(p->weights);
    p->weights = NULL;
    p->nweights = 0;
}

st_planner_t *st_planner_create(const st_planner_cfg_t *cfg, const st_universe_t *u)
{
    st_planner_t *p = st_xcalloc(1, sizeof(*p));
    p->cfg = *cfg;
    st_require(cfg->nconns >= 1 && cfg->nconns <= ST_PLAN_MAX_CONNS);
    snprintf(p->pol_name, sizeof(p->pol_name), "-");
    p->pol.name = p->pol_name;
    p->pol.poll_scale = 1;
    p->shrink_why = ST_WHY_CAPACITY;
    st_planner_set_universe(p, u);
    return p;
}

void st_planner_destroy(st_planner_t *p)
{
    if (!p) return;
    for (int r = 0; r < p->nreq; r++) free(p->req[r].prio);
    free(p->e);
    free(p->emerg_req);
    free(p->sector_count);
    free(p->pending);
    free(p->moved_later);
    free(p->scratch);
    free(p->scratch2);
    free_weights(p);
    free(p);
}

void st_planner_set_cfg(st_planner_t *p, const st_planner_cfg_t *cfg)
{
    int n = cfg->nconns;
    for (int c = n; c < p->cfg.nconns; c++) /* a vanished connection must be empty */
        if (used(p, c) > 0) n = c + 1;
    p->cfg = *cfg;
    p->cfg.nconns = ST_MIN2(ST_MAX2(n, 1), ST_PLAN_MAX_CONNS);
    for (int c = cfg->nconns; c < p->cfg.nconns; c++) p->cfg.budget[c] = 0; /* drain it */
}

int st_planner_requester(st_planner_t *p, const char *name, double weight)
{
    for (int r = 0; r < p->nreq; r++) {
        if (strcmp(p->req[r].name, name) == 0) {
            p->req[r].weight = weight;
            p->req[r].slot_w = weight * slot_weight(p, name);
            p->req[r].used = true;
            return r;
        }
    }
    if (p->nreq == ST_PLAN_MAX_REQUESTERS) return -ENOSPC;
    requester_t *r = &p->req[p->nreq];
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->weight = weight;
    r->slot_w = weight * slot_weight(p, name);
    r->used = true;
    r->prio = st_xmalloc(p->n ? p->n : 1);
    memset(r->prio, ST_PRIO_NONE, p->n);
    return p->nreq++;
}

static bool valid_sym(const st_planner_t *p, st_sym_t sym)
{
    return (size_t)sym < p->n;
}

int st_planner_demand(st_planner_t *p, int req, st_sym_t sym, int prio)
{
    if (req < 0 || req >= p->nreq || !valid_sym(p, sym) || prio < 0 || prio > ST_PRIO_NONE)
        return -EINVAL;
    p->req[req].prio[sym] = (uint8_t)prio;
    /* The emergency ends with its holder's critical demand, at the next replan like any input. */
    if (p->emerg_req[sym] == req && prio != ST_PRIO_CRITICAL) p->emerg_req[sym] = -1;
    refresh_symbol(p, sym);
    return 0;
}

void st_planner_release(st_planner_t *p, int req)
{
    if (req < 0 || req >= p->nreq) return;
    for (size_t s = 0; s < p->n; s++)
        if (p->req[req].prio[s] != ST_PRIO_NONE || p->emerg_req[s] == req)
            st_planner_demand(p, req, (st_sym_t)s, ST_PRIO_NONE);
}

int st_planner_score(st_planner_t *p, st_sym_t sym, double score)
{
    if (!valid_sym(p, sym) || !(score >= 0 && score <= 100)) return -EINVAL;
    p->e[sym].score = (float)score;
    refresh_symbol(p, sym);
    return 0;
}

int st_planner_pin(st_planner_t *p, st_sym_t sym, bool pinned)
{
    if (!valid_sym(p, sym)) return -EINVAL;
    if (pinned)
        p->e[sym].flags |= ST_PLAN_PINNED;
    else
        p->e[sym].flags &= (uint8_t)~ST_PLAN_PINNED;
    return 0;
}

void st_planner_failure(st_planner_t *p, st_sym_t sym, st_time_t now)
{
    if (!valid_sym(p, sym)) return;
    st_plan_entry_t *e = &p->e[sym];
    if (++e->failures >= p->cfg.failure_threshold && !(e->flags & ST_PLAN_EXCLUDED)) {
        e->flags |= ST_PLAN_EXCLUDED;
        e->excluded_until = now + p->cfg.exclusion_cooldown;
    }
}

void st_planner_success(st_planner_t *p, st_sym_t sym)
{
    if (valid_sym(p, sym)) p->e[sym].failures = 0;
}

void st_planner_set_policy(st_planner_t *p, const st_policy_t *pol, st_time_t now)
{
    snprintf(p->pol_name, sizeof(p->pol_name), "%s", pol->name ? pol->name : "-");
    p->pol = *pol;
    p->pol.name = p->pol_name;
    free_weights(p);
    if (pol->weights && pol->weights->n) { /* the planner's own copy: the config may go first */
        p->nweights = pol->weights->n;
        p->weights = st_xmalloc(p->nweights * sizeof(*p->weights));
        for (size_t i = 0; i < p->nweights; i++)
            p->weights[i] = (st_weight_t){st_xstrdup(pol->weights->items[i].key), pol->weights->items[i].v};
    }
    p->pol.weights = NULL;
    for (int r = 0; r < p->nreq; r++) p->req[r].slot_w = p->req[r].weight * slot_weight(p, p->req[r].name);
    for (size_t s = 0; s < p->n; s++) refresh_symbol(p, (st_sym_t)s);
    p->shrink_why = ST_WHY_TIMESLOT;
    st_planner_replan(p, now);
}

const char *st_planner_policy_name(const st_planner_t *p)
{
    return p->pol_name;
}

/* --- the replan -------------------------------------------------------------------------- */

static st_dur_t poll_interval(const st_planner_t *p, const st_plan_entry_t *e)
{
    st_dur_t base = e->prio < ST_PRIO_COUNT ? p->cfg.poll[e->prio] : p->cfg.poll_max;
    st_dur_t d = (st_dur_t)((double)base * p->pol.poll_scale);
    if (d < p->cfg.poll_min) d = p->cfg.poll_min;
    if (d > p->cfg.poll_max) d = p->cfg.poll_max;
    return d;
}

static bool evictable(const st_planner_t *p, const st_plan_entry_t *e)
{
    if (e->flags & (ST_PLAN_EMERGENCY | ST_PLAN_PINNED)) return false;
    return !(is_index(e) && eligible(p, e)); /* indices are never evicted */
}

static void place_tier3(st_planner_t *p, st_sym_t s, st_plan_why_t why, st_time_t now);

/* Drops the lowest-value evictable holders of `tier` on connection c while the connection is
 * over that tier's count or over its normal room. */
static void shrink(st_planner_t *p, int c, uint8_t tier, bool idx, st_plan_why_t why, st_time_t now)
{
    size_t n = 0;
    for (size_t s = 0; s < p->n; s++) {
        const st_plan_entry_t *e = &p->e[s];
        if (e->conn == c && e->tier == tier && is_index(e) == idx && evictable(p, e))
            p->scratch2[n++] = (st_sym_t)s;
    }
    sort_syms(p, p->scratch2, n, false);
    for (size_t i = 0; i < n; i++) {
        int count = idx ? p->ix[c] : tier == ST_TIER_REALTIME ? p->t1[c] : p->t2[c];
        int cap = idx ? p->pol.indices : tier == ST_TIER_REALTIME ? p->pol.realtime : p->pol.semi;
        if (count <= cap && normal_room(p, c) >= 0) return;
        place_tier3(p, p->scratch2[i], why, now);
    }
}

/* Is connection c over any of its limits? */
static bool over(const st_planner_t *p, int c)
{
    return p->t1[c] > p->pol.realtime || p->t2[c] > p->pol.semi || p->ix[c] > p->pol.indices ||
           normal_room(p, c) < 0;
}

/* An emergency holder becomes a normal tier-1 holder (the replan then fits or moves it). */
static void end_emergency(st_planner_t *p, st_sym_t s)
{
    st_plan_entry_t *e = &p->e[s];
    if (e->conn != NOCONN) p->em[e->conn]--, p->t1[e->conn]++;
    e->flags &= (uint8_t)~ST_PLAN_EMERGENCY;
    p->emerg_req[s] = -1;
    refresh_symbol(p, s);
}

static void place_tier3(st_planner_t *p, st_sym_t s, st_plan_why_t why, st_time_t now)
{
    st_plan_entry_t *e = &p->e[s];
    uint8_t t = eligible(p, e) ? ST_TIER_POLL : ST_TIER_NONE;
    e->poll = t == ST_TIER_POLL ? poll_interval(p, e) : 0;
    place(p, s, t, NOCONN, why, now);
}

/* Tries to put s into `tier`: returns true if placed. */
static bool try_place(st_planner_t *p, st_sym_t s, uint8_t tier, st_plan_why_t why, st_time_t now)
{
    st_plan_entry_t *e = &p->e[s];
    bool new_to_12 = e->conn == NOCONN;
    if (!is_index(e) && new_to_12 && sector_full(p, e)) return false;
    int extra = (e->conn != NOCONN && !is_index(e)) ? st_plan_cost(e->tier) : 0;
    uint8_t c = find_conn(p, tier, is_index(e), e->conn, extra);
    if (c == NOCONN) return false;
    place(p, s, tier, c, why, now);
    return true;
}

/* Symbols whose exclusion cool-down ended poll again. */
static void readmit(st_planner_t *p, st_time_t now)
{
    for (size_t s = 0; s < p->n; s++) {
        st_plan_entry_t *e = &p->e[s];
        if ((e->flags & ST_PLAN_EXCLUDED) && now >= e->excluded_until) {
            e->flags &= (uint8_t)~ST_PLAN_EXCLUDED;
            e->excluded_until = 0;
            e->failures = 0;
            if (eligible(p, e)) place_tier3(p, (st_sym_t)s, ST_WHY_READMITTED, now);
        }
    }
}

/* A: holders that must leave or step down (no longer eligible, wanting a worse tier, an
 * emergency released). */
/* Why a symbol that holds something is no longer eligible. */
static st_plan_why_t why_out(const st_planner_t *p, const st_plan_entry_t *e)
{
    return p->pol.closed ? ST_WHY_CLOSED : (e->flags & ST_PLAN_EXCLUDED) ? ST_WHY_EXCLUDED : ST_WHY_DEMAND;
}

static void release_holders(st_planner_t *p, st_time_t now)
{
    for (size_t s = 0; s < p->n; s++) {
        st_plan_entry_t *e = &p->e[s];
        if (e->conn == NOCONN) continue;
        if ((e->flags & ST_PLAN_EMERGENCY) && (p->emerg_req[s] < 0 || !eligible(p, e)))
            end_emergency(p, (st_sym_t)s); /* released, or excluded */
        if (!eligible(p, e)) {
            place_tier3(p, (st_sym_t)s, why_out(p, e), now);
            continue;
        }
        if (is_index(e)) continue;
        int want = desired_tier(e);
        if (e->tier == ST_TIER_REALTIME && want > ST_TIER_REALTIME) {
            if (!(want == ST_TIER_SEMI && try_place(p, (st_sym_t)s, ST_TIER_SEMI, ST_WHY_DEMAND, now)))
                place_tier3(p, (st_sym_t)s, ST_WHY_DEMAND, now);
        } else if (e->tier == ST_TIER_SEMI && want == ST_TIER_POLL && !(e->flags & ST_PLAN_PROMOTED)) {
            place_tier3(p, (st_sym_t)s, ST_WHY_DEMAND, now);
        }
    }
}

/* Capacity that shrank (a new time slot, more emergencies, a smaller budget): the weakest
 * holders over it step down. */
static void shrink_to_capacity(st_planner_t *p, st_plan_why_t shrink_why, st_time_t now)
{
    for (int c = 0; c < p->cfg.nconns; c++) {
        if (!over(p, c)) continue;
        shrink(p, c, ST_TIER_SEMI, false, shrink_why, now);
        shrink(p, c, ST_TIER_REALTIME, false, shrink_why, now);
        shrink(p, c, ST_TIER_SEMI, true, shrink_why, now);
    }
}

/* Sector shares above the cap (the cap follows the capacity): the weakest holders of the
 * sector step down. */
static void cap_sectors(st_planner_t *p, st_time_t now)
{
    int cap = sector_cap(p);
    for (size_t sec = 1; sec < p->nsectors; sec++) {
        if (p->sector_count[sec] <= cap) continue;
        size_t n = 0;
        for (size_t s = 0; s < p->n; s++) {
            const st_plan_entry_t *e = &p->e[s];
            if (e->sector == sec && e->conn != NOCONN && !is_index(e) && evictable(p, e))
                p->scratch2[n++] = (st_sym_t)s;
        }
        sort_syms(p, p->scratch2, n, false);
        for (size_t i = 0; i < n && p->sector_count[sec] > cap; i++)
            place_tier3(p, p->scratch2[i], ST_WHY_SECTOR_CAP, now);
    }
}

/* B: only symbols that could move up need ranking: unplaced indices, and symbols that want
 * tier 1 or 2 and are not there yet (rebalance fillers are listed weakest first). Pinned first,
 * then everyone by value: indices, tier 1, tier 2; a symbol that wants tier 2 and finds it full
 * displaces the weakest filler. */
static void promote(st_planner_t *p, st_time_t now)
{
    size_t nc = 0, nf = 0;
    for (size_t s = 0; s < p->n; s++) {
        const st_plan_entry_t *e = &p->e[s];
        if (!eligible(p, e)) continue;
        if ((e->flags & ST_PLAN_PROMOTED) && !(e->flags & ST_PLAN_PINNED) && e->tier == ST_TIER_SEMI)
            p->scratch2[nf++] = (st_sym_t)s; /* a pinned filler is never displaced */
        if (is_index(e)) {
            if (e->conn == NOCONN) p->scratch[nc++] = (st_sym_t)s;
            continue;
        }
        int want = desired_tier(e);
        if ((want == ST_TIER_REALTIME && e->tier != ST_TIER_REALTIME) ||
            (want == ST_TIER_SEMI && e->conn == NOCONN))
            p->scratch[nc++] = (st_sym_t)s;
    }
    sort_syms(p, p->scratch, nc, true);
    sort_syms(p, p->scratch2, nf, false);
    size_t fi = 0; /* next filler that may be displaced */

    /* Pinned first, then everyone by value: indices, tier 1, tier 2. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nc; i++) {
            st_sym_t s = p->scratch[i];
            st_plan_entry_t *e = &p->e[s];
            if ((pass == 0) != !!(e->flags & ST_PLAN_PINNED)) continue;
            if (is_index(e)) {
                if (e->conn == NOCONN) try_place(p, s, ST_TIER_SEMI, ST_WHY_DEMAND, now);
                continue;
            }
            int want = desired_tier(e);
            if (want == ST_TIER_REALTIME && e->tier != ST_TIER_REALTIME)
                if (try_place(p, s, ST_TIER_REALTIME, ST_WHY_DEMAND, now)) continue;
            if (e->conn != NOCONN || try_place(p, s, ST_TIER_SEMI, ST_WHY_DEMAND, now)) continue;
            /* Full: a symbol that wants tier 2 displaces the weakest rebalance filler. */
            while (fi < nf && !(p->e[p->scratch2[fi]].flags & ST_PLAN_PROMOTED)) fi++;
            if (fi == nf) continue;
            st_sym_t victim = p->scratch2[fi];
            if (sector_full(p, e) && p->e[victim].sector != e->sector) continue;
            uint8_t c = p->e[victim].conn;
            place_tier3(p, victim, ST_WHY_DISPLACED, now);
            fi++;
            if (!try_place(p, s, ST_TIER_SEMI, ST_WHY_DISPLACED, now)) {
                place(p, victim, ST_TIER_SEMI, c, ST_WHY_DISPLACED, now); /* undo */
                p->e[victim].flags |= ST_PLAN_PROMOTED;
            }
        }
    }
}

/* C: everyone else eligible polls; the rest holds nothing. */
static void poll_the_rest(st_planner_t *p, st_time_t now)
{
    for (size_t s = 0; s < p->n; s++) {
        st_plan_entry_t *e = &p->e[s];
        if (e->conn != NOCONN) continue;
        if (eligible(p, e)) {
            e->poll = poll_interval(p, e);
            if (e->tier != ST_TIER_POLL) place(p, (st_sym_t)s, ST_TIER_POLL, NOCONN, ST_WHY_DEMAND, now);
        } else if (e->tier != ST_TIER_NONE) {
            place(p, (st_sym_t)s, ST_TIER_NONE, NOCONN, why_out(p, e), now);
        }
    }
}

int st_planner_replan(st_planner_t *p, st_time_t now)
{
    size_t before = p->npending;
    p->replans++;
    st_plan_why_t shrink_why = p->shrink_why;
    p->shrink_why = ST_WHY_CAPACITY;
    readmit(p, now);
    release_holders(p, now);
    shrink_to_capacity(p, shrink_why, now);
    cap_sectors(p, now);
    promote(p, now);
    poll_the_rest(p, now);
    return (int)(p->npending - before);
}

static bool dwelt(const st_planner_t *p, const st_plan_entry_t *e, st_time_t now)
{
    return now - e->since >= p->cfg.min_dwell;
}

int st_planner_rebalance(st_planner_t *p, st_time_t now)
{
    size_t before = p->npending;
    st_planner_replan(p, now);
    p->rebalances++;

    /* Candidates: eligible non-index symbols outside tiers 1-2, best first. */
    size_t nc = 0, ni = 0;
    for (size_t s = 0; s < p->n; s++) {
        const st_plan_entry_t *e = &p->e[s];
        if (!eligible(p, e) || is_index(e)) continue;
        if (e->conn == NOCONN)
            p->scratch[nc++] = (st_sym_t)s;
        else if (!(e->flags & (ST_PLAN_PINNED | ST_PLAN_EMERGENCY)) && dwelt(p, e, now))
            p->scratch2[ni++] = (st_sym_t)s;
    }
    /* Only the best few candidates can win a slot: free tier-2 capacity plus the swaps, with
     * slack for candidates the sector cap turns away. */
    size_t k = (size_t)p->cfg.max_swaps + 32;
    for (int c = 0; c < p->cfg.nconns; c++) k += (size_t)ST_MAX2(0, p->pol.semi - p->t2[c]);
    nc = select_top(p, p->scratch, nc, k);
    sort_syms(p, p->scratch2, ni, false);

    /* Free tier-2 capacity goes to the best candidates with a score: idle slots help nobody. */
    size_t ci = 0;
    for (; ci < nc && p->e[p->scratch[ci]].score > 0; ci++) {
        st_sym_t s = p->scratch[ci];
        if (!try_place(p, s, ST_TIER_SEMI, ST_WHY_REBALANCE, now)) break;
        if (desired_tier(&p->e[s]) == ST_TIER_POLL) p->e[s].flags |= ST_PLAN_PROMOTED;
    }

    /* Swaps: the best remaining candidate against the weakest incumbent, by the margin. */
    int swaps = 0;
    size_t ii = 0;
    while (swaps < p->cfg.max_swaps && ci < nc && ii < ni) {
        st_sym_t c = p->scratch[ci], i = p->scratch2[ii];
        st_plan_entry_t *ec = &p->e[c], *ei = &p->e[i];
        if (ei->conn == NOCONN || ei->tier == ST_TIER_POLL) { /* moved by an earlier step */
            ii++;
            continue;
        }
        if (!(ec->value > ei->value * (1.0 + p->cfg.margin))) break;
        if (ec->sector && ec->sector != ei->sector && sector_full(p, ec)) {
            ci++;
            continue;
        }
        uint8_t tier = ei->tier == ST_TIER_REALTIME && desired_tier(ec) == ST_TIER_REALTIME
                           ? ST_TIER_REALTIME
                           : ST_TIER_SEMI;
        uint8_t conn = ei->conn;
        place_tier3(p, i, ST_WHY_REBALANCE, now);
        if (tier == ST_TIER_SEMI && !try_place(p, c, ST_TIER_SEMI, ST_WHY_REBALANCE, now))
            place(p, c, ST_TIER_SEMI, conn, ST_WHY_REBALANCE, now);
        else if (tier == ST_TIER_REALTIME)
            place(p, c, ST_TIER_REALTIME, conn, ST_WHY_REBALANCE, now);
        if (desired_tier(ec) == ST_TIER_POLL) ec->flags |= ST_PLAN_PROMOTED;
        swaps++, ci++, ii++;
    }
    p->swaps += (uint64_t)swaps;
    return (int)(p->npending - before);
}

/* --- emergencies ------------------------------------------------------------------------- */

/* The holders on connection c to evict for an emergency of sym worth `score` that needs `need`
 * registrations there: the lowest-value ones worth less than the score (not pinned, not an
 * index, not an emergency), fewest first, two at most, into taken; the worst value taken in
 * *worst. Returns how many, or -1 when they cannot free enough. */
static int victims_on(const st_planner_t *p, int c, st_sym_t sym, double score, int need, st_sym_t taken[8],
                      float *worst)
{
    int nv = 0, freed = 0;
    while (freed < need && nv < 2) {
        st_sym_t v = ST_SYM_NONE;
        for (size_t s = 0; s < p->n; s++) {
            const st_plan_entry_t *h = &p->e[s];
            if (h->conn != c || s == sym || is_index(h) || (h->flags & (ST_PLAN_PINNED | ST_PLAN_EMERGENCY)) ||
                h->value >= score)
                continue;
            bool dup = false;
            for (int k = 0; k < nv; k++) dup |= taken[k] == s;
            if (dup) continue;
            if (v == ST_SYM_NONE || h->value < p->e[v].value) v = (st_sym_t)s;
        }
        if (v == ST_SYM_NONE) break;
        taken[nv++] = v;
        freed += st_plan_cost(p->e[v].tier);
        *worst = fmaxf(*worst, p->e[v].value);
    }
    return freed < need ? -1 : nv;
}

/* sym takes tier 1 on connection c as an emergency holder (charged to the reserve first): in
 * place when it already holds a tier there (its normal count swapped for an emergency one). */
static void take_emergency(st_planner_t *p, st_sym_t sym, uint8_t c, st_time_t now)
{
    st_plan_entry_t *e = &p->e[sym];
    if (e->conn != NOCONN) {
        uint8_t t = e->tier;
        c = e->conn;
        if (t == ST_TIER_REALTIME) p->t1[c]--;
        else p->t2[c]--;
        p->em[c]++;
        e->flags |= ST_PLAN_EMERGENCY;
        e->tier = ST_TIER_REALTIME;
        e->since = now;
        record(p, sym, t, c, ST_TIER_REALTIME, c, ST_WHY_EMERGENCY, now);
    } else {
        e->flags |= ST_PLAN_EMERGENCY;
        place(p, sym, ST_TIER_REALTIME, c, ST_WHY_EMERGENCY, now);
    }
    e->flags &= (uint8_t)~ST_PLAN_PROMOTED;
}

int st_planner_emergency(st_planner_t *p, int req, st_sym_t sym, double score, st_time_t now,
                         char *why, size_t whylen)
{
    if (req < 0 || req >= p->nreq || !valid_sym(p, sym)) {
        snprintf(why, whylen, "unknown symbol or requester");
        return -EINVAL;
    }
    st_plan_entry_t *e = &p->e[sym];
    if (p->pol.closed) {
        snprintf(why, whylen, "the market is closed today");
        p->em_failed++;
        return -EINVAL;
    }
    if (is_index(e)) {
        snprintf(why, whylen, "an index has no orderbook stream");
        p->em_failed++;
        return -EINVAL;
    }
    if (e->flags & ST_PLAN_EXCLUDED) {
        snprintf(why, whylen, "excluded after %u consecutive failures until its cool-down ends",
                 e->failures);
        p->em_failed++;
        return -EINVAL;
    }
    p->req[req].prio[sym] = ST_PRIO_CRITICAL;
    if (e->flags & ST_PLAN_EMERGENCY) { /* already held: a stronger score only raises its value */
        e->emergency_score = (float)fmax(e->emergency_score, score);
        p->emerg_req[sym] = (int8_t)req; /* this requester holds it now (it may have been released) */
        refresh_symbol(p, sym);
        p->em_ok++;
        return 0;
    }
    /* Registrations needed per connection: 2, or 1 more where it already streams trades. */
    int best_c = -1, best_victims = 0;
    float best_worst = 0;
    st_sym_t victims[ST_PLAN_MAX_CONNS][8];
    for (int c = 0; c < p->cfg.nconns; c++) {
        int have = (e->conn == c) ? st_plan_cost(e->tier) : 0;
        int need = 2 - have - (p->cfg.budget[c] - used(p, c));
        if (need <= 0) { /* free registrations (reserve included) */
            if (best_c < 0 || best_victims > 0 || e->conn == c) best_c = c, best_victims = 0;
            if (e->conn == c) break;
            continue;
        }
        float worst = 0;
        st_sym_t taken[8];
        int nv = victims_on(p, c, sym, score, need, taken, &worst);
        if (nv < 0) continue;
        if (best_c < 0 || (best_victims > 0 && (nv < best_victims || (nv == best_victims && worst < best_worst)))) {
            best_c = c, best_victims = nv, best_worst = worst;
            memcpy(victims[c], taken, sizeof(taken));
        }
    }
    if (best_c < 0) {
        p->req[req].prio[sym] = ST_PRIO_NONE;
        refresh_symbol(p, sym);
        snprintf(why, whylen,
                 "no room for %.1f: reserve used up and every holder on %d connection%s is pinned, "
                 "an index, an emergency or worth at least as much",
                 score, p->cfg.nconns, p->cfg.nconns == 1 ? "" : "s");
        p->em_failed++;
        return -ENOSPC;
    }
    for (int k = 0; k < best_victims; k++) place_tier3(p, victims[best_c][k], ST_WHY_EMERGENCY, now);
    if (e->conn != NOCONN && e->conn != best_c) place_tier3(p, sym, ST_WHY_EMERGENCY, now);
    take_emergency(p, sym, (uint8_t)best_c, now);
    e->emergency_score = (float)score;
    p->emerg_req[sym] = (int8_t)req;
    refresh_symbol(p, sym);
    p->em_ok++;
    return 0;
}

/* --- queries ------------------------------------------------------------------------------- */

const st_plan_entry_t *st_planner_entry(const st_planner_t *p, st_sym_t sym)
{
    return valid_sym(p, sym) ? &p->e[sym] : NULL;
}

const char *st_planner_requester_name(const st_planner_t *p, int req)
{
    return req >= 0 && req < p->nreq ? p->req[req].name : "";
}

size_t st_planner_demands(const st_planner_t *p, st_sym_t sym, st_plan_demand_t *out, size_t max)
{
    size_t n = 0;
    for (int r = 0; valid_sym(p, sym) && r < p->nreq; r++) {
        if (!p->req[r].used || p->req[r].prio[sym] == ST_PRIO_NONE) continue;
        if (n < max) out[n] = (st_plan_demand_t){p->req[r].name, p->req[r].prio[sym], p->emerg_req[sym] == r};
        n++;
    }
    return n;
}

void st_planner_stats(const st_planner_t *p, st_plan_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t s = 0; s < p->n; s++) {
        const st_plan_entry_t *e = &p->e[s];
        if (is_index(e) && e->conn != NOCONN)
            out->indices++;
        else
            out->tier_count[e->tier]++;
        out->emergencies += !!(e->flags & ST_PLAN_EMERGENCY);
        out->excluded += !!(e->flags & ST_PLAN_EXCLUDED);
    }
    out->nconns = p->cfg.nconns;
    for (int c = 0; c < p->cfg.nconns; c++) {
        out->used[c] = used(p, c);
        out->budget[c] = p->cfg.budget[c];
    }
    out->replans = p->replans;
    out->rebalances = p->rebalances;
    out->changes = p->changes;
    out->emergencies_ok = p->em_ok;
    out->emergencies_failed = p->em_failed;
    out->swaps = p->swaps;
}

const st_plan_change_t *st_planner_pending(const st_planner_t *p, size_t *n)
{
    /* A stable partition: every decrease first, then the rest, each in the order they were
     * made, so applying them in this order never exceeds a budget — except that a symbol's own
     * changes keep their order: one may move twice before a drain (a rebalance promotes it, a
     * demand then displaces it), and its way back put before its way in left the feeds holding
     * a symbol the plan had let go (found by test_pool). A decrease that follows a change of its
     * symbol in the second part goes there too, after it: that part in the order the changes
     * were made stays within the budgets as the planner did. */
    st_planner_t *mp = (st_planner_t *)p;
    st_plan_change_t *tmp = st_xmalloc((p->npending ? p->npending : 1) * sizeof(*tmp));
    size_t k = 0, later = 0; /* the first part into tmp; the second kept in order at pending's front */
    for (size_t i = 0; i < p->npending; i++) {
        st_plan_change_t c = p->pending[i];
        bool behind = c.sym < p->n && mp->moved_later[c.sym];
        if (c.delta < 0 && !behind) {
            tmp[k++] = c;
            continue;
        }
        mp->pending[later++] = c;
        if (c.sym < p->n) mp->moved_later[c.sym] = true;
    }
    for (size_t i = 0; i < later; i++) {
        tmp[k++] = p->pending[i];
        if (p->pending[i].sym < p->n) mp->moved_later[p->pending[i].sym] = false;
    }
    if (p->npending) memcpy(mp->pending, tmp, p->npending * sizeof(*tmp));
    free(tmp);
    *n = p->npending;
    return p->pending;
}

void st_planner_drain(st_planner_t *p)
{
    p->npending = 0;
}

size_t st_planner_history(const st_planner_t *p, st_plan_change_t *out, size_t max)
{
    size_t have = ST_MIN2(p->hist_n, (size_t)HISTORY);
    size_t n = ST_MIN2(have, max);
    for (size_t i = 0; i < n; i++) out[i] = p->hist[(p->hist_n - n + i) % HISTORY];
    return n;
}

int st_planner_check(const st_planner_t *p, char *why, size_t len)
{
    int t1[ST_PLAN_MAX_CONNS] = {0}, t2[ST_PLAN_MAX_CONNS] = {0}, ix[ST_PLAN_MAX_CONNS] = {0},
        em[ST_PLAN_MAX_CONNS] = {0}, pin1[ST_PLAN_MAX_CONNS] = {0}, pin2[ST_PLAN_MAX_CONNS] = {0};
    int *sec = st_xcalloc(p->nsectors, sizeof(int)), *secpin = st_xcalloc(p->nsectors, sizeof(int));
    int rc = -EINVAL;
    for (size_t s = 0; s < p->n; s++) {
        const st_plan_entry_t *e = &p->e[s];
        bool held = e->tier == ST_TIER_REALTIME || e->tier == ST_TIER_SEMI;
        if (held != (e->conn != NOCONN) || (held && e->conn >= p->cfg.nconns)) {
            snprintf(why, len, "symbol %zu: tier %d on connection %d", s, e->tier, e->conn);
            goto out;
        }
        if ((e->flags & ST_PLAN_EXCLUDED) && e->tier != ST_TIER_NONE) {
            snprintf(why, len, "symbol %zu: excluded but in tier %d", s, e->tier);
            goto out;
        }
        if (!eligible(p, e) && e->tier != ST_TIER_NONE) {
            snprintf(why, len, "symbol %zu: not demanded but in tier %d", s, e->tier);
            goto out;
        }
        if (eligible(p, e) && e->tier == ST_TIER_NONE) {
            snprintf(why, len, "symbol %zu: demanded but in no tier", s);
            goto out;
        }
        if ((e->flags & ST_PLAN_EMERGENCY) && e->tier != ST_TIER_REALTIME) {
            snprintf(why, len, "symbol %zu: emergency outside tier 1", s);
            goto out;
        }
        if (!held) continue;
        int c = e->conn;
        if (is_index(e)) ix[c]++;
        else if (e->flags & ST_PLAN_EMERGENCY) em[c]++;
        else if (e->tier == ST_TIER_REALTIME) t1[c]++, pin1[c] += !!(e->flags & ST_PLAN_PINNED);
        else t2[c]++, pin2[c] += !!(e->flags & ST_PLAN_PINNED);
        if (!is_index(e) && e->sector) {
            sec[e->sector]++;
            secpin[e->sector] += !!(e->flags & (ST_PLAN_PINNED | ST_PLAN_EMERGENCY));
        }
    }
    for (int c = 0; c < p->cfg.nconns; c++) {
        int u = 2 * (t1[c] + em[c]) + t2[c] + ix[c];
        if (t1[c] != p->t1[c] || t2[c] != p->t2[c] || ix[c] != p->ix[c] || em[c] != p->em[c]) {
            snprintf(why, len, "connection %d: counters out of step", c);
            goto out;
        }
        if (u > p->cfg.budget[c]) {
            snprintf(why, len, "connection %d: %d registrations over the budget of %d", c, u, p->cfg.budget[c]);
            goto out;
        }
        int normal = 2 * t1[c] + t2[c] + ix[c];
        if (normal > p->cfg.budget[c] - p->pol.reserve && normal > 2 * pin1[c] + pin2[c]) {
            snprintf(why, len, "connection %d: %d normal registrations reach into the reserve of %d",
                     c, normal, p->pol.reserve);
            goto out;
        }
        if (t1[c] > ST_MAX2(p->pol.realtime, pin1[c]) || t2[c] > ST_MAX2(p->pol.semi, pin2[c])) {
            snprintf(why, len, "connection %d: tier counts %d/%d over the policy %d/%d", c, t1[c],
                     t2[c], p->pol.realtime, p->pol.semi);
            goto out;
        }
    }
    for (size_t k = 1; k < p->nsectors; k++) {
        if (sec[k] > ST_MAX2(sector_cap(p), secpin[k])) {
            snprintf(why, len, "sector %zu holds %d of tiers 1-2, over its cap of %d", k, sec[k], sector_cap(p));
            goto out;
        }
    }
    rc = 0;
out:
    free(sec);
    free(secpin);
    return rc;
}
