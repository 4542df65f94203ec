#include "../test.h"

#include "conf/calendar.h"
#include "feeds/simmkt.h"

#include <math.h>

#define MID   ((st_time_t)1795359600 * ST_SEC) /* 2026-11-23 00:00 KST */
#define AT(h, m) (MID + (st_time_t)(h) * ST_HOUR + (st_time_t)(m) * ST_MIN)

static st_symtab_t syms;
static st_arena_t *arena;
static st_universe_t uni;

static st_simmkt_params_t params(uint64_t seed)
{
    return (st_simmkt_params_t){.seed = seed, .activity = 1, .volatility = 1, .halt_rate = 1,
                                .pre_open = 8 * ST_HOUR + 30 * ST_MIN, .open = 9 * ST_HOUR,
                                .closing_auction = 15 * ST_HOUR + 20 * ST_MIN,
                                .close = 15 * ST_HOUR + 30 * ST_MIN, .utc_offset = 9 * 3600};
}

static int setup(void **state)
{
    st_tz_set("Asia/Seoul"); /* the venue's zone, as the runtime sets it: a snapshot's "today" */
    st_symtab_init(&syms);
    arena = st_arena_create(0);
    st_diags_t d;
    st_diags_init(&d);
    int rc = st_universe_load(&uni, st_test_source_path("config/universe.csv"),
                              st_test_source_path("config/indices.csv"), &syms, arena, &d);
    st_diags_free(&d);
    return rc;
}

static int teardown(void **state)
{
    st_arena_destroy(arena);
    st_symtab_free(&syms);
    return 0;
}

/* Order-sensitive digest of every field of every tick. */
typedef struct {
    uint64_t h;
    size_t n;
} digest_t;

static void digest(const st_tick_t *t, void *ctx)
{
    digest_t *d = ctx;
    const unsigned char *p = (const unsigned char *)t;
    for (size_t i = 0; i < sizeof(*t); i++) d->h = (d->h ^ p[i]) * 1099511628211ull;
    d->n++;
}

static digest_t run_day(uint64_t seed, size_t nsyms)
{
    st_simmkt_params_t p = params(seed);
    st_simmkt_t *m = st_simmkt_create(&p, &uni, AT(8, 50));
    digest_t d = {1469598103934665603ull, 0};
    for (size_t i = 0; i < nsyms; i++) st_simmkt_advance(m, uni.items[i].sym, AT(15, 30), digest, &d);
    st_simmkt_destroy(m);
    return d;
}

static void test_deterministic_per_seed(void **state)
{
    digest_t a = run_day(7, 40), b = run_day(7, 40), c = run_day(8, 40);
    assert_true(a.n > 1000);
    assert_int_equal(a.h, b.h);
    assert_int_equal(a.n, b.n);
    assert_true(a.h != c.h);
}

/* A symbol's path does not depend on how, or whether, it is observed. */
static void test_lazy_equals_eager(void **state)
{
    st_simmkt_params_t p = params(42);
    st_simmkt_t *eager = st_simmkt_create(&p, &uni, AT(8, 50));
    st_simmkt_t *lazy = st_simmkt_create(&p, &uni, AT(8, 50));
    st_sym_t sym = uni.items[3].sym;
    digest_t a = {1, 0}, b = {1, 0};
    st_simmkt_advance(eager, sym, AT(15, 30), digest, &a);
    for (st_time_t t = AT(8, 50); t <= AT(15, 30); t += 7 * ST_MIN + 13 * ST_SEC) {
        st_simmkt_advance_all(lazy, t - 1); /* others move too: must not matter */
        st_tick_t snap;
        st_simmkt_snapshot(lazy, uni.items[5].sym, t, &snap);
        st_tick_t book;
        st_simmkt_book(lazy, sym, t, &book);
    }
    st_simmkt_t *lazy2 = st_simmkt_create(&p, &uni, AT(8, 50));
    for (st_time_t t = AT(8, 50); t <= AT(15, 30); t += 61 * ST_SEC)
        st_simmkt_advance(lazy2, sym, t, digest, &b);
    st_simmkt_advance(lazy2, sym, AT(15, 30), digest, &b);
    assert_int_equal(a.h, b.h);
    assert_int_equal(a.n, b.n);
    st_simmkt_advance(lazy, sym, AT(15, 30), NULL, NULL);
    assert_true(st_simmkt_sym(lazy, sym)->price == st_simmkt_sym(eager, sym)->price);
    st_simmkt_destroy(eager);
    st_simmkt_destroy(lazy);
    st_simmkt_destroy(lazy2);
}

