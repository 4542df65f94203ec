/* cluster: failover on a real Redis (issue 22.3). Two `strata run` processes of one config (the
 * instance named by STRATA_INSTANCE) against strata-exsim with one KIS app key: one takes the
 * lease and opens the session, the other stands by. The leader killed with SIGKILL: the standby
 * takes the lease after it expires and opens the session. Redis paused (CLIENT PAUSE) under the
 * leader: it closes its session without waiting for Redis, and leads again after. Throughout,
 * sampled every 20 ms, the simulator never sees two sessions open, and never refuses a session
 * because its app key is in use (it would, KIS-like, for a second one), and at the end the
 * session registers exactly what the plan holds. The standby's strategy
 * runs on the leader's tick stream, its signal held back. Times are printed, not
 * asserted (the lease's timing is test_lease's, on a fake clock); the waits are hang guards. */
#define _GNU_SOURCE
#include "instance.h"
#include "../redis_server.h"
#include "../exsim/spawn.h"
#include "../exsim/wsclient.h"

#include <cjson/cJSON.h>

#define TTL 3.0
static char dir[64], cluster[32];
static st_test_redis_t redis;
static int xport;
static pid_t xpid, inst[2];
static int max_open, samples;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char held[256]; /* the last open session's registrations, "CODE/channel …" in the simulator's order */

/* The simulator's KIS sessions open now, and with registrations; its in-use refusals. */
static void sessions(int *open, int *registered, int *in_use)
{
    *open = *registered = 0;
    *in_use = -1;
    char *body = http_get(xport, "/control/stats");
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    free(body);
    const cJSON *s, *h;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(j, "sessions"))
    {
        if (!cJSON_IsTrue(cJSON_GetObjectItem(s, "open"))) continue;
        (*open)++;
        *registered += cJSON_GetObjectItem(s, "registrations")->valueint > 0;
        held[0] = '\0';
        cJSON_ArrayForEach(h, cJSON_GetObjectItem(s, "held"))
        {
            size_t len = strlen(held);
            snprintf(held + len, sizeof(held) - len, "%s%s", len ? " " : "", h->valuestring);
        }
    }
    const cJSON *r = cJSON_GetObjectItem(j, "refused_in_use");
    if (r) *in_use = r->valueint;
    cJSON_Delete(j);
    samples++;
    if (*open > max_open) max_open = *open;
}

/* The lease's holder ("a", "b") and term from Redis; "" when nobody holds it. */
static void holder(char *who, size_t cap, long long *term)
{
    who[0] = '\0';
    *term = 0;
    redisContext *c = st_test_redis_client(&redis);
    redisReply *r = c ? redisCommand(c, "GET strata:cluster:%s:leader", cluster) : NULL;
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *slash = strchr(r->str, '/');
        snprintf(who, cap, "%.*s", slash ? (int)(slash - r->str) : (int)r->len, r->str);
        *term = slash ? atoll(slash + 1) : 0;
    }
    if (r) freeReplyObject(r);
    if (c) redisFree(c);
}

/* Samples until `done` says so (every 20 ms; a hang guard of 60 s); false on the guard. */
typedef bool (*until_fn)(void);
static bool wait_for(until_fn done)
{
    for (double end = mono() + 60; mono() < end;) {
        int open, reg, in_use;
        sessions(&open, &reg, &in_use);
        assert_true(open <= 1);    /* never two sessions on the one app key */
        assert_int_equal(in_use, 0); /* and never a second one tried */
        if (done()) return true;
        usleep(20000);
    }
    return false;
}

static char want[8];
static long long want_term_above;

static bool leads_with_session(void)
{
    char who[32];
    long long term;
    holder(who, sizeof(who), &term);
    int open, reg, in_use;
    sessions(&open, &reg, &in_use);
    return (!want[0] ? who[0] != '\0' : !strcmp(who, want)) && term > want_term_above && reg == 1;
}

static bool no_session(void)
{
    int open, reg, in_use;
    sessions(&open, &reg, &in_use);
    return open == 0;
}

static bool venue_holds_the_plan(void)
{
    int open, reg, in_use;
    sessions(&open, &reg, &in_use);
    return open == 1 && !strcmp(held, "005930/trade 005930/orderbook");
}

static long long status_term;

static bool status_has_term(void)
{
    redisContext *c = st_test_redis_client(&redis);
    redisReply *r = c ? redisCommand(c, "HGET %s:status term", cluster) : NULL;
    bool yes = r && r->type == REDIS_REPLY_STRING && atoll(r->str) == status_term;
    if (r) freeReplyObject(r);
    if (c) redisFree(c);
    return yes;
}

/* Says its first tick and signals on it: the standby's must come from the leader's stream, and
 * its signal must be held back. */
static const char strategy[] = "local M, seen = {}, false\n"
                               "function M.on_trade(sym, t)\n"
                               "  if seen then return end\n"
                               "  seen = true\n"
                               "  strata.log('info', 'first tick ' .. sym)\n"
                               "  strata.signal{symbol = sym, side = 'buy', strength = 1, reason = 'first'}\n"
                               "end\n"
                               "return M\n";

static const char *standby_name;

static bool standby_said_so(void)
{
    return st_test_instance_said(dir, standby_name, "stands by");
}

