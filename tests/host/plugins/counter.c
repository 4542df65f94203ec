/* A test plugin built twice (COUNTER_VERSION 1 and 2) for reload tests: it watches 005930 at
 * init, counts the trades it sees and signals each with the count as strength and its build as
 * reason ("v1", "v2"); a new build takes the count over from the old one's state in on_reload. */
#include <strata/plugin.h>

#include <stdlib.h>

#define STR2(x) #x
#define STR(x) STR2(x)

typedef struct {
    int version; /* first, so any build can read it */
    long trades;
    const strata_host_t *host;
    strata_ctx_t *ctx;
} state_t;

static void *init(const strata_host_t *host, strata_ctx_t *ctx, const char *const *keys,
                  const char *const *values, size_t n)
{
    state_t *s = calloc(1, sizeof(*s));
    s->version = COUNTER_VERSION;
    s->host = host;
    s->ctx = ctx;
    host->watch(ctx, "005930", STRATA_PRIO_HIGH);
    return s;
}

static void on_trade(void *state, const char *sym, const strata_tick_t *t)
{
    state_t *s = state;
    s->trades++;
    s->host->signal(s->ctx, sym, STRATA_SIDE_BUY, (double)s->trades, "v" STR(COUNTER_VERSION));
}

static void on_reload(void *state, void *old_state, const char *old_version)
{
    state_t *s = state;
    const state_t *old = old_state;
    if (old->version >= 1) s->trades = old->trades;
}

static void shutdown_(void *state)
{
    free(state);
}

static const strata_plugin_t plugin = {.abi_major = STRATA_ABI_MAJOR, .abi_minor = STRATA_ABI_MINOR,
                                       .size = sizeof(strata_plugin_t), .name = "counter",
                                       .version = STR(COUNTER_VERSION) ".0", .init = init, .on_trade = on_trade,
                                       .shutdown = shutdown_, .on_reload = on_reload};
STRATA_PLUGIN_EXPORT(plugin)
