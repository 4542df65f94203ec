/* The whole market in time order (st_simmkt_pop) and a tape of it served symbol by symbol
 * (st_tape): the replay feed's `mode: limited` rests on a tape answering exactly what the
 * generator answered — each symbol's trades, field by field, and its next trade's time — however
 * the calls interleave. */
#include "../test.h"

#include "feeds/simmkt.h"
#include "feeds/tape.h"
#include "record/recfile.h"

#include <unistd.h>

#define MID   ((st_time_t)1795359600 * ST_SEC) /* 2026-11-23 00:00 KST */
#define AT(h, m) (MID + (st_time_t)(h) * ST_HOUR + (st_time_t)(m) * ST_MIN)

static st_symtab_t syms;
static st_arena_t *arena;
static st_universe_t uni;
static char path[64];

static st_simmkt_t *market(void)
{
    st_simmkt_params_t p = {.seed = 7, .activity = 1, .volatility = 1, .halt_rate = 5,
                            .pre_open = 8 * ST_HOUR + 30 * ST_MIN, .open = 9 * ST_HOUR,
                            .closing_auction = 15 * ST_HOUR + 20 * ST_MIN,
                            .close = 15 * ST_HOUR + 30 * ST_MIN, .utc_offset = 9 * 3600};
    return st_simmkt_create(&p, &uni, AT(8, 50));
}

static int setup(void **state)
{
    st_symtab_init(&syms);
    arena = st_arena_create(0);
    st_diags_t d;
    st_diags_init(&d);
    int rc = st_universe_load(&uni, st_test_source_path("config/universe.csv"),
                              st_test_source_path("config/indices.csv"), &syms, arena, &d);
    st_diags_free(&d);
    snprintf(path, sizeof(path), "/tmp/strata-tape-%d.strata", (int)getpid());
    return rc;
}

static int teardown(void **state)
{
    unlink(path);
    st_arena_destroy(arena);
    st_symtab_free(&syms);
    return 0;
}

static const char *code_of(st_sym_t sym)
{
    return uni.items[uni.by_sym[sym]].code;
}

typedef struct {
    st_tick_t *t;
    size_t n, cap;
} ticks_t;

static void collect(const st_tick_t *t, void *ctx)
{
    ticks_t *v = ctx;
    if (v->n == v->cap) v->t = realloc(v->t, (v->cap = v->cap ? 2 * v->cap : 1024) * sizeof(*v->t));
    v->t[v->n++] = *t;
}

/* Popping gives every trade of every symbol, in time order (ties in universe order), and each
 * symbol's trades are the ones advancing it alone gives. */
static void test_pop_is_every_trade_in_time_order(void **state)
{
    st_simmkt_t *a = market(), *b = market();
    ticks_t all = {0};
    st_tick_t t;
    while (st_simmkt_pop(a, AT(10, 0), &t)) collect(&t, &all);
    assert_true(all.n > 10000);
    for (size_t i = 1; i < all.n; i++) {
        assert_true(all.t[i - 1].venue_time <= all.t[i].venue_time);
        if (all.t[i - 1].venue_time == all.t[i].venue_time)
            assert_true(uni.by_sym[all.t[i - 1].sym] < uni.by_sym[all.t[i].sym]);
    }
    size_t total = 0;
    for (size_t k = 0; k < uni.n; k++) {
        ticks_t one = {0};
        st_simmkt_advance(b, uni.items[k].sym, AT(10, 0), collect, &one);
        size_t j = 0;
        for (size_t i = 0; i < all.n; i++)
            if (all.t[i].sym == uni.items[k].sym) assert_memory_equal(&all.t[i], &one.t[j++], sizeof(st_tick_t));
        assert_int_equal(j, one.n);
        total += one.n;
        free(one.t);
    }
    assert_int_equal(total, all.n);
    free(all.t);
    st_simmkt_destroy(a), st_simmkt_destroy(b);
}

/* A tape written the way the sim feed writes it (references, then every trade in time order,
 * plus a code the universe lacks), served per symbol with calls interleaved in an order of its
 * own: the same trades, the same next-trade times, the same previous closes as the generator. */