typedef struct {
    st_simmkt_t *m;
    const st_instrument_t *ins;
    double prev_close;
    size_t n;
    st_time_t last_t;
    bool last_halted;
    size_t per_slot[6]; /* golden, morning, lunch_a, lunch_b, afternoon, closing */
    size_t violations;
    size_t halts_seen, auction_after_halt;
} check_t;

static int slot_of(st_time_t t)
{
    st_dur_t tod = t - MID;
    if (tod < 9 * ST_HOUR + 30 * ST_MIN) return 0;
    if (tod < 11 * ST_HOUR + 30 * ST_MIN) return 1;
    if (tod < 13 * ST_HOUR) return 2;
    if (tod < 14 * ST_HOUR) return 3;
    if (tod < 14 * ST_HOUR + 50 * ST_MIN) return 4;
    return 5;
}

static void check_tick(const st_tick_t *t, void *ctx)
{
    check_t *c = ctx;
    const st_trade_t *tr = &t->u.trade;
    st_dur_t tod = t->venue_time - MID;
    bool bad = false;
    bad |= t->kind != ST_TICK_TRADE || t->sym != c->ins->sym;
    bad |= t->venue_time < c->last_t;
    bad |= tod < 9 * ST_HOUR; /* nothing before the open */
    bad |= tod > 15 * ST_HOUR + 20 * ST_MIN && tod != 15 * ST_HOUR + 30 * ST_MIN; /* closing auction */
    if (c->n == 0) bad |= !(t->flags & ST_TICK_AUCTION) || tod != 9 * ST_HOUR; /* opening print */
    if (tod == 15 * ST_HOUR + 30 * ST_MIN) bad |= !(t->flags & ST_TICK_AUCTION);
    bad |= tr->volume < 1 || tr->price <= 0;
    if (c->ins->market != ST_MKT_INDEX) {
        double tick = st_krx_tick_size(tr->price);
        bad |= fabs(fmod(tr->price, tick)) > 1e-9;                  /* on the tick grid */
        bad |= fabs(tr->price / c->prev_close - 1) > 0.30 + 1e-9;   /* daily price limit */
    }
    bad |= tr->high < tr->price || tr->low > tr->price;
    if (c->last_halted) {
        c->auction_after_halt += (t->flags & ST_TICK_AUCTION) && t->venue_time - c->last_t == 2 * ST_MIN;
    }
    c->last_halted = t->flags & ST_TICK_HALTED;
    c->halts_seen += c->last_halted;
    if (tod < 15 * ST_HOUR + 20 * ST_MIN) c->per_slot[slot_of(t->venue_time)]++;
    c->violations += bad;
    c->last_t = t->venue_time;
    c->n++;
}

/* A whole day over the demo universe: session structure, price rules, the intraday activity
 * profile, opening gaps, bursts and halts are all present. */
