/* outputs.redis against a real Redis on loopback (issue 22.1): every tick delivered appears once,
 * in order, in the feed's stream, as the recording of the same run has it; each signal is in the
 * signals stream as the JSONL sink wrote it; each plan move in the plan stream; the status hash
 * is there. A Redis killed and restarted mid-run costs records (counted, said once), never the
 * run, and publishing resumes in order. */
#include "runtime_fixture.h"
#include "../redis_server.h"

#include "core/res.h"
#include "record/recfile.h"

static char *dir;

static char *slurp(const char *path)
{
    char *text = NULL;
    size_t len;
    return st_file_read(path, &text, &len) == 0 ? text : NULL;
}

/* A run of NAME publishing under PREFIX to the test's Redis: its clock's settings, lines under
 * runtime: (extra), and more of outputs.redis (redis_more: ", demands: true"). */
static char *write_config(const char *name, int port, const char *prefix, const char *clock, const char *extra,
                          const char *redis_more)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "runtime:\n"
             "  clock: {mode: simulated, start: \"2026-11-23 08:58\", %s}\n"
             "  log: {file: %s.log}\n"
             "  report_interval: 0\n"
             "  session_report: \"\"\n"
             "%s"
             "market:\n"
             "  universe: %s/config/universe.csv\n"
             "  indices: %s/config/indices.csv\n"
             "  watch_universe: low\n"
             "  watch: [{symbol: \"005930\", priority: critical}, {symbol: \"000660\", priority: high}]\n"
             "feeds: [{name: sim, kind: sim, seed: 11}]\n"
             "strategies: [{name: gap, kind: lua, path: %s/strategies/gap.lua, all_symbols: true}]\n"
             "signals: {sinks: [{kind: jsonl, path: %s.jsonl}]}\n"
             "outputs: {redis: {url: \"redis://127.0.0.1:%d/0\", prefix: \"%s\", queue: 10000000%s}}\n"
             "status: {enabled: false}\n",
             clock, name, extra, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, name, port, prefix, redis_more);
    char file[64];
    snprintf(file, sizeof(file), "%s.yaml", name);
    return st_test_write(dir, file, text);
}

/* Walks a stream from the start, COUNT at a time: each entry to fn; returns how many. */
typedef void (*entry_fn)(const redisReply *entry, void *ctx);
static size_t walk(redisContext *c, const char *key, entry_fn fn, void *ctx)
{
    char from[64] = "-";
    size_t n = 0;
    for (;;) {
        redisReply *r = redisCommand(c, "XRANGE %s %s + COUNT 5000", key, from);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        size_t k = r->elements;
        for (size_t i = 0; i < k; i++) {
            const redisReply *e = r->element[i];
            if (n && !strcmp(e->element[0]->str, from + 1)) continue; /* the exclusive start's own */
            fn(e, ctx), n++;
        }
        if (k) snprintf(from, sizeof(from), "(%s", r->element[k - 1]->element[0]->str);
        freeReplyObject(r);
        if (k < 5000) return n;
    }
}

/* The recording's ticks, in order, for comparing with the stream. */
typedef struct {
    st_rec_reader_t *rec;
    size_t matched, skipped, plans;
    bool subsequence; /* the stream may lack some (a Redis outage): it must keep the order */
} cmp_t;

static bool next_tick(cmp_t *k, st_rec_item_t *it)
{
    while (st_rec_next(k->rec, it) == 1) {
        if (it->type == ST_REC_TICK) return true;
        k->plans += it->type == ST_REC_EVENT && it->event == ST_REV_PLAN;
    }
    return false;
}

static bool same_tick(const redisReply *e, const st_rec_item_t *it)
{
    char t[32];
    snprintf(t, sizeof(t), "%lld", (long long)it->tick.venue_time);
    const char *kind = it->tick.kind == ST_TICK_ORDERBOOK ? "book" : it->tick.kind == ST_TICK_SNAPSHOT ? "snapshot" : "trade";
    if (strcmp(st_test_entry_field(e, "sym"), it->code) || strcmp(st_test_entry_field(e, "t"), t) ||
        strcmp(st_test_entry_field(e, "kind"), kind))
        return false;
    if (it->tick.kind == ST_TICK_ORDERBOOK) return true;
    return strtod(st_test_entry_field(e, "price"), NULL) == it->tick.u.trade.price;
}

