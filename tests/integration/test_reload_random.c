/* Property test of reload (issue 15.1): random sequences of config and strategy changes (add,
 * remove, rename, re-weight, new code, broken code) with a real SIGHUP at random moments of a
 * simulated day. At the end the plan, the sim feed's ledger and the strategies' subscriber
 * lists must equal those of a fresh start on the last config that was accepted, and every
 * reload whose code was broken must have failed without changing anything. Run under ASan +
 * UBSan in CI, it also proves that nothing reads a freed world (the planner's slot weights
 * once pointed into the old config).
 *
 * Demand stays below every capacity (one slot with room for every symbol in the pool, no
 * rebalance, no sector cap), so the plan is a function of the demands alone and a fresh start
 * is a fair oracle. STRATA_RELOAD_SEEDS=N runs more seeds. */
#include "runtime_fixture.h"

#include "app/runtime.h"
#include "core/log.h"
#include "core/res.h"
#include "feeds/feed.h"
#include "subs/ledger.h"

#include <signal.h>

#define NAMES 6
#define POOL 8
#define RELOADS 6

static const char *const POOL_CODES[POOL] = {"005930", "000660", "035420", "005380",
                                             "051910", "006400", "035720", "068270"};
static const char *const PRIOS[] = {"critical", "high", "medium", "low"};

/* Strategy code by variant: 0 and 1 behave alike (different code, so a switch swaps it), 2
 * raises in init after asking for a symbol, 3 does not compile. */
static const char *const VARIANTS[] = {
    "local M = {state = {}}\n"
    "function M.init(p)\n"
    "  for code, prio in string.gmatch(p.watch or '', '(%w+):(%a+)') do assert(strata.watch(code, prio)) end\n"
    "  strata.every(45, 'beat')\n"
    "end\n"
    "function M.on_timer() end\n"
    "return M\n",
    "local M = {state = {n = 0}}\n"
    "function M.init(p)\n"
    "  for code, prio in string.gmatch(p.watch or '', '(%w+):(%a+)') do\n"
    "    assert(strata.upgrade_priority(code, prio))\n"
    "  end\n"
    "end\n"
    "function M.on_reload(old) M.state.n = old.n or 0 end\n"
    "function M.on_trade() M.state.n = M.state.n + 1 end\n"
    "return M\n",
    "local M = {}\n"
    "function M.init(p)\n"
    "  strata.watch('000660', 'critical')\n"
    "  error('init refuses')\n"
    "end\n"
    "return M\n",
    "local M = {}\n"
    "function M.init(p) if then end end\n"
    "return M\n",
};

typedef struct {
    bool on;
    int variant;
    double weight;
    bool all;
    int nsyms, sym[3], prio[3];
} scfg_t;

typedef struct {
    scfg_t s[NAMES];
    double slot_w[NAMES];
    bool broken;
} gen_t;

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void gen_random(gen_t *g, bool allow_broken)
{
    memset(g, 0, sizeof(*g));
    static const double weights[] = {0.5, 1, 1.5, 2};
    for (int i = 0; i < NAMES; i++) {
        scfg_t *s = &g->s[i];
        s->on = rnd(10) < 6;
        s->variant = (int)rnd(2);
        if (allow_broken && rnd(100) < 12) s->variant = 2 + (int)rnd(2);
        s->weight = weights[rnd(4)];
        s->all = rnd(4) == 0;
        s->nsyms = 1 + (int)rnd(3);
        for (int k = 0; k < s->nsyms; k++) s->sym[k] = (int)rnd(POOL), s->prio[k] = (int)rnd(4);
        g->slot_w[i] = rnd(3) ? weights[rnd(4)] : -1; /* -1: not named in the slot */
        if (s->on && s->variant >= 2) g->broken = true;
    }
}

static char *dir;

static char *write_config(const gen_t *g)
{
    char yaml[8192];
    int n = snprintf(yaml, sizeof(yaml),
                     "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 08:50\", stop: \"11:00\", speed: 0}\n"
                     "  log: {file: %s/strata.log}\n"
                     "market:\n  universe: %s/config/universe.csv\n  indices: %s/config/indices.csv\n"
                     "feeds:\n  - {name: sim, kind: sim, seed: 7, budget: 41}\n"
                     "rebalance: {interval: 24h}\n"
                     "risk: {max_sector_share: 1.0}\n"
                     "schedule:\n  - {name: day, start: \"00:00\", realtime: 8, semi_realtime: 16, indices: 5, "
                     "reserve: 4, weights: {ghost: 3",
                     dir, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR);
    for (int i = 0; i < NAMES; i++)
        if (g->slot_w[i] >= 0) n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, ", s%d: %g", i, g->slot_w[i]);
    n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "}}\nstatus: {enabled: false}\nstrategies:\n");
    int on = 0;
    for (int i = 0; i < NAMES; i++) {
        const scfg_t *s = &g->s[i];
        if (!s->on) continue;
        on++;
        n += snprintf(yaml + n, sizeof(yaml) - (size_t)n,
                      "  - {name: s%d, kind: lua, path: v%d.lua, weight: %g, all_symbols: %s, params: {watch: \"",
                      i, s->variant, s->weight, s->all ? "true" : "false");
        for (int k = 0; k < s->nsyms; k++)
            n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "%s%s:%s", k ? " " : "", POOL_CODES[s->sym[k]],
                          PRIOS[s->prio[k]]);
        n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "\"}}\n");
    }
    if (!on) n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "  []\n");
    return st_test_write(dir, "strata.yaml", yaml);
}

