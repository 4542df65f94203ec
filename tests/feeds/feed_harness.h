/* A feed under test, in-process, against a strata-exsim child on loopback: the simulator and
 * a simulated clock at the same speed from the same start, a feed created from config text,
 * ticks collected, plan changes applied by hand, waits that are conditions with generous hang
 * guards (never timed assertions), and the simulator's accounting over HTTP. */
#ifndef ST_TEST_FEED_HARNESS_H
#define ST_TEST_FEED_HARNESS_H

#define _GNU_SOURCE /* memmem, strcasestr in wsclient.h */
#include "../test.h"

#include <math.h>
#include "../exsim/spawn.h"
#include "../exsim/wsclient.h"

#include "conf/config.h"
#include "core/log.h"
#include "core/res.h"
#include "core/timefmt.h"
#include "feeds/feed.h"
#include "feeds/wsconn.h"
#include "market/universe.h"
#include "ops/status.h"

#include <cjson/cJSON.h>
#include <ev.h>

#define START "2026-11-23 10:00"
#ifndef SPEED
#define SPEED "20"
#endif
#define GUARD 60.0 /* seconds of real time before a wait gives up (a hang, not a slow machine) */

typedef struct h h_t;
typedef bool (*pred_t)(h_t *h);

struct h {
    struct ev_loop *loop;
    st_clock_t clock;
    st_symtab_t syms;
    st_arena_t *arena;
    st_universe_t uni;
    st_config_t *cfg[2];
    st_feed_t *feed[2];
    int nfeeds;
    pid_t pid;
    int port;
    char dir[64];
    const char *universe, *indices;
    const char *venue; /* "kis" or "upbit": whose sessions venue_held reads */
    bool tls;          /* the simulator serves wss:// and https:// (--tls) */
    st_tick_t *ticks;
    st_time_t *walls; /* the wall-clock time each tick arrived */
    size_t nticks, cap;
    uint8_t tier[4096]; /* per symbol: the tier the test has asked for */
    ev_prepare check;
    ev_timer guard;
    pred_t pred;
    bool timed_out;
    size_t mark; /* tick count at some point, for "more ticks since" */
    int refused;  /* symbols the feed reported as refused or failing */
    st_sym_t watched; /* the symbol the outage tests follow */
    st_time_t until;  /* for h_clock_past */
    st_sym_t refused_sym;
    void (*after_tick)(const st_tick_t *t, void *ctx); /* after the tick is stamped (benchmarks) */
    void *after_ctx;
};

static inline void on_tick(const st_tick_t *t, void *ctx)
{
    h_t *h = ctx;
    if (h->nticks == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 4096;
        h->ticks = realloc(h->ticks, h->cap * sizeof(*h->ticks));
        h->walls = realloc(h->walls, h->cap * sizeof(*h->walls));
    }
    h->walls[h->nticks] = st_wall_now();
    h->ticks[h->nticks++] = *t;
    if (h->after_tick) h->after_tick(t, h->after_ctx); /* as the runtime publishes: after the strategies */
}

/* For main(): no SIGPIPE, warnings on stderr (FEED_TEST_DEBUG=1: everything), and
 * FEED_TEST_FILTER=pattern runs only the matching tests. */
static inline void h_setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    st_log_open(getenv("FEED_TEST_DEBUG") ? ST_LL_DEBUG : ST_LL_WARN, ST_LOG_TEXT, NULL);
    if (getenv("FEED_TEST_FILTER")) cmocka_set_test_filter(getenv("FEED_TEST_FILTER"));
}

static inline void on_refused_cb(st_feed_t *f, int conn, st_sym_t sym, int ack, int cap, void *ctx)
{
    h_t *h = ctx;
    h->refused++;
    h->refused_sym = sym;
}

static inline void on_check(struct ev_loop *loop, ev_prepare *w, int revents)
{
    h_t *h = w->data;
    if (h->pred && h->pred(h)) ev_break(loop, EVBREAK_ONE);
}

static inline void on_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
    h_t *h = w->data;
    h->timed_out = true;
    ev_break(loop, EVBREAK_ONE);
}