static void compare_tick(const redisReply *e, void *ctx)
{
    cmp_t *k = ctx;
    st_rec_item_t it;
    for (;;) {
        if (!next_tick(k, &it)) fail_msg("the stream has a tick the recording has not (%s at %s)",
                                         st_test_entry_field(e, "sym"), st_test_entry_field(e, "t"));
        if (same_tick(e, &it)) break;
        if (!k->subsequence) fail_msg("tick %zu: %s at %s in the stream, %s at %lld recorded", k->matched,
                                      st_test_entry_field(e, "sym"), st_test_entry_field(e, "t"), it.code,
                                      (long long)it.tick.venue_time);
        k->skipped++;
    }
    k->matched++;
}

typedef struct {
    const char *at; /* the JSONL file, from the next line */
    size_t n;
} lines_t;

static void compare_signal(const redisReply *e, void *ctx)
{
    lines_t *l = ctx;
    const char *json = st_test_entry_field(e, "json");
    size_t len = strcspn(l->at, "\n");
    if (strlen(json) != len || strncmp(json, l->at, len)) fail_msg("signal %zu: %s in Redis, %.*s in the file", l->n, json, (int)len, l->at);
    l->at += len + (l->at[len] == '\n');
    l->n++;
}

static void count_entry(const redisReply *e, void *ctx)
{
    ++*(size_t *)ctx;
}

static void test_streams_match_the_run(void **state)
{
    st_test_redis_t redis = {0};
    assert_true(st_test_redis_start(&redis));
    char *cfg = write_config("one", redis.port, "t1", "stop: \"09:06\", speed: 0", "  record: one.strata\n", "");
    st_runtime_t rt;
    assert_int_equal(st_runtime_open(&rt, cfg, stdout, NULL), 0);
    assert_int_equal(st_runtime_run(&rt), 0);
    st_runtime_free(&rt);

    redisContext *c = st_test_redis_client(&redis);
    assert_non_null(c);
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/one.strata", dir);
    cmp_t k = {.rec = st_rec_open(path, err, sizeof(err))};
    if (!k.rec) fail_msg("%s", err);
    size_t n = walk(c, "t1:ticks:sim", compare_tick, &k);
    st_rec_item_t rest;
    assert_false(next_tick(&k, &rest)); /* every recorded tick is in the stream */
    printf("# %zu ticks in the stream, as recorded; %zu plan moves recorded\n", n, k.plans);
    assert_true(n > 1000);
    st_rec_free(k.rec);
    size_t plans = 0;
    walk(c, "t1:plan", count_entry, &plans);
    assert_int_equal(plans, k.plans);

    snprintf(path, sizeof(path), "%s/one.jsonl", dir);
    char *jsonl = slurp(path);
    assert_non_null(jsonl);
    lines_t l = {jsonl, 0};
    walk(c, "t1:signals", compare_signal, &l);
    assert_true(l.n > 0);
    assert_int_equal(*l.at, '\0'); /* and no line of the file is missing */
    printf("# %zu signals in the stream and the file alike\n", l.n);
    free(jsonl);

    redisReply *r = redisCommand(c, "HGET t1:status json");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_non_null(strstr(r->str, "\"websocket_status\""));
    freeReplyObject(r);
    redisFree(c);
    st_test_redis_stop(&redis);
    free(cfg);
}

/* Redis killed at 09:01 and started again at 09:02 (simulated time, x30): the run goes on; the
 * log says the outage once and its end with the records dropped; after it the stream goes on in
 * the recording's order. */
typedef struct {
    st_test_redis_t *redis;
    st_timer_t kill, start;
} outage_t;

static void on_kill(st_timer_t *t, st_time_t now, void *ctx)
{
    st_test_redis_stop(((outage_t *)ctx)->redis);
}

static void on_start(st_timer_t *t, st_time_t now, void *ctx)
{
    assert_true(st_test_redis_start(((outage_t *)ctx)->redis)); /* the same port, empty */
}

