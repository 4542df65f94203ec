#include "../test.h"

#include "conf/calendar.h"
#include "conf/config.h"
#include "core/schema.h"
#include "core/res.h"
#include "core/timefmt.h"

#include <math.h>
#include <sys/stat.h>

#define UNIVERSE "config/universe.csv" /* (main runs in the source tree) */
#define INDICES  "config/indices.csv"
/* Every test config starts with these two lines, so line numbers below count from 3. */
#define HEAD "market: {universe: " UNIVERSE ", indices: " INDICES "}\n# ---\n"

typedef struct {
    int line, col;
    const char *msg; /* substring of the message */
} expect_t;

static st_config_t *parse(const char *text, st_diags_t *d)
{
    st_config_t *cfg = NULL;
    st_diags_init(d);
    int rc = st_config_parse("t.yaml", text, strlen(text), &cfg, d);
    if (rc == 0) assert_non_null(cfg);
    return rc == 0 ? cfg : NULL;
}

static void dump(const st_diags_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char buf[1400];
        st_diag_format(&d->items[i], buf, sizeof(buf));
        printf("#   %s\n", buf);
    }
}

/* The config must fail with exactly these located errors, in this order. */
static void expect_errors(const char *text, const expect_t *e, size_t n)
{
    st_diags_t d;
    st_config_t *cfg = parse(text, &d);
    assert_null(cfg);
    if (d.n != n) dump(&d);
    assert_int_equal(d.n, n);
    for (size_t i = 0; i < n; i++) {
        if (d.items[i].line != e[i].line || d.items[i].col != e[i].col ||
            !strstr(d.items[i].msg, e[i].msg))
            dump(&d);
        assert_string_equal(d.items[i].file, "t.yaml");
        assert_int_equal(d.items[i].line, e[i].line);
        assert_int_equal(d.items[i].col, e[i].col);
        assert_non_null(strstr(d.items[i].msg, e[i].msg));
    }
    st_diags_free(&d);
}

#define EXPECT(text, ...)                                                                          \
    do {                                                                                           \
        const expect_t e_[] = {__VA_ARGS__};                                                       \
        expect_errors(text, e_, ST_ARRAY_SIZE(e_));                                                \
    } while (0)

static void test_demo_config(void **state)
{
    st_config_t *cfg;
    st_diags_t d;
    st_diags_init(&d);
    assert_int_equal(st_config_load(ST_DEMO_CONFIG, &cfg, &d), 0);
    assert_int_equal(d.n, 0);
    assert_string_equal(cfg->runtime.timezone, "Asia/Seoul");
    assert_int_equal(cfg->runtime.clock.mode, ST_CLOCK_SIMULATED);
    assert_true(cfg->runtime.clock.speed == 400);
    assert_int_equal(cfg->runtime.clock.stop_tod, 15 * ST_HOUR + 30 * ST_MIN);
    assert_int_equal(cfg->runtime.report_interval, 15 * ST_MIN);
    assert_string_equal(cfg->market.universe, "embedded:universe.csv");
    assert_int_equal(cfg->market.watch.n, 6);
    assert_int_equal(cfg->market.watch_universe, ST_PRIO_BACKGROUND);
    assert_int_equal(ST_LIST_AT(cfg->market.watch, st_watch_cfg_t, 0)->priority, ST_PRIO_CRITICAL);
    assert_true(ST_LIST_AT(cfg->market.watch, st_watch_cfg_t, 0)->pinned);
    assert_int_equal(cfg->feeds.n, 1);
    assert_int_equal(ST_LIST_AT(cfg->feeds, st_feed_cfg_t, 0)->seed, 20261123);
    assert_int_equal(st_config_ws_budget(cfg), 41);
    st_config_free(cfg);
    st_diags_free(&d);
}

/* The published allocation table: each slot fills the 41 registrations exactly. */
static void test_default_schedule_is_published_table(void **state)
{
    st_diags_t d;
    st_config_t *cfg = parse(HEAD, &d);
    assert_non_null(cfg);
    struct {
        const char *name;
        const char *start;
        int rt, semi, idx, res;
    } want[] = {{"pre_market", "00:00", 4, 20, 5, 8},     {"golden_time", "09:00", 8, 15, 5, 5}, /* on a regular day */
                {"morning_trend", "09:30", 6, 18, 5, 6},  {"lunch", "11:30", 5, 20, 5, 6},
                {"closing_trend", "14:00", 7, 16, 5, 6},  {"after_market", "15:20", 2, 10, 5, 22}};
    assert_int_equal(cfg->schedule.n, ST_ARRAY_SIZE(want));
    for (size_t i = 0; i < ST_ARRAY_SIZE(want); i++) {
        const st_slot_cfg_t *s = ST_LIST_AT(cfg->schedule, st_slot_cfg_t, i);
        st_dur_t start;
        st_parse_tod(want[i].start, &start);
        assert_string_equal(s->name, want[i].name);
        st_session_t reg;
        st_session_of(cfg, &reg);
        assert_int_equal(st_slot_start(s, &reg), start);
        assert_int_equal(s->realtime, want[i].rt);
        assert_int_equal(s->semi_realtime, want[i].semi);
        assert_int_equal(s->indices, want[i].idx);
        assert_int_equal(s->reserve, want[i].res);
        assert_int_equal(s->realtime * 2 + s->semi_realtime + s->indices + s->reserve, 41);
    }
    const st_slot_cfg_t *golden = ST_LIST_AT(cfg->schedule, st_slot_cfg_t, 1);
    assert_true(golden->poll_scale == 0.5);
    assert_int_equal(golden->weights.n, 3);
    assert_string_equal(golden->weights.items[0].key, "gap_trading");
    assert_true(golden->weights.items[0].v == 1.5);
    st_config_free(cfg);
    st_diags_free(&d);
}