static void test_tape_serves_each_symbol_as_the_market(void **state)
{
    unlink(path);
    st_simmkt_t *gen = market(), *want = market();
    st_rec_writer_t *w = st_rec_create(path, AT(8, 50));
    assert_non_null(w);
    for (size_t k = 0; k < uni.n; k++) {
        st_tick_t ref = {.kind = ST_TICK_SNAPSHOT, .sym = uni.items[k].sym, .venue_time = AT(8, 50),
                         .recv_time = AT(8, 50)};
        ref.u.trade.prev_close = st_simmkt_sym(gen, uni.items[k].sym)->prev_close;
        assert_int_equal(st_rec_tick(w, &ref, uni.items[k].code, ST_CONN_NONE), 0);
    }
    st_tick_t t;
    bool stranger = false;
    while (st_simmkt_pop(gen, AT(11, 0), &t)) {
        t.recv_time = t.venue_time;
        assert_int_equal(st_rec_tick(w, &t, code_of(t.sym), ST_CONN_NONE), 0);
        if (!stranger && t.venue_time > AT(9, 30)) { /* a code the universe lacks */
            assert_int_equal(st_rec_tick(w, &t, "NOPE99", ST_CONN_NONE), 0);
            stranger = true;
        }
    }
    assert_int_equal(st_rec_close(w), 0);

    char err[256];
    st_tape_t *tape = st_tape_open(path, &uni, &syms, err, sizeof(err));
    if (!tape) fail_msg("%s", err);
    for (size_t k = 0; k < uni.n; k++)
        assert_true(st_tape_prev_close(tape, uni.items[k].sym) == st_simmkt_sym(want, uni.items[k].sym)->prev_close);
    /* every 7th symbol walks in steps of a minute, asking for its next trade each time; the
     * others jump at once (what the live feed does to symbols it does not stream) */
    for (st_time_t now = AT(8, 50); now <= AT(11, 0); now += ST_MIN) {
        for (size_t k = 0; k < uni.n; k += 7) {
            st_sym_t sym = uni.items[k].sym;
            assert_true(st_tape_next_event(tape, sym) == st_simmkt_next_event(want, sym) ||
                        st_simmkt_next_event(want, sym) > AT(11, 0)); /* the tape ends at 11:00 */
            ticks_t x = {0}, y = {0};
            st_tape_advance(tape, sym, now, collect, &x);
            st_simmkt_advance(want, sym, now, collect, &y);
            assert_int_equal(x.n, y.n);
            if (x.n) assert_memory_equal(x.t, y.t, x.n * sizeof(st_tick_t));
            free(x.t), free(y.t);
        }
    }
    for (size_t k = 1; k < uni.n; k++) {
        if (k % 7 == 0) continue;
        ticks_t x = {0}, y = {0};
        st_tape_advance(tape, uni.items[k].sym, AT(11, 0), collect, &x);
        st_simmkt_advance(want, uni.items[k].sym, AT(11, 0), collect, &y);
        assert_int_equal(x.n, y.n);
        if (x.n) assert_memory_equal(x.t, y.t, x.n * sizeof(st_tick_t));
        free(x.t), free(y.t);
    }
    st_tape_stats_t ts;
    st_tape_stats(tape, &ts);
    st_simmkt_stats_t ms;
    st_simmkt_stats(want, &ms);
    assert_int_equal(ts.trades, ms.trades);
    assert_int_equal(ts.unknown, 1);
    assert_true(st_tape_next_event(tape, uni.items[0].sym) == ST_TIME_NEVER); /* the tape has ended */
    st_tape_free(tape);
    st_simmkt_destroy(gen), st_simmkt_destroy(want);
}

/* The venue's book and snapshot come from the last trade alone: the book starts at the trade's
 * best bid, one tick wide, and a halt shows in both; the same trade and time give the same book. */
static void test_answers_from_the_last_trade(void **state)
{
    st_simmkt_t *m = market();
    st_sym_t sym = uni.items[3].sym;
    ticks_t v = {0};
    st_simmkt_advance(m, sym, AT(10, 0), collect, &v);
    assert_true(v.n > 0);
    st_tick_t last = v.t[v.n - 1], book, again, snap;
    uint64_t h = st_simmkt_code_hash(uni.items[3].code);
    st_simmkt_book_of(&last, h, false, AT(10, 0), &book);
    assert_true(book.u.book.bid[0] == last.u.trade.best_bid);
    assert_true(book.u.book.ask[0] == book.u.book.bid[0] + st_krx_tick_size(last.u.trade.price));
    assert_true(book.u.book.bid_qty[0] > 0 && book.u.book.total_ask_qty > 0);
    st_tick_t from_state;
    st_simmkt_book(m, sym, AT(10, 0), &from_state);
    assert_memory_equal(&book, &from_state, sizeof(book));
    st_simmkt_book_of(&last, h, false, AT(10, 0), &again);
    assert_memory_equal(&book, &again, sizeof(book));
    last.flags = ST_TICK_HALTED;
    st_simmkt_book_of(&last, h, false, AT(10, 0), &book);
    st_simmkt_snapshot_of(&last, false, AT(10, 0), &snap);
    assert_int_equal(book.flags, ST_TICK_HALTED);
    assert_int_equal(snap.flags, ST_TICK_HALTED);
    assert_true(snap.u.trade.price == last.u.trade.price && snap.u.trade.cum_volume == last.u.trade.cum_volume);
    assert_true(snap.u.trade.volume == 0 && snap.venue_time == AT(10, 0));
    free(v.t);
    st_simmkt_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pop_is_every_trade_in_time_order),
        cmocka_unit_test(test_tape_serves_each_symbol_as_the_market),
        cmocka_unit_test(test_answers_from_the_last_trade),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
