#include "plugin.h"
#include "core/err.h"
#include "core/log.h"
#include "core/res.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Ticks go to plugins as they are: the public layout must be strata's own. */
#define SAME(f) (offsetof(strata_tick_t, f) == offsetof(st_tick_t, f))
_Static_assert(sizeof(strata_tick_t) == sizeof(st_tick_t), "strata_tick_t and st_tick_t differ");
_Static_assert(SAME(kind) && SAME(flags) && SAME(feed) && SAME(sym) && SAME(venue_time) && SAME(recv_time) &&
                   SAME(u.trade.price) && SAME(u.trade.best_ask) && SAME(u.trade.side) && SAME(u.book.ask) &&
                   SAME(u.book.bid_qty) && SAME(u.book.total_bid_qty),
               "strata_tick_t and st_tick_t are laid out differently");
/* The public enums are the internal ones, value for value: the host passes them through. */
#define EQ(pub, internal) ((int)(pub) == (int)(internal))
_Static_assert(EQ(STRATA_TICK_TRADE, ST_TICK_TRADE) && EQ(STRATA_TICK_ORDERBOOK, ST_TICK_ORDERBOOK) &&
                   EQ(STRATA_TICK_SNAPSHOT, ST_TICK_SNAPSHOT), "tick kinds");
_Static_assert(EQ(STRATA_SIDE_NONE, ST_SIDE_NONE) && EQ(STRATA_SIDE_BUY, ST_SIDE_BUY) &&
                   EQ(STRATA_SIDE_SELL, ST_SIDE_SELL), "sides");
_Static_assert(EQ(STRATA_PRIO_CRITICAL, ST_PRIO_CRITICAL) && EQ(STRATA_PRIO_HIGH, ST_PRIO_HIGH) &&
                   EQ(STRATA_PRIO_MEDIUM, ST_PRIO_MEDIUM) && EQ(STRATA_PRIO_LOW, ST_PRIO_LOW) &&
                   EQ(STRATA_PRIO_BACKGROUND, ST_PRIO_BACKGROUND) && EQ(STRATA_PRIO_BACKGROUND + 1, ST_PRIO_COUNT),
               "priorities");
_Static_assert(EQ(STRATA_LOG_DEBUG, ST_LL_DEBUG) && EQ(STRATA_LOG_INFO, ST_LL_INFO) &&
                   EQ(STRATA_LOG_WARN, ST_LL_WARN) && EQ(STRATA_LOG_ERROR, ST_LL_ERROR), "log levels");
_Static_assert(EQ(STRATA_TICK_HALTED, ST_TICK_HALTED) && EQ(STRATA_TICK_AUCTION, ST_TICK_AUCTION) &&
                   EQ(STRATA_TICK_REPLAY, ST_TICK_REPLAY) && EQ(STRATA_BOOK_DEPTH, ST_BOOK_DEPTH), "tick flags");
_Static_assert(EQ(STRATA_PENDING, ST_PENDING), "an answer that comes later");

struct st_plugin {
    char *name;
    void *dl;
    const strata_plugin_t *d;
    void *state;
    bool started;
};

/* --- a fatal signal while a plugin runs ------------------------------------------------------
 * Plugins run in strata's process and are trusted: a crash in one ends the process. Before it
 * does, the handler names the plugin and the callback (in the log and on stderr), then puts
 * back whatever handled the signal before (the default action: a core dump; or a sanitizer's)
 * and raises it again. */

static const char *volatile running_plugin, *volatile running_callback;
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static struct sigaction previous[sizeof(fatal_signals) / sizeof(fatal_signals[0])];

static size_t append(char *buf, size_t n, size_t cap, const char *s)
{
    while (*s && n + 1 < cap) buf[n++] = *s++;
    buf[n] = '\0';
    return n;
}

