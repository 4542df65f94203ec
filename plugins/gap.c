/* Gap trading as a C plugin: the same rule as strategies/gap.lua. At the open, a stock whose
 * opening print is 3% (param threshold) or more from the previous close gets a signal (buy for
 * a gap up, sell for a gap down, strength = the gap in percent) and is raised to CRITICAL.
 *
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags strata-plugin) -o gap.so plugins/gap.c
 * (installed strata; from the source tree: -I runtime/include. The build makes build/plugins/gap.so). */
#include <strata/plugin.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEEN_MAX 65536 /* symbol ids below this are tracked */

typedef struct {
    const strata_host_t *host;
    strata_ctx_t *ctx;
    double threshold;
    unsigned char seen[SEEN_MAX]; /* the opening print was looked at */
} gap_t;

static void *init(const strata_host_t *host, strata_ctx_t *ctx, const char *const *keys,
                  const char *const *values, size_t n)
{
    gap_t *g = calloc(1, sizeof(*g));
    if (!g) return NULL;
    g->host = host;
    g->ctx = ctx;
    g->threshold = 0.03;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(keys[i], "threshold")) g->threshold = atof(values[i]);
    return g;
}

static void on_trade(void *state, const char *sym, const strata_tick_t *t)
{
    gap_t *g = state;
    if (t->sym >= SEEN_MAX || g->seen[t->sym] || t->u.trade.prev_close <= 0 || t->u.trade.open <= 0) return;
    g->seen[t->sym] = 1; /* the day's opening print: from a trade, or from a REST snapshot */
    double gap = t->u.trade.open / t->u.trade.prev_close - 1;
    if (fabs(gap) < g->threshold) return;
    char reason[64];
    snprintf(reason, sizeof(reason), "opening gap %+.1f%%", gap * 100);
    g->host->signal(g->ctx, sym, gap > 0 ? STRATA_SIDE_BUY : STRATA_SIDE_SELL, fabs(gap) * 100, reason);
    g->host->upgrade_priority(g->ctx, sym, STRATA_PRIO_CRITICAL);
}

static void on_day(void *state, const char *date)
{
    (void)date;
    gap_t *g = state;
    memset(g->seen, 0, sizeof(g->seen)); /* a new market day (ABI 2.2) */
}

static void shutdown_(void *state)
{
    free(state);
}

static const strata_plugin_t gap = {.abi_major = STRATA_ABI_MAJOR, .abi_minor = STRATA_ABI_MINOR,
                                    .size = sizeof(strata_plugin_t), .name = "gap", .version = "1.0",
                                    .init = init, .on_trade = on_trade, .on_snapshot = on_trade,
                                    .on_day = on_day, .shutdown = shutdown_};
STRATA_PLUGIN_EXPORT(gap)