/* What must equal a fresh start's. */
typedef struct {
    int tier[512], conn[512];
    uint8_t ledger[POOL][2];
    bool watching[NAMES][POOL];
    char state[NAMES][16];
    int nstrats;
    int64_t desired;
} snap_t;

static st_runtime_t rt;
static snap_t snap;
static bool snapped;
static gen_t gens[RELOADS + 1];
static int last_good, expect_failed;
static int step;
static st_timer_t reload_timers[RELOADS], snap_timer;

static void take_snapshot(st_timer_t *t, st_time_t now, void *ctx)
{
    memset(&snap, 0, sizeof(snap));
    st_planner_replan(rt.planner, now);
    for (st_sym_t s = 0; s < rt.syms.n && s < 512; s++) {
        const st_plan_entry_t *e = st_planner_entry(rt.planner, s);
        snap.tier[s] = e->tier;
        snap.conn[s] = e->conn;
    }
    const st_ledger_t *l = st_sim_feed_ledger(rt.feeds[0], 0);
    assert_non_null(l);
    snap.desired = l->desired;
    for (int k = 0; k < POOL; k++) {
        st_sym_t s = st_symtab_find(&rt.syms, POOL_CODES[k], 6);
        snap.ledger[k][0] = l->state[ST_KEY(s, ST_CH_TRADE)] & ST_LK_DESIRED;
        snap.ledger[k][1] = l->state[ST_KEY(s, ST_CH_BOOK)] & ST_LK_DESIRED;
        for (int i = 0; i < NAMES; i++) {
            char name[8];
            snprintf(name, sizeof(name), "s%d", i);
            snap.watching[i][k] = st_strats_watching(rt.strats, name, s);
        }
    }
    snap.nstrats = (int)st_strats_count(rt.strats);
    for (int i = 0; i < snap.nstrats; i++) {
        st_strat_info_t si;
        st_strats_info(rt.strats, (size_t)i, &si);
        int idx = si.name[1] - '0';
        snprintf(snap.state[idx], sizeof(snap.state[idx]), "%s", si.state);
    }
    snapped = true;
}

static void on_reload_time(st_timer_t *t, st_time_t now, void *ctx)
{
    int k = ++step;
    free(write_config(&gens[k]));
    if (gens[k].broken) expect_failed++;
    else last_good = k;
    st_test_raise_sighup(&rt);
}

static void run_day(int first, bool with_reloads, snap_t *out)
{
    char *cfg = write_config(&gens[first]);
    FILE *devnull = fopen("/dev/null", "w");
    st_test_runtime_init(&rt, cfg, devnull);
    if (with_reloads) {
        /* RELOADS moments between 09:00 and 10:55, in order */
        st_time_t at = st_test_at("09:00");
        for (int i = 0; i < RELOADS; i++) {
            at += (st_dur_t)(1 + rnd(19)) * ST_MIN + (st_dur_t)rnd(60) * ST_SEC;
            st_timer_init(&reload_timers[i], on_reload_time, NULL);
            st_clock_timer_start(&rt.clock, &reload_timers[i], at, 0);
        }
    }
    st_timer_init(&snap_timer, take_snapshot, NULL);
    st_clock_timer_start(&rt.clock, &snap_timer, st_test_at("10:59") + 30 * ST_SEC, 0);
    snapped = false;
    assert_int_equal(st_runtime_run(&rt), 0);
    assert_true(snapped);
    *out = snap;
    if (with_reloads) {
        assert_int_equal(rt.reloads_failed, (uint64_t)expect_failed);
        assert_int_equal(rt.reloads_ok, (uint64_t)(RELOADS - expect_failed));
    }
    st_runtime_free(&rt);
    fclose(devnull);
    free(cfg);
}

static void one_seed(uint64_t seed)
{
    rng = seed * 0x9E3779B97F4A7C15ull + 1;
    gen_random(&gens[0], false);
    for (int k = 1; k <= RELOADS; k++) gen_random(&gens[k], true);
    step = last_good = expect_failed = 0;
    snap_t a, b;
    run_day(0, true, &a);
    run_day(last_good, false, &b);
    printf("# seed %llu: %d reloads (%d refused), final generation from step %d: %d strategies, "
           "%lld registrations wanted\n",
           (unsigned long long)seed, RELOADS, expect_failed, last_good, a.nstrats, (long long)a.desired);
    assert_int_equal(a.nstrats, b.nstrats);
    for (int s = 0; s < 512; s++) {
        if (a.tier[s] != b.tier[s] || a.conn[s] != b.conn[s])
            printf("# seed %llu: symbol %d tier %d/%d conn %d/%d\n", (unsigned long long)seed, s, a.tier[s],
                   b.tier[s], a.conn[s], b.conn[s]);
        assert_int_equal(a.tier[s], b.tier[s]);
        assert_int_equal(a.conn[s], b.conn[s]);
    }
    assert_int_equal(a.desired, b.desired);
    assert_memory_equal(a.ledger, b.ledger, sizeof(a.ledger));
    assert_memory_equal(a.watching, b.watching, sizeof(a.watching));
    assert_memory_equal(a.state, b.state, sizeof(a.state));
}

static void test_random_reloads(void **state)
{
    dir = st_test_tmpdir();
    for (int v = 0; v < 4; v++) {
        char name[16];
        snprintf(name, sizeof(name), "v%d.lua", v);
        free(st_test_write(dir, name, VARIANTS[v]));
    }
    const char *env = getenv("STRATA_RELOAD_SEEDS");
    int seeds = env ? atoi(env) : 8;
    for (int s = 1; s <= seeds; s++) one_seed((uint64_t)s);
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_reloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