static void on_fatal(int sig)
{
    size_t i = 0;
    while (i < ST_ARRAY_SIZE(fatal_signals) && fatal_signals[i] != sig) i++;
    const char *plugin = running_plugin, *cb = running_callback;
    if (plugin) {
        static const char *const names[] = {"SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT"};
        char msg[512];
        size_t n = append(msg, 0, sizeof(msg), "strata: fatal signal ");
        n = append(msg, n, sizeof(msg), i < ST_ARRAY_SIZE(names) ? names[i] : "?");
        n = append(msg, n, sizeof(msg), " in plugin '");
        n = append(msg, n, sizeof(msg), plugin);
        n = append(msg, n, sizeof(msg), "' (");
        n = append(msg, n, sizeof(msg), cb ? cb : "?");
        n = append(msg, n, sizeof(msg), "): strata dies with the signal's default action (core dump kept)\n");
        int fd = st_log_fd();
        (void)!write(fd, msg, n);
        if (fd != 2) (void)!write(2, msg, n);
    }
    if (i < ST_ARRAY_SIZE(fatal_signals)) sigaction(sig, &previous[i], NULL);
    else signal(sig, SIG_DFL);
    raise(sig); /* pending until the handler returns; a faulting instruction also faults again */
}

/* Puts on_fatal in front of each fatal signal's handler where it is not already (someone may
 * have replaced it since: a test framework, a library). */
static void install_handlers(void)
{
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_DISABLE)) { /* a stack overflow needs one */
        static char alt[1 << 16];
        stack_t ss = {.ss_sp = alt, .ss_size = sizeof(alt)};
        sigaltstack(&ss, NULL);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < ST_ARRAY_SIZE(fatal_signals); i++) {
        struct sigaction now;
        if (sigaction(fatal_signals[i], NULL, &now) == 0 && now.sa_handler != on_fatal)
            sigaction(fatal_signals[i], &sa, &previous[i]);
    }
}

/* Runs a plugin's callback with its name and the callback's known to the handler. */
#define IN_PLUGIN(p, cb, call)                                                                                    \
    do {                                                                                                           \
        const char *was_plugin = running_plugin, *was_cb = running_callback;                                       \
        running_plugin = (p)->name;                                                                                \
        running_callback = (cb);                                                                                   \
        call;                                                                                                      \
        running_plugin = was_plugin;                                                                               \
        running_callback = was_cb;                                                                                 \
    } while (0)

