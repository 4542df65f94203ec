/* A test plugin: watches a symbol at init, counts trades in a static (so two loads of the same
 * file can be told apart), signals a trade of 1,000 or more, and reports its count on a timer. */
#include <strata/plugin.h>

#include <stdlib.h>
#include <string.h>

typedef struct {
    const strata_host_t *host;
    void *h;
    int threshold;
} state_t;

static int loaded_trades; /* per loaded copy */

static void *init(const strata_host_t *host, void *h, const char *const *keys, const char *const *values, size_t n)
{
    state_t *s = calloc(1, sizeof(*s));
    s->host = host;
    s->h = h;
    s->threshold = 1000;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(keys[i], "threshold")) s->threshold = atoi(values[i]);
    if (s->threshold < 0) { /* a refusal to start */
        free(s);
        return NULL;
    }
    host->watch(h, "005930", STRATA_PRIO_HIGH);
    return s;
}

static void on_trade(void *state, const char *sym, const strata_tick_t *t)
{
    state_t *s = state;
    loaded_trades++;
    if (t->u.trade.price >= s->threshold) s->host->signal(s->h, sym, "buy", t->u.trade.price / 1000, "threshold");
}

static void on_timer(void *state, const char *name)
{
    state_t *s = state;
    if (STRATA_HOST_HAS(s->host, update_performance_score))
        s->host->update_performance_score(s->h, name, loaded_trades);
}

static void shutdown_(void *state)
{
    free(state);
}

static const strata_plugin_t plugin = {.abi_major = STRATA_ABI_MAJOR, .abi_minor = STRATA_ABI_MINOR,
                                       .size = sizeof(strata_plugin_t), .name = "good", .version = "1.0",
                                       .init = init, .on_trade = on_trade, .on_timer = on_timer,
                                       .shutdown = shutdown_};
STRATA_PLUGIN_EXPORT(plugin)
