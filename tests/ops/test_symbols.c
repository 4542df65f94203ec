/* The per-symbol view (ops/symview.c) and what GET /symbols makes of it with the planner's
 * entries (ops/symbols.c): exact values on a small universe and a fixed clock. */
#include "../test.h"

#include "core/timefmt.h"
#include "ops/symbols.h"

#include <cjson/cJSON.h>

#define T0 ((st_time_t)1795392000 * ST_SEC) /* 2026-11-23 09:00 KST */

static st_symtab_t syms;
static st_arena_t *arena;
static st_universe_t uni;

static int setup(void **state)
{
    st_tz_set("Asia/Seoul");
    st_symtab_init(&syms);
    arena = st_arena_create(0);
    return st_test_universe("code,name,market,sector\n005930,삼성전자,KOSPI,chips\n000660,SK하이닉스,KOSPI,chips\n"
                            "035420,NAVER,KOSPI,web\n068270,셀트리온,KOSPI,bio\n",
                            "code,name\n0001,KOSPI\n", &uni, &syms, arena);
}

static int teardown(void **state)
{
    st_arena_destroy(arena);
    st_symtab_free(&syms);
    return 0;
}

static st_sym_t sym(const char *code)
{
    return st_symtab_find(&syms, code, strlen(code));
}

static st_tick_t trade(const char *code, st_time_t at, double price)
{
    st_tick_t t = {.kind = ST_TICK_TRADE, .sym = sym(code), .recv_time = at, .venue_time = at};
    t.u.trade.price = price;
    return t;
}

/* Ticks per minute: the last whole minute's count; a minute with none reads 0. */
static void test_view_ticks(void **state)
{
    st_symview_t v;
    st_symview_init(&v, syms.n);
    for (int i = 0; i < 5; i++) {
        st_tick_t t = trade("005930", T0 + i * 10 * ST_SEC, 70000 + i); /* 09:00:00 .. 09:00:40 */
        st_symview_tick(&v, &t);
    }
    st_tick_t b = {.kind = ST_TICK_ORDERBOOK, .sym = sym("005930"), .recv_time = T0 + 61 * ST_SEC};
    b.u.book.ask[0] = 1; /* a book moves the time, not the price */
    st_symview_tick(&v, &b);
    const st_sv_sym_t *s = st_symview_get(&v, sym("005930"));
    assert_int_equal(s->ticks, 6);
    assert_true(s->last_price == 70004);
    assert_int_equal(s->last_tick, T0 + 61 * ST_SEC);
    assert_int_equal(st_symview_per_minute(s, T0 + 61 * ST_SEC), 5); /* 09:00's five */
    assert_int_equal(st_symview_per_minute(s, T0 + 2 * ST_MIN), 1);  /* 09:01's book */
    assert_int_equal(st_symview_per_minute(s, T0 + 3 * ST_MIN), 0);  /* 09:02 had none */
    st_tick_t far = trade("005930", T0 + 10 * ST_MIN, 1);
    st_symview_tick(&v, &far); /* minutes skipped: the previous count is 0, not 09:01's */
    assert_int_equal(st_symview_per_minute(s, T0 + 10 * ST_MIN + ST_SEC), 0);
    st_tick_t out = trade("005930", T0, 5);
    out.sym = (st_sym_t)v.n; /* an id it does not cover: ignored */
    st_symview_tick(&v, &out);
    assert_null(st_symview_get(&v, (st_sym_t)v.n));
    st_symview_free(&v);
}

/* The history keeps the last ST_SV_RING events, oldest first, and counts the rest. */
static void test_view_ring(void **state)
{
    st_symview_t v;
    st_symview_init(&v, syms.n);
    const st_sv_sym_t *s = st_symview_get(&v, sym("000660"));
    assert_int_equal(st_symview_nevents(s), 0);
    assert_null(st_symview_event(s, 0));
    assert_null(s->ring); /* nothing happened to it: no history kept */
    for (int i = 0; i < ST_SV_RING + 5; i++)
        st_symview_add(&v, sym("000660"), &(st_sv_event_t){.at = T0 + i, .kind = ST_SV_SIGNAL, .value = i});
    assert_int_equal(st_symview_nevents(s), ST_SV_RING);
    assert_int_equal(s->nevents, ST_SV_RING + 5);
    for (size_t i = 0; i < ST_SV_RING; i++) assert_true(st_symview_event(s, i)->value == (double)(i + 5));
    assert_null(st_symview_event(s, ST_SV_RING));
    st_symview_free(&v);
}

