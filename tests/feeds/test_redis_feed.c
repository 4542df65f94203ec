/* kind: redis against a real Redis (issue 22.2): a stream written as outputs.redis writes it
 * (the same codec) is read back as ticks equal to those written, in order; entries of symbols
 * outside the universe are counted and skipped, malformed ones counted and skipped; `from: "$"`
 * starts after what is already there and misses nothing written after the start. */
#include "../test.h"
#include "../redis_server.h"

#include "conf/config.h"
#include "core/log.h"
#include "feeds/feed.h"
#include "feeds/redistick.h"
#include "market/universe.h"

#include <ev.h>

static st_test_redis_t redis;

typedef struct {
    struct ev_loop *loop;
    st_clock_t clock;
    st_symtab_t syms;
    st_arena_t *arena;
    st_universe_t uni;
    st_config_t *cfg;
    st_feed_t *feed;
    st_tick_t got[1024];
    char codes[1024][16];
    size_t n;
} h_t;

static void on_tick(const st_tick_t *t, void *ctx)
{
    h_t *h = ctx;
    if (h->n < 1024) {
        h->got[h->n] = *t;
        snprintf(h->codes[h->n], sizeof(h->codes[0]), "%s", st_symtab_code(&h->syms, t->sym));
        h->n++;
    }
}

static void on_refused(st_feed_t *f, int conn, st_sym_t sym, int ack, int cap, void *ctx) {}

static h_t *open_feed(const char *stream, const char *from)
{
    h_t *h = calloc(1, sizeof(*h));
    h->loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_init_wall(&h->clock, h->loop);
    st_symtab_init(&h->syms);
    h->arena = st_arena_create(0);
    st_diags_t d;
    st_diags_init(&d);
    assert_int_equal(st_universe_load(&h->uni, st_test_source_path("config/universe.csv"), "", &h->syms, h->arena, &d),
                     0);
    char text[1024];
    snprintf(text, sizeof(text),
             "market: {universe: %s, indices: \"\"}\n"
             "feeds:\n  - {name: remote, kind: redis, stream_url: \"redis://127.0.0.1:%d/0\", stream: %s, from: \"%s\","
             " reconnect_max: 1s}\n",
             st_test_source_path("config/universe.csv"), redis.port, stream, from);
    int rc = st_config_parse("t.yaml", text, strlen(text), &h->cfg, &d);
    for (size_t i = 0; i < d.n; i++) printf("# %s\n", d.items[i].msg);
    assert_int_equal(rc, 0);
    st_diags_free(&d);
    st_feed_env_t env = {&h->clock, &h->uni, &h->syms, h->cfg, on_tick, h, on_refused, NULL, NULL};
    char err[256] = "";
    assert_int_equal(st_feed_create(ST_LIST_AT(h->cfg->feeds, st_feed_cfg_t, 0), 0, &env, &h->feed, err, sizeof(err)),
                     0);
    assert_int_equal(st_feed_start(h->feed), 0);
    return h;
}

static void close_feed(h_t *h)
{
    st_feed_destroy(h->feed);
    st_config_free(h->cfg);
    st_clock_free(&h->clock);
    ev_loop_destroy(h->loop);
    st_arena_destroy(h->arena);
    st_symtab_free(&h->syms);
    free(h);
}

/* Runs the loop until n ticks came (a hang guard of 30 s, not a timing). */
static void run_until(h_t *h, size_t n)
{
    for (ev_tstamp end = ev_time() + 30; h->n < n && ev_time() < end;) ev_run(h->loop, EVRUN_ONCE);
    assert_int_equal(h->n, n);
}

/* XADDs a tick as outputs.redis does. */
static void publish(redisContext *c, const char *stream, const st_tick_t *t, const char *code)
{
    st_redistick_t e;
    st_redistick_encode(t, code, &e);
    const char *argv[4 + 2 * ST_REDISTICK_MAX_FIELDS] = {"XADD", stream, "*"};
    size_t lens[4 + 2 * ST_REDISTICK_MAX_FIELDS] = {4, strlen(stream), 1};
    int argc = 3;
    for (size_t i = 0; i < e.n; i++) {
        argv[argc] = e.name[i], lens[argc++] = strlen(e.name[i]);
        argv[argc] = e.value[i], lens[argc++] = e.len[i];
    }
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
}

