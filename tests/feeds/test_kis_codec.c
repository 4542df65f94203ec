#include "../test.h"

#include "feeds/kis_codec.h"
#include "kis_encode.h"
#include "feeds/simmkt.h"

#include <errno.h>
#include <math.h>

#define KST (9 * 3600)
#define MID ((st_time_t)1795359600 * ST_SEC) /* 2026-11-23 00:00 KST */

typedef struct {
    st_kis_record_t r[64];
    int n;
} got_t;

static int collect(const st_kis_record_t *r, void *ctx)
{
    got_t *g = ctx;
    g->r[g->n++] = *r;
    return 0;
}

static void test_header(void **state)
{
    st_kis_frame_t f;
    const char *ok = "0|H0STCNT0|002|a^b";
    assert_int_equal(st_kis_frame_parse(ok, strlen(ok), &f), 0);
    assert_int_equal(f.tr, ST_KIS_TR_TRADE);
    assert_int_equal(f.count, 2);
    assert_false(f.encrypted);
    assert_int_equal(f.payload_len, 3);
    const char *js = "{\"header\":{\"tr_id\":\"PINGPONG\"}}";
    assert_int_equal(st_kis_frame_parse(js, strlen(js), &f), 1);
    const char *enc = "1|H0STCNI0|001|base64==";
    assert_int_equal(st_kis_frame_parse(enc, strlen(enc), &f), 0);
    assert_true(f.encrypted);
    assert_int_equal(f.tr, ST_KIS_TR_OTHER);
    assert_int_equal(st_kis_decode(&f, KST, MID, collect, &(got_t){0}), -EPROTO);
    const char *bad[] = {"", "2|H0STCNT0|001|x", "0H0STCNT0|001|x", "0|H0STCNT0", "0||001|x",
                         "0|H0STCNT0|000|x", "0|H0STCNT0|0x1|x", "0|H0STCNT0|12345|x", "0|H0STCNT0||x"};
    for (size_t i = 0; i < ST_ARRAY_SIZE(bad); i++)
        assert_int_equal(st_kis_frame_parse(bad[i], strlen(bad[i]), &f), -EPROTO);
}

/* A frame laid out as KIS sends it (46 fields, real-looking values). */
static void test_decode_known_frame(void **state)
{
    const char *frame =
        "0|H0STCNT0|001|005930^123929^73100^5^-500^-0.68^73258.51^73900^74000^72800^73100^73000"
        "^12^8456281^619384512000^12345^15432^3087^105.23^423512^445678^5^51.23^78.12^090000^5^-800"
        "^093211^5^-900^101502^2^300^20261123^20^N^1200^850^412345^398210^0.14^9012345^93.81^0^^0";
    st_kis_frame_t f;
    assert_int_equal(st_kis_frame_parse(frame, strlen(frame), &f), 0);
    got_t g = {0};
    assert_int_equal(st_kis_decode(&f, KST, MID, collect, &g), 1);
    const st_kis_record_t *r = &g.r[0];
    assert_int_equal(r->code_len, 6);
    assert_memory_equal(r->code, "005930", 6);
    const st_trade_t *t = &r->tick.u.trade;
    assert_int_equal(r->tick.kind, ST_TICK_TRADE);
    assert_true(t->price == 73100 && t->prev_close == 73600);
    assert_true(t->open == 73900 && t->high == 74000 && t->low == 72800);
    assert_true(t->best_ask == 73100 && t->best_bid == 73000);
    assert_true(t->volume == 12 && t->cum_volume == 8456281 && t->cum_value == 619384512000.0);
    assert_int_equal(t->side, ST_SIDE_SELL);
    assert_int_equal(r->tick.venue_time, MID + 12 * ST_HOUR + 39 * ST_MIN + 29 * ST_SEC);
    assert_int_equal(r->tick.flags, 0);
}

static st_symtab_t syms;
static st_arena_t *arena;
static st_universe_t uni;

static int setup(void **state)
{
    st_symtab_init(&syms);
    arena = st_arena_create(0);
    st_diags_t d;
    st_diags_init(&d);
    int rc = st_universe_load(&uni, st_test_source_path("config/universe.csv"), "", &syms, arena, &d);
    st_diags_free(&d);
    return rc;
}

static int teardown(void **state)
{
    st_arena_destroy(arena);
    st_symtab_free(&syms);
    return 0;
}

