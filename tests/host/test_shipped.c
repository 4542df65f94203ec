/* The shipped strategies on the simulated market, through the Lua host with a recording host
 * API (the runtime does not run strategies yet). gap.lua: over the open of a simulated day,
 * exactly the stocks whose opening print is 3% or more from the previous close are signalled,
 * on the right side, and raised to CRITICAL. */
#include "../test.h"

#include "core/arena.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "feeds/simmkt.h"
#include "host/lua_host.h"
#include "host/plugin.h"
#include "market/universe.h"

#include <math.h>

typedef struct {
    char code[16], side[8];
    double strength;
} sig_t;

static sig_t sigs[512];
static int nsigs;
static char upgraded[512][16];
static int nupgraded;

static const char *side_name(int side)
{
    return side == STRATA_SIDE_BUY ? "buy" : side == STRATA_SIDE_SELL ? "sell" : "";
}

static int f_signal(strata_ctx_t *ctx, const char *code, int side, double strength, const char *reason)
{
    if (nsigs < 512) {
        snprintf(sigs[nsigs].code, sizeof(sigs[0].code), "%s", code);
        snprintf(sigs[nsigs].side, sizeof(sigs[0].side), "%s", side_name(side));
        sigs[nsigs++].strength = strength;
    }
    return 0;
}

static int f_upgrade(strata_ctx_t *ctx, const char *code, int prio)
{
    if (prio == ST_PRIO_CRITICAL && nupgraded < 512) snprintf(upgraded[nupgraded++], 16, "%s", code);
    return 0;
}

static char scored[512][16];
static double scores[512];
static int nscored;

static int f_score(strata_ctx_t *ctx, const char *code, double score)
{
    if (nscored < 512) snprintf(scored[nscored], 16, "%s", code), scores[nscored++] = score;
    return 0;
}

static st_dur_t every_asked;
static int f_every(strata_ctx_t *ctx, int64_t interval, const char *name)
{
    every_asked = !strcmp(name, "rank") ? interval : -1;
    return 0;
}

static const strata_host_t host = {.size = sizeof(strata_host_t), .abi_major = STRATA_ABI_MAJOR,
                                   .abi_minor = STRATA_ABI_MINOR, .signal = f_signal, .upgrade_priority = f_upgrade,
                                   .update_performance_score = f_score, .every = f_every};

/* A simulated KRX day from 08:50 on the 391-stock demo universe, and one strategy loaded. */
typedef struct {
    st_symtab_t syms;
    st_arena_t *arena;
    st_universe_t u;
    st_time_t start;
    st_simmkt_t *m;
    st_lua_t *s;
} day_t;

static void day_open(day_t *d, uint64_t seed, const char *name, const char *script)
{
    st_symtab_init(&d->syms);
    d->arena = st_arena_create(0);
    st_diags_t diags;
    st_diags_init(&diags);
    assert_int_equal(st_universe_load(&d->u, st_test_source_path("config/universe.csv"), "", &d->syms, d->arena, &diags), 0);
    st_diags_free(&diags);
    st_tz_set("Asia/Seoul");
    struct tm tm;
    assert_int_equal(st_parse_datetime("2026-11-23 08:50", &tm), 0);
    assert_int_equal(st_tz_mktime(NULL, &tm, &d->start), 0);
    st_simmkt_params_t p = {.seed = seed, .activity = 1, .volatility = 1, .halt_rate = 1,
                            .pre_open = 8 * ST_HOUR + 30 * ST_MIN, .open = 9 * ST_HOUR,
                            .closing_auction = 15 * ST_HOUR + 20 * ST_MIN, .close = 15 * ST_HOUR + 30 * ST_MIN,
                            .utc_offset = 9 * 3600};
    d->m = st_simmkt_create(&p, &d->u, d->start);
    st_lua_cfg_t cfg = {.name = name, .path = script, .quarantine_after = 3, .host = &host};
    char err[512];
    assert_int_equal(st_lua_open(&d->s, &cfg, err, sizeof(err)), 0);
}

static void day_close(day_t *d)
{
    st_lua_close(d->s);
    st_simmkt_destroy(d->m);
    st_arena_destroy(d->arena);
    st_symtab_free(&d->syms);
}

typedef struct {
    st_lua_t *s;
    const char *code;
    double first_gap; /* from the first trade: price / prev_close - 1 */
    bool traded;
} feed_t;

