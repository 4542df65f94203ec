/* cluster (issue 22.3): several instances run one config on one Redis; the one holding the
 * leader lease (ops/lease.c) alone opens venue sessions — it starts the feeds when it takes the
 * lease and stops them (closing every session politely) when it fences — and publishes with its
 * term. The others stand by, the feeds created but not started, and take over once the lease
 * has expired. A standby's strategies run on the leader's tick streams (outputs.redis.ticks
 * per_feed: PREFIX:ticks:FEED, read by a redis feed in the place of each feed, from its end),
 * so their state and demands — and the plan they shape — are warm at a takeover; their signals
 * are held back (the leader's go out). Keys: strata:cluster:NAME:leader ("INSTANCE/TERM", PX the TTL) and
 * strata:cluster:NAME:term (INCR). The lease's times are the machine's monotonic clock, never
 * the strata clock: Redis counts TTLs in real time. docs/operations.md#cluster. */
#ifndef ST_APP_CLUSTER_H
#define ST_APP_CLUSTER_H

#include "signals/signals.h"

#include <stdbool.h>
#include <stdint.h>

struct st_runtime;
typedef struct st_cluster st_cluster_t;

/* NULL when the config has no cluster (the feeds are then the caller's to start). */
st_cluster_t *st_cluster_create(struct st_runtime *rt);
void st_cluster_destroy(st_cluster_t *c);

typedef struct {
    const char *name, *instance;
    bool leader;
    uint64_t term; /* held or last held; 0 never */
    uint64_t acquired, fences, lost;
    uint64_t standby_ticks; /* ticks of the leader's streams handed to the strategies while standing by */
    uint64_t signals_held;  /* signals the strategies raised while standing by (not sent) */
} st_cluster_state_t;
void st_cluster_state(const st_cluster_t *c, st_cluster_state_t *out);

/* Whether sig is to be held back (counted, said once a standby period): this instance stands by. */
bool st_cluster_hold_signal(st_cluster_t *c, const st_signal_t *sig);

#endif