/* A private copy of the file: dlopen of a path it has seen returns the already loaded code. */
static int copy_file(const char *from, char *to, size_t tolen)
{
    char *data;
    size_t len;
    int rc = st_file_read(from, &data, &len);
    if (rc) return rc;
    const char *tmp = getenv("TMPDIR");
    snprintf(to, tolen, "%s/strata-plugin-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(to);
    if (fd < 0) {
        free(data);
        return -errno;
    }
    bool ok = write(fd, data, len) == (ssize_t)len;
    close(fd);
    free(data);
    if (!ok) {
        unlink(to);
        return -EIO;
    }
    return 0;
}

int st_plugin_open(st_plugin_t **out, const char *name, const char *path, char *err, size_t errlen)
{
    install_handlers();
    char copy[512];
    int rc = copy_file(path, copy, sizeof(copy));
    if (rc) {
        snprintf(err, errlen, "plugin %s: cannot read %s: %s", name, path, st_strerror(rc));
        return rc;
    }
    void *dl = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
    unlink(copy); /* the mapping stays; nothing is left behind */
    if (!dl) {
        snprintf(err, errlen, "plugin %s: cannot load %s: %s", name, path, dlerror());
        return -ENOEXEC;
    }
    const strata_plugin_t *(*entry)(void);
    *(void **)&entry = dlsym(dl, STRATA_PLUGIN_SYMBOL);
    const strata_plugin_t *d = entry ? entry() : NULL;
    size_t need = offsetof(strata_plugin_t, shutdown) + sizeof(d->shutdown);
    if (!entry && dlsym(dl, "strata_plugin_v1")) { /* built against ABI 1.x: its descriptor starts alike */
        const uint32_t *(*v1)(void);
        *(void **)&v1 = dlsym(dl, "strata_plugin_v1");
        const uint32_t *ver = v1();
        snprintf(err, errlen, "plugin %s (%s) was built for strata plugin ABI %u.%u; this strata speaks %d.%d: "
                 "rebuild it against this strata's plugin.h (docs/strategies.md says what changed)", name, path,
                 ver ? ver[0] : 1, ver ? ver[1] : 0, STRATA_ABI_MAJOR, STRATA_ABI_MINOR);
        rc = -ENOEXEC;
    } else if (!entry || !d) {
        snprintf(err, errlen, "plugin %s (%s): no %s symbol; build it with STRATA_PLUGIN_EXPORT from strata's "
                 "plugin.h", name, path, STRATA_PLUGIN_SYMBOL);
        rc = -ENOEXEC;
    } else if (d->abi_major != STRATA_ABI_MAJOR) {
        snprintf(err, errlen, "plugin %s (%s) was built for strata plugin ABI %u.%u; this strata speaks %d.%d: "
                 "rebuild it against this strata's plugin.h", name, path, d->abi_major, d->abi_minor,
                 STRATA_ABI_MAJOR, STRATA_ABI_MINOR);
        rc = -ENOEXEC;
    } else if (d->size < need) {
        snprintf(err, errlen, "plugin %s (%s): its descriptor is %u bytes, this strata needs %zu: rebuild it "
                 "against this strata's plugin.h", name, path, d->size, need);
        rc = -ENOEXEC;
    }
    if (rc) {
        dlclose(dl);
        return rc;
    }
    st_plugin_t *p = st_xcalloc(1, sizeof(*p));
    p->name = st_xstrdup(name);
    p->dl = dl;
    p->d = d;
    *out = p;
    return 0;
}

int st_plugin_init(st_plugin_t *p, const strata_host_t *host, strata_ctx_t *ctx, const char *const *keys,
                   const char *const *values, size_t n)
{
    if (!p->d->init) {
        p->started = true;
        return 0;
    }
    IN_PLUGIN(p, "init", p->state = p->d->init(host, ctx, keys, values, n));
    if (!p->state) {
        st_log_error(HOST, "plugin %s: init refused to start", p->name);
        return -ECANCELED;
    }
    p->started = true;
    return 0;
}

int st_plugin_tick(void *impl, const char *code, const st_tick_t *t)
{
    st_plugin_t *p = impl;
    bool book = t->kind == ST_TICK_ORDERBOOK, snap = t->kind == ST_TICK_SNAPSHOT;
    void (*cb)(void *, const char *, const strata_tick_t *) = book ? p->d->on_orderbook
                                                              : snap ? p->d->on_snapshot
                                                                     : p->d->on_trade;
    if (!cb || !p->started) return 1;
    IN_PLUGIN(p, book ? "on_orderbook" : snap ? "on_snapshot" : "on_trade",
              cb(p->state, code, (const strata_tick_t *)(const void *)t));
    return 0;
}

int st_plugin_on_timer(st_plugin_t *p, const char *name)
{
    if (!p->d->on_timer || !p->started) return 1;
    IN_PLUGIN(p, "on_timer", p->d->on_timer(p->state, name));
    return 0;
}

int st_plugin_on_timeslot(st_plugin_t *p, const char *slot)
{
    if (!p->d->on_timeslot || !p->started) return 1;
    IN_PLUGIN(p, "on_timeslot", p->d->on_timeslot(p->state, slot));
    return 0;
}

int st_plugin_on_day(st_plugin_t *p, const char *date)
{
    const strata_plugin_t *d = p->d;
    bool has = d->size >= offsetof(strata_plugin_t, on_day) + sizeof(d->on_day) && d->on_day; /* 2.2 */
    if (!has || !p->started) return 1;
    IN_PLUGIN(p, "on_day", d->on_day(p->state, date));
    return 0;
}

int st_plugin_on_emergency(st_plugin_t *p, const char *code, bool granted, const char *why)
{
    const strata_plugin_t *d = p->d;
    bool has = d->size >= offsetof(strata_plugin_t, on_emergency) + sizeof(d->on_emergency) && d->on_emergency; /* 2.3 */
    if (!has || !p->started) return 1;
    IN_PLUGIN(p, "on_emergency", d->on_emergency(p->state, code, granted ? 1 : 0, why));
    return 0;
}

void st_plugin_close(st_plugin_t *p)
{
    if (!p) return;
    if (p->started && p->d->shutdown) IN_PLUGIN(p, "shutdown", p->d->shutdown(p->state));
    dlclose(p->dl);
    free(p->name);
    free(p);
}

int st_plugin_on_reload(st_plugin_t *p, st_plugin_t *old)
{
    const strata_plugin_t *d = p->d;
    bool has = d->size >= offsetof(strata_plugin_t, on_reload) + sizeof(d->on_reload) && d->on_reload;
    if (!has || !p->started || !old->started) return 1;
    IN_PLUGIN(p, "on_reload", d->on_reload(p->state, old->state, old->d->version ? old->d->version : ""));
    return 0;
}

const strata_plugin_t *st_plugin_descriptor(const st_plugin_t *p)
{
    return p->d;
}
