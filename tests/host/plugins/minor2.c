/* A test plugin as a 2.2 build sees its descriptor: it ends before on_emergency (2.3), so the
 * host must not read that field — here it holds a function that aborts, standing for whatever
 * follows a shorter descriptor in memory. on_day (2.2) is inside and is called. */
#include <strata/plugin.h>

#include <stddef.h>
#include <stdlib.h>

static void on_day(void *state, const char *date)
{
    (void)state, (void)date;
}

static void on_emergency(void *state, const char *sym, int granted, const char *why)
{
    (void)state, (void)sym, (void)granted, (void)why;
    abort();
}

static void *init(const strata_host_t *host, strata_ctx_t *ctx, const char *const *keys, const char *const *values,
                  size_t n)
{
    (void)host, (void)ctx, (void)keys, (void)values, (void)n;
    static int state;
    return &state;
}

static const strata_plugin_t plugin = {.abi_major = STRATA_ABI_MAJOR, .abi_minor = 2,
                                       .size = offsetof(strata_plugin_t, on_emergency), .name = "minor2",
                                       .version = "2.2", .init = init, .on_day = on_day, .on_emergency = on_emergency};
STRATA_PLUGIN_EXPORT(plugin)
