/* strata's C plugin ABI: the one header a strategy plugin includes.
 *
 * A plugin is a shared object that exports one function, made by STRATA_PLUGIN_EXPORT, returning
 * a constant descriptor: the ABI version it was built against, the descriptor's size, its name
 * and version, and its callbacks. strata loads it with dlopen(RTLD_NOW | RTLD_LOCAL) and refuses
 * a different major version or a descriptor shorter than it needs, saying to rebuild.
 *
 * The host hands the plugin a table of functions at init. New host functions are only ever
 * added at the end of the table; test for one with STRATA_HOST_HAS before calling it. Ticks
 * arrive as pointers valid during the callback only. Callbacks run on strata's one event loop:
 * never block in them.
 *
 *   #include <strata/plugin.h>
 *   static void *init(const strata_host_t *host, void *h, const char *const *keys,
 *                     const char *const *values, size_t n) { ... return state; }
 *   static void on_trade(void *state, const char *sym, const strata_tick_t *t) { ... }
 *   static const strata_plugin_t plugin = {.abi_major = STRATA_ABI_MAJOR,
 *       .abi_minor = STRATA_ABI_MINOR, .size = sizeof(strata_plugin_t), .name = "gap",
 *       .version = "1.0", .init = init, .on_trade = on_trade};
 *
 * Use designated initializers as above: later minor versions add fields at the end.
 *   STRATA_PLUGIN_EXPORT(plugin)
 */
#ifndef STRATA_PLUGIN_H
#define STRATA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STRATA_ABI_MAJOR 1 /* incompatible changes */
#define STRATA_ABI_MINOR 1 /* additions at the end of the tables; 1: host orderbook, status; plugin on_reload */

enum { STRATA_TICK_TRADE = 1, STRATA_TICK_ORDERBOOK = 2, STRATA_TICK_SNAPSHOT = 3 };
enum { STRATA_SIDE_NONE = 0, STRATA_SIDE_BUY = 1, STRATA_SIDE_SELL = 2 };
enum { STRATA_PRIO_CRITICAL, STRATA_PRIO_HIGH, STRATA_PRIO_MEDIUM, STRATA_PRIO_LOW, STRATA_PRIO_BACKGROUND };
enum { STRATA_LOG_DEBUG, STRATA_LOG_INFO, STRATA_LOG_WARN, STRATA_LOG_ERROR };
#define STRATA_TICK_HALTED 0x1u
#define STRATA_TICK_AUCTION 0x2u
#define STRATA_TICK_REPLAY 0x4u /* a snapshot of the latest state, not a new event */
#define STRATA_BOOK_DEPTH 10

/* A normalized tick. Times are microseconds since the epoch. */
typedef struct strata_tick {
    uint8_t kind;  /* STRATA_TICK_* */
    uint8_t flags; /* STRATA_TICK_HALTED, … */
    uint16_t feed;
    uint32_t sym;  /* strata's symbol id */
    int64_t venue_time, recv_time;
    union {
        struct {
            double price, volume, open, high, low, prev_close, cum_volume, cum_value, best_bid, best_ask;
            uint8_t side; /* STRATA_SIDE_*: the aggressor */
        } trade;          /* STRATA_TICK_TRADE, STRATA_TICK_SNAPSHOT */
        struct {
            double ask[STRATA_BOOK_DEPTH], bid[STRATA_BOOK_DEPTH];
            double ask_qty[STRATA_BOOK_DEPTH], bid_qty[STRATA_BOOK_DEPTH];
            double total_ask_qty, total_bid_qty;
        } book;           /* STRATA_TICK_ORDERBOOK */
    } u;
} strata_tick_t;

/* What the host's status() fills in. */
typedef struct strata_status {
    const char *slot;                 /* the time slot whose policy is in force */
    int tier1, tier2, tier3, indices; /* symbols per tier, index streams */
    int ws_used, ws_budget;           /* WebSocket registrations */
    uint64_t ticks, signals, emergencies; /* this plugin's */
    size_t watched;
} strata_status_t;

/* The host's functions. `h` is the handle init received. Calls return 0, or a negative errno;
 * `why` (when given) receives the reason of a refusal. */
typedef struct strata_host {
    uint32_t size; /* of this table as the host built it */
    uint32_t abi_major, abi_minor;
    int (*watch)(void *h, const char *code, int prio);
    int (*unwatch)(void *h, const char *code);
    int (*upgrade_priority)(void *h, const char *code, int prio);
    int (*emergency_subscribe)(void *h, const char *code, double score, char *why, size_t whylen);
    int (*update_performance_score)(void *h, const char *code, double score);
    int (*signal)(void *h, const char *code, const char *side, double strength, const char *reason);
    int (*every)(void *h, int64_t interval_us, const char *name);
    int64_t (*now)(void *h);
    void (*log)(void *h, int level, const char *msg);
    /* sym's orderbook: 0 with *out filled when one is at hand (a fresh cached one, or the venue
     * answered at once); 1 when it was asked for: it arrives later through on_orderbook. */
    int (*orderbook)(void *h, const char *code, strata_tick_t *out);
    int (*status)(void *h, strata_status_t *out);
    /* new entries go here, never above */
} strata_host_t;

/* Whether the host offers fn (an older strata may not). */
#define STRATA_HOST_HAS(host, fn)                                                                  \
    ((host)->size >= offsetof(strata_host_t, fn) + sizeof((host)->fn) && (host)->fn != NULL)

/* The plugin's descriptor. Callbacks may be NULL. */
typedef struct strata_plugin {
    uint32_t abi_major, abi_minor; /* STRATA_ABI_MAJOR, STRATA_ABI_MINOR */
    uint32_t size;                 /* sizeof(strata_plugin_t) */
    const char *name, *version;
    /* Returns the plugin's state (passed to every callback), or NULL to refuse to start.
     * params: the config's strategies[].params as n key/value strings. */
    void *(*init)(const strata_host_t *host, void *h, const char *const *keys, const char *const *values,
                  size_t n);
    void (*on_trade)(void *state, const char *sym, const strata_tick_t *t);
    void (*on_orderbook)(void *state, const char *sym, const strata_tick_t *t);
    void (*on_snapshot)(void *state, const char *sym, const strata_tick_t *t);
    void (*on_timeslot)(void *state, const char *slot);
    void (*on_timer)(void *state, const char *name);
    void (*shutdown)(void *state); /* frees the state */
    /* A reload replaced the previous build of this plugin: `state` is the new one's (after its
     * init), `old_state` the previous build's, still valid during this call (its shutdown and
     * dlclose come after). Its layout is the old code's: put a version number first. */
    void (*on_reload)(void *state, void *old_state, const char *old_version);
    /* new entries go here, never above */
} strata_plugin_t;

#define STRATA_PLUGIN_SYMBOL "strata_plugin_v1"
#define STRATA_PLUGIN_EXPORT(descriptor)                                                           \
    __attribute__((visibility("default"))) const strata_plugin_t *strata_plugin_v1(void);          \
    __attribute__((visibility("default"))) const strata_plugin_t *strata_plugin_v1(void)           \
    {                                                                                              \
        return &(descriptor);                                                                      \
    }

#ifdef __cplusplus
}
#endif
#endif
