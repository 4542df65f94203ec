#include "backtest.h"
#include "runtime.h"
#include "core/err.h"
#include "core/timefmt.h"
#include "record/recset.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage_backtest[] =
    "usage: strata backtest -c FILE [--from DAY] [--to DAY] [--json]\n"
    "\n"
    "Runs the config (its feeds replay recordings: kind: replay) as fast as possible, keeps\n"
    "every signal, and judges each by the price move after it in the recordings' trades:\n"
    "forward returns at 1, 5 and 30 minutes (a sell's sign inverted), with their mean, median\n"
    "and hit rate per strategy and per strategy and time slot, as text or JSON (--json). When a\n"
    "feed replays a market tape through the venue's limits (mode: limited), the same tapes are\n"
    "then replayed unlimited (every trade of every symbol) and both views are reported.\n"
    "\n"
    "  -c, --config FILE  the config\n"
    "      --from DAY     start on this day (YYYY-MM-DD) at runtime.clock.start's time of day;\n"
    "                     a replay whose path is a directory of recordings reads on across days\n"
    "      --to DAY       stop on this day at runtime.clock.stop's time (default: --from's day)\n"
    "      --json         the report as one JSON document\n"
    "  -h, --help         this help\n";

#define NH 3
static const st_dur_t horizons[NH] = {ST_MIN, 5 * ST_MIN, 30 * ST_MIN};
static const char *const hnames[NH] = {"1m", "5m", "30m"};

/* The signals of one view, each with the time slot it fell in. */
typedef struct {
    st_signal_t *v;
    char (*slot)[32];
    size_t n, cap;
    const st_runtime_t *rt;
} sigs_t;

static void keep(void *ctx, const st_signal_t *sig)
{
    sigs_t *s = ctx;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = st_xrealloc(s->v, s->cap * sizeof(*s->v));
        s->slot = st_xrealloc(s->slot, s->cap * sizeof(*s->slot));
    }
    snprintf(s->slot[s->n], sizeof(s->slot[0]), "%s", s->rt->slot.slot ? s->rt->slot.slot->name : "?");
    s->v[s->n++] = *sig;
}

/* The trades of one symbol, in time order; `wanted` when it signalled. */
typedef struct {
    st_time_t *t;
    double *p;
    size_t n, cap;
    bool wanted;
} tape_t;

/* Tapes by symbol: the codes that signalled, interned here. */
typedef struct {
    st_symtab_t syms;
    tape_t *by_sym;
    char **paths; /* the recordings replayed (files or directories) */
    size_t npaths;
    st_time_t from, to; /* the run's span: files outside it (and its last horizon) are not read */
} tapes_t;

static tape_t *tape_of(const tapes_t *tp, const char *code)
{
    st_sym_t s = st_symtab_find(&tp->syms, code, strlen(code));
    return s != ST_SYM_NONE && tp->by_sym[s].wanted ? &tp->by_sym[s] : NULL;
}

/* The first trade at or after t: its price, or NAN when the tape ends before. */
static double price_at(const tape_t *tp, st_time_t t)
{
    size_t lo = 0, hi = tp->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tp->t[mid] < t) lo = mid + 1;
        else hi = mid;
    }
    return lo < tp->n ? tp->p[lo] : NAN;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The returns of one strategy's signals (in one time slot, or all). */
typedef struct {
    char name[48], slot[32];
    size_t signals;
    double *r[NH];
    size_t n[NH];
} strat_t;

typedef struct {
    strat_t *v;
    size_t n;
} strats_t;

static strat_t *strat_of(strats_t *ss, const char *name, const char *slot, size_t max)
{
    for (size_t i = 0; i < ss->n; i++)
        if (strcmp(ss->v[i].name, name) == 0 && strcmp(ss->v[i].slot, slot) == 0) return &ss->v[i];
    ss->v = st_xrealloc(ss->v, (ss->n + 1) * sizeof(*ss->v));
    strat_t *s = &ss->v[ss->n++];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->slot, sizeof(s->slot), "%s", slot);
    for (int h = 0; h < NH; h++) s->r[h] = st_xcalloc(max ? max : 1, sizeof(double));
    return s;
}

static void strats_free(strats_t *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        for (int h = 0; h < NH; h++) free(ss->v[i].r[h]);
    free(ss->v);
}

/* Appends one recording's trades of the signalled symbols to their tapes. */
static int load_file(tapes_t *tapes, const char *path)
{
    char err[512];
    st_rec_reader_t *r = st_rec_open(path, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "strata: %s\n", err);
        return 1;
    }
    st_rec_item_t it;
    while (st_rec_next(r, &it) == 1) {
        if (it.type != ST_REC_TICK || it.tick.kind == ST_TICK_ORDERBOOK) continue;
        tape_t *tp = tape_of(tapes, it.code);
        if (!tp) continue;
        if (tp->n == tp->cap) {
            tp->cap = tp->cap ? tp->cap * 2 : 1024;
            tp->t = st_xrealloc(tp->t, tp->cap * sizeof(*tp->t));
            tp->p = st_xrealloc(tp->p, tp->cap * sizeof(*tp->p));
        }
        tp->t[tp->n] = it.time;
        tp->p[tp->n++] = it.tick.u.trade.price;
    }
    st_rec_free(r);
    return 0;
}

