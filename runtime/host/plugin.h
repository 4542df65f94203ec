/* C strategy plugins: loaded with dlopen from a private copy of the .so (so a reload always gets
 * the file's current code, never the loader's cached old one), checked against the ABI, and
 * called with the same ticks the Lua host gets. */
#ifndef ST_HOST_PLUGIN_H
#define ST_HOST_PLUGIN_H

#include "market/tick.h"
#include "strata/plugin.h"

typedef struct st_plugin st_plugin_t;

/* Loads the plugin at path: a missing file or symbol, another ABI major version (a 1.x plugin
 * included) or a short descriptor is refused with a message naming the plugin and saying to
 * rebuild. */
int st_plugin_open(st_plugin_t **out, const char *name, const char *path, char *err, size_t errlen);
/* init(host, ctx, params); -ECANCELED when the plugin refuses to start. */
int st_plugin_init(st_plugin_t *p, const strata_host_t *host, strata_ctx_t *ctx, const char *const *keys,
                   const char *const *values, size_t n);
/* on_trade / on_orderbook / on_snapshot by the tick's kind; 1 when the plugin has no such
 * callback. */
int st_plugin_tick(void *p, const char *code, const st_tick_t *t); /* (the back end's entry: no wrapper) */
static inline int st_plugin_on_tick(st_plugin_t *p, const char *code, const st_tick_t *t)
{
    return st_plugin_tick(p, code, t);
}
int st_plugin_on_timer(st_plugin_t *p, const char *name);
int st_plugin_on_timeslot(st_plugin_t *p, const char *slot);
/* on_day(date) (ABI 2.2; an older plugin has none: 1). */
int st_plugin_on_day(st_plugin_t *p, const char *date);
/* on_emergency(code, granted, why) (ABI 2.3; an older plugin has none: 1). */
int st_plugin_on_emergency(st_plugin_t *p, const char *code, bool granted, const char *why);
/* on_reload(state, old's state) on p, the plugin replacing old (both started); 1 when p has
 * no on_reload. */
int st_plugin_on_reload(st_plugin_t *p, st_plugin_t *old);
/* shutdown (if started), then dlclose. */
void st_plugin_close(st_plugin_t *p);
const strata_plugin_t *st_plugin_descriptor(const st_plugin_t *p);

#endif