static void to_strategy(const st_tick_t *t, void *ctx)
{
    feed_t *f = ctx;
    if (!f->traded) {
        f->traded = true;
        f->first_gap = t->u.trade.price / t->u.trade.prev_close - 1;
    }
    assert_int_equal(st_lua_on_tick(f->s, f->code, t), 0);
}

static void test_gap_on_the_simulated_open(void **state)
{
    day_t D;
    day_open(&D, 20261123, "gap", st_test_source_path("strategies/gap.lua"));
    st_universe_t u = D.u;
    st_simmkt_t *m = D.m;
    st_lua_t *s = D.s;
    st_time_t start = D.start;
    st_time_t until = start + 15 * ST_MIN; /* 09:05 */
    assert_int_equal(st_lua_init(s, NULL, NULL, 0), 0);

    int expected = 0;
    for (size_t i = 0; i < u.nstocks; i++) {
        feed_t f = {s, u.items[i].code, 0, false};
        st_simmkt_advance(m, u.items[i].sym, until, to_strategy, &f);
        if (!f.traded) continue;
        /* the simulator's own opening gap agrees with the opening print */
        assert_true(fabs(f.first_gap - st_simmkt_sym(m, u.items[i].sym)->gap) < 0.005);
        bool want = fabs(f.first_gap) >= 0.03;
        expected += want;
        int found = -1;
        for (int k = 0; k < nsigs; k++)
            if (!strcmp(sigs[k].code, f.code)) found = k;
        if (want != (found >= 0)) printf("# %s: gap %+.4f, signalled %d\n", f.code, f.first_gap, found >= 0);
        assert_int_equal(want, found >= 0);
        if (found < 0) continue;
        assert_string_equal(sigs[found].side, f.first_gap > 0 ? "buy" : "sell");
        assert_true(fabs(sigs[found].strength - fabs(f.first_gap) * 100) < 1e-9);
        bool up = false;
        for (int k = 0; k < nupgraded; k++) up = up || !strcmp(upgraded[k], f.code);
        assert_true(up);
    }
    printf("# %d of %zu stocks opened 3%% or more away: %d signals, %d raised to critical\n", expected, u.nstocks,
           nsigs, nupgraded);
    assert_int_equal(nsigs, expected);
    assert_int_equal(nupgraded, expected);
    assert_true(expected > 5 && expected < (int)u.nstocks / 4); /* the simulator's few large gaps */
    st_lua_stats_t st;
    st_lua_stats(s, &st);
    assert_int_equal(st.faults, 0);
    day_close(&D);
}

/* volume_watch.lua over the first trading hour: a symbol is raised exactly when a minute's
 * volume reaches 3x its average minute so far (after 10 minutes), once; the same rule is
 * computed here, independently. */
typedef struct {
    st_lua_t *s;
    const char *code;
    int64_t minute;
    double now, done, sum, n;
    bool expect;
} vol_t;

static void to_volume(const st_tick_t *t, void *ctx)
{
    vol_t *v = ctx;
    int64_t minute = (int64_t)floor((double)t->venue_time / ST_SEC / 60);
    if (v->n == 0) v->minute = minute;
    if (minute != v->minute) {
        v->sum += v->now;
        v->done += (double)(minute - v->minute);
        v->minute = minute, v->now = 0;
    }
    v->now += t->u.trade.volume;
    v->n++;
    if (!v->expect && v->done >= 10 && v->now >= 3 * (v->sum / v->done)) v->expect = true;
    assert_int_equal(st_lua_on_tick(v->s, v->code, t), 0);
}

static void test_volume_watch_on_the_first_hour(void **state)
{
    day_t D;
    day_open(&D, 7, "volume", st_test_source_path("strategies/volume_watch.lua"));
    st_universe_t u = D.u;
    st_simmkt_t *m = D.m;
    st_lua_t *s = D.s;
    st_time_t start = D.start;
    assert_int_equal(st_lua_init(s, NULL, NULL, 0), 0);
    nupgraded = 0;
    int expected = 0, traded = 0;
    for (size_t i = 0; i < u.nstocks; i++) {
        vol_t v = {s, u.items[i].code, 0, 0, 0, 0, 0, false};
        st_simmkt_advance(m, u.items[i].sym, start + 70 * ST_MIN, to_volume, &v); /* to 10:00 */
        traded += v.n > 0;
        expected += v.expect;
        int times = 0;
        for (int k = 0; k < nupgraded; k++) times += !strcmp(upgraded[k], v.code);
        if (times != (int)v.expect) printf("# %s: expected %d, raised %d times\n", v.code, v.expect, times);
        assert_int_equal(times, (int)v.expect);
    }
    printf("# %d of %d traded stocks raised by a 3x minute\n", expected, traded);
    assert_int_equal(nupgraded, expected);
    assert_true(expected > 0 && expected < traded);
    day_close(&D);
}