/* Reads the trades of the signalled symbols from every replayed recording the run's span (and
 * its longest horizon) touches, in time order. */
static int load_tapes(tapes_t *tapes)
{
    tapes->by_sym = st_xcalloc(tapes->syms.n + 1, sizeof(tape_t));
    for (uint32_t i = 0; i < tapes->syms.n; i++) tapes->by_sym[i].wanted = true;
    int rc = 0;
    for (size_t f = 0; f < tapes->npaths && rc == 0; f++) {
        char err[512];
        st_recset_t *set = st_recset_open(tapes->paths[f], err, sizeof(err));
        if (!set) {
            fprintf(stderr, "strata: %s\n", err);
            return 1;
        }
        size_t n;
        const st_recset_file_t *files = st_recset_files(set, &n);
        for (size_t k = 0; k < n && rc == 0; k++)
            if (files[k].last >= tapes->from && files[k].start <= tapes->to + horizons[NH - 1])
                rc = load_file(tapes, files[k].path);
        st_recset_free(set);
    }
    return rc;
}

/* Judges every signal of s: per strategy, and per strategy and time slot (slot "" = all). */
static void judge(const sigs_t *s, const tapes_t *tapes, strats_t *out)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < s->n; i++) {
            const st_signal_t *g = &s->v[i];
            strat_t *x = strat_of(out, g->strategy, pass ? s->slot[i] : "", s->n);
            x->signals++;
            tape_t *tp = tape_of(tapes, g->symbol);
            double p0 = g->price > 0 ? g->price : tp ? price_at(tp, g->time) : NAN;
            double sign = strcmp(g->side, "sell") == 0 ? -1 : 1;
            for (int h = 0; h < NH && tp && p0 > 0; h++) {
                double p = price_at(tp, g->time + horizons[h]);
                if (!isnan(p)) x->r[h][x->n[h]++] = sign * (p / p0 - 1);
            }
        }
}

/* A return in percent as the text report prints it (2 decimals): one that rounds to zero is
 * +0.00, not -0.00 for a tiny loss. */
static double pct(double r)
{
    double p = r * 100;
    return fabs(p) < 0.005 ? 0.0 : p;
}

/* One strategy's row: its signals and each horizon's n, mean, median and hit rate. */
static void row(strat_t *x, bool json, FILE *out)
{
    if (json) fprintf(out, "\"signals\":%zu", x->signals);
    else fprintf(out, "%-20s %-16s %8zu", x->name, *x->slot ? x->slot : "(all)", x->signals);
    for (int h = 0; h < NH; h++) {
        double sum = 0, med = 0;
        size_t hits = 0, n = x->n[h];
        for (size_t k = 0; k < n; k++) sum += x->r[h][k], hits += x->r[h][k] > 0;
        qsort(x->r[h], n, sizeof(double), by_double);
        if (n) med = n % 2 ? x->r[h][n / 2] : (x->r[h][n / 2 - 1] + x->r[h][n / 2]) / 2;
        double mean = n ? sum / (double)n : 0, hit = n ? (double)hits / (double)n : 0;
        if (json)
            fprintf(out, ",\"%s\":{\"n\":%zu,\"mean\":%.6g,\"median\":%.6g,\"hit_rate\":%.6g}", hnames[h], n, mean,
                    med, hit);
        else
            fprintf(out, "  %4s: %5zu %+7.2f%% %+7.2f%% %5.1f%%", hnames[h], n, pct(mean), pct(med), hit * 100);
    }
    if (!json) fputc('\n', out);
}

/* The report of one view: a row per strategy, then per strategy and time slot. */
static void report(const char *view, const sigs_t *s, strats_t *ss, bool json, FILE *out)
{
    if (json) {
        fprintf(out, "{\"view\":\"%s\",\"signals\":%zu,\"strategies\":[", view, s->n);
        size_t k = 0;
        for (size_t i = 0; i < ss->n; i++) {
            if (*ss->v[i].slot) continue;
            fprintf(out, "%s{\"name\":\"%s\",", k++ ? "," : "", ss->v[i].name);
            row(&ss->v[i], true, out);
            fputs(",\"slots\":[", out);
            size_t m = 0;
            for (size_t j = 0; j < ss->n; j++) {
                if (!*ss->v[j].slot || strcmp(ss->v[j].name, ss->v[i].name) != 0) continue;
                fprintf(out, "%s{\"slot\":\"%s\",", m++ ? "," : "", ss->v[j].slot);
                row(&ss->v[j], true, out);
                fputc('}', out);
            }
            fputs("]}", out);
        }
        fputs("]}", out);
        return;
    }
    fprintf(out, "%s: %zu signals\n%-20s %-16s %8s", view, s->n, "strategy", "time slot", "signals");
    for (int h = 0; h < NH; h++) fprintf(out, "  %4s: %5s %8s %8s %6s", hnames[h], "n", "mean", "median", "hit");
    fputc('\n', out);
    for (size_t i = 0; i < ss->n; i++) /* the strategies, each followed by its slots */
        if (!*ss->v[i].slot) {
            row(&ss->v[i], false, out);
            for (size_t j = 0; j < ss->n; j++)
                if (*ss->v[j].slot && strcmp(ss->v[j].name, ss->v[i].name) == 0) row(&ss->v[j], false, out);
        }
}

