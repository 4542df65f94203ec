/* A test plugin that crashes in on_trade: params.how = segv (a write through NULL), fpe (an
 * integer division by zero) or abort. */
#include <strata/plugin.h>

#include <stdlib.h>
#include <string.h>

static char how[16];

static void *init(const strata_host_t *host, strata_ctx_t *ctx, const char *const *keys,
                  const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(keys[i], "how")) strncpy(how, values[i], sizeof(how) - 1);
    return how;
}

static void on_trade(void *state, const char *sym, const strata_tick_t *t)
{
    if (!strcmp(how, "segv")) {
        volatile int *volatile nowhere = NULL;
        *nowhere = 1;
    } else if (!strcmp(how, "fpe")) {
        volatile int zero = 0, one = 1;
        how[0] = (char)(one / zero);
    } else {
        abort();
    }
}

static const strata_plugin_t plugin = {.abi_major = STRATA_ABI_MAJOR, .abi_minor = STRATA_ABI_MINOR,
                                       .size = sizeof(strata_plugin_t), .name = "crash", .version = "1.0",
                                       .init = init, .on_trade = on_trade};
STRATA_PLUGIN_EXPORT(plugin)
