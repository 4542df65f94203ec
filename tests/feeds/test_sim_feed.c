/* The simulated feed's orderbook on demand answers at once: its callback runs during the call,
 * which returns 0 — the one meaning of 0 and ST_PENDING over every feed's orderbook (issue
 * 18.7: the sim feed returned 1, which now means "later"). */
#include "../test.h"

#include "conf/world.h"
#include "core/err.h"
#include "feeds/feed.h"

static int answers;
static st_tick_t got;

static void on_book(const st_tick_t *book, const char *err, void *ctx)
{
    answers++;
    if (book) got = *book;
}

static void test_orderbook_answers_now(void **state)
{
    char *dir = st_test_tmpdir();
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 10:00\", speed: 0}\n"
             "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv}\n"
             "feeds:\n  - {name: sim, kind: sim, budget: 41}\n",
             STRATA_SOURCE_DIR, STRATA_SOURCE_DIR);
    char *path = st_test_write(dir, "strata.yaml", yaml);
    st_symtab_t syms;
    st_symtab_init(&syms);
    st_diags_t d;
    st_diags_init(&d);
    st_world_t *w = st_world_build(path, &syms, &d);
    assert_non_null(w);
    st_diags_free(&d);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_t clock;
    st_clock_init_sim(&clock, loop, w->cfg->runtime.clock.start_time, 0);
    st_feed_env_t env = {.clock = &clock, .universe = &w->universe, .syms = &syms, .cfg = w->cfg};
    st_feed_t *f = NULL;
    char err[256];
    assert_int_equal(st_feed_create(ST_LIST_AT(w->cfg->feeds, st_feed_cfg_t, 0), 0, &env, &f, err, sizeof(err)), 0);
    st_sym_t sym = st_symtab_find(&syms, "005930", 6);
    answers = 0;
    assert_int_equal(st_feed_orderbook(f, sym, on_book, NULL), 0); /* answered now */
    assert_int_equal(answers, 1);
    assert_int_equal(got.kind, ST_TICK_ORDERBOOK);
    assert_int_equal(got.sym, sym);
    assert_true(got.u.book.ask[0] > got.u.book.bid[0] && got.u.book.bid[0] > 0);
    assert_int_equal(st_feed_orderbook(f, (st_sym_t)(syms.n + 5), on_book, NULL), -ENOENT);
    st_feed_destroy(f);
    st_clock_free(&clock);
    ev_loop_destroy(loop);
    st_world_free(w);
    st_symtab_free(&syms);
    free(path);
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orderbook_answers_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