static void test_defaults(void **state)
{
    st_diags_t d;
    st_config_t *cfg = parse(HEAD, &d);
    assert_non_null(cfg);
    assert_string_equal(cfg->runtime.timezone, "Asia/Seoul");
    assert_int_equal(cfg->runtime.clock.mode, ST_CLOCK_WALL);
    assert_int_equal(cfg->runtime.clock.stop_tod, -1);
    assert_int_equal(cfg->market.session.open, 9 * ST_HOUR);
    assert_int_equal(cfg->market.session.close, 15 * ST_HOUR + 30 * ST_MIN);
    assert_int_equal(cfg->tiers.polling.medium, 30 * ST_SEC);
    assert_int_equal(cfg->tiers.polling.low, 60 * ST_SEC);
    assert_int_equal(cfg->tiers.polling.background, 5 * ST_MIN);
    assert_int_equal(cfg->rebalance.interval, 5 * ST_MIN);
    assert_true(cfg->rebalance.margin == 0.2);
    assert_true(cfg->risk.max_sector_share == 0.3);
    assert_int_equal(cfg->risk.failure_threshold, 3);
    assert_int_equal(cfg->signals.queue, 1000);
    assert_int_equal(cfg->signals.sinks.n, 1);
    assert_int_equal(ST_LIST_AT(cfg->signals.sinks, st_sink_cfg_t, 0)->kind, ST_SINK_LOG);
    assert_int_equal(cfg->feeds.n, 1);
    assert_int_equal(ST_LIST_AT(cfg->feeds, st_feed_cfg_t, 0)->kind, ST_FEED_SIM);
    assert_int_equal(ST_LIST_AT(cfg->feeds, st_feed_cfg_t, 0)->budget, 41);
    assert_true(cfg->status.enabled);
    assert_int_equal(cfg->status.port, 8787);
    st_config_free(cfg);
    st_diags_free(&d);
    /* No indices file unless one is named. */
    cfg = parse("market: {universe: " UNIVERSE "}\n", &d);
    assert_non_null(cfg);
    assert_string_equal(cfg->market.indices, "");
    st_config_free(cfg);
    st_diags_free(&d);
}

static void test_values_and_params(void **state)
{
    st_diags_t d;
    st_config_t *cfg = parse(HEAD "runtime:\n"
                                  "  clock: {mode: simulated, start: \"2026-11-23 08:50\", speed: 0}\n"
                                  "rebalance: {margin: 0.35, min_dwell: 90s}\n"
                                  "strategies:\n"
                                  "  - name: s1\n"
                                  "    kind: lua\n"
                                  "    path: config/demo.yaml\n"
                                  "    params: {threshold: 3, ratio: 1.5, on: yes, tag: gap, list: [1, two]}\n",
                             &d);
    if (!cfg) dump(&d);
    assert_non_null(cfg);
    assert_int_equal(cfg->runtime.clock.start_time, (st_time_t)1795391400 * ST_SEC);
    assert_true(cfg->runtime.clock.speed == 0);
    assert_true(cfg->rebalance.margin == 0.35);
    assert_int_equal(cfg->rebalance.min_dwell, 90 * ST_SEC);
    const st_strategy_cfg_t *s = ST_LIST_AT(cfg->strategies, st_strategy_cfg_t, 0);
    const st_value_t *p = s->params;
    assert_int_equal(p->type, ST_V_MAP);
    assert_int_equal(st_value_get(p, "threshold")->type, ST_V_INT);
    assert_int_equal(st_value_get(p, "threshold")->u.i, 3);
    assert_int_equal(st_value_get(p, "ratio")->type, ST_V_DOUBLE);
    assert_int_equal(st_value_get(p, "on")->type, ST_V_BOOL);
    assert_string_equal(st_value_get(p, "tag")->u.s, "gap");
    const st_value_t *l = st_value_get(p, "list");
    assert_int_equal(l->type, ST_V_LIST);
    assert_int_equal(l->u.c.n, 2);
    assert_int_equal(l->u.c.items[1].type, ST_V_STRING);
    assert_null(st_value_get(p, "missing"));
    st_config_free(cfg);
    st_diags_free(&d);
}

