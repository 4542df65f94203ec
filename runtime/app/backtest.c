#include "backtest.h"
#include "runtime.h"
#include "core/err.h"
#include "core/timefmt.h"
#include "record/recfile.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage_backtest[] =
    "usage: strata backtest -c FILE [--json]\n"
    "\n"
    "Runs the config (its feeds replay recordings: kind: replay) as fast as possible, keeps\n"
    "every signal, and judges each by the price move after it in the recordings' trades:\n"
    "forward returns at 1, 5 and 30 minutes (a sell's sign inverted), with their mean, median\n"
    "and hit rate per strategy, as text or JSON (--json).\n"
    "\n"
    "  -c, --config FILE  the config\n"
    "      --json         the report as one JSON document\n"
    "  -h, --help         this help\n";

#define NH 3
static const st_dur_t horizons[NH] = {ST_MIN, 5 * ST_MIN, 30 * ST_MIN};
static const char *const hnames[NH] = {"1m", "5m", "30m"};

typedef struct {
    st_signal_t *v;
    size_t n, cap;
} sigs_t;

static void keep(void *ctx, const st_signal_t *sig)
{
    sigs_t *s = ctx;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = st_xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = *sig;
}

/* The trades of one symbol, in time order; `wanted` when it signalled. */
typedef struct {
    st_time_t *t;
    double *p;
    size_t n, cap;
    bool wanted;
} tape_t;

/* Tapes by the run's symbol ids (its symtab interns every code a signal can name). */
typedef struct {
    const st_symtab_t *syms;
    tape_t *by_sym;
} tapes_t;

static tape_t *tape_of(const tapes_t *tp, const char *code)
{
    st_sym_t s = st_symtab_find(tp->syms, code, strlen(code));
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

typedef struct {
    char name[48];
    size_t signals;
    double *r[NH];
    size_t n[NH];
} strat_t;

static strat_t *strat_of(strat_t **v, size_t *n, const char *name, size_t max)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i].name, name) == 0) return &(*v)[i];
    *v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
    strat_t *s = &(*v)[(*n)++];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    for (int h = 0; h < NH; h++) s->r[h] = st_xcalloc(max ? max : 1, sizeof(double));
    return s;
}

/* Reads the trades of the signals' symbols from every replayed recording. */
static int load_tapes(const st_config_t *cfg, const sigs_t *s, tapes_t *tapes)
{
    for (size_t i = 0; i < s->n; i++) { /* a tape for each symbol that signalled */
        st_sym_t sym = st_symtab_find(tapes->syms, s->v[i].symbol, strlen(s->v[i].symbol));
        if (sym != ST_SYM_NONE) tapes->by_sym[sym].wanted = true;
    }
    for (size_t f = 0; f < cfg->feeds.n; f++) {
        const st_feed_cfg_t *fc = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, f);
        if (fc->kind != ST_FEED_REPLAY) continue;
        char err[512];
        st_rec_reader_t *r = st_rec_open(fc->path, err, sizeof(err));
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
    }
    return 0;
}

static void report(const sigs_t *s, const tapes_t *tapes, bool json, FILE *out)
{
    strat_t *st = NULL;
    size_t nst = 0;
    for (size_t i = 0; i < s->n; i++) {
        const st_signal_t *g = &s->v[i];
        strat_t *x = strat_of(&st, &nst, g->strategy, s->n);
        x->signals++;
        tape_t *tp = tape_of(tapes, g->symbol);
        double p0 = g->price > 0 ? g->price : tp ? price_at(tp, g->time) : NAN;
        double sign = strcmp(g->side, "sell") == 0 ? -1 : 1;
        for (int h = 0; h < NH && tp && p0 > 0; h++) {
            double p = price_at(tp, g->time + horizons[h]);
            if (!isnan(p)) x->r[h][x->n[h]++] = sign * (p / p0 - 1);
        }
    }
    if (json) fprintf(out, "{\"signals\":%zu,\"strategies\":[", s->n);
    else fprintf(out, "%-20s %8s", "strategy", "signals");
    for (int h = 0; !json && h < NH; h++) fprintf(out, "  %4s: %5s %8s %8s %6s", hnames[h], "n", "mean", "median", "hit");
    if (!json) fputc('\n', out);
    for (size_t i = 0; i < nst; i++) {
        strat_t *x = &st[i];
        if (json) fprintf(out, "%s{\"name\":\"%s\",\"signals\":%zu", i ? "," : "", x->name, x->signals);
        else fprintf(out, "%-20s %8zu", x->name, x->signals);
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
                fprintf(out, "  %4s: %5zu %+7.2f%% %+7.2f%% %5.1f%%", hnames[h], n, mean * 100, med * 100, hit * 100);
            free(x->r[h]);
        }
        fputs(json ? "}" : "\n", out);
    }
    if (json) fputs("]}\n", out);
    free(st);
}

int st_backtest_cmd(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'j': json = true; break;
        case 'h': fputs(usage_backtest, stdout); return 0;
        default: fputs(usage_backtest, stderr); return 2;
        }
    }
    if (!config || optind != argc) {
        fputs(usage_backtest, stderr);
        return 2;
    }
    FILE *devnull = fopen("/dev/null", "w");
    st_runtime_t rt;
    if (st_runtime_open(&rt, config, devnull)) {
        fclose(devnull);
        return 1;
    }
    int rc;
    const st_config_t *cfg = rt.world->cfg;
    bool replays = cfg->feeds.n > 0;
    for (size_t i = 0; i < cfg->feeds.n; i++)
        replays = replays && ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i)->kind == ST_FEED_REPLAY;
    if (!replays) {
        fprintf(stderr, "strata: backtest: %s: every feed must be a replay (kind: replay, path: a recording)\n", config);
        st_runtime_free(&rt);
        fclose(devnull);
        return 1;
    }
    sigs_t s = {0};
    rt.signal_hook = keep;
    rt.signal_hook_ctx = &s;
    st_clock_set_speed(&rt.clock, 0); /* as fast as possible: the result does not depend on it */
    rc = st_runtime_run(&rt);
    tapes_t tapes = {&rt.syms, st_xcalloc(rt.syms.n + 1, sizeof(tape_t))};
    if (rc == 0) rc = load_tapes(rt.world->cfg, &s, &tapes);
    if (rc == 0) report(&s, &tapes, json, stdout);
    for (uint32_t i = 0; i < rt.syms.n; i++) free(tapes.by_sym[i].t), free(tapes.by_sym[i].p);
    free(tapes.by_sym);
    free(s.v);
    st_runtime_free(&rt);
    fclose(devnull);
    return rc ? 1 : 0;
}
