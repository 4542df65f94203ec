/* A test plugin built for a later ABI major version than this strata's: strata must refuse it. */
#include <strata/plugin.h>

static const strata_plugin_t plugin = {.abi_major = STRATA_ABI_MAJOR + 1, .size = sizeof(strata_plugin_t),
                                       .name = "future", .version = "0.1"};
STRATA_PLUGIN_EXPORT(plugin)