static void test_unknown_key_suggests(void **state)
{
    EXPECT(HEAD "runtime:\n  timezon: Asia/Seoul\n",
           {4, 3, "runtime: unknown key \"timezon\" (did you mean \"timezone\"?)"});
    EXPECT(HEAD "nonsense: 1\n", {3, 1, "unknown key \"nonsense\" in config"});
}

static void test_wrong_types(void **state)
{
    EXPECT(HEAD "runtime:\n  report_interval: [1, 2]\n",
           {4, 20, "runtime.report_interval: expected a duration such as 100ms, 30s or 5m, got a list"});
    EXPECT(HEAD "runtime:\n  clock: {speed: fast}\n",
           {4, 18, "runtime.clock.speed: expected a number, got \"fast\""});
    EXPECT(HEAD "feeds: {name: x}\n", {3, 8, "feeds: expected a list, got a mapping"});
    EXPECT(HEAD "status:\n  enabled: maybe\n",
           {4, 12, "status.enabled: expected true or false, got \"maybe\""});
    EXPECT(HEAD "feeds:\n  - {name: a, kind: sim, budget: 4.5}\n",
           {4, 34, "feeds[0].budget: expected an integer, got \"4.5\""});
    EXPECT(HEAD "runtime: 5\n", {3, 10, "runtime: expected a mapping (key: value), got a scalar"});
    EXPECT(HEAD "runtime:\n  clock:\n    speed:\n",
           {5, 11, "runtime.clock.speed: expected a number, got nothing"});
}

static void test_out_of_range(void **state)
{
    EXPECT(HEAD "runtime:\n  clock: {speed: -1}\n",
           {4, 18, "runtime.clock.speed: -1 is out of range (0 .. 1e+06)"});
    EXPECT(HEAD "tiers:\n  polling: {medium: 500ms}\n",
           {4, 21, "tiers.polling.medium: 500ms is out of range (1s .. 24h)"});
    EXPECT(HEAD "risk: {max_sector_share: 150%}\n",
           {3, 26, "risk.max_sector_share: 150% is out of range (0.01 .. 1)"});
    EXPECT(HEAD "status: {port: 70000}\n", {3, 16, "status.port: 70000 is out of range"});
}

static void test_missing_required(void **state)
{
    EXPECT(HEAD "feeds:\n  - name: x\n    budget: 10\n",
           {4, 5, "feeds[0]: missing required key \"kind\""});
    EXPECT(HEAD "schedule:\n  - {start: \"09:00\"}\n",
           {4, 5, "schedule[0]: missing required key \"name\""});
}

static void test_enums_durations_times(void **state)
{
    EXPECT(HEAD "runtime:\n  clock:\n    mode: fast\n",
           {5, 11, "runtime.clock.mode: \"fast\" is not one of: wall, simulated"});
    EXPECT(HEAD "runtime:\n  report_interval: 15\n",
           {4, 20, "runtime.report_interval: expected a duration such as 100ms, 30s or 5m, got \"15\""});
    EXPECT("market:\n  universe: " UNIVERSE "\n  session: {open: 9am}\n",
           {3, 19, "market.session.open: expected a time of day such as 09:00"});
}

static void test_yaml_syntax_and_duplicates(void **state)
{
    EXPECT(HEAD "runtime: {clock: [1, 2\n", {4, 1, "YAML syntax: did not find expected ',' or ']'"});
    EXPECT(HEAD "runtime:\n  timezone: UTC\n  timezone: UTC\n",
           {5, 3, "runtime.timezone: duplicate key"});
}

/* Issue 16.4 and 16.6: YAML bombs and a second document, each a located error, in time linear
 * in the input (100,000 nested brackets took over 30 s before; a 920-byte alias bomb 573 MB). */
