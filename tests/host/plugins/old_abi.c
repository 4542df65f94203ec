/* A test plugin built for another ABI major version: strata must refuse it. */
#include <strata/plugin.h>

static const strata_plugin_t plugin = {.abi_major = STRATA_ABI_MAJOR + 1, .size = sizeof(strata_plugin_t),
                                       .name = "old", .version = "0.1"};
STRATA_PLUGIN_EXPORT(plugin)