/* closing_momentum.lua over a simulated afternoon: exactly the stocks up on the day that rise
 * 2% from their first 14:00-15:20 price are signalled once, with the move as their score. */
typedef struct {
    st_lua_t *s;
    const char *code;
    double base, move;
    bool expect;
} close_t;

static void to_closing(const st_tick_t *t, void *ctx)
{
    close_t *c = ctx;
    double secs = fmod((double)t->venue_time / ST_SEC + 32400, 86400);
    if (secs >= 14 * 3600 && secs < 15 * 3600 + 20 * 60 && !c->expect) {
        if (c->base == 0) {
            c->base = t->u.trade.price;
        } else if (t->u.trade.price / c->base - 1 >= 0.02 && t->u.trade.price > t->u.trade.prev_close) {
            c->expect = true;
            c->move = (t->u.trade.price / c->base - 1) * 100;
        }
    }
    assert_int_equal(st_lua_on_tick(c->s, c->code, t), 0);
}

static void test_closing_momentum_on_the_afternoon(void **state)
{
    day_t D;
    day_open(&D, 11, "closing", st_test_source_path("strategies/closing_momentum.lua"));
    st_universe_t u = D.u;
    st_simmkt_t *m = D.m;
    st_lua_t *s = D.s;
    st_time_t start = D.start;
    assert_int_equal(st_lua_init(s, NULL, NULL, 0), 0);
    nsigs = nscored = 0;
    int expected = 0;
    for (size_t i = 0; i < u.nstocks; i++) {
        close_t c = {s, u.items[i].code, 0, 0, false};
        st_simmkt_advance(m, u.items[i].sym, start + 400 * ST_MIN, to_closing, &c); /* to 15:30 */
        expected += c.expect;
        int found = -1;
        for (int k = 0; k < nsigs; k++)
            if (!strcmp(sigs[k].code, c.code)) found = k;
        if ((found >= 0) != c.expect) printf("# %s: expected %d\n", c.code, c.expect);
        assert_int_equal(found >= 0, c.expect);
        if (found < 0) continue;
        assert_string_equal(sigs[found].side, "buy");
        assert_true(fabs(sigs[found].strength - c.move) < 1e-9);
        int sc = -1;
        for (int k = 0; k < nscored; k++)
            if (!strcmp(scored[k], c.code)) sc = k;
        assert_true(sc >= 0 && fabs(scores[sc] - c.move) < 1e-9);
    }
    printf("# %d of %zu stocks rode into the close\n", expected, u.nstocks);
    assert_int_equal(nsigs, expected);
    assert_int_equal(nscored, expected);
    assert_true(expected > 0 && expected < (int)u.nstocks / 2);
    day_close(&D);
}

/* momentum_leaders.lua: asks for a ranking timer at init; at a ranking every stock seen gets its
 * move since its first price (percent, 0 when down) as its performance score. */
typedef struct {
    st_lua_t *s;
    const char *code;
    double first, last;
} mom_t;

static void to_momentum(const st_tick_t *t, void *ctx)
{
    mom_t *m = ctx;
    if (m->first == 0) m->first = t->u.trade.price;
    m->last = t->u.trade.price;
    assert_int_equal(st_lua_on_tick(m->s, m->code, t), 0);
}

