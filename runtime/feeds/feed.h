/* One interface, several venues. A feed turns a venue's wire format into normalized ticks and
 * hands them to the runtime through on_tick. Feeds run on the one loop and never block it.
 * Kinds: sim (the embedded simulated market, sim_feed.c), kis (the KIS WebSocket, kis_feed.c),
 * replay (replay_feed.c), redis (another instance's tick stream, redis_feed.c)
 * and upbit (upbit_feed.c); each drives its connections' ledgers and coalescers from the plan (apply). */
#ifndef ST_FEEDS_FEED_H
#define ST_FEEDS_FEED_H

#include <errno.h>

#include "bookcache.h"
#include "core/clock.h"
#include "conf/config.h"
#include "market/tick.h"
#include "market/universe.h"
#include "plan/planner.h"
#include "record/recfile.h"
#include "subs/coalescer.h"
#include "subs/poller.h"

typedef struct st_feed st_feed_t;
typedef void (*st_tick_cb)(const st_tick_t *t, void *ctx);
/* The venue refused a registration on connection `conn` (the feed's own numbering): an invalid
 * symbol (ack ST_ACK_INVALID), or MAX SUBSCRIBE OVER, after which `cap` registrations are what
 * the connection can hold. */
typedef void (*st_refused_cb)(st_feed_t *f, int conn, st_sym_t sym, int ack, int cap, void *ctx);

typedef struct {
    uint64_t ticks_delivered; /* normalized ticks handed to on_tick */
    uint64_t market_trades;   /* trades the venue printed (sim: everything the market made) */
    uint64_t halts, bursts, shocks;
    uint64_t malformed;       /* frames dropped as malformed */
    uint64_t encrypted;       /* KIS: encrypted frames (order-fill notices) dropped */
    uint64_t venue_errors;    /* Upbit: error objects the venue sent */
    uint64_t violations;      /* registrations refused for exceeding a budget (must stay 0) */
    uint64_t auth_failures;   /* the venue refused the credentials (a wrong app key or secret) */
    int64_t ws_used, ws_budget; /* registrations held / allowed over all connections */
    int nconns;                 /* the feed's connections, in its own order: */
    int conn_held[ST_PLAN_MAX_CONNS]; /* registrations the venue holds on each */
    bool conn_open[ST_PLAN_MAX_CONNS]; /* its session is up (the simulated venue's always) */
    uint64_t rest_calls, rest_ok;
    uint64_t rest_last_second; /* calls in the second before now */
    int64_t ws_desired;         /* registrations the ledgers want (the plan, synchronously) */
    uint64_t subs_requests, subs_messages; /* desired-set changes, and messages that carried them */
    st_dur_t subs_latency_p99, subs_latency_max; /* request -> send */
    double penalty;             /* lowest limiter penalty over the connections (1 = full rate) */
    st_dur_t margin;            /* widest limiter timing margin (wider after the venue refused) */
    int64_t msgs_second, msgs_second_limit; /* subscription messages the busiest connection sent in */
    int64_t msgs_minute, msgs_minute_limit; /* the last second / minute, and the venue's limits (0: none) */
    uint64_t reconnects;        /* network feeds: sessions lost (dropped, stalled, refused) */
    uint64_t stalls;            /* … of which detected as stalled streams */
    uint64_t quiet_pings, pongs; /* pings to sessions quiet for stall_timeout; pongs received */
    uint64_t connect_failures;  /* connection attempts that never opened (refused, TLS, …) */
    int64_t sessions, sessions_open; /* network feeds: WebSocket sessions, and those up now */
    int64_t poll_symbols;       /* REST polling (tier 3, and fallback during an outage) */
    double poll_stretch;        /* >= 1: how much demand over the REST budget stretched intervals */
    st_dur_t poll_age[6];       /* mean time between two refreshes, per priority (+ fallback) */
} st_feed_stats_t;

typedef struct {
    const char *kind;
    int (*start)(st_feed_t *f);
    void (*stop)(st_feed_t *f);
    void (*destroy)(st_feed_t *f);
    void (*stats)(const st_feed_t *f, st_feed_stats_t *out);
    /* Brings the feed's own state and counters up to `now` (a simulated market advances;
     * a network feed has nothing to do). */
    void (*sync)(st_feed_t *f, st_time_t now);
    /* Applies plan changes for this feed's symbols, in order (decreases first). conn_base is
     * the planner's index of this feed's first connection. The planner gives tier-3 polling
     * intervals. Returns 0 or a negative error (the change is then not held). NULL: the feed
     * takes no plan (a replay as recorded delivers what it delivers). */
    int (*apply)(st_feed_t *f, const st_plan_change_t *ch, size_t n, int conn_base,
                 const st_planner_t *plan);
    /* A symbol's orderbook by REST, cached for feeds[].orderbook_cache (bookcache.h). NULL when
     * the venue has none. */
    int (*orderbook)(st_feed_t *f, st_sym_t sym, st_book_cb cb, void *ctx);
} st_feed_vtable_t;

