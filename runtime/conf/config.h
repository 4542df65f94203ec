/* The strata configuration: typed structs decoded from YAML by schema.c, plus the
 * cross-field checks that need more than one value. docs/config.md documents every key. */
#ifndef ST_CONF_CONFIG_H
#define ST_CONF_CONFIG_H

#include "core/arena.h"
#include "core/err.h"
#include "core/schema.h"
#include "market/calendar.h"
#include "market/types.h"

typedef enum { ST_CLOCK_WALL, ST_CLOCK_SIMULATED } st_clock_mode_t;
typedef enum { ST_FEED_SIM, ST_FEED_KIS, ST_FEED_UPBIT, ST_FEED_REPLAY, ST_FEED_REDIS, ST_FEED_NKINDS } st_feed_kind_t;
typedef enum { ST_STRAT_LUA, ST_STRAT_C } st_strategy_kind_t;
typedef enum { ST_SINK_LOG, ST_SINK_JSONL, ST_SINK_WEBHOOK } st_sink_kind_t;

typedef struct {
    st_mark_t mark;
    int mode;        /* st_clock_mode_t */
    char *start;     /* simulated: local date-time the day starts at; "" = today at 08:50 */
    char *stop;      /* simulated: local time of day the run ends at; "" = never */
    double speed;    /* simulated: × real time; 0 = as fast as possible */
    st_time_t start_time; /* resolved from start (0 when mode is wall) */
    st_dur_t stop_tod;    /* resolved from stop; -1 = never */
} st_clock_cfg_t;

typedef struct {
    st_mark_t mark;
    int level;  /* st_log_level_t */
    int format; /* st_log_format_t */
    char *file;
} st_log_cfg_t;

typedef struct {
    st_mark_t mark;
    char *timezone;
    st_clock_cfg_t clock;
    st_log_cfg_t log;
    st_dur_t report_interval;
    char *session_report; /* the session report's JSON file (strftime of the session's date); "" = log only */
    char *record;         /* the recording file (strftime of the start date); "" = none */
} st_runtime_cfg_t;

typedef struct {
    st_mark_t mark;
    st_dur_t pre_open, open, closing_auction, close;
} st_session_cfg_t;

typedef struct {
    st_mark_t mark;
    char *symbol;
    int priority; /* st_priority_t */
    bool pinned;
} st_watch_cfg_t;

/* A day of a trading calendar: a calendar file's closed and special items, and the config's
 * market.closed and market.special. */
typedef struct {
    st_mark_t mark;
    char *date;        /* YYYY-MM-DD */
    char *name;
    char *open, *close; /* a special session's times ("10:00"); "" = the regular one */
} st_day_cfg_t;

/* A calendar file (config/krx_calendar.yaml). */
typedef struct {
    st_mark_t mark;
    char *name, *source, *updated;
    bool weekends;   /* trades on weekends */
    char *from, *to; /* the span its dates are vouched for */
    st_list_t closed, special; /* st_day_cfg_t */
} st_calendar_cfg_t;

typedef struct {
    st_mark_t mark;
    char *universe; /* resolved path */
    char *indices;  /* resolved path */
    st_session_cfg_t session;
    char *calendar;  /* "krx" (the shipped KRX calendar), "24/7", or a calendar file (resolved) */
    st_list_t closed, special; /* st_day_cfg_t: days over the calendar's */
    st_list_t watch; /* st_watch_cfg_t */
    int watch_universe; /* st_priority_t for every universe symbol, or ST_PRIO_COUNT (none) */
} st_market_cfg_t;

typedef struct {
    st_mark_t mark;
    char *app_key_env;    /* the NAME of the environment variable holding the app key */
    char *app_secret_env; /* … and the app secret; values never enter the config */
} st_cred_cfg_t;

/* sim: record: {path, scope: market} — a tape of the whole market (every trade of every symbol). */
typedef struct {
    st_mark_t mark;
    char *path;  /* strftime'd with the start date; "" = none */
    int scope;   /* st_tape_scope_t */
} st_feed_record_cfg_t;

typedef enum { ST_TAPE_MARKET } st_tape_scope_t;

