/* A test plugin built for another ABI major version: strata must refuse it. */
#include <strata/plugin.h>

static const strata_plugin_t plugin = {STRATA_ABI_MAJOR + 1, 0, sizeof(strata_plugin_t), "old", "0.1",
                                       NULL, NULL, NULL, NULL, NULL, NULL, NULL};
STRATA_PLUGIN_EXPORT(plugin)