static void test_yaml_bombs(void **state)
{
    /* billion laughs: each level ten aliases of the one before */
    char lol[2048];
    int n = snprintf(lol, sizeof(lol), HEAD "strategies:\n  - {name: s, kind: lua, path: s.lua, params: {a: &a [x,x,x,x,x,x,x,x,x,x]");
    const char *names = "bcdefghi";
    for (int i = 0; names[i]; i++) {
        n += snprintf(lol + n, sizeof(lol) - (size_t)n, ", %c: &%c [", names[i], names[i]);
        for (int k = 0; k < 10; k++)
            n += snprintf(lol + n, sizeof(lol) - (size_t)n, "%s*%c", k ? "," : "", i ? names[i - 1] : 'a');
        n += snprintf(lol + n, sizeof(lol) - (size_t)n, "]");
    }
    snprintf(lol + n, sizeof(lol) - (size_t)n, "}}\n");
    st_diags_t d;
    assert_null(parse(lol, &d));
    assert_int_equal(d.n, 1);
    assert_int_equal(d.items[0].line, 4);
    assert_non_null(strstr(d.items[0].msg, "aliases expand the YAML past 100000 nodes"));
    st_diags_free(&d);

    /* nesting: an error at the 65th level, and 100,000 levels are no slower to refuse */
    char *deep = malloc(300000);
    n = snprintf(deep, 300000, HEAD "runtime: ");
    for (int i = 0; i < 100000; i++) deep[n++] = '[';
    for (int i = 0; i < 100000; i++) deep[n++] = ']';
    deep[n] = '\0';
    assert_null(parse(deep, &d));
    assert_int_equal(d.n, 1);
    assert_int_equal(d.items[0].line, 3);
    assert_int_equal(d.items[0].col, 10 + 63); /* the 64th bracket: the root mapping is the first level */
    assert_non_null(strstr(d.items[0].msg, "YAML nested deeper than 64 levels"));
    st_diags_free(&d);
    free(deep);

    EXPECT(HEAD "runtime: {timezone: UTC}\n---\nmarket: {}\n",
           {4, 1, "a second YAML document (after ---): a config is one document"});

    /* aliases within reason still work */
    st_config_t *cfg = parse(HEAD "schedule:\n  - {name: a, start: \"09:00\", weights: &w {x: 1.5}}\n"
                                  "  - {name: b, start: \"10:00\", weights: *w}\n", &d);
    if (!cfg) dump(&d);
    assert_non_null(cfg);
    st_config_free(cfg);
    st_diags_free(&d);
}

/* outputs.redis: the url read into host, port and database, every mistake located (issue 22.1). */
static void test_redis_output(void **state)
{
    st_diags_t d;
    st_config_t *cfg = parse(HEAD "outputs: {redis: {url: \"redis://10.0.0.5:6380/3\", prefix: \"strata:desk1\"}}\n", &d);
    assert_non_null(cfg);
    assert_string_equal(cfg->outputs.redis.host, "10.0.0.5");
    assert_int_equal(cfg->outputs.redis.port, 6380);
    assert_int_equal(cfg->outputs.redis.db, 3);
    st_config_free(cfg);
    st_diags_free(&d);
    cfg = parse(HEAD "outputs: {redis: {url: \"redis://localhost\"}}\n", &d);
    assert_non_null(cfg);
    assert_int_equal(cfg->outputs.redis.port, 6379);
    assert_int_equal(cfg->outputs.redis.db, 0);
    st_config_free(cfg);
    st_diags_free(&d);
    EXPECT(HEAD "outputs:\n  redis: {url: \"http://127.0.0.1\"}\n",
           {4, 10, "outputs.redis.url: expected redis://HOST[:PORT][/DB], got \"http://127.0.0.1\""});
    EXPECT(HEAD "outputs:\n  redis: {url: \"redis://127.0.0.1:0\"}\n", {4, 10, "the port must be 1-65535"});
    EXPECT(HEAD "outputs:\n  redis: {url: \"redis://127.0.0.1/16\"}\n", {4, 10, "the database is a number 0-15"});
    EXPECT(HEAD "outputs:\n  redis: {url: \"redis://127.0.0.1/x\"}\n", {4, 10, "the database is a number 0-15"});
    EXPECT(HEAD "outputs:\n  redis: {url: \"redis://127.0.0.1\", prefix: \"a b\"}\n", {4, 10, "a key prefix without spaces"});
    EXPECT(HEAD "outputs:\n  redis: {url: \"redis://127.0.0.1\", ticks: all}\n",
           {4, 44, "outputs.redis.ticks: \"all\" is not one of: per_feed, per_symbol, none"});
}