typedef struct {
    st_mark_t mark;
    char *name;
    int kind; /* st_feed_kind_t */
    char *ws_url;   /* "" = the venue's (KIS real or paper, Upbit) */
    char *rest_url; /* "" = the venue's */
    bool paper;     /* KIS paper (모의) account: port 31000, REST 2/s, no multprice */
    st_list_t keys; /* st_cred_cfg_t: one WebSocket session per app key (KIS) */
    char *token_dir; /* KIS: where the access token is cached; "" = the user's cache dir, "none" */
    char *tls_ca_file; /* PEM certificates to trust instead of the system CA store; "" = system */
    st_dur_t orderbook_cache; /* how long an orderbook fetched on demand answers again */
    st_dur_t stall_timeout; /* no frame for this long while subscribed: reconnect */
    st_dur_t reconnect_min, reconnect_max; /* exponential backoff bounds */
    int64_t connections;
    /* The venue's limits: what the item leaves out is 0 after decoding, and its venue's merge
     * step fills it (st_feed_limits_default). */
    int64_t budget;  /* registrations per connection */
    double rest_rate; /* REST calls per second the venue allows */
    double ws_rate;   /* subscription messages per second per connection */
    int64_t ws_rate_minute; /* … per minute per connection; 0 = no minute limit */
    st_dur_t debounce;      /* coalescer debounce */
    int limiter;            /* st_limiter_mode_t */
    int64_t seed;    /* sim */
    double activity; /* sim: trade-rate multiplier */
    double volatility; /* sim: daily volatility multiplier */
    double halt_rate;  /* sim: probability multiplier of volatility halts */
    int64_t foreign;   /* sim: registrations the venue counts that strata does not know about */
    st_feed_record_cfg_t record; /* sim: its market's tape */
    char *path;        /* replay: the recording (resolved) */
    int mode;          /* replay: st_replay_mode_t */
    char *stream_url;  /* redis: redis://HOST[:PORT][/DB] of another instance's streams */
    char *stream;      /* redis: the stream of ticks to read (PREFIX:ticks:FEED) */
    char *from;        /* redis: "$" (what comes from now on), "0" (the whole stream), or an entry id */
    bool forward_demands; /* redis: this instance's strategies' demands go to the publisher (app/forward.c) */
    char *stream_host; /* resolved from stream_url */
    int64_t stream_port, stream_db;
} st_feed_cfg_t;

typedef enum { ST_REPLAY_AS_RECORDED, ST_REPLAY_LIMITED } st_replay_mode_t;

typedef struct {
    st_mark_t mark;
    st_dur_t medium, low, background, min_interval, max_interval;
} st_polling_cfg_t;

typedef struct {
    st_mark_t mark;
    st_polling_cfg_t polling;
} st_tiers_cfg_t;

/* What a slot's start counts from: a fixed time of day, or a time of the day's session (which a
 * special session moves). */
typedef enum { ST_AT_CLOCK, ST_AT_PRE_OPEN, ST_AT_OPEN, ST_AT_CLOSING_AUCTION, ST_AT_CLOSE } st_anchor_t;
extern const char *const st_anchor_names[]; /* "", "pre_open", "open", "closing_auction", "close" */

typedef struct {
    st_mark_t mark;
    char *name;
    char *start_text; /* "09:30", "open", "open+30m", "close-1h30m" */
    int anchor;       /* st_anchor_t, resolved from start_text */
    st_dur_t start;   /* the time of day (ST_AT_CLOCK) or the offset from the anchor */
    int64_t realtime, semi_realtime, indices, reserve;
    double poll_scale;
    st_weights_t weights;
} st_slot_cfg_t;

typedef struct {
    st_mark_t mark;
    st_dur_t interval, min_dwell;
    double margin;
    int64_t max_swaps;
} st_rebalance_cfg_t;

typedef struct {
    st_mark_t mark;
    double max_sector_share;
    int64_t failure_threshold;
    st_dur_t exclusion_cooldown;
} st_risk_cfg_t;

typedef struct {
    st_mark_t mark;
    char *name;
    int kind; /* st_strategy_kind_t */
    char *path; /* resolved */
    bool enabled;
    double weight;
    bool all_symbols;           /* ticks of every symbol, not only those it watches */
    int64_t memory_mb;          /* Lua: the state's memory cap */
    int64_t instruction_budget; /* Lua: instructions per callback */
    int64_t quarantine_after;   /* K: K faults within quarantine_window calls quarantine it */
    int64_t quarantine_window;  /* calls */
    st_value_t *params;
} st_strategy_cfg_t;

typedef struct {
    st_mark_t mark;
    int kind; /* st_sink_kind_t */
    char *path;
    char *url;
    st_dur_t timeout;
    int64_t retries;
} st_sink_cfg_t;

typedef struct {
    st_mark_t mark;
    int64_t queue;
    st_dur_t cooldown;
    st_list_t sinks; /* st_sink_cfg_t */
} st_signals_cfg_t;

typedef struct {
    st_mark_t mark;
    bool enabled;
    char *listen;
    int64_t port;
    char *token_env;
    int64_t max_connections;
    bool allow_without_token; /* a non-loopback listen address without a token */
} st_status_cfg_t;