static void test_day_microstructure(void **state)
{
    st_simmkt_params_t p = params(20261123);
    st_simmkt_t *m = st_simmkt_create(&p, &uni, AT(8, 50));
    size_t gaps_big = 0, total = 0, halts = 0, auctions_after_halts = 0;
    size_t slot[6] = {0};
    for (size_t i = 0; i < uni.n; i++) {
        check_t c = {.m = m, .ins = &uni.items[i], .prev_close = st_simmkt_sym(m, uni.items[i].sym)->prev_close};
        st_simmkt_advance(m, uni.items[i].sym, AT(16, 0), check_tick, &c);
        assert_int_equal(c.violations, 0);
        const st_simmkt_sym_t *s = st_simmkt_sym(m, uni.items[i].sym);
        gaps_big += fabs(s->gap) >= 0.03;
        assert_true(s->open > 0);
        total += c.n;
        halts += c.halts_seen;
        auctions_after_halts += c.auction_after_halt;
        for (int k = 0; k < 6; k++) slot[k] += c.per_slot[k];
    }
    st_simmkt_stats_t st;
    st_simmkt_stats(m, &st);
    assert_int_equal(st.trades, total);
    /* Gaps: a few percent of symbols, not most of them. */
    assert_true(gaps_big >= 5 && gaps_big <= uni.n / 5);
    assert_true(st.bursts > 0 && st.momentum_runs > 0 && st.shocks > 0);
    /* Halts: each VI is followed, 2 minutes later, by a single-price print. */
    assert_true(halts > 0);
    assert_int_equal(st.halts, halts);
    assert_true(auctions_after_halts > 0 && auctions_after_halts <= halts);
    /* Per-minute activity: golden time > morning > lunch lull < closing surge. */
    double per_min[6] = {slot[0] / 30.0, slot[1] / 120.0, slot[2] / 90.0,
                         slot[3] / 60.0, slot[4] / 50.0, slot[5] / 30.0};
    assert_true(per_min[0] > per_min[1]);
    assert_true(per_min[1] > per_min[2]);
    assert_true(per_min[5] > per_min[2] * 2);
    assert_true(per_min[5] > per_min[4]);
    st_simmkt_destroy(m);
}

static void test_book_and_snapshot(void **state)
{
    st_simmkt_params_t p = params(1);
    st_simmkt_t *m = st_simmkt_create(&p, &uni, AT(8, 50));
    st_sym_t sym = st_symtab_find(&syms, "005930", 6);
    st_tick_t snap, book;
    st_simmkt_snapshot(m, sym, AT(10, 0), &snap);
    assert_int_equal(snap.kind, ST_TICK_SNAPSHOT);
    assert_true(snap.u.trade.price == st_simmkt_sym(m, sym)->price);
    assert_true(snap.u.trade.cum_volume > 0);
    st_simmkt_book(m, sym, AT(10, 0), &book);
    assert_int_equal(book.kind, ST_TICK_ORDERBOOK);
    const st_book_t *b = &book.u.book;
    assert_true(b->ask[0] > b->bid[0]);
    double tick = st_krx_tick_size(b->bid[0]);
    double tot_a = 0, tot_b = 0;
    for (int i = 0; i < ST_BOOK_DEPTH; i++) {
        if (i) {
            assert_true(b->ask[i] > b->ask[i - 1]);
            assert_true(b->bid[i] < b->bid[i - 1]);
        }
        assert_true(fabs(fmod(b->bid[i], st_krx_tick_size(b->bid[i]))) < 1e-9);
        assert_true(b->ask_qty[i] >= 0 && b->bid_qty[i] >= 0);
        tot_a += b->ask_qty[i];
        tot_b += b->bid_qty[i];
    }
    assert_true(b->ask[0] - b->bid[0] <= 2 * tick + 1e-9);
    assert_true(tot_a == b->total_ask_qty && tot_b == b->total_bid_qty);
    st_tick_t again;
    st_simmkt_book(m, sym, AT(10, 0), &again);
    assert_memory_equal(&book, &again, sizeof(book)); /* a pure function of state and time */
    st_simmkt_destroy(m);
}