typedef struct {
    st_tick_t t[64];
    int n;
} ticks_t;

static void keep(const st_tick_t *t, void *ctx)
{
    ticks_t *k = ctx;
    if (k->n < 64) k->t[k->n++] = *t;
}

/* Simulated trades of several symbols, encoded as one multi-record frame and decoded back:
 * every field strata uses survives (times to the second, as KIS sends them). */
static void test_round_trip_trades(void **state)
{
    st_simmkt_params_t p = {.seed = 5, .activity = 1, .volatility = 1, .halt_rate = 1,
                            .pre_open = 8 * ST_HOUR + 30 * ST_MIN, .open = 9 * ST_HOUR,
                            .closing_auction = 15 * ST_HOUR + 20 * ST_MIN,
                            .close = 15 * ST_HOUR + 30 * ST_MIN, .utc_offset = KST};
    st_simmkt_t *m = st_simmkt_create(&p, &uni, MID + 8 * ST_HOUR);
    ticks_t k = {0};
    const char *codes[64];
    for (size_t i = 0; i < uni.n && k.n < 20; i++) {
        int before = k.n;
        st_simmkt_advance(m, uni.items[i].sym, MID + 9 * ST_HOUR + 10 * ST_MIN, keep, &k);
        for (int j = before; j < k.n; j++) codes[j] = uni.items[i].code;
    }
    assert_true(k.n >= 20);
    char buf[65536];
    size_t len = st_kis_encode_trades(buf, sizeof(buf), k.t, codes, (size_t)k.n, KST);
    assert_true(len > 0);
    st_kis_frame_t f;
    assert_int_equal(st_kis_frame_parse(buf, len, &f), 0);
    assert_int_equal(f.count, k.n);
    got_t g = {0};
    assert_int_equal(st_kis_decode(&f, KST, MID, collect, &g), k.n);
    for (int i = 0; i < k.n; i++) {
        const st_trade_t *a = &k.t[i].u.trade, *b = &g.r[i].tick.u.trade;
        assert_int_equal(g.r[i].code_len, strlen(codes[i]));
        assert_memory_equal(g.r[i].code, codes[i], g.r[i].code_len);
        assert_true(a->price == b->price && a->volume == b->volume);
        assert_true(a->open == b->open && a->high == b->high && a->low == b->low);
        assert_true(a->prev_close == b->prev_close);
        assert_true(a->best_bid == b->best_bid && a->best_ask == b->best_ask);
        assert_true(a->cum_volume == b->cum_volume && fabs(a->cum_value - b->cum_value) < 0.5);
        assert_int_equal(g.r[i].tick.venue_time, k.t[i].venue_time / ST_SEC * ST_SEC);
        assert_int_equal(g.r[i].tick.flags & ST_TICK_HALTED, k.t[i].flags & ST_TICK_HALTED);
        if (!(k.t[i].flags & ST_TICK_AUCTION)) assert_int_equal(a->side == ST_SIDE_SELL, b->side == ST_SIDE_SELL);
    }
    /* The buffer too small: nothing rather than a truncated frame. */
    assert_int_equal(st_kis_encode_trades(buf, 100, k.t, codes, (size_t)k.n, KST), 0);
    st_simmkt_destroy(m);
}

static void test_round_trip_book(void **state)
{
    st_simmkt_params_t p = {.seed = 5, .activity = 1, .volatility = 1, .halt_rate = 1,
                            .pre_open = 8 * ST_HOUR + 30 * ST_MIN, .open = 9 * ST_HOUR,
                            .closing_auction = 15 * ST_HOUR + 20 * ST_MIN,
                            .close = 15 * ST_HOUR + 30 * ST_MIN, .utc_offset = KST};
    st_simmkt_t *m = st_simmkt_create(&p, &uni, MID + 8 * ST_HOUR);
    st_tick_t book;
    st_time_t at = MID + 10 * ST_HOUR + 5 * ST_SEC;
    st_simmkt_advance(m, uni.items[0].sym, at, NULL, NULL);
    st_simmkt_book(m, uni.items[0].sym, at, &book);
    char buf[4096];
    size_t len = st_kis_encode_book(buf, sizeof(buf), &book, uni.items[0].code, KST);
    st_kis_frame_t f;
    assert_int_equal(st_kis_frame_parse(buf, len, &f), 0);
    assert_int_equal(f.tr, ST_KIS_TR_BOOK);
    got_t g = {0};
    assert_int_equal(st_kis_decode(&f, KST, at + 3 * ST_SEC, collect, &g), 1);
    const st_book_t *a = &book.u.book, *b = &g.r[0].tick.u.book;
    for (int i = 0; i < ST_BOOK_DEPTH; i++) {
        assert_true(a->ask[i] == b->ask[i] && a->bid[i] == b->bid[i]);
        assert_true(a->ask_qty[i] == b->ask_qty[i] && a->bid_qty[i] == b->bid_qty[i]);
    }
    assert_true(a->total_ask_qty == b->total_ask_qty && a->total_bid_qty == b->total_bid_qty);
    assert_int_equal(g.r[0].tick.venue_time, at); /* the day from the receive time */
    st_simmkt_destroy(m);
}