static void test_momentum_leaders_scores(void **state)
{
    day_t D;
    day_open(&D, 5, "momentum", st_test_source_path("strategies/momentum_leaders.lua"));
    st_universe_t u = D.u;
    st_simmkt_t *m = D.m;
    st_lua_t *s = D.s;
    st_time_t start = D.start;
    const char *k[] = {"every"}, *v[] = {"120"};
    assert_int_equal(st_lua_init(s, k, v, 1), 0);
    assert_int_equal(every_asked, 120 * ST_SEC);
    mom_t *mm = calloc(u.nstocks, sizeof(*mm));
    for (size_t i = 0; i < u.nstocks; i++) {
        mm[i] = (mom_t){s, u.items[i].code, 0, 0};
        st_simmkt_advance(m, u.items[i].sym, start + 70 * ST_MIN, to_momentum, &mm[i]); /* to 10:00 */
    }
    nscored = 0;
    assert_int_equal(st_lua_on_timer(s, "rank"), 0);
    int seen = 0, leaders = 0;
    for (size_t i = 0; i < u.nstocks; i++) {
        if (mm[i].first == 0) continue;
        seen++;
        double move = (mm[i].last / mm[i].first - 1) * 100, want = move > 0 ? move : 0;
        leaders += want > 0;
        int sc = -1;
        for (int j = 0; j < nscored; j++)
            if (!strcmp(scored[j], mm[i].code)) sc = j;
        assert_true(sc >= 0);
        assert_true(fabs(scores[sc] - want) < 1e-9);
    }
    printf("# %d stocks scored, %d of them up since their first trade\n", seen, leaders);
    assert_int_equal(nscored, seen);
    assert_true(leaders > 0 && leaders < seen);
    free(mm);
    day_close(&D);
}

/* plugins/gap.c, the C version of gap.lua, signals the same stocks, sides and strengths, in the
 * same order, on the same simulated open. */
static sig_t csigs[512];
static int ncsigs, ncupgrades;

static int c_signal(strata_ctx_t *ctx, const char *code, int side, double strength, const char *reason)
{
    if (ncsigs < 512) {
        snprintf(csigs[ncsigs].code, sizeof(csigs[0].code), "%s", code);
        snprintf(csigs[ncsigs].side, sizeof(csigs[0].side), "%s", side_name(side));
        csigs[ncsigs++].strength = strength;
    }
    return 0;
}

static int c_upgrade(strata_ctx_t *ctx, const char *code, int prio)
{
    ncupgrades += prio == STRATA_PRIO_CRITICAL;
    return 0;
}

typedef struct {
    st_lua_t *lua;
    st_plugin_t *plugin;
    const char *code;
} both_t;

static void to_both(const st_tick_t *t, void *ctx)
{
    both_t *b = ctx;
    assert_int_equal(st_lua_on_tick(b->lua, b->code, t), 0);
    assert_int_equal(st_plugin_on_tick(b->plugin, b->code, t), 0);
}

static void test_gap_plugin_matches_lua(void **state)
{
    day_t D;
    day_open(&D, 99, "gap", st_test_source_path("strategies/gap.lua"));
    st_universe_t u = D.u;
    st_simmkt_t *m = D.m;
    st_lua_t *s = D.s;
    st_time_t start = D.start;
    st_plugin_t *pl;
    char err[512];
    if (st_plugin_open(&pl, "gap", st_test_build_path("plugins/gap.so"), err, sizeof(err))) printf("# %s\n", err);
    strata_host_t chost = {.size = sizeof(strata_host_t), .abi_major = STRATA_ABI_MAJOR,
                           .abi_minor = STRATA_ABI_MINOR, .upgrade_priority = c_upgrade, .signal = c_signal};
    assert_int_equal(st_plugin_init(pl, &chost, NULL, NULL, NULL, 0), 0);
    nsigs = nupgraded = ncsigs = ncupgrades = 0;
    for (size_t i = 0; i < u.nstocks; i++) {
        both_t b = {s, pl, u.items[i].code};
        st_simmkt_advance(m, u.items[i].sym, start + 15 * ST_MIN, to_both, &b);
    }
    printf("# Lua and C: %d and %d signals\n", nsigs, ncsigs);
    assert_true(nsigs > 0);
    assert_int_equal(ncsigs, nsigs);
    assert_int_equal(ncupgrades, nupgraded);
    for (int i = 0; i < nsigs; i++) {
        assert_string_equal(csigs[i].code, sigs[i].code);
        assert_string_equal(csigs[i].side, sigs[i].side);
        assert_true(fabs(csigs[i].strength - sigs[i].strength) < 1e-9);
    }
    st_plugin_close(pl);
    day_close(&D);
}

int main(void)
{
    st_log_open(ST_LL_WARN, ST_LOG_TEXT, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap_on_the_simulated_open),
        cmocka_unit_test(test_volume_watch_on_the_first_hour),
        cmocka_unit_test(test_closing_momentum_on_the_afternoon),
        cmocka_unit_test(test_momentum_leaders_scores),
        cmocka_unit_test(test_gap_plugin_matches_lua),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
