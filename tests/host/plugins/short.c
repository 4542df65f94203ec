/* A test plugin whose descriptor claims to be shorter than strata needs: refused. */
#include <strata/plugin.h>

static const strata_plugin_t plugin = {.abi_major = STRATA_ABI_MAJOR, .abi_minor = STRATA_ABI_MINOR, .size = 24,
                                       .name = "short", .version = "0.1"};
STRATA_PLUGIN_EXPORT(plugin)