static void test_cross_field_checks(void **state)
{
    EXPECT(HEAD "runtime:\n  timezone: Mars/Olympus\n",
           {4, 3, "runtime.timezone: unknown time zone \"Mars/Olympus\""});
    EXPECT(HEAD "runtime:\n  clock: {mode: simulated, start: tomorrow}\n",
           {4, 10, "runtime.clock.start: expected \"YYYY-MM-DD HH:MM[:SS]\" or \"HH:MM\", got \"tomorrow\""});
    EXPECT("market: {universe: /nonexistent/u.csv, indices: \"\"}\n",
           {1, 9, "market.universe: cannot read \"/nonexistent/u.csv\""});
    EXPECT("market:\n  universe: " UNIVERSE "\n  session: {open: \"16:00\"}\n",
           {3, 12, "market.session: times must satisfy pre_open <= open < closing_auction <= close"});
    EXPECT(HEAD "feeds:\n  - {name: a, kind: sim}\n  - {name: a, kind: replay, mode: limited, record: {path: t.strata}}\n",
           {5, 5, "feeds[1]: duplicate feed name \"a\""},
           {5, 5, "feeds[1]: a replay feed needs path: the recording to replay"},
           {5, 5, "feeds[1]: a replay feed needs runtime.clock.mode: simulated"},
           {5, 52, "feeds[1].record: only a sim feed records its market's tape"});
    EXPECT(HEAD "schedule:\n"
                "  - {name: a, start: \"09:00\", realtime: 20, semi_realtime: 2}\n"
                "  - {name: a, start: \"08:00\"}\n",
           {4, 5, "schedule[0] \"a\": realtime*2 + semi_realtime + indices + reserve = 42 exceeds the WebSocket budget of 41"},
           {5, 5, "schedule[1] \"a\": start must be later than the previous slot's (\"a\")"},
           {5, 5, "schedule[1]: duplicate slot name \"a\""});
    EXPECT(HEAD "strategies:\n  - {name: s, kind: lua, path: nowhere.lua}\n",
           {4, 5, "strategies[0] \"s\": cannot read \"nowhere.lua\""});
    EXPECT(HEAD "signals:\n  sinks:\n    - {kind: jsonl}\n    - {kind: webhook, url: ftp://x}\n",
           {5, 7, "signals.sinks[0]: a jsonl sink needs a path"},
           {6, 7, "signals.sinks[1]: a webhook sink needs an http:// or https:// url"});
    EXPECT(HEAD "status: {token_env: STRATA_TEST_SURELY_UNSET_VAR}\n",
           {3, 9, "status.token_env: environment variable STRATA_TEST_SURELY_UNSET_VAR is not set"});
    /* issue 16.1: an IP literal; not loopback needs a token or an explicit yes */
    EXPECT(HEAD "status: {listen: my.host.example}\n",
           {3, 9, "status.listen: \"my.host.example\" is not an IP address"});
    EXPECT(HEAD "status: {listen: 0.0.0.0}\n",
           {3, 9, "status.listen: 0.0.0.0 is not a loopback address and status.token_env is empty"});
    EXPECT(HEAD "status: {listen: \"::\"}\n",
           {3, 9, "status.listen: :: is not a loopback address and status.token_env is empty"});
    st_diags_t d;
    st_config_t *cfg = parse(HEAD "status: {listen: 0.0.0.0, allow_without_token: true}\n", &d);
    assert_non_null(cfg);
    st_config_free(cfg);
    st_diags_free(&d);
    cfg = parse(HEAD "status: {listen: localhost}\n", &d);
    assert_non_null(cfg);
    assert_string_equal(cfg->status.listen, "127.0.0.1");
    st_config_free(cfg);
    st_diags_free(&d);
    cfg = parse(HEAD "status: {listen: \"::1\"}\n", &d);
    assert_non_null(cfg);
    st_config_free(cfg);
    st_diags_free(&d);
}

/* Issue 16.5: a FIFO (or device) where a file belongs is refused by name, never opened: strata
 * check would otherwise wait forever for a writer. */
static void test_fifo_paths_refused(void **state)
{
    char *dir = st_test_tmpdir(), fifo[300], text[1024];
    snprintf(fifo, sizeof(fifo), "%s/pipe", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(text, sizeof(text), "market: {universe: %s, indices: \"\"}\n", fifo);
    st_diags_t d;
    assert_null(parse(text, &d));
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.items[0].msg, "market.universe: cannot read"));
    assert_non_null(strstr(d.items[0].msg, "not a regular file"));
    st_diags_free(&d);
    snprintf(text, sizeof(text), HEAD "strategies:\n  - {name: s, kind: lua, path: %s}\n", fifo);
    assert_null(parse(text, &d));
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.items[0].msg, "strategies[0] \"s\": cannot read"));
    assert_non_null(strstr(d.items[0].msg, "not a regular file"));
    st_diags_free(&d);
    char *out;
    assert_int_equal(st_file_read(fifo, &out, NULL), ST_ENOTFILE);
    assert_int_equal(st_file_read("/dev/null", &out, NULL), ST_ENOTFILE);
    assert_int_equal(st_file_read(dir, &out, NULL), -EISDIR);
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

/* --- every range, exactly on its bounds (issue 23.18) ------------------------------------------
 * Each ranged key of the schema (ints, numbers, durations), wherever it sits (nested sections,
 * list items), is given its minimum and its maximum (no range error for it) and the values just
 * outside (a range error naming it). Bounds made exclusive, or a check dropped, fail here. */

#define GAP_LUA "strategies/gap.lua"

static const char *item_template(const char *list)
{
    if (!strcmp(list, "feeds")) return "name: x, kind: sim, ";
    if (!strcmp(list, "strategies")) return "name: s, kind: lua, path: " GAP_LUA ", ";
    if (!strcmp(list, "schedule")) return "name: a, start: \"09:00\", ";
    if (!strcmp(list, "sinks")) return "kind: log, ";
    if (!strcmp(list, "watch")) return "symbol: \"005930\", ";
    return "";
}