static st_tick_t make(int i)
{
    st_tick_t t = {.kind = i % 3 == 2 ? ST_TICK_ORDERBOOK : ST_TICK_TRADE, .venue_time = 1795395600000000 + i * 1000};
    if (t.kind == ST_TICK_TRADE) {
        t.u.trade = (st_trade_t){.price = 70000 + i * 100, .volume = 1 + i % 7, .side = ST_SIDE_BUY, .open = 70000,
                                 .high = 90000, .low = 69000, .prev_close = 69500, .cum_volume = 1000 + i,
                                 .best_bid = 69900 + i * 100, .best_ask = 70000 + i * 100};
    } else {
        for (int l = 0; l < ST_BOOK_DEPTH; l++)
            t.u.book.ask[l] = 70100 + l * 100 + i, t.u.book.bid[l] = 70000 - l * 100 + i, t.u.book.ask_qty[l] = l + 1,
            t.u.book.bid_qty[l] = 2 * l + 1;
    }
    return t;
}

static const char *const codes[] = {"005930", "000660", "005380"};

static void test_reads_the_stream_back(void **state)
{
    redisContext *c = st_test_redis_client(&redis);
    char stream[64];
    snprintf(stream, sizeof(stream), "t%d:ticks:kis", (int)getpid());
    size_t want = 0;
    st_tick_t sent[400];
    for (int i = 0; i < 300; i++) {
        st_tick_t t = make(i);
        publish(c, stream, &t, codes[i % 3]);
        sent[want++] = t;
        if (i % 30 == 0) publish(c, stream, &t, "999999"); /* not in the universe */
        if (i % 50 == 0) {                                  /* malformed: no time */
            redisReply *r = redisCommand(c, "XADD %s * sym 005930 kind trade price 1", stream);
            freeReplyObject(r);
        }
    }
    h_t *h = open_feed(stream, "0");
    run_until(h, want);
    for (size_t i = 0; i < want; i++) {
        assert_string_equal(h->codes[i], codes[i % 3]);
        st_tick_t g = h->got[i];
        assert_int_equal(g.feed, 0);
        g.sym = 0, g.recv_time = 0;
        assert_memory_equal(&g, &sent[i], sizeof(g)); /* (make() leaves sym, feed, recv_time 0) */
    }
    st_feed_stats_t fs;
    st_feed_stats(h->feed, &fs);
    assert_int_equal(fs.ticks_delivered, want);
    assert_int_equal(fs.malformed, 6);
    assert_int_equal(fs.sessions_open, 1);
    close_feed(h);
    redisFree(c);
}

static void test_from_now_on(void **state)
{
    redisContext *c = st_test_redis_client(&redis);
    char stream[64];
    snprintf(stream, sizeof(stream), "t%d:ticks:now", (int)getpid());
    for (int i = 0; i < 20; i++) {
        st_tick_t t = make(i);
        publish(c, stream, &t, "005930"); /* history: not for a reader from "$" */
    }
    h_t *h = open_feed(stream, "$");
    /* until the feed waits in XREAD (it has taken "$" as the stream's end): a condition, not a delay */
    bool blocked = false;
    for (ev_tstamp end = ev_time() + 30; !blocked && ev_time() < end;) {
        ev_run(h->loop, EVRUN_NOWAIT);
        redisReply *r = redisCommand(c, "CLIENT LIST");
        blocked = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "cmd=xread") != NULL;
        if (r) freeReplyObject(r);
    }
    assert_true(blocked);
    for (int i = 100; i < 110; i++) {
        st_tick_t t = make(i);
        publish(c, stream, &t, "000660");
    }
    run_until(h, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_string_equal(h->codes[i], "000660");
        assert_int_equal(h->got[i].venue_time, make(100 + (int)i).venue_time);
    }
    close_feed(h);
    redisFree(c);
}

static int setup(void **state)
{
    st_log_open(getenv("FEED_TEST_DEBUG") ? ST_LL_DEBUG : ST_LL_WARN, ST_LOG_TEXT, NULL);
    return st_test_redis_start(&redis) ? 0 : -1;
}

static int teardown(void **state)
{
    st_test_redis_stop(&redis);
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_the_stream_back),
        cmocka_unit_test(test_from_now_on),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