/* Runs the loop until pred holds; fails the test if it never does. */
static inline void run_until(h_t *h, pred_t pred, const char *what)
{
    h->pred = pred;
    h->timed_out = false;
    ev_timer_set(&h->guard, GUARD, 0);
    ev_timer_start(h->loop, &h->guard);
    while (!pred(h) && !h->timed_out) ev_run(h->loop, EVRUN_ONCE);
    ev_timer_stop(h->loop, &h->guard);
    if (h->timed_out) printf("# timed out waiting for: %s\n", what);
    assert_false(h->timed_out);
}

/* Adds a feed of `kind` named `name`, pointed at the simulator (ws_path: "/" for KIS,
 * "/websocket/v1" for Upbit), with `extra` YAML lines for the feed item. */
static inline void add_feed(h_t *h, const char *name, const char *kind, const char *ws_path, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "market: {universe: %s, indices: \"%s\"}\n"
             "runtime: {clock: {mode: simulated, start: \"" START "\", speed: " SPEED "}}\n"
             "feeds:\n  - name: %s\n    kind: %s\n    ws_url: %s://127.0.0.1:%d%s\n"
             "    rest_url: %s://127.0.0.1:%d\n%s%s",
             h->universe, h->indices, name, kind, h->tls ? "wss" : "ws", h->port, ws_path, h->tls ? "https" : "http",
             h->port,
             extra && strstr(extra, "reconnect_min") ? "" : "    reconnect_min: 200ms\n    reconnect_max: 2s\n",
             extra ? extra : "");
    h->venue = kind;
    st_diags_t d;
    st_diags_init(&d);
    int i = h->nfeeds++;
    int rc = st_config_parse("t.yaml", text, strlen(text), &h->cfg[i], &d);
    for (size_t k = 0; k < d.n; k++) printf("# %s:%d:%d: %s\n", d.items[k].file, d.items[k].line, d.items[k].col, d.items[k].msg);
    assert_int_equal(rc, 0);
    st_diags_free(&d);
    st_feed_env_t env = {&h->clock, &h->uni, &h->syms, h->cfg[i], on_tick, h, on_refused_cb, NULL, NULL}; /* network feeds: no calendar */
    char err[256] = "";
    assert_int_equal(st_feed_create(ST_LIST_AT(h->cfg[i]->feeds, st_feed_cfg_t, 0), (uint16_t)i, &env, &h->feed[i],
                                    err, sizeof(err)), 0);
    assert_int_equal(st_feed_start(h->feed[i]), 0);
}

/* Starts the simulator (with an extra option, or NULLs) and the clock, with the universe
 * files given; no feed yet. */
/* A second simulator option pair for the next h_open (NULL: none). */
static const char *h_opt2, *h_val2;

