/* A test plugin whose descriptor claims to be shorter than strata needs: refused. */
#include <strata/plugin.h>

static const strata_plugin_t plugin = {STRATA_ABI_MAJOR, STRATA_ABI_MINOR, 24, "short", "0.1",
                                       NULL, NULL, NULL, NULL, NULL, NULL, NULL};
STRATA_PLUGIN_EXPORT(plugin)
