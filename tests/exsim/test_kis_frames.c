/* Issue 18.5: strata-exsim writes KIS data frames with an encoder of its own, from the venue's
 * field lists by name (tools/exsim/kis_frames.c); strata itself only decodes. Over an hour of the
 * simulated demo market — trades in batches of up to 20, halts, auctions, orderbooks — exsim's
 * frames are byte for byte those of a second encoder written independently (by field index:
 * tests/feeds/kis_encode.c, the one strata carried before), and strata's decoder reads them back to the ticks: a
 * field misplaced in either encoder, or misread by the decoder, fails here. */
#include "../test.h"

#include "exsim.h"
#include "feeds/kis_codec.h"
#include "../feeds/kis_encode.h"

#define MID ((st_time_t)1795359600 * ST_SEC) /* 2026-11-23 00:00 KST */

typedef struct {
    st_tick_t t[20];
    int n;
} trades_t;

static void take(const st_tick_t *t, void *ctx)
{
    trades_t *b = ctx;
    if (b->n < 20) b->t[b->n++] = *t;
}

typedef struct {
    const st_tick_t *want;
    int seen;
} check_t;

static int on_record(const st_kis_record_t *r, void *ctx)
{
    check_t *c = ctx;
    const st_tick_t *w = &c->want[c->seen++];
    assert_int_equal(r->tick.kind, w->kind);
    if (w->kind == ST_TICK_TRADE) {
        assert_true(r->tick.u.trade.price == w->u.trade.price && r->tick.u.trade.volume == w->u.trade.volume);
        assert_true(r->tick.u.trade.cum_volume == w->u.trade.cum_volume);
        assert_true(r->tick.u.trade.prev_close == w->u.trade.prev_close);
    } else {
        assert_true(r->tick.u.book.ask[9] == w->u.book.ask[9] && r->tick.u.book.bid_qty[0] == w->u.book.bid_qty[0]);
    }
    return 0;
}

static void decodes_to(const char *frame, size_t len, const st_tick_t *want, int n)
{
    st_kis_frame_t f;
    assert_int_equal(st_kis_frame_parse(frame, len, &f), 0);
    check_t c = {want, 0};
    assert_int_equal(st_kis_decode(&f, 9 * 3600, want[0].venue_time, on_record, &c), n);
    assert_int_equal(c.seen, n);
}

static void test_same_bytes_as_strata(void **state)
{
    st_symtab_t syms;
    st_symtab_init(&syms);
    st_arena_t *arena = st_arena_create(0);
    st_diags_t d;
    st_diags_init(&d);
    st_universe_t uni;
    assert_int_equal(st_universe_load(&uni, st_test_source_path("config/universe.csv"), "", &syms, arena, &d), 0);
    st_diags_free(&d);
    st_simmkt_params_t p = {.seed = 7, .activity = 1, .volatility = 1, .halt_rate = 5,
                            .pre_open = 8 * ST_HOUR + 30 * ST_MIN, .open = 9 * ST_HOUR,
                            .closing_auction = 15 * ST_HOUR + 20 * ST_MIN, .close = 15 * ST_HOUR + 30 * ST_MIN,
                            .utc_offset = 9 * 3600};
    st_simmkt_t *m = st_simmkt_create(&p, &uni, MID + 8 * ST_HOUR + 50 * ST_MIN);
    static char a[65536], b[65536];
    size_t frames = 0, books = 0;
    for (size_t i = 0; i < uni.n; i++) {
        const st_instrument_t *ins = &uni.items[i];
        for (;;) {
            trades_t t = {.n = 0};
            st_time_t until = MID + 9 * ST_HOUR + 50 * ST_MIN;
            while (t.n < 20 && st_simmkt_next_event(m, ins->sym) <= until)
                st_simmkt_advance(m, ins->sym, st_simmkt_next_event(m, ins->sym), take, &t);
            if (!t.n) break;
            const char *codes[20];
            for (int k = 0; k < t.n; k++) codes[k] = ins->code;
            size_t la = st_kis_encode_trades(a, sizeof(a), t.t, codes, (size_t)t.n, 9 * 3600);
            size_t lb = ex_kis_trades_frame(b, sizeof(b), "H0STCNT0", t.t, ins->code, (size_t)t.n, 9 * 3600);
            assert_true(la > 0);
            if (la != lb || memcmp(a, b, la) != 0) printf("# strata: %.*s\n# exsim:  %.*s\n", (int)la, a, (int)lb, b);
            assert_int_equal(lb, la);
            assert_memory_equal(b, a, la);
            decodes_to(b, lb, t.t, t.n);
            frames++;
            st_tick_t book;
            st_simmkt_book(m, ins->sym, t.t[t.n - 1].venue_time, &book);
            la = st_kis_encode_book(a, sizeof(a), &book, ins->code, 9 * 3600);
            lb = ex_kis_book_frame(b, sizeof(b), &book, ins->code, 9 * 3600);
            assert_int_equal(lb, la);
            assert_memory_equal(b, a, la);
            decodes_to(b, lb, &book, 1);
            books++;
            if (t.n < 20) break;
        }
    }
    printf("# %zu trade frames and %zu orderbooks: the same bytes\n", frames, books);
    assert_true(frames > 1000);
    st_simmkt_destroy(m);
    st_arena_destroy(arena);
    st_symtab_free(&syms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_as_strata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