static void test_next_day_rolls(void **state)
{
    st_simmkt_params_t p = params(3);
    st_simmkt_t *m = st_simmkt_create(&p, &uni, AT(8, 50));
    st_sym_t sym = uni.items[0].sym;
    st_simmkt_advance(m, sym, AT(16, 0), NULL, NULL);
    double close = st_simmkt_sym(m, sym)->price;
    assert_true(st_simmkt_next_event(m, sym) == AT(24 + 9, 0));
    st_tick_t snap; /* the next morning before the open: no trade today yet, yesterday's close */
    st_simmkt_snapshot(m, sym, AT(24 + 8, 0), &snap);
    assert_true(snap.u.trade.open == 0 && snap.u.trade.cum_volume == 0);
    assert_true(snap.u.trade.prev_close == close && snap.u.trade.price == close);
    st_simmkt_snapshot(m, sym, AT(15, 50), &snap); /* the same day after the close: its fields */
    assert_true(snap.u.trade.open > 0 && snap.u.trade.cum_volume > 0);
    st_simmkt_advance(m, sym, AT(24 + 9, 0), NULL, NULL);
    const st_simmkt_sym_t *s = st_simmkt_sym(m, sym);
    assert_true(s->prev_close == close);
    assert_int_equal(s->trades_today, 1); /* the next day's opening print */
    assert_int_equal(st_simmkt_next_event(m, 999999), ST_TIME_NEVER);
    st_simmkt_destroy(m);
}

/* The local midnight (KST) of a date. */
static st_time_t kst_day(int y, int m, int d)
{
    return (st_time_t)st_civil_day(y, m, d) * ST_DAY - 9 * ST_HOUR;
}

typedef struct {
    st_time_t first[8], last[8]; /* per day from the first one */
    size_t n[8];
    st_time_t day0;
} by_day_t;

static void count_day(const st_tick_t *t, void *ctx)
{
    by_day_t *b = ctx;
    size_t i = (size_t)((t->venue_time - b->day0) / ST_DAY);
    if (i >= 8) return;
    if (!b->n[i]++) b->first[i] = t->venue_time;
    b->last[i] = t->venue_time;
}

/* The market trades the calendar's days: nothing over Chuseok 2026 (Thursday 24 to the weekend),
 * Monday's open at 09:00 from Wednesday's close; on the exam day (2026-11-19) the opening print
 * is at 10:00 and the closing one at 16:30. */
static void test_follows_the_calendar(void **state)
{
    st_arena_t *a = st_arena_create(0);
    st_diags_t d;
    st_diags_init(&d);
    st_simmkt_params_t p = params(9);
    st_session_t reg = {p.pre_open, p.open, p.closing_auction, p.close};
    st_calendar_t cal;
    assert_int_equal(st_calendar_load("krx", &reg, a, &cal, &d), 0);
    p.calendar = &cal;
    st_sym_t sym = uni.items[0].sym; /* a liquid stock: trades every day it can */
    by_day_t b = {.day0 = kst_day(2026, 9, 23)};
    st_simmkt_t *m = st_simmkt_create(&p, &uni, b.day0 + 8 * ST_HOUR + 50 * ST_MIN);
    st_simmkt_advance(m, sym, b.day0 + 6 * ST_DAY - ST_SEC, count_day, &b);
    assert_true(b.n[0] > 10);
    for (int i = 1; i <= 4; i++) assert_int_equal(b.n[i], 0); /* Chuseok Thu, Fri; Sat, Sun */
    assert_true(b.n[5] > 10);
    assert_true(b.first[5] == b.day0 + 5 * ST_DAY + 9 * ST_HOUR);
    assert_true(st_simmkt_sym(m, sym)->prev_close > 0);
    st_simmkt_destroy(m);

    by_day_t e = {.day0 = kst_day(2026, 11, 19)};
    m = st_simmkt_create(&p, &uni, e.day0 + 8 * ST_HOUR + 50 * ST_MIN);
    st_simmkt_advance(m, sym, e.day0 + ST_DAY - ST_SEC, count_day, &e);
    assert_true(e.first[0] == e.day0 + 10 * ST_HOUR);
    assert_true(e.last[0] == e.day0 + 16 * ST_HOUR + 30 * ST_MIN);
    st_simmkt_destroy(m);
    st_diags_free(&d);
    st_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic_per_seed),
        cmocka_unit_test(test_lazy_equals_eager),
        cmocka_unit_test(test_day_microstructure),
        cmocka_unit_test(test_book_and_snapshot),
        cmocka_unit_test(test_next_day_rolls),
        cmocka_unit_test(test_follows_the_calendar),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