/* A subscription of connection conn (the feed's own numbering) went out (op "subscribe",
 * "unsubscribe") or was answered (op: the answer, st_feed_ack_name); ctx is tick_ctx. */
typedef void (*st_subscription_cb)(st_feed_t *f, int conn, st_sym_t sym, st_channel_t ch, const char *op, void *ctx);

struct st_feed {
    const st_feed_vtable_t *vt;
    char *name;
    uint16_t index;
    st_clock_t *clock;
    st_tick_cb on_tick;
    void *tick_ctx;
    st_refused_cb on_refused;
    st_subscription_cb on_subscription; /* optional */
    uint64_t ticks;  /* handed to on_tick */
    uint64_t trades; /* of them, trades */
};

/* The one way a tick leaves a feed: stamped as this feed's, counted, handed to the runtime. */
static inline void st_feed_deliver(st_feed_t *f, st_tick_t *t)
{
    t->feed = f->index;
    f->ticks++;
    f->trades += t->kind == ST_TICK_TRADE;
    f->on_tick(t, f->tick_ctx);
}

/* restpoll's on_snapshot and on_failure for a network feed; ctx is the feed, whose st_feed_t
 * is its first member: a snapshot goes out as the feed's tick, a symbol that keeps failing is
 * reported as refused (invalid). */
void st_feed_rest_snapshot(void *feed, const st_tick_t *snap);
void st_feed_rest_failure(void *feed, st_sym_t sym);

/* Environment a feed is created in. The universe and config need only live during create. */
typedef struct {
    st_clock_t *clock;
    const st_universe_t *universe;
    const st_symtab_t *syms; /* lives as long as the process: network feeds look codes up in it */
    const st_config_t *cfg;
    st_tick_cb on_tick;
    void *tick_ctx; /* also the context of on_refused and on_subscription */
    st_refused_cb on_refused;
    st_subscription_cb on_subscription;
    const st_calendar_t *calendar; /* the market's days (a simulated market follows them) */
} st_feed_env_t;

/* Creates the feed described by fc. Returns 0 or a negative error with a message in err. */
int st_feed_create(const st_feed_cfg_t *fc, uint16_t index, const st_feed_env_t *env,
                   st_feed_t **out, char *err, size_t errlen);

static inline int st_feed_start(st_feed_t *f) { return f->vt->start(f); }
static inline void st_feed_stop(st_feed_t *f) { f->vt->stop(f); }
static inline void st_feed_destroy(st_feed_t *f) { if (f) f->vt->destroy(f); }
static inline void st_feed_stats(const st_feed_t *f, st_feed_stats_t *o) { f->vt->stats(f, o); }
static inline void st_feed_sync(st_feed_t *f, st_time_t now) { if (f->vt->sync) f->vt->sync(f, now); }
/* Whether the plan's changes reach the feed (a replay as recorded takes none: it has no ledger). */
static inline bool st_feed_subscribes(const st_feed_t *f) { return f->vt->apply != NULL; }
static inline int st_feed_apply(st_feed_t *f, const st_plan_change_t *ch, size_t n, int base,
                                const st_planner_t *plan)
{
    return f->vt->apply ? f->vt->apply(f, ch, n, base, plan) : 0;
}

/* Asks for sym's orderbook: cb now with a fresh cached book (returns 0) or later (ST_PENDING);
 * -ENOTSUP when the feed has no REST side, -EINVAL for an unknown symbol. */
static inline int st_feed_orderbook(st_feed_t *f, st_sym_t sym, st_book_cb cb, void *ctx)
{
    return f->vt->orderbook ? f->vt->orderbook(f, sym, cb, ctx) : -ENOTSUP;
}

/* The sim feed's market (NULL for other kinds): summaries read it. */
struct st_simmkt *st_sim_feed_market(st_feed_t *f);
struct st_ledger_s;
/* The ledger of a simulated feed's connection conn (tests), or NULL. */
const struct st_ledger_s *st_sim_feed_ledger(st_feed_t *f, int conn);

