/* A test plugin that blocks strata's event loop: its first timer (a second after it starts)
 * sleeps for `nap` seconds (param, default 4) inside the callback, as a plugin stuck in a
 * blocking call would. test_service checks that the systemd watchdog pings stop meanwhile. */
#include <strata/plugin.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    int naps, seconds;
} state_t;

static void *init(const strata_host_t *host, strata_ctx_t *ctx, const char *const *keys, const char *const *values,
                  size_t n)
{
    state_t *s = calloc(1, sizeof(*s));
    s->seconds = 4;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(keys[i], "nap")) s->seconds = atoi(values[i]);
    host->every(ctx, 1000000, "nap");
    return s;
}

static void on_timer(void *state, const char *name)
{
    state_t *s = state;
    if (s->naps++) return;
    struct timespec ts = {s->seconds, 0};
    while (nanosleep(&ts, &ts) != 0) {} /* the loop stands still */
}

static void shutdown_(void *state)
{
    free(state);
}

static const strata_plugin_t plugin = {.abi_major = STRATA_ABI_MAJOR, .abi_minor = STRATA_ABI_MINOR,
                                       .size = sizeof(strata_plugin_t), .name = "sleepy", .version = "1.0",
                                       .init = init, .on_timer = on_timer, .shutdown = shutdown_};
STRATA_PLUGIN_EXPORT(plugin)
