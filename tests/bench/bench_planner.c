/* Planner benchmark: 3,000 symbols on 4 connections (41 registrations each).
 *   bench_planner [--quick]
 * Prints a table of medians; docs/benchmarks.md records the latest figures. */
#include "bench_util.h"

#include "core/arena.h"
#include "plan/planner.h"

#include <unistd.h>

#define NSTOCK 3000
#define NINDEX 20

static uint64_t rs = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (uint32_t)(rs % n);
}

static void make_universe(st_universe_t *u, st_symtab_t *syms, st_arena_t *a)
{
    char dir[] = "/tmp/strata-bench-XXXXXX";
    if (!mkdtemp(dir)) abort();
    char sp[64], ip[64];
    snprintf(sp, sizeof(sp), "%s/u.csv", dir);
    snprintf(ip, sizeof(ip), "%s/i.csv", dir);
    FILE *f = fopen(sp, "w");
    fprintf(f, "code,name,market,sector\n");
    for (int i = 0; i < NSTOCK; i++) fprintf(f, "%06d,n%d,%s,sector%d\n", i, i, i % 3 ? "KOSDAQ" : "KOSPI", i % 160);
    fclose(f);
    f = fopen(ip, "w");
    fprintf(f, "code,name\n");
    for (int i = 0; i < NINDEX; i++) fprintf(f, "I%03d,index%d\n", i, i);
    fclose(f);
    st_diags_t d;
    st_diags_init(&d);
    if (st_universe_load(u, sp, ip, syms, a, &d) != 0) abort();
    st_diags_free(&d);
    unlink(sp), unlink(ip), rmdir(dir);
}

static st_planner_t *make_planner(const st_universe_t *u, int *req, st_policy_t *po)
{
    st_planner_cfg_t c = {.nconns = 4, .margin = 0.2, .min_dwell = 2 * ST_MIN, .max_swaps = 3,
                          .max_sector_share = 0.3, .failure_threshold = 3,
                          .exclusion_cooldown = 10 * ST_MIN, .poll_min = 15 * ST_SEC,
                          .poll_max = 5 * ST_MIN};
    for (int i = 0; i < 4; i++) c.budget[i] = 41;
    c.poll[0] = c.poll[1] = 15 * ST_SEC, c.poll[2] = 30 * ST_SEC, c.poll[3] = 60 * ST_SEC,
    c.poll[4] = 5 * ST_MIN;
    st_planner_t *p = st_planner_create(&c, u);
    *po = (st_policy_t){"morning_trend", 6, 18, 5, 6, 1.0, NULL, false};
    st_planner_set_policy(p, po, 0);
    for (int r = 0; r < 8; r++) {
        char name[16];
        snprintf(name, sizeof(name), "strategy%d", r);
        req[r] = st_planner_requester(p, name, 0.5 + 0.25 * r);
    }
    /* Demand over the whole universe: 60 critical, 150 high, the rest medium/low/background. */
    for (size_t i = 0; i < u->n; i++) {
        st_sym_t s = u->items[i].sym;
        int prio = i < 60 ? ST_PRIO_CRITICAL : i < 210 ? ST_PRIO_HIGH : (int)(2 + i % 3);
        st_planner_demand(p, req[i % 8], s, prio);
        st_planner_score(p, s, rnd(101));
    }
    return p;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bench_cpu_line();
    size_t runs = quick ? 20 : 400, em_runs = quick ? 200 : 20000;
    st_symtab_t syms;
    st_symtab_init(&syms);
    st_arena_t *a = st_arena_create(0);
    st_universe_t u;
    make_universe(&u, &syms, a);
    int req[8];
    st_policy_t po;
    uint64_t *ns = malloc(sizeof(uint64_t) * (em_runs > runs ? em_runs : runs));

    printf("planner: %d stocks + %d indices, 4 connections x 41, policy 6/18/5/6 per connection\n\n",
           NSTOCK, NINDEX);
    bench_header();

    /* 1. The first plan from nothing: every symbol placed. */
    for (size_t i = 0; i < runs; i++) {
        st_planner_t *p = make_planner(&u, req, &po);
        st_planner_drain(p);
        uint64_t t0 = bench_ns();
        st_planner_replan(p, 0); /* set_policy already planned once; force a cold one below */
        ns[i] = bench_ns() - t0;
        st_planner_destroy(p);
    }
    bench_row("replan, steady (nothing changed)", ns, runs);

    st_planner_t *p = make_planner(&u, req, &po);
    st_time_t now = 0;
    /* 2. A replan after 20 demand changes (the common case). */
    for (size_t i = 0; i < runs; i++) {
        for (int k = 0; k < 20; k++)
            st_planner_demand(p, req[rnd(8)], u.items[rnd((uint32_t)u.n)].sym, (int)rnd(ST_PRIO_COUNT));
        now += ST_SEC;
        uint64_t t0 = bench_ns();
        st_planner_replan(p, now);
        ns[i] = bench_ns() - t0;
        st_planner_drain(p);
    }
    bench_row("replan after 20 demand changes", ns, runs);

    /* 3. A time-slot change: every value re-weighted, capacity reshaped. */
    st_policy_t pols[2] = {{"golden_time", 8, 15, 5, 5, 0.5, NULL, false}, {"lunch", 5, 20, 5, 6, 2.0, NULL, false}};
    for (size_t i = 0; i < runs; i++) {
        now += ST_SEC;
        uint64_t t0 = bench_ns();
        st_planner_set_policy(p, &pols[i % 2], now);
        ns[i] = bench_ns() - t0;
        st_planner_drain(p);
    }
    bench_row("time-slot change (full replan)", ns, runs);

    /* 4. A rebalance (replan + swaps). */
    for (size_t i = 0; i < runs; i++) {
        for (int k = 0; k < 50; k++) st_planner_score(p, u.items[rnd((uint32_t)u.n)].sym, rnd(101));
        now += 5 * ST_MIN;
        uint64_t t0 = bench_ns();
        st_planner_rebalance(p, now);
        ns[i] = bench_ns() - t0;
        st_planner_drain(p);
    }
    bench_row("rebalance (replan + swaps)", ns, runs);

    /* 5. Emergency subscriptions on a full plan; each is undone (untimed) afterwards. */
    char why[256];
    size_t ok = 0;
    for (size_t i = 0; i < em_runs; i++) {
        st_sym_t s = u.items[210 + rnd(NSTOCK - 210)].sym;
        int r = req[rnd(8)];
        uint64_t t0 = bench_ns();
        int rc = st_planner_emergency(p, r, s, 99, now, why, sizeof(why));
        ns[i] = bench_ns() - t0;
        ok += rc == 0;
        st_planner_demand(p, r, s, ST_PRIO_MEDIUM);
        if (i % 16 == 15) st_planner_replan(p, now);
        st_planner_drain(p);
    }
    bench_row("emergency_subscribe (evicts when full)", ns, em_runs);
    printf("\nemergencies granted: %zu of %zu\n", ok, em_runs);
    char inv[256];
    if (st_planner_check(p, inv, sizeof(inv)) != 0) {
        printf("invariant broken: %s\n", inv);
        return 1;
    }
    st_planner_destroy(p);
    free(ns);
    st_arena_destroy(a);
    st_symtab_free(&syms);
    return 0;
}