static void test_redis_restart_costs_records_not_the_run(void **state)
{
    st_test_redis_t redis = {0};
    assert_true(st_test_redis_start(&redis));
    char *cfg = write_config("two", redis.port, "t2", "stop: \"09:04\", speed: 30", "  record: two.strata\n", "");
    st_runtime_t rt;
    assert_int_equal(st_runtime_open(&rt, cfg, stdout, NULL), 0);
    outage_t o = {.redis = &redis};
    st_timer_init(&o.kill, on_kill, &o);
    st_timer_init(&o.start, on_start, &o);
    st_time_t t0 = st_clock_now(&rt.clock);
    st_clock_timer_start(&rt.clock, &o.kill, t0 + 3 * ST_MIN, 0);  /* 09:01 */
    st_clock_timer_start(&rt.clock, &o.start, t0 + 4 * ST_MIN, 0); /* 09:02 */
    assert_int_equal(st_runtime_run(&rt), 0);
    st_runtime_free(&rt);

    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/two.log", dir);
    char *log = slurp(path);
    assert_non_null(log);
    char *warn = strstr(log, "(publishing): ");
    if (!warn || !strstr(warn, "; retrying")) fail_msg("no outage warning in: %s", log);
    assert_null(strstr(warn + 1, "(publishing): ")); /* once */
    char *back = strstr(log, "connected again after");
    if (!back) fail_msg("never back: %s", log);
    unsigned long long dropped = 0;
    char *d = strstr(back, "; ");
    assert_non_null(d);
    assert_int_equal(sscanf(d, "; %llu records dropped meanwhile", &dropped), 1);
    assert_true(dropped > 0);
    free(log);

    redisContext *c = st_test_redis_client(&redis);
    assert_non_null(c);
    snprintf(path, sizeof(path), "%s/two.strata", dir);
    cmp_t k = {.rec = st_rec_open(path, err, sizeof(err)), .subsequence = true};
    if (!k.rec) fail_msg("%s", err);
    size_t n = walk(c, "t2:ticks:sim", compare_tick, &k); /* the restarted Redis's: after the outage */
    printf("# after the restart: %zu ticks, in the recording's order (%llu dropped while it was down)\n", n, dropped);
    assert_true(n > 100);
    st_rec_free(k.rec);
    redisFree(c);
    st_test_redis_stop(&redis);
    free(cfg);
}

/* Issue 22.2, the owner's side: another process's strategy asks through PREFIX:demands; this
 * instance's planner grants its emergency as remote:r1/s1's (the answer on PREFIX:answers:r1),
 * takes its watch at its priority (tier 2 when there is room: the plan's rules, not the
 * remote's), refuses an unknown symbol with the reason, and when r1 says nothing for the lease
 * (2 s, x30: a minute of market time) releases its demands. */
typedef struct {
    st_runtime_t *rt;
    st_test_redis_t *redis;
    st_timer_t ask, check, gone;
    st_sym_t em, watched;
    bool asked, checked, released;
} remote_t;

