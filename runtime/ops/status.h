/* What `GET /status` and `GET /metrics` say: pure functions from a snapshot of the runtime's
 * counters to JSON (the published design's field names) and to the Prometheus text format
 * (counters end in _total, units in the names). The snapshot is taken by the runtime; nothing
 * here reads a clock or a socket. */
#ifndef ST_OPS_STATUS_H
#define ST_OPS_STATUS_H

#include "feeds/feed.h"
#include "ops/redisout.h"
#include "ops/report.h"
#include "signals/signals.h"
#include "plan/planner.h"

typedef struct {
    const char *feed;         /* the feed that owns the connection */
    int used, held, budget;   /* WebSocket registrations: planned (the feed wants), the venue holds, allowed */
    bool open;                /* its session is up */
} st_conn_status_t;

typedef struct {
    st_counters_t c;
    uint64_t generation, reloads_ok, reloads_failed;
    double uptime; /* seconds of wall time since the start */
    size_t total_stocks, total_indices; /* the universe */
    st_policy_t policy;                 /* the time slot's, in force */
    st_plan_stats_t plan;
    st_conn_status_t conns[ST_PLAN_MAX_CONNS];
    int nconns;
    uint64_t promotions, demotions; /* plan changes into tier 1-2 from a worse tier / out of one */
    st_signals_stats_t signals;
    const st_strat_info_t *strategies;
    size_t nstrategies;
    st_redisout_stats_t redis; /* outputs.redis (zeros when off) */
    size_t remotes;            /* remote instances holding demands (outputs.redis.demands) */
    int cluster_leader;        /* cluster: 1 while this instance holds the lease (zeros when off) */
    uint64_t cluster_term, cluster_fences;
    uint64_t cluster_standby_ticks, cluster_signals_held; /* standing by: the leader's ticks taken, signals held */
    st_day_t day;            /* the market day (its calendar's) */
    const char *market_state; /* "open", or "closed: holiday NAME until …" */
} st_status_t;

/* Adds one feed's figures into the run's counters, each as the counters' table says (summed,
 * the largest or the smallest over the feeds); first: the first feed (c's figures start from
 * its). */
void st_status_add_feed(st_counters_t *c, const st_feed_stats_t *fs, bool first);

/* The terminal's status line, every figure from the counters' table:
 * "[09:15:32] monitored 73 | websocket 38/41 | slot golden_time | signals 12 | api 156 calls,
 * 98.7% ok, 14/20 per s | subs 812 changes in 97 msgs | market 1,234,567 trades, 2 halts"
 * (then " | sessions 1/2 up, 3 reconnects" when there are network feeds). */
void st_status_line(const st_counters_t *c, char *buf, size_t len);

/* malloc'd, NUL-terminated. */
char *st_status_json(const st_status_t *s);
char *st_status_metrics(const st_status_t *s);

/* Reading a status document back (strata status, tests): the number at a dotted path
 * ("websocket_status.connections.0.budget"; array items by index); NAN when there is none. */
struct cJSON;
double st_status_number(const struct cJSON *doc, const char *path);
/* The "strategies" array of /status, added to a JSON object (the session report has it too,
 * without timing: the callbacks' wall time, which differs run to run). */
void st_status_add_strategies(struct cJSON *o, const st_status_t *s, bool timing);

#endif
