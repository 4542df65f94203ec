/* A test plugin: watches a symbol at init, counts trades in a static (so two loads of the same
 * file can be told apart), signals a trade of 1,000 or more, and reports its count on a timer.
 * A trade at price 7 asks for status() as a plugin built with a shorter strata_status_t would
 * (up to ws_budget) and signals, reason "status", strength 1 when the host filled that part
 * and wrote nothing past it, else 0. A trade at price 8 asks for symbol() (ABI 2.1) and signals,
 * reason "symbol", strength tier * 10 + priority + 1 (0 when the host has no symbol()).
 * on_day (ABI 2.2) signals 005930 with the date as the reason; on_emergency (ABI 2.3) signals the
 * symbol, buy when granted and sell when refused, with the reason why. */
#include <strata/plugin.h>

#include <stdlib.h>
#include <string.h>

typedef struct {
    const strata_host_t *host;
    strata_ctx_t *ctx;
    int threshold;
} state_t;

static int loaded_trades; /* per loaded copy */

static int status_as_older_build(state_t *s)
{
    struct {
        strata_status_t st;
        unsigned char guard[16];
    } b;
    memset(&b, 0xAB, sizeof(b));
    size_t known = offsetof(strata_status_t, ticks); /* its struct ended at ws_budget */
    b.st.size = (uint32_t)known;
    if (s->host->status(s->ctx, &b.st) != 0 || b.st.size != known || !b.st.slot) return 0;
    for (size_t i = known; i < sizeof(b); i++)
        if (((unsigned char *)&b)[i] != 0xAB) return 0;
    return 1;
}

static double symbol_of(state_t *s, const char *sym)
{
    strata_symbol_t y = {.size = sizeof(y)};
    if (!STRATA_HOST_HAS(s->host, symbol) || s->host->symbol(s->ctx, sym, &y) != 0) return 0;
    return y.tier * 10 + y.prio + 1;
}

static void *init(const strata_host_t *host, strata_ctx_t *ctx, const char *const *keys,
                  const char *const *values, size_t n)
{
    state_t *s = calloc(1, sizeof(*s));
    s->host = host;
    s->ctx = ctx;
    s->threshold = 1000;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(keys[i], "threshold")) s->threshold = atoi(values[i]);
    if (s->threshold < 0) { /* a refusal to start */
        free(s);
        return NULL;
    }
    host->watch(ctx, "005930", STRATA_PRIO_HIGH);
    return s;
}

static void on_trade(void *state, const char *sym, const strata_tick_t *t)
{
    state_t *s = state;
    loaded_trades++;
    if (t->u.trade.price == 7)
        s->host->signal(s->ctx, sym, STRATA_SIDE_NONE, status_as_older_build(s), "status");
    else if (t->u.trade.price == 8)
        s->host->signal(s->ctx, sym, STRATA_SIDE_NONE, symbol_of(s, sym), "symbol");
    else if (t->u.trade.price >= s->threshold)
        s->host->signal(s->ctx, sym, STRATA_SIDE_BUY, t->u.trade.price / 1000, "threshold");
}

static void on_timer(void *state, const char *name)
{
    state_t *s = state;
    if (STRATA_HOST_HAS(s->host, update_performance_score))
        s->host->update_performance_score(s->ctx, name, loaded_trades);
}

/* ABI 2.2: a new market day, said back as a signal whose reason is the date. */
static void on_day(void *state, const char *date)
{
    state_t *s = state;
    s->host->signal(s->ctx, "005930", STRATA_SIDE_NONE, 0, date);
}

/* ABI 2.3: the venue owner's answer to an emergency, said back as a signal. */
static void on_emergency(void *state, const char *sym, int granted, const char *why)
{
    state_t *s = state;
    s->host->signal(s->ctx, sym, granted ? STRATA_SIDE_BUY : STRATA_SIDE_SELL, 0, why);
}

static void shutdown_(void *state)
{
    free(state);
}

static const strata_plugin_t plugin = {.abi_major = STRATA_ABI_MAJOR, .abi_minor = STRATA_ABI_MINOR,
                                       .size = sizeof(strata_plugin_t), .name = "good", .version = "1.0",
                                       .init = init, .on_trade = on_trade, .on_timer = on_timer,
                                       .shutdown = shutdown_, .on_day = on_day, .on_emergency = on_emergency};
STRATA_PLUGIN_EXPORT(plugin)
