/* The simulated feed (kind: sim) on a simulated clock at speed 0:
 * - its orderbook on demand answers at once: the callback runs during the call, which returns
 *   0 — the one meaning of 0 and ST_PENDING over every feed's orderbook (issue 18.7: the sim
 *   feed returned 1, which now means "later");
 * - tier 3 is polled as a KIS feed polls, through the batched poller (issue 19.1): 30 symbols
 *   to a call, and one timer for the calls whatever the universe, so a REST budget too small
 *   for the demand stretches the intervals instead of waking every waiting symbol at each
 *   token (the per-symbol poll timers did: 40 % of a whole-market day's CPU in timer stops). */
#include "../test.h"

#include "conf/world.h"
#include "core/err.h"
#include "feeds/feed.h"

#include <math.h>

typedef struct {
    char *dir, *path;
    st_symtab_t syms;
    st_world_t *w;
    struct ev_loop *loop;
    st_clock_t clock;
    st_feed_t *f;
} sim_t;

static uint32_t snaps[4096];
static size_t nsnaps;

static void on_tick(const st_tick_t *t, void *ctx)
{
    if (t->kind != ST_TICK_SNAPSHOT || t->sym >= 4096) return;
    snaps[t->sym]++;
    nsnaps++;
}

/* A sim feed on `universe` (a file of config/) with the feed item's extra settings. */
static void sim_open(sim_t *s, const char *universe, const char *extra)
{
    s->dir = st_test_tmpdir();
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 10:00\", speed: 0}\n"
             "market: {universe: %s/config/%s, indices: %s/config/indices.csv}\n"
             "feeds:\n  - {name: sim, kind: sim, budget: 41%s}\n",
             STRATA_SOURCE_DIR, universe, STRATA_SOURCE_DIR, extra);
    s->path = st_test_write(s->dir, "strata.yaml", yaml);
    st_symtab_init(&s->syms);
    st_diags_t d;
    st_diags_init(&d);
    s->w = st_world_build(s->path, &s->syms, &d);
    assert_non_null(s->w);
    st_diags_free(&d);
    s->loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_init_sim(&s->clock, s->loop, s->w->cfg->runtime.clock.start_time, 0);
    st_feed_env_t env = {.clock = &s->clock, .universe = &s->w->universe, .syms = &s->syms, .cfg = s->w->cfg,
                         .on_tick = on_tick};
    char err[256];
    assert_int_equal(st_feed_create(ST_LIST_AT(s->w->cfg->feeds, st_feed_cfg_t, 0), 0, &env, &s->f, err, sizeof(err)),
                     0);
}

static void sim_close(sim_t *s)
{
    st_feed_destroy(s->f);
    st_clock_free(&s->clock);
    ev_loop_destroy(s->loop);
    st_world_free(s->w);
    st_symtab_free(&s->syms);
    free(s->path);
    assert_int_equal(st_test_rmtree(s->dir), 0);
    free(s->dir);
}

static int answers;
static st_tick_t got;

static void on_book(const st_tick_t *book, const char *err, void *ctx)
{
    answers++;
    if (book) got = *book;
}

static void test_orderbook_answers_now(void **state)
{
    sim_t s;
    sim_open(&s, "universe.csv", "");
    st_sym_t sym = st_symtab_find(&s.syms, "005930", 6);
    answers = 0;
    assert_int_equal(st_feed_orderbook(s.f, sym, on_book, NULL), 0); /* answered now */
    assert_int_equal(answers, 1);
    assert_int_equal(got.kind, ST_TICK_ORDERBOOK);
    assert_int_equal(got.sym, sym);
    assert_true(got.u.book.ask[0] > got.u.book.bid[0] && got.u.book.bid[0] > 0);
    assert_int_equal(st_feed_orderbook(s.f, (st_sym_t)(s.syms.n + 5), on_book, NULL), -ENOENT);
    sim_close(&s);
}

static void on_stop(st_timer_t *t, st_time_t now, void *ctx)
{
    ev_break(ctx, EVBREAK_ALL);
}