/* One run of the config as a backtest: its signals, and (the first view) the recordings it
 * replays and the symbols that signalled, into tapes. Returns 0 or 1. */
static int run_view(const char *config, const st_runtime_opts_t *opts, FILE *devnull, sigs_t *s, tapes_t *tapes,
                    bool *limited)
{
    st_runtime_t rt;
    if (st_runtime_open(&rt, config, devnull, opts)) return 1;
    const st_config_t *cfg = rt.world->cfg;
    bool replays = cfg->feeds.n > 0;
    for (size_t i = 0; i < cfg->feeds.n; i++) {
        const st_feed_cfg_t *fc = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i);
        replays = replays && fc->kind == ST_FEED_REPLAY;
        if (limited) *limited = *limited || fc->mode == ST_REPLAY_LIMITED;
    }
    if (!replays) {
        fprintf(stderr, "strata: backtest: %s: every feed must be a replay (kind: replay, path: a recording)\n", config);
        st_runtime_free(&rt);
        return 1;
    }
    bool first = !tapes->paths;
    if (first) {
        tapes->from = st_clock_now(&rt.clock);
        tapes->paths = st_xcalloc(cfg->feeds.n, sizeof(char *));
        for (size_t i = 0; i < cfg->feeds.n; i++)
            tapes->paths[tapes->npaths++] = st_xstrdup(ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i)->path);
    }
    s->rt = &rt;
    rt.signal_hook = keep;
    rt.signal_hook_ctx = s;
    st_clock_set_speed(&rt.clock, 0); /* as fast as possible: the result does not depend on it */
    int rc = st_runtime_run(&rt);
    if (first) tapes->to = st_clock_now(&rt.clock); /* where the run stopped */
    st_runtime_free(&rt);
    for (size_t i = 0; i < s->n; i++) st_symtab_intern(&tapes->syms, s->v[i].symbol, strlen(s->v[i].symbol));
    return rc ? 1 : 0;
}

int st_backtest_cmd(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL;
    bool json = false;
    st_runtime_opts_t ro = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'j': json = true; break;
        case 'f': ro.from = optarg; break;
        case 't': ro.to = optarg; break;
        case 'h': fputs(usage_backtest, stdout); return 0;
        default: fputs(usage_backtest, stderr); return 2;
        }
    }
    if (!config || optind != argc) {
        fputs(usage_backtest, stderr);
        return 2;
    }
    FILE *devnull = fopen("/dev/null", "w");
    sigs_t s = {0}, u = {0};
    strats_t ss = {0}, us = {0};
    tapes_t tapes = {0};
    st_symtab_init(&tapes.syms);
    bool limited = false;
    int rc = run_view(config, &ro, devnull, &s, &tapes, &limited);
    /* through the limits, and then the same tapes unlimited: every trade of every symbol */
    ro.flags = ST_RT_UNLIMITED | ST_RT_NO_RECORD;
    if (rc == 0 && limited) rc = run_view(config, &ro, devnull, &u, &tapes, NULL);
    if (rc == 0) rc = load_tapes(&tapes);
    if (rc == 0) {
        judge(&s, &tapes, &ss);
        judge(&u, &tapes, &us);
        if (json && limited) fputs("{\"views\":[", stdout);
        report(limited ? "limited" : "as recorded", &s, &ss, json, stdout);
        if (limited) {
            fputs(json ? "," : "\n", stdout);
            report("unlimited", &u, &us, json, stdout);
        }
        fputs(json ? (limited ? "]}\n" : "\n") : "", stdout);
    }
    for (uint32_t i = 0; tapes.by_sym && i < tapes.syms.n; i++) free(tapes.by_sym[i].t), free(tapes.by_sym[i].p);
    free(tapes.by_sym);
    for (size_t i = 0; i < tapes.npaths; i++) free(tapes.paths[i]);
    free(tapes.paths);
    st_symtab_free(&tapes.syms);
    strats_free(&ss), strats_free(&us);
    free(s.v), free(s.slot), free(u.v), free(u.slot);
    fclose(devnull);
    return rc ? 1 : 0;
}