/* Helpers shared by the feeds (the network feeds' own are in netfeed.c). */
/* The WebSocket side of plan changes, the same for every venue: for each change of a symbol the
 * feed knows (kinds: st_feed_index_map, nsyms long), the keys its old tier held on its old
 * connection are unwanted and the new tier's wanted on the new one — the trade stream, and the
 * orderbook for tier 1; an index its index stream — and an emergency's connections flush at
 * once. co[k] is the coalescer of the feed's connection k, the plan's conn_base + k. */
void st_feed_apply_subs(const st_plan_change_t *ch, size_t n, int conn_base, st_coalescer_t *const *co, int nconns,
                        const uint8_t *kinds, size_t nsyms, st_time_t now);
/* The coalescer's sent/answered hooks for connection conn of f (to f->on_subscription). */
void st_feed_sub_sent(st_feed_t *f, int conn, st_key_t key, bool on);
void st_feed_sub_answered(st_feed_t *f, int conn, st_key_t key, st_ack_t ack);

/* The symbol of a venue code, if it is in the universe (map from st_feed_index_map). */
st_sym_t st_feed_sym(const st_symtab_t *syms, const uint8_t *map, size_t n, const char *code, size_t len);

/* st_feed_sym for a recording's items, remembered per dictionary (a replay looks each code up
 * once a dictionary, not once a tick; the tick path: inline). Zero-initialized;
 * st_feed_rec_syms_free. */
typedef struct {
    uint32_t *dict; /* by code index: the dictionary the entry is for (0: none) */
    st_sym_t *sym;
    size_t cap;
} st_feed_rec_syms_t;
st_sym_t st_feed_rec_sym_lookup(st_feed_rec_syms_t *c, const st_symtab_t *syms, const uint8_t *map, size_t n,
                                const st_rec_item_t *it);
static inline st_sym_t st_feed_rec_sym(st_feed_rec_syms_t *c, const st_symtab_t *tab, const uint8_t *map, size_t n,
                                       const st_rec_item_t *it)
{
    uint32_t i = it->code_index;
    if (i < c->cap && c->dict[i] == it->dict) return c->sym[i];
    return st_feed_rec_sym_lookup(c, tab, map, n, it);
}
void st_feed_rec_syms_free(st_feed_rec_syms_t *c);
/* Rate-limited warnings: true at most once a minute per *last. */
bool st_feed_warn_due(st_time_t *last, st_time_t now);
/* What a symbol id is to a feed (st_feed_index_map). */
typedef enum { ST_FSYM_STOCK = 0, ST_FSYM_INDEX = 1, ST_FSYM_ABSENT = 2 } st_feed_sym_kind_t;
/* Tier-3 changes into a poll schedule: a symbol entering tier 3 is polled at the plan's interval
 * and class (def and MEDIUM without a plan entry), one leaving it stops; with a plan, every
 * polled symbol takes its current interval (a time slot rescales them) unless skip[sym] (a
 * fallback poll; skip may be NULL). The caller looks at its schedule once afterwards. */
void st_feed_apply_polls(st_poller_t *p, const st_plan_change_t *ch, size_t n, const st_planner_t *plan,
                         st_dur_t def, const uint8_t *skip, st_time_t now);
/* A connection's subscription-message limiter into the feed's figures: its penalty and margin,
 * and how much of each window (a second, a minute) it has used (the busiest connection's). */
void st_feed_limiter_stats(st_feed_stats_t *out, st_limiter_t *lim, st_time_t now);
/* Per symbol id its st_feed_sym_kind_t; *n is the length. */
uint8_t *st_feed_index_map(const st_universe_t *u, size_t *n);

int st_kis_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out,
                       char *err, size_t errlen);
/* The venues' configuration steps (st_feed_merges, conf/config.h): defaults and own rules. */
st_feed_merge_fn st_kis_conf_merge, st_upbit_conf_merge, st_sim_conf_merge;
/* A KIS real account's limits: 41 registrations a session, 20 REST calls a second (a paper
 * account: 2), subscription messages paced at 5 a second (KIS publishes no message rate). The
 * simulated venue is a KIS one. */
extern const st_feed_limits_t st_kis_limits;
int st_upbit_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out,
                         char *err, size_t errlen);
int st_sim_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out,
                       char *err, size_t errlen);
int st_redis_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out, char *err,
                         size_t errlen);
/* Where a stopped redis feed reads from at its next start ("$": what is added after it). */
void st_redis_feed_rewind(st_feed_t *f, const char *from);
int st_replay_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out,
                          char *err, size_t errlen);

#endif