/* Every stock of the universe moved to tier 3 (no plan: every minute), then `minutes` of the
 * clock; returns the clock's timer callbacks run meanwhile. */
static uint64_t poll_all(sim_t *s, int minutes)
{
    const st_universe_t *u = &s->w->universe;
    st_plan_change_t *ch = st_xcalloc(u->n, sizeof(*ch));
    for (size_t i = 0; i < u->n; i++) ch[i] = (st_plan_change_t){.sym = u->items[i].sym, .to_tier = ST_TIER_POLL};
    memset(snaps, 0, sizeof(snaps));
    nsnaps = 0;
    assert_int_equal(st_feed_start(s->f), 0);
    assert_int_equal(st_feed_apply(s->f, ch, u->n, 0, NULL), 0);
    free(ch);
    st_timer_t stop;
    st_timer_init(&stop, on_stop, s->loop);
    st_time_t t0 = st_clock_now(&s->clock);
    st_clock_timer_start(&s->clock, &stop, t0 + minutes * ST_MIN, 0);
    uint64_t fired = s->clock.timers.fired;
    ev_run(s->loop, 0);
    st_feed_stop(s->f);
    return s->clock.timers.fired - fired;
}

/* The whole KRX list (2,777 stocks and 5 indices) every minute for 10 minutes on 20 calls a
 * second: every one refreshed each minute, in calls of 30 (93 a round; one call a symbol would
 * be 27,820). */
static void test_tier3_batched(void **state)
{
    sim_t s;
    sim_open(&s, "krx_universe.csv", "");
    size_t n = s.w->universe.n;
    uint64_t fired = poll_all(&s, 10);
    st_feed_stats_t fs = {0};
    st_feed_stats(s.f, &fs);
    size_t fewest = SIZE_MAX;
    for (size_t i = 0; i < n; i++) fewest = ST_MIN2(fewest, snaps[s.w->universe.items[i].sym]);
    printf("# %zu stocks, %zu snapshots in %llu calls, each stock at least %zu times; %llu timer callbacks\n", n,
           nsnaps, (unsigned long long)fs.rest_calls, fewest, (unsigned long long)fired);
    assert_true(fewest >= 9); /* (the first round is spread over the first minute) */
    assert_true(fs.rest_calls <= (n + 29) / 30 * 11);
    assert_true(fs.rest_calls * 30 >= nsnaps);
    assert_true(fs.poll_stretch == 1.0);
    sim_close(&s);
}

/* The same on one call a second (a call every 1.05 s with the conservative limiter's 50 ms
 * margin, 95 % of them for polling): 2,782 refreshes a minute wanted, 1,629 possible: every
 * interval stretched x1.71, and the timers run about once a call — not once per waiting symbol
 * at every token. */
static void test_tier3_over_budget_stretches(void **state)
{
    sim_t s;
    sim_open(&s, "krx_universe.csv", ", rest_rate: 1");
    size_t n = s.w->universe.n;
    uint64_t fired = poll_all(&s, 10);
    st_feed_stats_t fs = {0};
    st_feed_stats(s.f, &fs);
    printf("# %zu snapshots in %llu calls, stretch x%.4f; %llu timer callbacks\n", nsnaps,
           (unsigned long long)fs.rest_calls, fs.poll_stretch, (unsigned long long)fired);
    assert_true(fs.rest_calls <= 10 * 60 + 1);
    assert_true(fabs(fs.poll_stretch - (double)n / 60 / (30 * 0.95 / 1.05)) < 0.001);
    /* the calls, the market's minute timer, and the trades of streaming symbols (none here) */
    assert_true(fired <= 2 * fs.rest_calls + 20);
    assert_true(nsnaps >= n); /* every stock refreshed at least once in 10 minutes */
    sim_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orderbook_answers_now),
        cmocka_unit_test(test_tier3_batched),
        cmocka_unit_test(test_tier3_over_budget_stretches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
