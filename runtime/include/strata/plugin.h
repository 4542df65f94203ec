/* strata's C plugin ABI 2.3: the one header a strategy plugin includes.
 *
 * A plugin is a shared object that exports one function, made by STRATA_PLUGIN_EXPORT, returning
 * a constant descriptor: the ABI version it was built against, the descriptor's size, its name
 * and version, and its callbacks. strata loads it with dlopen(RTLD_NOW | RTLD_LOCAL) from a
 * private copy of the file (a reload always gets the file's current code) and refuses, saying to
 * rebuild against this header: another major version (a plugin built for 1.x exports
 * strata_plugin_v1, which this strata recognises and refuses), or a descriptor shorter than it
 * needs.
 *
 * The host hands the plugin, at init, a table of functions and a context (strata_ctx_t: this
 * running instance of the plugin; pass it back to every host function). Within a major version
 * the tables only grow at their end: a plugin tests for a host function with STRATA_HOST_HAS
 * before calling it, and the host reads the plugin's descriptor only as far as its `size`. A
 * struct the host fills for the plugin (strata_status_t) carries its size first, set by the
 * plugin: the host writes only what both sides know.
 *
 * Ticks arrive as pointers valid during the callback only. Callbacks run on strata's one event
 * loop: never block in them. A crash in a plugin ends strata (plugins run in its process), after
 * the log names the plugin and the callback.
 *
 *   #include <strata/plugin.h>
 *   static void *init(const strata_host_t *host, strata_ctx_t *ctx, const char *const *keys,
 *                     const char *const *values, size_t n) { ... return state; }
 *   static void on_trade(void *state, const char *sym, const strata_tick_t *t) { ... }
 *   static const strata_plugin_t plugin = {.abi_major = STRATA_ABI_MAJOR,
 *       .abi_minor = STRATA_ABI_MINOR, .size = sizeof(strata_plugin_t), .name = "gap",
 *       .version = "1.0", .init = init, .on_trade = on_trade};
 *   STRATA_PLUGIN_EXPORT(plugin)
 *
 * Use designated initializers as above: later minor versions add fields at the end. Build with
 * `cc -shared -fPIC $(pkg-config --cflags strata-plugin) gap.c -o gap.so`, or in CMake
 * `find_package(strata)` and link `strata::plugin` (docs/strategies.md). */
#ifndef STRATA_PLUGIN_H
#define STRATA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STRATA_ABI_MAJOR 2 /* incompatible changes */
#define STRATA_ABI_MINOR 3 /* additions at the end of the tables; 2.1: symbol(); 2.2: on_day; 2.3: on_emergency */

#if defined(__GNUC__) || defined(__clang__)
#define STRATA_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define STRATA_PRINTF(fmt, args)
#endif

/* The kind of a tick. */
enum { STRATA_TICK_TRADE = 1, STRATA_TICK_ORDERBOOK = 2, STRATA_TICK_SNAPSHOT = 3 };
/* A trade's aggressor, and a signal's side. */
enum { STRATA_SIDE_NONE = 0, STRATA_SIDE_BUY = 1, STRATA_SIDE_SELL = 2 };
/* How much a plugin wants a symbol's data: the planner gives the highest tiers to the highest. */
enum { STRATA_PRIO_CRITICAL, STRATA_PRIO_HIGH, STRATA_PRIO_MEDIUM, STRATA_PRIO_LOW, STRATA_PRIO_BACKGROUND };
/* Log levels. */
enum { STRATA_LOG_DEBUG, STRATA_LOG_INFO, STRATA_LOG_WARN, STRATA_LOG_ERROR };
/* What orderbook() returns when the book was asked for: it arrives later, through on_orderbook. */
#define STRATA_PENDING 1
/* A tick's flags. */
#define STRATA_TICK_HALTED 0x1u  /* a halt or volatility interruption is in force */
#define STRATA_TICK_AUCTION 0x2u /* a single-price auction (pre-open, closing) */
#define STRATA_TICK_REPLAY 0x4u  /* a snapshot of the latest state on subscribing, not a new event */
#define STRATA_BOOK_DEPTH 10

/* A normalized tick: the layout is fixed for the major version. Times are microseconds since
 * the epoch; prices and sizes as the venue gave them. */
