/* Remote strategies end to end on a real Redis (issue 22.2): an owner (`strata run` with the
 * simulated venue, publishing to Redis and taking remote demands) and a remote (`strata run`
 * with no venue: a kind: redis feed on the owner's tick stream, forward_demands on) whose Lua
 * strategy, on the first tick it gets, raises 000660 to critical and asks for emergencies on
 * 035420 and on 000270 (not in the owner's universe). The owner hears them as remote:r1/s: the
 * watch in its demands stream, the emergency granted in the answers to r1, and 035420 moved to
 * tier 1 in its plan stream by that emergency; the strategy hears both answers through
 * on_emergency (its signals say them). Waits are conditions with hang guards. */
#define _GNU_SOURCE
#include "instance.h"
#include "../redis_server.h"


static char dir[64], prefix[32];
static st_test_redis_t redis;
static pid_t owner, remote;

/* Whether an entry of `key` has every field=value pair of want (NULL-terminated). */
static bool stream_has(const char *key, const char *const *want)
{
    redisContext *c = st_test_redis_client(&redis);
    redisReply *r = c ? redisCommand(c, "XRANGE %s - +", key) : NULL;
    bool found = false;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && !found; i++) {
        bool all = true;
        for (size_t k = 0; want[k] && all; k += 2) {
            const char *v = st_test_entry_field(r->element[i], want[k]);
            all = v && !strcmp(v, want[k + 1]);
        }
        found = all;
    }
    if (r) freeReplyObject(r);
    if (c) redisFree(c);
    return found;
}

static bool wait_stream(const char *key, const char *const *want)
{
    for (int i = 0; i < 3000; i++) { /* a hang guard (60 s), not a timing */
        if (stream_has(key, want)) return true;
        usleep(20000);
    }
    return false;
}

/* Whether a line of the file has both a and b, waiting for it (a hang guard, not a timing). */
static bool wait_file(const char *path, const char *a, const char *b)
{
    for (int i = 0; i < 3000; i++) {
        FILE *f = fopen(path, "r");
        char line[2048];
        bool found = false;
        while (f && !found && fgets(line, sizeof(line), f)) found = strstr(line, a) && strstr(line, b);
        if (f) fclose(f);
        if (found) return true;
        usleep(20000);
    }
    return false;
}

/* The shipped universe less 000270: an emergency on it is the owner's to refuse. */
static char *owner_universe(void)
{
    FILE *in = fopen(st_test_source_path("config/universe.csv"), "r");
    char path[128], line[512];
    snprintf(path, sizeof(path), "%s/owner-universe.csv", dir);
    FILE *out = fopen(path, "w");
    assert_non_null(in), assert_non_null(out);
    while (fgets(line, sizeof(line), in))
        if (strncmp(line, "000270,", 7) != 0) fputs(line, out);
    fclose(in), fclose(out);
    return strdup(path);
}

static const char strategy[] =
    "local M = {}\n"
    "local done = false\n"
    "local function first()\n"
    "  if done then return end\n"
    "  done = true\n"
    "  strata.upgrade_priority('000660', 'critical')\n"
    "  strata.emergency_subscribe('035420', 150)\n"
    "  strata.emergency_subscribe('000270', 150)\n"
    "  strata.update_performance_score('005380', 77)\n"
    "end\n"
    "function M.on_emergency(sym, granted, why)\n"
    "  strata.signal{symbol = sym, side = granted and 'buy' or 'sell', strength = 1,\n"
    "                reason = 'owner: ' .. tostring(granted) .. ' ' .. why}\n"
    "end\n"
    "M.on_trade = first\n"
    "M.on_snapshot = first\n"
    "M.on_orderbook = first\n"
    "return M\n";

static void test_remote_demands_reach_the_owner(void **state)
{
    char text[4096];
    char *universe = owner_universe();
    snprintf(text, sizeof(text),
             ST_TEST_INSTANCE_RUNTIME("2026-11-23 09:05")
             "market:\n  universe: %s\n  indices: %s\n  watch_universe: low\n"
             "  watch: [{symbol: \"005930\", priority: critical}]\n"
             "feeds: [{name: sim, kind: sim, seed: 5}]\n"
             "signals: {sinks: []}\nstatus: {enabled: false}\n"
             "outputs: {redis: {url: \"redis://127.0.0.1:%d/0\", prefix: \"%s\", demands: true}}\n",
             universe, st_test_source_path("config/indices.csv"), redis.port, prefix);
    char *owner_cfg = st_test_write(dir, "owner.yaml", text);
    char *lua = st_test_write(dir, "s.lua", strategy);
    snprintf(text, sizeof(text),
             ST_TEST_INSTANCE_RUNTIME("2026-11-23 09:05")
             "market:\n  universe: %s\n  indices: %s\n"
             "feeds: [{name: desk, kind: redis, stream_url: \"redis://127.0.0.1:%d/0\", stream: \"%s:ticks:sim\","
             " forward_demands: true}]\n"
             "strategies: [{name: s, kind: lua, path: %s, all_symbols: true}]\n"
             "signals: {sinks: [{kind: jsonl, path: %s/signals.jsonl}]}\nstatus: {enabled: false}\n",
             st_test_source_path("config/universe.csv"), st_test_source_path("config/indices.csv"), redis.port, prefix,
             lua, dir);
    char *remote_cfg = st_test_write(dir, "remote.yaml", text);
    owner = st_test_instance(dir, "owner", owner_cfg);
    remote = st_test_instance(dir, "r1", remote_cfg);

    char demands[64], answers[64], plan[64];
    snprintf(demands, sizeof(demands), "%s:demands", prefix);
    snprintf(answers, sizeof(answers), "%s:answers:r1", prefix);
    snprintf(plan, sizeof(plan), "%s:plan", prefix);
    const char *watch[] = {"instance", "r1", "strategy", "s", "op", "watch", "sym", "000660", "prio", "critical", NULL};
    assert_true(wait_stream(demands, watch));
    const char *scored[] = {"instance", "r1", "op", "score", "sym", "005380", "score", "77", NULL};
    assert_true(wait_stream(demands, scored));
    const char *granted[] = {"op", "emergency", "ok", "1", NULL};
    assert_true(wait_stream(answers, granted));
    const char *moved[] = {"sym", "035420", "to", "1", "why", "emergency", NULL};
    assert_true(wait_stream(plan, moved));
    /* the answers reach the strategy that asked */
    char signals[128];
    snprintf(signals, sizeof(signals), "%s/signals.jsonl", dir);
    assert_true(wait_file(signals, "\"symbol\":\"035420\"", "\"reason\":\"owner: true \""));
    assert_true(wait_file(signals, "\"symbol\":\"000270\"", "\"reason\":\"owner: false unknown symbol 000270\""));
    free(owner_cfg), free(lua), free(remote_cfg), free(universe);
}