static void test_filter_parse(void **state)
{
    st_symbols_filter_t f;
    char err[160];
    assert_int_equal(st_symbols_filter_parse(NULL, &f, err, sizeof(err)), 0);
    assert_int_equal(f.tier, -1);
    assert_int_equal(st_symbols_filter_parse("tier=3&strategy=gap&q=삼성", &f, err, sizeof(err)), 0);
    assert_int_equal(f.tier, 3);
    assert_string_equal(f.strategy, "gap");
    assert_string_equal(f.q, "삼성");
    assert_int_equal(st_symbols_filter_parse("tier=4", &f, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "tier=4: expected 0 (none), 1, 2 or 3");
    assert_int_equal(st_symbols_filter_parse("tier=", &f, err, sizeof(err)), -EINVAL);
    assert_int_equal(st_symbols_filter_parse("sort=code", &f, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "unknown filter \"sort\": tier, strategy or q");
    assert_int_equal(st_symbols_filter_parse("&&q=00", &f, err, sizeof(err)), 0); /* empty parts skipped */
    assert_string_equal(f.q, "00");
    char longq[80] = "q=";
    memset(longq + 2, 'x', 64); /* 64 bytes: one too many, refused rather than cut */
    assert_int_equal(st_symbols_filter_parse(longq, &f, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "q: a value of at most 63 bytes, got 64");
    longq[2 + 63] = '\0';
    assert_int_equal(st_symbols_filter_parse(longq, &f, err, sizeof(err)), 0);
    assert_int_equal(strlen(f.q), 63);
}

static st_planner_t *planner(void)
{
    st_planner_cfg_t c = {.nconns = 1, .margin = 0.2, .min_dwell = 2 * ST_MIN, .max_swaps = 3, .max_sector_share = 1.0,
                          .failure_threshold = 2, .exclusion_cooldown = 10 * ST_MIN, .poll_min = 15 * ST_SEC,
                          .poll_max = 5 * ST_MIN, .budget = {41}};
    for (int p = 0; p < ST_PRIO_COUNT; p++) c.poll[p] = 30 * ST_SEC;
    st_planner_t *p = st_planner_create(&c, &uni);
    st_policy_t pol = {"test", 2, 2, 1, 2, 1.0, NULL, false};
    st_planner_set_policy(p, &pol, T0);
    return p;
}

static const cJSON *find(const cJSON *arr, const char *code)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
        if (!strcmp(cJSON_GetObjectItem(e, "code")->valuestring, code)) return e;
    return NULL;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : cJSON_IsNull(v) ? "null" : "?";
}

/* The "code" of each object of arr, space-separated, in order. */
static void codes_of(const cJSON *arr, char *out, size_t len)
{
    const cJSON *e;
    out[0] = '\0';
    cJSON_ArrayForEach(e, arr) snprintf(out + strlen(out), len - strlen(out), "%s%s", *out ? " " : "", str(e, "code"));
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static void test_symbols_json(void **state)
{
    st_planner_t *p = planner();
    int cfg = st_planner_requester(p, "config", 1), gap = st_planner_requester(p, "gap", 1);
    st_planner_demand(p, cfg, sym("005930"), ST_PRIO_CRITICAL);
    st_planner_demand(p, gap, sym("005930"), ST_PRIO_HIGH);
    st_planner_demand(p, cfg, sym("000660"), ST_PRIO_LOW);
    st_planner_demand(p, gap, sym("035420"), ST_PRIO_LOW);
    st_planner_replan(p, T0);
    st_planner_failure(p, sym("035420"), T0 + ST_SEC);
    st_planner_failure(p, sym("035420"), T0 + 2 * ST_SEC); /* the threshold (2): excluded */
    st_planner_replan(p, T0 + 2 * ST_SEC);
    st_symview_t v;
    st_symview_init(&v, syms.n);
    st_tick_t t = trade("005930", T0 + 30 * ST_SEC, 71200);
    st_symview_tick(&v, &t);
    st_symbols_src_t src = {T0 + 90 * ST_SEC, &uni, p, &v};

    st_symbols_filter_t f;
    char err[160];
    assert_int_equal(st_symbols_filter_parse("", &f, err, sizeof(err)), 0);
    char *text = st_symbols_json(&src, &f);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    assert_string_equal(str(o, "time"), "2026-11-23 09:01:30.000");
    const cJSON *a = cJSON_GetObjectItem(o, "symbols");
    assert_int_equal(num(o, "count"), 3); /* asked for: 005930, 000660, 035420 (excluded); not 068270 */
    assert_int_equal(cJSON_GetArraySize(a), 3);
    assert_null(find(a, "068270"));
    const cJSON *s = find(a, "005930");
    assert_string_equal(str(s, "name"), "삼성전자");
    assert_int_equal(num(s, "tier"), 1);
    assert_int_equal(num(s, "connection"), 0);
    assert_string_equal(str(s, "priority"), "critical");
    const cJSON *rq = cJSON_GetObjectItem(s, "requesters");
    assert_int_equal(cJSON_GetArraySize(rq), 2);
    assert_string_equal(str(cJSON_GetArrayItem(rq, 0), "name"), "config");
    assert_string_equal(str(cJSON_GetArrayItem(rq, 1), "priority"), "high");
    assert_string_equal(str(s, "since"), "2026-11-23 09:00:00.000");
    assert_string_equal(str(s, "last_move"), "demand");
    assert_string_equal(str(s, "last_tick"), "2026-11-23 09:00:30.000");
    assert_true(num(s, "last_price") == 71200);
    assert_true(num(s, "staleness_s") == 60);
    assert_true(num(s, "ticks_per_minute") == 1);
    assert_string_equal(str(s, "poll_interval_s"), "null");
    s = find(a, "000660");
    assert_int_equal(num(s, "tier"), 3);
    assert_true(num(s, "poll_interval_s") == 30);
    assert_string_equal(str(s, "last_tick"), "null");
    assert_string_equal(str(s, "staleness_s"), "null");
    s = find(a, "035420");
    assert_int_equal(num(s, "tier"), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(s, "excluded")));
    assert_string_equal(str(s, "excluded_why"), "2 data failures in a row (risk.failure_threshold)");
    assert_string_equal(str(s, "excluded_until"), "2026-11-23 09:10:02.000");
    assert_string_equal(str(s, "last_move"), "excluded");
    cJSON_Delete(o);
    free(text);

    /* filters */
    static const struct {
        const char *q;
        const char *codes;
    } cases[] = {{"tier=1", "005930"}, {"tier=3", "000660"}, {"tier=0", "035420 068270 0001"},
                 {"strategy=gap", "005930 035420"}, {"q=하이닉스", "000660"}, {"q=naver", "035420"},
                 {"tier=1&strategy=config&q=005", "005930"}, {"strategy=nobody", ""}};
    for (size_t i = 0; i < ST_ARRAY_SIZE(cases); i++) {
        assert_int_equal(st_symbols_filter_parse(cases[i].q, &f, err, sizeof(err)), 0);
        text = st_symbols_json(&src, &f);
        o = cJSON_Parse(text);
        char got[128];
        codes_of(cJSON_GetObjectItem(o, "symbols"), got, sizeof(got));
        if (strcmp(got, cases[i].codes)) fail_msg("?%s: %s, want %s", cases[i].q, got, cases[i].codes);
        cJSON_Delete(o);
        free(text);
    }
    st_symview_free(&v);
    st_planner_destroy(p);
}

/* The dashboard's view: tiers 1-2 held, and tier 3's busiest by ticks in the last whole minute
 * (ties by code), at most `top` of them. */
static void test_live_view(void **state)
{
    st_planner_t *p = planner();
    int cfg = st_planner_requester(p, "config", 1);
    st_planner_demand(p, cfg, sym("005930"), ST_PRIO_CRITICAL);
    static const char *const polled[] = {"000660", "035420", "068270"};
    for (size_t i = 0; i < 3; i++) st_planner_demand(p, cfg, sym(polled[i]), ST_PRIO_LOW);
    st_planner_replan(p, T0);
    st_symview_t v;
    st_symview_init(&v, syms.n);
    for (int i = 0; i < 5; i++) { /* 068270: 5 ticks in 09:00, 035420: 2, 000660: none */
        st_tick_t t = trade(i < 2 ? "035420" : "068270", T0 + i * ST_SEC, 100);
        st_symview_tick(&v, &t);
        if (i >= 2) {
            t = trade("068270", T0 + i * ST_SEC + 1, 100);
            st_symview_tick(&v, &t);
        }
    }
    st_symbols_src_t src = {T0 + ST_MIN + ST_SEC, &uni, p, &v};
    static const struct {
        size_t top;
        const char *want;
    } cases[] = {{0, ""}, {1, "068270"}, {2, "068270 035420"}, {5, "068270 035420 000660"}};
    for (size_t c = 0; c < ST_ARRAY_SIZE(cases); c++) {
        char *text = st_symbols_live_json(&src, cases[c].top);
        cJSON *o = cJSON_Parse(text);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "held")), 1); /* 005930 */
        char got[64];
        codes_of(cJSON_GetObjectItem(o, "polling"), got, sizeof(got));
        if (strcmp(got, cases[c].want)) fail_msg("top %zu: %s, want %s", cases[c].top, got, cases[c].want);
        cJSON_Delete(o);
        free(text);
    }
    st_symview_free(&v);
    st_planner_destroy(p);
}