static void test_malformed_payloads(void **state)
{
    char good[2048];
    st_tick_t t;
    memset(&t, 0, sizeof(t));
    t.kind = ST_TICK_TRADE;
    t.venue_time = MID + 10 * ST_HOUR;
    t.u.trade = (st_trade_t){.price = 1000, .volume = 1, .open = 990, .high = 1010, .low = 980,
                             .prev_close = 995, .cum_volume = 10, .cum_value = 10000,
                             .best_bid = 999, .best_ask = 1000, .side = ST_SIDE_BUY};
    const char *code = "000660";
    size_t len = st_kis_encode_trades(good, sizeof(good), &t, &code, 1, KST);
    st_kis_frame_t f;
    got_t g = {0};
    assert_int_equal(st_kis_frame_parse(good, len, &f), 0);
    assert_int_equal(st_kis_decode(&f, KST, MID, collect, &g), 1);

    char bad[2048];
    /* One field short. */
    memcpy(bad, good, len);
    size_t cut = (size_t)(strrchr(good, '^') - good);
    st_kis_frame_parse(bad, cut, &f);
    assert_int_equal(st_kis_decode(&f, KST, MID, collect, &g), -EPROTO);
    /* One field too many. */
    snprintf(bad, sizeof(bad), "%.*s^9", (int)len, good);
    st_kis_frame_parse(bad, strlen(bad), &f);
    assert_int_equal(st_kis_decode(&f, KST, MID, collect, &g), -EPROTO);
    /* Announced two records, carries one. */
    memcpy(bad, good, len);
    bad[13] = '2';
    st_kis_frame_parse(bad, len, &f);
    assert_int_equal(st_kis_decode(&f, KST, MID, collect, &g), -EPROTO);
    /* A price that is not a number: the third field, after code and time. */
    memcpy(bad, good, len);
    char *price = strchr(strchr(bad + 15, '^') + 1, '^') + 1;
    assert_memory_equal(price, "1000^", 5);
    price[1] = 'x';
    st_kis_frame_parse(bad, len, &f);
    assert_int_equal(st_kis_decode(&f, KST, MID, collect, &g), -EPROTO);
    /* Found by fuzz_kis_frame: 19 or more integer digits overflowed the number parser. */
    snprintf(bad, sizeof(bad), "0|H0STCNT0|001|000660^100000^71111111111111111113%s",
             strchr(strchr(strchr(good + 15, '^') + 1, '^') + 1, '^'));
    st_kis_frame_parse(bad, strlen(bad), &f);
    assert_int_equal(st_kis_decode(&f, KST, MID, collect, &g), -EPROTO);
}

#include "subs/ledger.h"

static void msg(const char *text, st_kis_msg_kind_t kind, int ack, const char *tr_key)
{
    st_kis_msg_t m;
    assert_int_equal(st_kis_msg_parse(text, strlen(text), &m), 0);
    assert_int_equal(m.kind, kind);
    if (kind == ST_KIS_MSG_ACK) assert_int_equal(m.ack, ack);
    if (tr_key) assert_string_equal(m.tr_key, tr_key);
}