typedef struct strata_tick {
    uint8_t kind;  /* STRATA_TICK_* */
    uint8_t flags; /* STRATA_TICK_HALTED, … */
    uint16_t feed; /* which of the config's feeds it came from (its index) */
    uint32_t sym;  /* strata's id for the symbol (the code is the callback's argument) */
    int64_t venue_time, recv_time;
    union {
        struct {
            double price, volume, open, high, low, prev_close, cum_volume, cum_value, best_bid, best_ask;
            uint8_t side; /* STRATA_SIDE_*: the aggressor */
        } trade;          /* STRATA_TICK_TRADE, STRATA_TICK_SNAPSHOT (volume 0) */
        struct {
            double ask[STRATA_BOOK_DEPTH], bid[STRATA_BOOK_DEPTH];
            double ask_qty[STRATA_BOOK_DEPTH], bid_qty[STRATA_BOOK_DEPTH];
            double total_ask_qty, total_bid_qty;
        } book;           /* STRATA_TICK_ORDERBOOK: level 1 first */
    } u;
} strata_tick_t;

/* What status() fills in. Set `size` to sizeof(strata_status_t) before the call: the host
 * fills the fields that fit in it and leaves `size` as it was. */
typedef struct strata_status {
    uint32_t size;
    const char *slot;                     /* the time slot whose policy is in force */
    int tier1, tier2, tier3, indices;     /* symbols per tier, index streams */
    int ws_used, ws_budget;               /* WebSocket registrations, all connections */
    uint64_t ticks, signals, emergencies; /* this plugin's */
    size_t watched;                       /* symbols this plugin watches */
} strata_status_t;

/* What symbol() fills in (2.1), as status(): set `size` to sizeof(strata_symbol_t) first. */
typedef struct strata_symbol {
    uint32_t size;
    int tier;                 /* 0 none, 1 realtime (trades and orderbooks), 2 semi-realtime (trades), 3 polling */
    int prio;                 /* the strongest STRATA_PRIO_* anyone asks for it (a strategy, the config); -1: nobody */
    uint32_t flags;           /* STRATA_SYMBOL_* */
    int64_t poll_interval_us; /* tier 3: how often a REST snapshot of it comes; 0 otherwise */
    int64_t last_tick;        /* receive time of its latest tick of any kind, µs since the epoch; 0: none yet */
    int64_t staleness_us;     /* now - last_tick: how old what is known of it is; -1: nothing yet */
    double last_price;        /* its latest trade's or snapshot's price; 0: none yet */
} strata_symbol_t;
#define STRATA_SYMBOL_PINNED 0x1u    /* the config pins it: never evicted */
#define STRATA_SYMBOL_EMERGENCY 0x2u /* it holds tier 1 by an emergency subscription */
#define STRATA_SYMBOL_EXCLUDED 0x4u  /* excluded after repeated data failures, for a cool-down */
#define STRATA_SYMBOL_INDEX 0x8u     /* an index stream */

/* One running instance of a plugin, as the host knows it: opaque. */
typedef struct strata_ctx strata_ctx_t;

/* The host's functions. Each takes the context init received and returns 0 or a negative errno
 * (-ENOENT an unknown symbol code, -EINVAL a bad argument, -ECANCELED the plugin is stopped or
 * quarantined) unless said otherwise. Codes are the venue's ("005930"). What a plugin asks in
 * init or on_reload is held back and happens when the reload commits (nothing if it is rolled
 * back). */