static void value_text(const st_field_t *f, int which, char *buf, size_t len)
{
    /* which: 0 min, 1 max, -1 just below min, 2 just above max */
    double v = which == 0 || which == -1 ? f->min : f->max;
    if (f->type == ST_T_DOUBLE) {
        double step = fmax(1e-6, fabs(v) * 1e-6); /* the smallest step a config would write */
        if (which == -1) v -= step;
        if (which == 2) v += step;
        snprintf(buf, len, "%.17g", v);
        return;
    }
    long long n = (long long)v + (which == -1 ? -1 : which == 2 ? 1 : 0);
    snprintf(buf, len, f->type == ST_T_DURATION ? "%lldus" : "%lld", n);
}

typedef struct {
    const st_field_t *path[8];
    int depth;
    int checked;
} walk_t;

static void check_bounds(walk_t *w)
{
    const st_field_t *f = w->path[w->depth - 1];
    for (int which = -1; which <= 2; which++) {
        char yaml[4096] = "", key[256] = "", val[64];
        value_text(f, which, val, sizeof(val));
        size_t n = 0, k = 0;
        if (strcmp(w->path[0]->key, "market") != 0)
            n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "market: {universe: %s, indices: %s}\n", UNIVERSE, INDICES);
        for (int i = 0; i < w->depth; i++) {
            const st_field_t *p = w->path[i];
            k += (size_t)snprintf(key + k, sizeof(key) - k, "%s%s", i ? "." : "", p->key);
            if (i == w->depth - 1) {
                n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%s: %s", p->key, val);
            } else if (p->type == ST_T_LIST) {
                n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%s: [{%s", p->key, item_template(p->key));
                k += (size_t)snprintf(key + k, sizeof(key) - k, "[0]");
            } else {
                n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%s: {%s", p->key,
                                      !strcmp(p->key, "market") && i == 0 ? "universe: " UNIVERSE ", indices: " INDICES ", " : "");
            }
        }
        for (int i = w->depth - 2; i >= 0; i--) n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, w->path[i]->type == ST_T_LIST ? "}]" : "}");
        snprintf(yaml + n, sizeof(yaml) - n, "\n");
        st_diags_t d;
        st_config_t *cfg = parse(yaml, &d);
        /* an error about this key's value: out of range, or (a negative duration) not one */
        char want[400], bad[400];
        snprintf(want, sizeof(want), "%s: %s is out of range", key, val);
        snprintf(bad, sizeof(bad), "%s: expected", key);
        bool range_error = false;
        for (size_t i = 0; i < d.n; i++)
            range_error |= strstr(d.items[i].msg, want) != NULL || strstr(d.items[i].msg, bad) != NULL;
        bool outside = which == -1 || which == 2;
        if (range_error != outside) {
            printf("# %s = %s: %s\n", key, val, outside ? "accepted, but it is outside the range" : "refused as out of range");
            printf("#   yaml: %s", yaml);
            dump(&d);
        }
        assert_true(range_error == outside);
        if (cfg) st_config_free(cfg);
        st_diags_free(&d);
    }
    w->checked++;
}

static void walk_schema(walk_t *w, const st_schema_t *sc)
{
    for (size_t i = 0; i < sc->nfields; i++) {
        const st_field_t *f = &sc->fields[i];
        if (w->depth == 8) return;
        w->path[w->depth++] = f;
        if ((f->type == ST_T_STRUCT || f->type == ST_T_LIST) && f->sub) walk_schema(w, f->sub);
        else if ((f->type == ST_T_INT || f->type == ST_T_DOUBLE || f->type == ST_T_DURATION) && f->min < f->max)
            check_bounds(w);
        w->depth--;
    }
}

static void test_every_range_bound(void **state)
{
    walk_t w = {0};
    walk_schema(&w, &st_config_schema);
    printf("# %d ranged keys checked on both bounds\n", w.checked);
    assert_true(w.checked > 40);
}

/* Cross-field errors found after decoding still come out in file order. */
/* Network feeds: credentials by environment variable name (checked to be set, never shown),
 * one session per app key, URLs, backoff bounds, and no as-fast-as-possible clock. */