/* One symbol: the same object and its history, each kind of event written out. */
static void test_symbol_history(void **state)
{
    st_planner_t *p = planner();
    st_symview_t v;
    st_symview_init(&v, syms.n);
    st_sym_t s = sym("068270");
    st_symview_add(&v, s, &(st_sv_event_t){.at = T0, .kind = ST_SV_TIER, .from = 3, .to = 1, .why = ST_WHY_EMERGENCY, .conn = 0});
    st_symview_add(&v, s, &(st_sv_event_t){.at = T0 + 1, .kind = ST_SV_SUBSCRIPTION, .conn = 0, .channel = 1, .op = "subscribe"});
    st_symview_add(&v, s, &(st_sv_event_t){.at = T0 + 2, .kind = ST_SV_SIGNAL, .value = 0.5, .who = "gap", .text = "buy"});
    st_symview_add(&v, s, &(st_sv_event_t){.at = T0 + 3, .kind = ST_SV_EMERGENCY, .value = 95, .who = "gap",
                                           .text = "no holder worth less"});
    st_symbols_src_t src = {T0 + ST_SEC, &uni, p, &v};
    assert_null(st_symbols_one_json(&src, "999999"));
    char *text = st_symbols_one_json(&src, "068270");
    cJSON *o = cJSON_Parse(text);
    const cJSON *sym = cJSON_GetObjectItem(o, "symbol");
    assert_string_equal(str(sym, "name"), "셀트리온");
    const cJSON *h = cJSON_GetObjectItem(sym, "history");
    assert_int_equal(cJSON_GetArraySize(h), 4);
    const cJSON *e = cJSON_GetArrayItem(h, 0);
    assert_string_equal(str(e, "kind"), "tier");
    assert_string_equal(str(e, "why"), "emergency");
    assert_int_equal(num(e, "from"), 3);
    assert_int_equal(num(e, "to"), 1);
    e = cJSON_GetArrayItem(h, 1);
    assert_string_equal(str(e, "op"), "subscribe");
    assert_string_equal(str(e, "channel"), "orderbook");
    e = cJSON_GetArrayItem(h, 2);
    assert_string_equal(str(e, "side"), "buy");
    assert_string_equal(str(e, "strategy"), "gap");
    e = cJSON_GetArrayItem(h, 3);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(e, "granted")));
    assert_string_equal(str(e, "why"), "no holder worth less");
    assert_string_equal(str(e, "at"), "2026-11-23 09:00:00.000");
    assert_int_equal(num(sym, "history_dropped"), 0);
    cJSON_Delete(o);
    free(text);
    st_symview_free(&v);
    st_planner_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view_ticks),
        cmocka_unit_test(test_view_ring),
        cmocka_unit_test(test_filter_parse),
        cmocka_unit_test(test_symbols_json),
        cmocka_unit_test(test_symbol_history),
        cmocka_unit_test(test_live_view),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