typedef struct strata_host {
    uint32_t size; /* of this table as the host built it: see STRATA_HOST_HAS */
    uint32_t abi_major, abi_minor;
    /* Wants the symbol's data at prio (STRATA_PRIO_*); ticks of it come to the callbacks. */
    int (*watch)(strata_ctx_t *ctx, const char *code, int prio);
    /* No longer wants it. */
    int (*unwatch)(strata_ctx_t *ctx, const char *code);
    /* The same as watch: a new priority for a symbol. */
    int (*upgrade_priority)(strata_ctx_t *ctx, const char *code, int prio);
    /* Realtime data for the symbol now, evicting the lowest-value holder if needed; score
     * (0-100) ranks it against other emergencies. A refusal says why in why (when given).
     * Not in init or on_reload (-EAGAIN). */
    int (*emergency_subscribe)(strata_ctx_t *ctx, const char *code, double score, char *why, size_t whylen);
    /* The symbol's performance score (0-100), used at the next rebalancing. */
    int (*update_performance_score)(strata_ctx_t *ctx, const char *code, double score);
    /* Emits a signal: side STRATA_SIDE_*, strength and reason as the sinks write them. */
    int (*signal)(strata_ctx_t *ctx, const char *code, int side, double strength, const char *reason);
    /* Calls on_timer(state, name) every interval_us of strata time (the same name again:
     * re-arms it); at most 16 names. */
    int (*every)(strata_ctx_t *ctx, int64_t interval_us, const char *name);
    /* strata's time now (simulated in a simulated or replayed run), microseconds since the epoch. */
    int64_t (*now)(strata_ctx_t *ctx);
    /* A line in strata's log, prefixed with the plugin's name; printf-style. */
    void (*log)(strata_ctx_t *ctx, int level, const char *fmt, ...) STRATA_PRINTF(3, 4);
    /* The symbol's orderbook: 0 with *out filled when one is at hand (a fresh cached one, or the
     * venue answered at once); STRATA_PENDING when it was asked for: it arrives later through
     * on_orderbook. */
    int (*orderbook)(strata_ctx_t *ctx, const char *code, strata_tick_t *out);
    /* The plan now and this plugin's counters (set out->size first). */
    int (*status)(strata_ctx_t *ctx, strata_status_t *out);
    /* 2.1: what strata does for the symbol now — its tier, priority, poll interval, and how old
     * its data is (a screener can tell a poll snapshot's age from a realtime tick); set
     * out->size first. */
    int (*symbol)(strata_ctx_t *ctx, const char *code, strata_symbol_t *out);
    /* new entries go here, never above */
} strata_host_t;

/* Whether the host offers fn (an older strata of the same major version may not). */
#define STRATA_HOST_HAS(host, fn)                                                                  \
    ((host)->size >= offsetof(strata_host_t, fn) + sizeof((host)->fn) && (host)->fn != NULL)

/* The plugin's descriptor. Callbacks may be NULL. */
typedef struct strata_plugin {
    uint32_t abi_major, abi_minor; /* STRATA_ABI_MAJOR, STRATA_ABI_MINOR */
    uint32_t size;                 /* sizeof(strata_plugin_t) */
    const char *name, *version;
    /* Returns the plugin's state (passed to every callback), or NULL to refuse to start. Keep
     * host and ctx for the host calls. params: the config's strategies[].params as n key/value
     * strings (nested keys joined with '.', lists with ','). */
    void *(*init)(const strata_host_t *host, strata_ctx_t *ctx, const char *const *keys, const char *const *values,
                  size_t n);
    /* A trade, an orderbook, a REST snapshot of a symbol it watches (or of every symbol, with
     * all_symbols in the config). */
    void (*on_trade)(void *state, const char *sym, const strata_tick_t *t);
    void (*on_orderbook)(void *state, const char *sym, const strata_tick_t *t);
    void (*on_snapshot)(void *state, const char *sym, const strata_tick_t *t);
    /* A time slot of the trading day began (its name, as in the config's schedule). */
    void (*on_timeslot)(void *state, const char *slot);
    /* A timer set with every() fired. */
    void (*on_timer)(void *state, const char *name);
    /* Frees the state: the last call. */
    void (*shutdown)(void *state);
    /* A reload replaced the previous build of this plugin: `state` is the new one's (after its
     * init), `old_state` the previous build's, still valid during this call (its shutdown and
     * dlclose come after). Its layout is the old code's: put a version number first. */
    void (*on_reload)(void *state, void *old_state, const char *old_version);
    /* 2.2: a market day began ("YYYY-MM-DD", the venue's date): each trading day of the
     * calendar, the run's first included, before that day's first tick. Reset per-day state
     * here. */
    void (*on_day)(void *state, const char *date);
    /* 2.3: the venue's owner answered an emergency_subscribe of this plugin's. Only where the
     * ticks come from another strata instance (a `kind: redis` feed with forward_demands): the
     * call returned this instance's answer at once, the instance that holds the venue sessions
     * decides later — granted 1, or 0 and why ("unknown symbol 000270", …). */
    void (*on_emergency)(void *state, const char *sym, int granted, const char *why);
    /* new entries go here, never above */
} strata_plugin_t;

#define STRATA_PLUGIN_SYMBOL "strata_plugin_v2"
#define STRATA_PLUGIN_EXPORT(descriptor)                                                           \
    __attribute__((visibility("default"))) const strata_plugin_t *strata_plugin_v2(void);          \
    __attribute__((visibility("default"))) const strata_plugin_t *strata_plugin_v2(void)           \
    {                                                                                              \
        return &(descriptor);                                                                      \
    }

#ifdef __cplusplus
}
#endif
#endif