static void test_network_feed_checks(void **state)
{
    setenv("STRATA_TEST_KEY_A", "key-a-value", 1);
    setenv("STRATA_TEST_SECRET_A", "secret-a-value", 1);
    unsetenv("STRATA_TEST_SURELY_UNSET_VAR");
    st_diags_t d;
    st_config_t *cfg = parse(HEAD "feeds:\n  - name: k\n    kind: kis\n    keys:\n"
                                  "      - {app_key_env: STRATA_TEST_KEY_A, app_secret_env: STRATA_TEST_SECRET_A}\n", &d);
    assert_non_null(cfg);
    const st_feed_cfg_t *f = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, 0);
    assert_string_equal(f->ws_url, "ws://ops.koreainvestment.com:21000");
    assert_string_equal(f->rest_url, "https://openapi.koreainvestment.com:9443");
    assert_int_equal(f->stall_timeout, 30 * ST_SEC);
    assert_int_equal(f->budget, 41); /* the venue's limits, from kis_feed.c */
    assert_true(f->rest_rate == 20 && f->ws_rate == 5);
    assert_int_equal(f->ws_rate_minute, 0);
    st_config_free(cfg);
    cfg = parse(HEAD "feeds:\n  - {name: k, kind: kis, paper: true, keys: [{app_key_env: STRATA_TEST_KEY_A, "
                     "app_secret_env: STRATA_TEST_SECRET_A}]}\n", &d);
    assert_non_null(cfg);
    f = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, 0);
    assert_string_equal(f->ws_url, "ws://ops.koreainvestment.com:31000");
    assert_true(f->rest_rate == 2); /* a paper account: 20 a second would be refused (EGW00201) */
    st_config_free(cfg);
    cfg = parse(HEAD "feeds:\n  - {name: k, kind: kis, paper: true, rest_rate: 1.5, budget: 30, ws_rate: 3, "
                     "ws_rate_minute: 50, keys: [{app_key_env: STRATA_TEST_KEY_A, app_secret_env: STRATA_TEST_SECRET_A}]}\n"
                     "schedule: [{name: all_day, start: \"08:00\", realtime: 1}]\n",
                &d);
    assert_non_null(cfg);
    f = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, 0); /* what the item says stands */
    assert_true(f->rest_rate == 1.5 && f->ws_rate == 3);
    assert_int_equal(f->budget, 30);
    assert_int_equal(f->ws_rate_minute, 50);
    st_config_free(cfg);
    EXPECT(HEAD "feeds:\n  - {name: k, kind: kis, budget: 42, keys: [{app_key_env: STRATA_TEST_KEY_A, "
                "app_secret_env: STRATA_TEST_SECRET_A}]}\n",
           {4, 5, "feeds[0].budget: a KIS session holds at most 41 registrations (past them: OPSP0008 MAX SUBSCRIBE "
                  "OVER), got 42"});
    EXPECT(HEAD "feeds:\n  - {name: u, kind: upbit, rest_rate: 12}\n",
           {4, 5, "feeds[0].rest_rate: Upbit allows 10 quotation calls a second from one address (past them: HTTP 429, "
                  "then a ban), got 12"});
    cfg = parse(HEAD "feeds:\n  - {name: s, kind: sim}\n  - {name: r, kind: replay, path: x.strata, budget: 7}\n"
                     "runtime: {clock: {mode: simulated}}\n", &d);
    assert_non_null(cfg);
    for (size_t i = 0; i < 2; i++) { /* the simulated venue is a KIS real account's */
        f = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i);
        assert_int_equal(f->budget, i ? 7 : 41);
        assert_true(f->rest_rate == 20 && f->ws_rate == 5);
    }
    st_config_free(cfg);

    cfg = parse(HEAD "feeds:\n  - {name: u, kind: upbit}\n", &d);
    assert_non_null(cfg);
    f = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, 0);
    assert_string_equal(f->ws_url, "wss://api.upbit.com/websocket/v1");
    assert_int_equal(f->ws_rate_minute, 100); /* Upbit's own minute limit unless told otherwise */
    assert_true(f->rest_rate == 10);           /* … and its 10 quotation calls a second */
    st_config_free(cfg);
    EXPECT(HEAD "feeds:\n  - {name: u, kind: upbit, keys: [{app_key_env: STRATA_TEST_KEY_A, app_secret_env: STRATA_TEST_SECRET_A}]}\n",
           {4, 5, "feeds[0]: an upbit feed takes no keys (quotation data is public)"});
    EXPECT(HEAD "feeds:\n  - {name: k, kind: kis}\n",
           {4, 5, "feeds[0]: a kis feed needs keys: one {app_key_env, app_secret_env} per WebSocket session"});
    EXPECT(HEAD "feeds:\n  - name: k\n    kind: kis\n    connections: 3\n    ws_url: http://x\n"
                "    reconnect_min: 5s\n    reconnect_max: 2s\n    keys:\n"
                "      - {app_key_env: STRATA_TEST_KEY_A, app_secret_env: STRATA_TEST_SURELY_UNSET_VAR}\n"
                "      - {app_key_env: STRATA_TEST_KEY_A, app_secret_env: STRATA_TEST_SECRET_A}\n",
           {4, 5, "feeds[0]: a kis feed opens one session per app key: 2 keys, but connections is 3"},
           {4, 5, "feeds[0].ws_url: expected ws://HOST[:PORT][/PATH] or wss://…, got \"http://x\""},
           {4, 5, "feeds[0]: reconnect_min must not exceed reconnect_max"},
           {11, 9, "feeds[0].keys[0].app_secret_env: environment variable STRATA_TEST_SURELY_UNSET_VAR is not set"},
           {12, 9, "feeds[0].keys[1]: app key STRATA_TEST_KEY_A is already used by feeds[0].keys[0]"});
    EXPECT(HEAD "runtime: {clock: {mode: simulated, speed: 0}}\n"
                "feeds:\n  - {name: k, kind: kis, keys: [{app_key_env: STRATA_TEST_KEY_A, app_secret_env: STRATA_TEST_SECRET_A}]}\n",
           {5, 5, "feeds[0]: a kis feed talks to a real server: runtime.clock.speed 0"});
}