/* The control messages as captured from KIS (docs/protocols.md), each to its answer. */
static void test_control_messages(void **state)
{
    msg("{\"header\":{\"tr_id\":\"H0STCNT0\",\"tr_key\":\"005930\",\"encrypt\":\"N\"},"
        "\"body\":{\"rt_cd\":\"0\",\"msg_cd\":\"OPSP0000\",\"msg1\":\"SUBSCRIBE SUCCESS\","
        "\"output\":{\"iv\":\"55ce3d099479ce11\",\"key\":\"tvldhmfplvgcovaqrspclzhdotfzzequ\"}}}",
        ST_KIS_MSG_ACK, ST_ACK_SUBSCRIBED, "005930");
    msg("{\"header\":{\"tr_id\":\"H0STCNT0\",\"tr_key\":\"005930\"},\"body\":{\"rt_cd\":\"1\",\"msg_cd\":\"OPSP0002\","
        "\"msg1\":\"ALREADY IN SUBSCRIBE\"}}",
        ST_KIS_MSG_ACK, ST_ACK_SUBSCRIBED, "005930");
    msg("{\"header\":{\"tr_id\":\"H0STASP0\",\"tr_key\":\"000660\"},\"body\":{\"rt_cd\":\"1\",\"msg_cd\":\"OPSP0008\","
        "\"msg1\":\"MAX SUBSCRIBE OVER\"}}",
        ST_KIS_MSG_ACK, ST_ACK_MAX_OVER, "000660");
    msg("{\"header\":{\"tr_id\":\"H0STCNT0\",\"tr_key\":\"000660\"},\"body\":{\"rt_cd\":\"0\",\"msg_cd\":\"OPSP0001\","
        "\"msg1\":\"UNSUBSCRIBE SUCCESS\"}}",
        ST_KIS_MSG_ACK, ST_ACK_UNSUBSCRIBED, NULL);
    msg("{\"header\":{\"tr_id\":\"H0STCNT0\",\"tr_key\":\"000660\"},\"body\":{\"rt_cd\":\"1\",\"msg_cd\":\"OPSP0003\","
        "\"msg1\":\"UNSUBSCRIBE ERROR (not found!)\"}}",
        ST_KIS_MSG_ACK, ST_ACK_UNSUBSCRIBED, NULL);
    msg("{\"header\":{\"tr_id\":\"H0STCNT0\",\"tr_key\":\"999999\"},\"body\":{\"rt_cd\":\"1\",\"msg_cd\":\"OPSP8992\","
        "\"msg1\":\"SUBSCRIBE ERROR : invalid tr_key\"}}",
        ST_KIS_MSG_ACK, ST_ACK_INVALID, "999999");
    msg("{\"header\":{\"tr_id\":\"H0STCNT0\",\"tr_key\":\"005930\"},\"body\":{\"rt_cd\":\"9\",\"msg_cd\":\"OPSP0007\","
        "\"msg1\":\"SUBSCRIBE INTERNAL ERROR\"}}",
        ST_KIS_MSG_ACK, ST_ACK_ERROR, NULL);
    msg("{\"header\":{\"tr_id\":\"H0STCNT0\",\"tr_key\":\"005930\"},\"body\":{\"rt_cd\":\"0\",\"msg_cd\":\"OPSP0099\","
        "\"msg1\":\"UNSUB DONE\"}}",
        ST_KIS_MSG_ACK, ST_ACK_UNSUBSCRIBED, NULL);
    msg("{\"header\":{\"tr_id\":\"PINGPONG\",\"datetime\":\"20261123100000\"}}", ST_KIS_MSG_PINGPONG, 0, NULL);
    msg("{\"something\":\"else\"}", ST_KIS_MSG_OTHER, 0, NULL);
    st_kis_msg_t m;
    assert_int_equal(st_kis_msg_parse("{not json", 9, &m), -EPROTO);
    assert_int_equal(st_kis_msg_parse("[1,2]", 5, &m), -EPROTO);
    /* An over-long message text is cut, not overflowed. */
    char big[512];
    snprintf(big, sizeof(big), "{\"header\":{\"tr_id\":\"H0STCNT0\",\"tr_key\":\"%0200d\"},\"body\":{\"rt_cd\":\"1\","
                               "\"msg_cd\":\"OPSP9999\",\"msg1\":\"%0200d\"}}", 1, 2);
    assert_int_equal(st_kis_msg_parse(big, strlen(big), &m), 0);
    assert_int_equal(strlen(m.tr_key), sizeof(m.tr_key) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_decode_known_frame),
        cmocka_unit_test(test_round_trip_trades),
        cmocka_unit_test(test_round_trip_book),
        cmocka_unit_test(test_malformed_payloads),
        cmocka_unit_test(test_control_messages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
