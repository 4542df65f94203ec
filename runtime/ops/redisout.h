/* outputs.redis: what strata sees and does, published to Redis streams for consumers on other
 * machines — normalized ticks (XADD PREFIX:ticks:FEED, or PREFIX:ticks:CODE), signals
 * (PREFIX:signals: the JSONL sink's record), plan moves (PREFIX:plan) — each with MAXLEN ~ N,
 * and the status as a hash (PREFIX:status, refreshed by the runtime).
 *
 * Asynchronous on the loop (hiredis and its libev adapter): a command is queued and its answer
 * comes later; nothing waits for Redis. A Redis that is slow, down or restarting costs records,
 * never the loop: past `queue` commands unanswered, or while disconnected, a record is dropped
 * and counted; the connection comes back with a backoff, a warning once per outage. One
 * connection, so what is published is in the order it happened (drops leave gaps, never swaps). */
#ifndef ST_OPS_REDISOUT_H
#define ST_OPS_REDISOUT_H

#include "conf/config.h"
#include "market/tick.h"
#include "plan/planner.h"
#include "signals/signals.h"

struct ev_loop;
typedef struct st_redisout st_redisout_t;

typedef struct {
    uint64_t published; /* records Redis acknowledged */
    uint64_t dropped;   /* records never sent (queue full, disconnected) or lost with a connection */
    uint64_t errors;    /* records Redis answered with an error */
    uint64_t outages;   /* connections lost or refused */
    size_t inflight;    /* commands sent, not yet answered */
    bool connected;
} st_redisout_stats_t;

/* Starts connecting (NULL with a reason when the config has no url). */
st_redisout_t *st_redisout_create(const st_redis_cfg_t *cfg, struct ev_loop *loop, const char *const *feed_names,
                                  size_t nfeeds);
/* Waits (running the loop) at most `seconds` of wall time for what was sent to be answered, then
 * disconnects and frees. */
void st_redisout_destroy(st_redisout_t *r, double seconds);

/* Cluster mode: while leading, every record published carries this leadership term (a field
 * `term`, first), and so does the status hash; standing by, nothing is published (the streams
 * and the status hash are the leader's). NULL r: nothing. */
void st_redisout_cluster(st_redisout_t *r, bool leading, uint64_t term);
void st_redisout_tick(st_redisout_t *r, const st_tick_t *t, const char *code);
void st_redisout_signal(st_redisout_t *r, const st_signal_t *sig);
void st_redisout_plan(st_redisout_t *r, const st_plan_change_t *c, const char *code);
/* HSET PREFIX:status json TEXT time NOW. */
void st_redisout_status(st_redisout_t *r, const char *json, st_time_t now);
void st_redisout_stats(const st_redisout_t *r, st_redisout_stats_t *out);

#endif