static void test_errors_sorted_by_position(void **state)
{
    EXPECT("runtime:\n  timezone: Nowhere/Zone\n  clock: {speed: x}\n"
           "market: {universe: " UNIVERSE "}\n",
           {2, 3, "unknown time zone"}, {3, 18, "expected a number"});
}

/* Errors in several sections are all reported by one run. */
static void test_five_mistakes_five_errors(void **state)
{
    EXPECT(HEAD "runtime:\n"
                "  clock:\n"
                "    mode: realtime\n"           /* 5: bad enum */
                "    speed: -3\n"                /* 6: out of range */
                "  report_interval: soon\n"      /* 7: bad duration */
                "feeds:\n"
                "  - name: sim\n"                /* 9: missing kind */
                "rebalance:\n"
                "  intervall: 5m\n",             /* 11: unknown key */
           {5, 11, "\"realtime\" is not one of"},
           {6, 12, "out of range"},
           {7, 20, "expected a duration"},
           {9, 5, "missing required key \"kind\""},
           {11, 3, "did you mean \"interval\""});
}

/* Found by fuzz_config: list items that are not mappings or lack their required strings
 * crashed the cross-field checks (a NULL name). Now they are errors like any other. */
static void test_fuzz_regression_missing_required_strings(void **state)
{
    EXPECT(HEAD "strategies: [{nua e},m]\n",
           {3, 14, "strategies[0]: missing required key \"name\""},
           {3, 14, "strategies[0]: missing required key \"kind\""},
           {3, 14, "strategies[0]: missing required key \"path\""},
           {3, 15, "strategies[0]: unknown key \"nua e\" (did you mean \"name\"?)"},
           {3, 22, "strategies[1]: expected a mapping (key: value), got a scalar"});
    EXPECT(HEAD "feeds: [x]\nschedule: [y]\nsignals: {sinks: [z]}\n",
           {3, 9, "feeds[0]: expected a mapping"}, {4, 12, "schedule[0]: expected a mapping"},
           {5, 19, "signals.sinks[0]: expected a mapping"});
}

/* Reload compares feeds through the schema: every setting counts, names and marks aside. */
static void test_feeds_equal(void **state)
{
    st_diags_t d;
    st_config_t *a = parse(HEAD "feeds: [{name: s, kind: sim, seed: 3}]\n", &d);
    st_diags_free(&d);
    st_config_t *b = parse(HEAD "\n\nfeeds:\n  - {name: s, kind: sim, seed: 3}\n", &d);
    st_diags_free(&d);
    st_config_t *c = parse(HEAD "feeds: [{name: s, kind: sim, seed: 3, foreign_registrations: 1}]\n", &d);
    st_diags_free(&d);
    assert_true(st_config_feeds_equal(a, b)); /* other lines, same settings */
    assert_false(st_config_feeds_equal(a, c));
    st_config_free(a), st_config_free(b), st_config_free(c);
}

static void test_relative_paths_resolve_against_config(void **state)
{
    char *dir = st_test_tmpdir();
    char *u = st_test_write(dir, "u.csv", "code,name,market,sector\n005930,삼성전자,KOSPI,반도체\n");
    char *c = st_test_write(dir, "c.yaml", "market: {universe: u.csv, indices: \"\"}\n");
    st_config_t *cfg;
    st_diags_t d;
    st_diags_init(&d);
    assert_int_equal(st_config_load(c, &cfg, &d), 0);
    assert_string_equal(cfg->market.universe, u);
    st_config_free(cfg);
    assert_true(st_config_load("/nonexistent/strata.yaml", &cfg, &d) < 0);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.items[0].msg, "cannot read config"));
    st_diags_free(&d);
    unlink(c);
    unlink(u);
    rmdir(dir);
    free(u);
    free(c);
    free(dir);
}

int main(void)
{
    st_test_chdir_source(); /* the configs name the checkout's files by relative paths */
    setenv("TZ", "UTC", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_config),
        cmocka_unit_test(test_default_schedule_is_published_table),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values_and_params),
        cmocka_unit_test(test_unknown_key_suggests),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_enums_durations_times),
        cmocka_unit_test(test_yaml_syntax_and_duplicates),
        cmocka_unit_test(test_yaml_bombs),
        cmocka_unit_test(test_fifo_paths_refused),
        cmocka_unit_test(test_every_range_bound),
        cmocka_unit_test(test_cross_field_checks),
        cmocka_unit_test(test_redis_output),
        cmocka_unit_test(test_errors_sorted_by_position),
        cmocka_unit_test(test_five_mistakes_five_errors),
        cmocka_unit_test(test_fuzz_regression_missing_required_strings),
        cmocka_unit_test(test_feeds_equal),
        cmocka_unit_test(test_network_feed_checks),
        cmocka_unit_test(test_relative_paths_resolve_against_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