static bool standby_strategy_ran(void)
{
    return st_test_instance_said(dir, standby_name, "first tick 005930") &&
           st_test_instance_said(dir, standby_name, "signal on 005930 held back");
}

static void test_failover(void **state)
{
    char text[4096];
    char *lua = st_test_write(dir, "first.lua", strategy);
    snprintf(text, sizeof(text),
             ST_TEST_INSTANCE_RUNTIME("2026-11-23 10:00")
             "market:\n  universe: %s\n  indices: \"\"\n"
             "  watch: [{symbol: \"005930\", priority: critical, pinned: true}]\n"
             "feeds:\n  - name: kis\n    kind: kis\n    ws_url: ws://127.0.0.1:%d/\n    rest_url: http://127.0.0.1:%d\n"
             "    reconnect_min: 100ms\n    reconnect_max: 1s\n    token_dir: %s/tokens\n"
             "    keys: [{app_key_env: CLUSTER_KEY, app_secret_env: CLUSTER_SECRET}]\n"
             "strategies: [{name: first, kind: lua, path: %s, all_symbols: true}]\n"
             "signals: {sinks: []}\nstatus: {enabled: false}\n"
             "outputs: {redis: {url: \"redis://127.0.0.1:%d/0\", prefix: \"%s\", ticks: per_feed}}\n"
             "cluster: {name: %s, ttl: %.0fs}\n",
             st_test_source_path("config/universe.csv"), xport, xport, dir, lua, redis.port, cluster, cluster, TTL);
    char *cfg = st_test_write(dir, "cluster.yaml", text);
    setenv("CLUSTER_KEY", "cluster-app-key", 1);
    setenv("CLUSTER_SECRET", "cluster-app-secret", 1);

    inst[0] = st_test_instance(dir, "a", cfg);
    inst[1] = st_test_instance(dir, "b", cfg);
    want[0] = '\0', want_term_above = 0;
    assert_true(wait_for(leads_with_session));
    char first[32];
    long long term1;
    holder(first, sizeof(first), &term1);
    int lead = !strcmp(first, "a") ? 0 : 1, other = 1 - lead;
    printf("# %s leads (term %lld) with the session; %s stands by\n", first, term1, other ? "b" : "a");
    standby_name = other ? "b" : "a";
    assert_true(wait_for(standby_said_so)); /* (the leader can be up before the other has asked) */
    /* standing by, its strategy runs on the leader's stream, its signal held back */
    assert_true(wait_for(standby_strategy_ran));

    /* the leader killed: the other takes over once the lease expires */
    kill(inst[lead], SIGKILL);
    waitpid(inst[lead], NULL, 0);
    inst[lead] = 0;
    double t0 = mono();
    snprintf(want, sizeof(want), "%s", other ? "b" : "a");
    want_term_above = term1;
    assert_true(wait_for(leads_with_session));
    long long term2;
    char who[32];
    holder(who, sizeof(who), &term2);
    printf("# SIGKILL: %s holds the session after %.1f s (TTL %.0f s), term %lld\n", who, mono() - t0, TTL, term2);
    status_term = term2; /* the new leader publishes the status, with its term; the standby published nothing */
    assert_true(wait_for(status_has_term));

    /* Redis paused under the leader: it closes its session without waiting for Redis */
    redisContext *c = st_test_redis_client(&redis);
    redisReply *r = redisCommand(c, "CLIENT PAUSE %d ALL", (int)(TTL * 2 * 1000));
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    redisFree(c);
    t0 = mono();
    assert_true(wait_for(no_session)); /* (only the simulator is asked while Redis is paused) */
    double fenced = mono() - t0;
    printf("# CLIENT PAUSE %.0f s: the session closed after %.1f s\n", TTL * 2, fenced);
    assert_true(st_test_instance_said(dir, want, "no renewal of the lease confirmed in time"));
    want_term_above = term2; /* after the pause it leads again, in a new term */
    assert_true(wait_for(leads_with_session));
    long long term3;
    holder(who, sizeof(who), &term3);
    printf("# after the pause: %s leads again, term %lld; %d samples, at most %d session open\n", who, term3, samples,
           max_open);
    assert_int_equal(max_open, 1);
    /* the venue holds what the plan holds: 005930 (pinned, critical) in tier 1, nothing else */
    assert_true(wait_for(venue_holds_the_plan));

    /* a polite stop hands the lease over at once */
    kill(inst[other], SIGTERM);
    waitpid(inst[other], NULL, 0);
    inst[other] = 0;
    holder(who, sizeof(who), &term3);
    assert_string_equal(who, "");
    assert_true(st_test_instance_said(dir, want, "lease released"));
    free(cfg), free(lua);
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/strata-cluster-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(cluster, sizeof(cluster), "t%d", (int)getpid());
    if (!st_test_redis_start(&redis)) return -1;
    xport = exsim_spawn_with("1", "2026-11-23 10:00", "--duration", "300s", &xpid);
    return xport > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    for (int i = 0; i < 2; i++)
        if (inst[i] > 0) kill(inst[i], SIGKILL), waitpid(inst[i], NULL, 0);
    if (xpid) exsim_reap(xpid);
    st_test_redis_stop(&redis);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_failover)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