/* outputs.redis: streams of ticks, signals and plan moves, and the status as a hash. */
typedef enum { ST_REDIS_TICKS_PER_FEED, ST_REDIS_TICKS_PER_SYMBOL, ST_REDIS_TICKS_NONE } st_redis_ticks_t;
typedef struct {
    st_mark_t mark;
    char *url;    /* redis://HOST[:PORT][/DB]; "" = off */
    char *prefix; /* every key starts with it: PREFIX:ticks:FEED, PREFIX:signals, … */
    int ticks;    /* st_redis_ticks_t */
    int64_t maxlen; /* XADD MAXLEN ~ (each stream) */
    int64_t queue;  /* commands waiting for Redis's answer before new ones are dropped */
    st_dur_t status_every;
    st_dur_t reconnect_max;
    bool demands;   /* take remote strategies' demands from PREFIX:demands */
    st_dur_t lease; /* a remote instance silent this long loses its demands */
    /* resolved from url */
    char *host;
    int64_t port, db;
} st_redis_cfg_t;

typedef struct {
    st_mark_t mark;
    st_redis_cfg_t redis;
} st_outputs_cfg_t;

/* cluster: several instances of one config on one Redis (outputs.redis.url); the one holding the
 * leader lease alone opens venue sessions (app/cluster.c, ops/lease.c). */
typedef struct {
    st_mark_t mark;
    char *name;         /* "" = no cluster; the keys are strata:cluster:NAME:leader and :term */
    char *instance;     /* this process's name in the cluster; "" = $instance_env, else HOST-PID */
    char *instance_env; /* the environment variable naming the instance (one config, many processes) */
    st_dur_t ttl;       /* the lease's time to live; renewed every ttl/3, fenced ttl/3 before its end */
} st_cluster_cfg_t;

typedef struct st_config {
    st_mark_t mark;
    st_arena_t *arena; /* owns everything below */
    char *file;
    st_runtime_cfg_t runtime;
    st_market_cfg_t market;
    st_list_t feeds; /* st_feed_cfg_t */
    st_tiers_cfg_t tiers;
    st_list_t schedule; /* st_slot_cfg_t, sorted by start */
    st_rebalance_cfg_t rebalance;
    st_risk_cfg_t risk;
    st_list_t strategies; /* st_strategy_cfg_t */
    st_signals_cfg_t signals;
    st_status_cfg_t status;
    st_outputs_cfg_t outputs;
    st_cluster_cfg_t cluster;
} st_config_t;

/* Loads and validates `path` (a file or "embedded:NAME"). On success *out owns an arena and
 * 0 is returned; otherwise every problem is in diags as file:line:column and ST_ECONFIG (or
 * -errno when the file cannot be read) is returned. */
int st_config_load(const char *path, st_config_t **out, st_diags_t *diags);
/* Same, from text already in memory (tests, fuzzing). */
int st_config_parse(const char *path, const char *text, size_t len, st_config_t **out,
                    st_diags_t *diags);
void st_config_free(st_config_t *cfg);

/* Whether the two configs describe the same feeds, every setting compared (from the schema,
 * so a new feed setting is never forgotten). */
bool st_config_feeds_equal(const st_config_t *a, const st_config_t *b);
/* The same for the signals and status sections. */
bool st_config_outputs_equal(const st_config_t *a, const st_config_t *b);

/* A slot's time of day on a day with session s (its anchor's time plus its offset, within the
 * day). */
st_dur_t st_slot_start(const st_slot_cfg_t *slot, const st_session_t *s);

/* Sum of budget × connections over the feeds that carry WebSocket registrations. */
int64_t st_config_ws_budget(const st_config_t *cfg);

extern const st_schema_t st_config_schema;
extern const st_schema_t st_calendar_schema; /* a calendar file: st_calendar_cfg_t */

/* A problem at a config node, as file:line:column (for the venues' merge steps). */
#define ST_CONF_ERR(d, m, ...) st_diags_add(d, (m)->file, (m)->line, (m)->col, __VA_ARGS__)

/* A venue's own configuration step, as an nginx module's merge_conf: after the YAML is read and
 * before the checks every network feed shares (URL schemes, credentials' variables, reconnect
 * bounds), fills what the feed item left out with the venue's defaults (URLs, limits) and
 * reports what only the venue forbids. `i` is the item's index in feeds:, for messages.
 * The table is defined by the venues' room (feeds/feed.c), one entry a kind (every kind gives
 * its limits at least): conf takes this one name from a later room as nginx's core takes ngx_modules[], a
 * table the linker joins, not an include (docs/design.md, "Source layout"). */
typedef void st_feed_merge_fn(st_config_t *cfg, st_feed_cfg_t *f, size_t i, st_diags_t *d);
extern st_feed_merge_fn *const st_feed_merges[ST_FEED_NKINDS];

/* A venue's limits, as its merge step gives them to the items that leave them out. */
typedef struct {
    int64_t budget;
    double rest_rate, ws_rate;
    int64_t ws_rate_minute;
} st_feed_limits_t;
/* Fills each of f's limits that the item left out (0) with the venue's. */
void st_feed_limits_default(st_feed_cfg_t *f, const st_feed_limits_t *venue);

#endif