static inline h_t *h_open(const char *universe, const char *indices, const char *opt, const char *val)
{
    h_t *h = calloc(1, sizeof(*h));
    h->universe = universe;
    h->indices = indices;
    setenv("KIS_TEST_KEY", "test-app-key-1", 1);
    setenv("KIS_TEST_KEY_2", "test-app-key-2", 1);
    setenv("KIS_TEST_SECRET", "test-app-secret", 1);
    snprintf(h->dir, sizeof(h->dir), "/tmp/strata-kisfeed-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    h->port = exsim_spawn_with2(SPEED, START, opt, val, h_opt2, h_val2, &h->pid);
    assert_true(h->port > 0);
    st_tz_set("Asia/Seoul");
    struct tm tm;
    st_time_t t0;
    assert_int_equal(st_parse_datetime(START, &tm), 0);
    assert_int_equal(st_tz_mktime(NULL, &tm, &t0), 0);
    h->loop = ev_loop_new(EVFLAG_AUTO);
    st_clock_init_sim(&h->clock, h->loop, t0, atof(SPEED));
    st_symtab_init(&h->syms);
    h->arena = st_arena_create(0);
    st_diags_t d;
    st_diags_init(&d);
    assert_int_equal(st_universe_load(&h->uni, universe, indices, &h->syms, h->arena, &d), 0);
    st_diags_free(&d);
    ev_prepare_init(&h->check, on_check);
    h->check.data = h;
    ev_prepare_start(h->loop, &h->check);
    ev_timer_init(&h->guard, on_guard, GUARD, 0);
    h->guard.data = h;
    return h;
}

static inline void h_close(h_t *h)
{
    for (int i = 0; i < h->nfeeds; i++) {
        st_feed_destroy(h->feed[i]);
        st_config_free(h->cfg[i]);
    }
    if (h->pid) assert_int_equal(exsim_reap(h->pid), 0);
    ev_prepare_stop(h->loop, &h->check);
    st_clock_free(&h->clock);
    ev_loop_destroy(h->loop);
    st_arena_destroy(h->arena);
    st_symtab_free(&h->syms);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", h->dir);
    assert_int_equal(system(cmd), 0);
    free(h->ticks);
    free(h->walls);
    free(h);
}

static inline st_sym_t sym(h_t *h, const char *code)
{
    st_sym_t s = st_symtab_find(&h->syms, code, strlen(code));
    assert_true(s != ST_SYM_NONE);
    return s;
}

/* Moves a symbol to a tier on the feed's only connection, as the planner would. */
static inline void set_tier(h_t *h, int feed, st_sym_t s, uint8_t tier)
{
    st_plan_change_t c = {.sym = s, .from_tier = h->tier[s], .to_tier = tier,
                          .from_conn = h->tier[s] == ST_TIER_NONE || h->tier[s] == ST_TIER_POLL ? ST_CONN_NONE : 0,
                          .to_conn = tier == ST_TIER_NONE || tier == ST_TIER_POLL ? ST_CONN_NONE : 0};
    h->tier[s] = tier;
    assert_int_equal(st_feed_apply(h->feed[feed], &c, 1, 0, NULL), 0);
}

static inline st_feed_stats_t stats(h_t *h, int feed)
{
    st_feed_stats_t s;
    st_feed_stats(h->feed[feed], &s);
    return s;
}

static inline cJSON *exsim_get(h_t *h, const char *path)
{
    char *body = http_get(h->port, path);
    assert_non_null(body);
    cJSON *j = cJSON_Parse(body);
    free(body);
    assert_non_null(j);
    return j;
}

static inline double jnum(cJSON *j, const char *k)
{
    cJSON *x = cJSON_GetObjectItem(j, k);
    assert_true(cJSON_IsNumber(x));
    return x->valuedouble;
}

/* One number of the simulator's /control/stats, by dotted path ("close_frames.normal"). */
static inline double exsim_stat(h_t *h, const char *path)
{
    cJSON *j = exsim_get(h, "/control/stats");
    double v = st_status_number(j, path);
    cJSON_Delete(j);
    assert_false(isnan(v));
    return v;
}

/* The venue's view of the newest session of h->venue: its registrations, and whether it is open. */
static inline int venue_held(h_t *h, bool *open)
{
    cJSON *j = exsim_get(h, "/control/stats");
    cJSON *arr = cJSON_GetObjectItem(j, "sessions"), *last = NULL, *s;
    cJSON_ArrayForEach(s, arr) {
        if (strcmp(cJSON_GetObjectItem(s, "venue")->valuestring, h->venue) == 0 && (!last || jnum(s, "id") > jnum(last, "id")))
            last = s;
    }
    int held = last ? (int)jnum(last, "registrations") : -1;
    if (open) *open = last && cJSON_IsTrue(cJSON_GetObjectItem(last, "open"));
    cJSON_Delete(j);
    return held;
}

/* Every wanted registration confirmed by the venue, nothing in flight. */
static inline bool settled(h_t *h)
{
    st_feed_stats_t s = stats(h, 0);
    return s.sessions_open == 1 && s.ws_used == s.ws_desired && s.ws_desired > 0;
}

/* REST snapshots of h->watched since tick `from` (Upbit's subscription snapshots excluded). */
static inline size_t snapshots_of(h_t *h, size_t from)
{
    size_t n = 0;
    for (size_t i = from; i < h->nticks; i++)
        n += h->ticks[i].sym == h->watched && h->ticks[i].kind == ST_TICK_SNAPSHOT &&
             !(h->ticks[i].flags & ST_TICK_REPLAY);
    return n;
}

static inline bool session_down(h_t *h)
{
    return stats(h, 0).sessions_open == 0;
}

static inline bool three_fallback_polls(h_t *h)
{
    return snapshots_of(h, h->mark) >= 3;
}

/* A dropped session is back: reconnected, everything wanted held, and the venue agrees. */
static inline bool reconnected(h_t *h)
{
    bool open;
    st_feed_stats_t s = stats(h, 0);
    return s.reconnects >= 1 && settled(h) && venue_held(h, &open) == s.ws_desired && open;
}

static inline bool h_clock_past(h_t *h)
{
    return st_clock_now(&h->clock) >= h->until;
}

/* Orderbooks asked for with st_feed_orderbook land here. */
static int book_answers;
static st_tick_t book_last;
static char book_err[128];

static inline void got_book(const st_tick_t *b, const char *err, void *ctx)
{
    book_answers++;
    if (b) book_last = *b;
    snprintf(book_err, sizeof(book_err), "%s", err ? err : "");
}

static int book_want;
static inline bool books_answered(h_t *h)
{
    return book_answers >= book_want;
}

/* The simulator's count of quotation calls (KIS REST, or Upbit REST answered). */
static inline double venue_quotes(h_t *h, bool upbit)
{
    cJSON *j = exsim_get(h, "/control/stats");
    double n = upbit ? jnum(cJSON_GetObjectItem(j, "upbit_rest"), "ok") : jnum(cJSON_GetObjectItem(j, "rest"), "calls");
    cJSON_Delete(j);
    return n;
}

/* Three asks for sym's book while none is cached: one call answers all three; a fourth within
 * the cache's life answers at once without a call; after it, a new call. */
static inline void check_orderbook_on_demand(h_t *h, st_sym_t s, bool upbit)
{
    book_answers = 0;
    for (int i = 0; i < 3; i++) assert_int_equal(st_feed_orderbook(h->feed[0], s, got_book, NULL), ST_PENDING);
    book_want = 3;
    run_until(h, books_answered, "three answers");
    assert_string_equal(book_err, "");
    assert_int_equal(book_last.kind, ST_TICK_ORDERBOOK);
    assert_int_equal(book_last.sym, s);
    assert_true(book_last.u.book.bid[0] > 0 && book_last.u.book.ask[0] > book_last.u.book.bid[0]);
    assert_true(venue_quotes(h, upbit) == 1);
    assert_int_equal(st_feed_orderbook(h->feed[0], s, got_book, NULL), 0); /* cached: answered now */
    assert_int_equal(book_answers, 4);
    assert_true(venue_quotes(h, upbit) == 1);
    h->until = st_clock_now(&h->clock) + 31 * ST_SEC;
    run_until(h, h_clock_past, "the cache's 30 s");
    assert_int_equal(st_feed_orderbook(h->feed[0], s, got_book, NULL), ST_PENDING);
    book_want = 5;
    run_until(h, books_answered, "the fifth answer");
    assert_true(venue_quotes(h, upbit) == 2);
}

static inline bool ticks_300(h_t *h)
{
    return h->nticks >= 300;
}

static inline bool more_ticks(h_t *h)
{
    return h->nticks >= h->mark + 50;
}

/* h->watched in tier 1 on the newest feed (whose session backs off 20 s after a drop): it is
 * streamed, not polled, not even while the session first connects; when the session drops and
 * stays down it is polled by REST at min_interval; when the session returns it goes back to the
 * stream (at most one REST answer already in flight arrives after). */
static inline void check_outage_fallback(h_t *h)
{
    set_tier(h, 0, h->watched, ST_TIER_REALTIME);
    run_until(h, settled, "the session holding the watched symbol");
    h->until = st_clock_now(&h->clock) + 5 * ST_SEC;
    run_until(h, h_clock_past, "5 s of streaming");
    assert_int_equal(snapshots_of(h, 0), 0);
    cJSON_Delete(exsim_get(h, "/control/fault?drop=1"));
    run_until(h, session_down, "the session down");
    h->mark = h->nticks;
    run_until(h, three_fallback_polls, "the watched symbol polled by REST during the outage");
    /* issue 23.9: while the session is down the venue holds nothing, whatever the plan wants */
    st_feed_stats_t down = stats(h, 0);
    assert_int_equal(down.nconns, 1);
    assert_false(down.conn_open[0]);
    assert_int_equal(down.conn_held[0], 0);
    assert_int_equal(down.ws_used, 0);
    assert_true(down.ws_desired > 0);
    run_until(h, settled, "the session back");
    st_feed_stats_t up = stats(h, 0);
    assert_true(up.conn_open[0] && up.conn_held[0] == up.ws_desired);
    size_t at_return = h->nticks;
    h->until = st_clock_now(&h->clock) + 5 * ST_SEC;
    run_until(h, h_clock_past, "5 s after the return");
    assert_true(snapshots_of(h, at_return) <= 1);
    h->mark = h->nticks;
    run_until(h, more_ticks, "the stream after the return");
}

#endif