/* XADD t3:demands * FIELDS (space-separated, as a remote instance would send them). */
static void xadd(redisContext *c, const char *fields)
{
    char buf[512], *argv[32] = {"XADD", "t3:demands", "*"};
    int argc = 3;
    snprintf(buf, sizeof(buf), "%s", fields);
    for (char *tok = strtok(buf, " "); tok && argc < 32; tok = strtok(NULL, " ")) argv[argc++] = tok;
    redisReply *r = redisCommandArgv(c, argc, (const char **)argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
}

static void on_ask(st_timer_t *t, st_time_t now, void *ctx)
{
    remote_t *x = ctx;
    redisContext *c = st_test_redis_client(x->redis);
    xadd(c, "instance r1 strategy s1 op hello id 1");
    xadd(c, "instance r1 strategy s1 op emergency sym 035720 score 90 id 2");
    xadd(c, "instance r1 strategy s1 op watch sym 000270 prio high id 3");
    xadd(c, "instance r1 strategy s1 op watch sym 999999 prio high id 4");
    redisFree(c);
    x->asked = true;
}

static const char *answer_of(redisContext *c, const char *id, const char *what)
{
    static char out[256];
    redisReply *r = redisCommand(c, "XRANGE t3:answers:r1 - +");
    out[0] = '\0';
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (!strcmp(st_test_entry_field(r->element[i], "id"), id))
            snprintf(out, sizeof(out), "%s", st_test_entry_field(r->element[i], what));
    if (r) freeReplyObject(r);
    return out;
}

static void on_check(st_timer_t *t, st_time_t now, void *ctx)
{
    remote_t *x = ctx;
    const st_plan_entry_t *e = st_planner_entry(x->rt->planner, x->em);
    assert_int_equal(e->tier, ST_TIER_REALTIME);
    assert_true(e->flags & ST_PLAN_EMERGENCY);
    assert_int_equal(st_planner_entry(x->rt->planner, x->watched)->prio, ST_PRIO_HIGH); /* wanted at its priority */
    redisContext *c = st_test_redis_client(x->redis);
    assert_string_equal(answer_of(c, "1", "ok"), "1");
    assert_string_equal(answer_of(c, "2", "ok"), "1"); /* the emergency granted */
    assert_string_equal(answer_of(c, "3", "ok"), "1");
    assert_string_equal(answer_of(c, "4", "ok"), "0");
    assert_string_equal(answer_of(c, "4", "why"), "unknown symbol 999999");
    assert_true(strlen(answer_of(c, "1", "owner")) > 0);
    redisFree(c);
    st_status_t s; /* /status and /metrics count it */
    st_strat_info_t strats[4];
    st_runtime_status(x->rt, &s, strats);
    assert_int_equal(s.remotes, 1);
    x->checked = true;
}

static void on_gone(st_timer_t *t, st_time_t now, void *ctx)
{
    remote_t *x = ctx;
    assert_false(st_planner_entry(x->rt->planner, x->em)->flags & ST_PLAN_EMERGENCY);
    assert_int_equal(st_planner_entry(x->rt->planner, x->watched)->prio, ST_PRIO_LOW); /* market.watch_universe's */
    st_status_t s;
    st_strat_info_t strats[4];
    st_runtime_status(x->rt, &s, strats);
    assert_int_equal(s.remotes, 0);
    x->released = true;
}

static void test_remote_demands_are_planned_and_leased(void **state)
{
    st_test_redis_t redis = {0};
    assert_true(st_test_redis_start(&redis));
    char *cfg = write_config("three", redis.port, "t3", "stop: \"09:06\", speed: 30", "", ", demands: true, lease: 2s");
    st_runtime_t rt;
    assert_int_equal(st_runtime_open(&rt, cfg, stdout, NULL), 0);
    remote_t x = {.rt = &rt, .redis = &redis};
    x.em = st_symtab_find(&rt.syms, "035720", 6);
    x.watched = st_symtab_find(&rt.syms, "000270", 6);
    st_timer_init(&x.ask, on_ask, &x);
    st_timer_init(&x.check, on_check, &x);
    st_timer_init(&x.gone, on_gone, &x);
    st_time_t t0 = st_clock_now(&rt.clock); /* 08:58 */
    st_clock_timer_start(&rt.clock, &x.ask, t0 + 150 * ST_SEC, 0);   /* 09:00:30 */
    st_clock_timer_start(&rt.clock, &x.check, t0 + 180 * ST_SEC, 0); /* 30 s (1 s of wall) later */
    st_clock_timer_start(&rt.clock, &x.gone, t0 + 330 * ST_SEC, 0);  /* 5 s of wall after its last word */
    assert_int_equal(st_runtime_run(&rt), 0);
    st_runtime_free(&rt);
    assert_true(x.asked && x.checked && x.released);
    char path[512];
    snprintf(path, sizeof(path), "%s/three.log", dir);
    char *log = slurp(path);
    if (!strstr(log, "remote r1: nothing heard for 2 s: the demands of its 1 strategy are released"))
        fail_msg("no release in: %s", log);
    free(log);
    st_test_redis_stop(&redis);
    free(cfg);
}

static int setup(void **state)
{
    dir = st_test_tmpdir();
    return chdir(dir);
}

static int teardown(void **state)
{
    st_test_rmtree(dir);
    free(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streams_match_the_run),
        cmocka_unit_test(test_redis_restart_costs_records_not_the_run),
        cmocka_unit_test(test_remote_demands_are_planned_and_leased),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