/* The demands' Redis unreachable: an emergency asked from a timer is refused to the strategy
 * within a second, "not sent"; the strategy asks again as it hears it, and hears that refused
 * at the next second — never a loop of refusals within one. */
static const char unsent[] = "local M, heard, asked = {}, 0, false\n"
                             "function M.init() strata.every(1, 'ask') end\n"
                             "function M.on_timer(name)\n"
                             "  if not asked then strata.emergency_subscribe('035420', 150) end\n"
                             "  asked = true\n"
                             "end\n"
                             "function M.on_emergency(sym, granted, why)\n"
                             "  heard = heard + 1\n"
                             "  strata.log('info', 'answer ' .. heard .. ' ' .. sym .. ' ' .. tostring(granted) .. ' ' .. why)\n"
                             "  if heard < 3 then strata.emergency_subscribe(sym, 150) end\n"
                             "end\n"
                             "return M\n";

/* The log time (to the second) of the instance's first line saying `what`. */
static bool said_at(const char *d, const char *name, const char *what, char *out, size_t cap)
{
    char path[256], line[1024];
    snprintf(path, sizeof(path), "%s/%s.err", d, name);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && !found && fgets(line, sizeof(line), f))
        if (strstr(line, what)) snprintf(out, cap, "%.19s", line), found = true;
    if (f) fclose(f);
    return found;
}

static void test_unsent_emergency_is_refused_to_the_strategy(void **state)
{
    char text[2048];
    char *lua = st_test_write(dir, "unsent.lua", unsent);
    snprintf(text, sizeof(text),
             ST_TEST_INSTANCE_RUNTIME("2026-11-23 09:05")
             "market:\n  universe: %s\n  indices: %s\n"
             "feeds: [{name: desk, kind: redis, stream_url: \"redis://127.0.0.1:1/0\", stream: \"%s:ticks:sim\","
             " forward_demands: true}]\n"
             "strategies: [{name: u, kind: lua, path: %s}]\n"
             "signals: {sinks: []}\nstatus: {enabled: false}\n",
             st_test_source_path("config/universe.csv"), st_test_source_path("config/indices.csv"), prefix, lua);
    char *cfg = st_test_write(dir, "unsent.yaml", text);
    pid_t p = st_test_instance(dir, "r2", cfg);
    bool said = false;
    for (int i = 0; i < 3000 && !said; i++) { /* a hang guard, not a timing */
        said = st_test_instance_said(dir, "r2", "answer 3 035420 false not sent: the Redis of the demands is unreachable");
        if (!said) usleep(20000);
    }
    kill(p, SIGTERM), waitpid(p, NULL, 0);
    assert_true(said);
    assert_true(st_test_instance_said(dir, "r2", "answer 1 035420 false not sent"));
    assert_false(st_test_instance_said(dir, "r2", "answer 4 ")); /* it stopped asking after 3 */
    char t1[32], t2[32]; /* the second ask, made as it heard the first refusal, refused a second later */
    assert_true(said_at(dir, "r2", "answer 1 ", t1, sizeof(t1)) && said_at(dir, "r2", "answer 2 ", t2, sizeof(t2)));
    printf("# refused at %s, asked again and refused at %s\n", t1, t2);
    assert_true(strcmp(t1, t2) < 0);
    free(lua), free(cfg);
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/strata-remote-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(prefix, sizeof(prefix), "t%d", (int)getpid());
    return st_test_redis_start(&redis) ? 0 : -1;
}

static int teardown(void **state)
{
    if (remote > 0) kill(remote, SIGTERM), waitpid(remote, NULL, 0);
    if (owner > 0) kill(owner, SIGTERM), waitpid(owner, NULL, 0);
    st_test_redis_stop(&redis);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_remote_demands_reach_the_owner),
                                       cmocka_unit_test(test_unsent_emergency_is_refused_to_the_strategy)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
