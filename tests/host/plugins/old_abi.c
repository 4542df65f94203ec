/* A test plugin as strata's ABI 1.1 header built it (its entry point strata_plugin_v1, its
 * descriptor's first fields): this strata (ABI 2) must refuse it and say to rebuild. */
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t abi_major, abi_minor, size;
    const char *name, *version;
    void *callbacks[9]; /* init … on_reload, as 1.1 had them */
} plugin_v1_t;

static const plugin_v1_t plugin = {.abi_major = 1, .abi_minor = 1, .size = sizeof(plugin_v1_t), .name = "old",
                                   .version = "0.1"};

__attribute__((visibility("default"))) const plugin_v1_t *strata_plugin_v1(void);
__attribute__((visibility("default"))) const plugin_v1_t *strata_plugin_v1(void)
{
    return &plugin;
}
