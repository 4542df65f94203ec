/* The leader lease of a cluster (issue 22.3), pure: no Redis, no clock of its own. Several
 * strata instances run one config; one holds the lease (Redis: SET KEY VALUE NX PX ttl) and
 * alone opens venue sessions, renewing it every ttl/3; the others stand by and try to take it.
 *
 * Fencing: the leader never trusts a lease it cannot prove. It counts the lease from when it
 * *sent* the command that set or renewed it (the reply may come late; Redis started the TTL no
 * earlier than the send), and when a third of the TTL is left with no renewal confirmed — Redis
 * down, slow or paused, the network gone — it fences: closes its venue sessions, so that by the
 * time the lease can have expired in Redis and a standby can take it, no session of this
 * instance is left (KIS allows one session per app key). A renewal Redis refuses (the key is
 * another's) fences at once. Every term is a number (INCR), carried on what the leader
 * publishes, so a consumer can tell an old leader's late records.
 *
 * The caller (app/cluster.c) turns actions into Redis commands and reports their answers; every
 * function takes the time (monotonic seconds are fine: only differences matter). */
#ifndef ST_OPS_LEASE_H
#define ST_OPS_LEASE_H

#include "core/common.h"

typedef enum {
    ST_LEASE_STANDBY, /* not the leader: tries to take the lease every renew interval */
    ST_LEASE_LEADER,  /* holds it: renews every renew interval */
} st_lease_role_t;

typedef enum {
    ST_LEASE_NONE,    /* nothing to do now */
    ST_LEASE_ACQUIRE, /* send SET KEY VALUE NX PX ttl, then st_lease_acquired / st_lease_refused */
    ST_LEASE_RENEW,   /* send the compare-and-expire, then st_lease_renewed / st_lease_lost */
    ST_LEASE_FENCE,   /* close the venue sessions now: the lease may be lost (the role is STANDBY) */
} st_lease_action_t;

typedef struct {
    double ttl;           /* the lease's time to live in Redis, seconds */
    st_lease_role_t role;
    uint64_t term;        /* the term this instance holds or last held; 0 never */
    double held_until;    /* leader: the lease's end as this instance can prove it (send time + ttl) */
    double next;          /* when the next command is due */
    double pending_since; /* a command's send time while its answer is awaited; < 0 none */
    uint64_t acquired, renewals, fences, lost;
} st_lease_t;

void st_lease_init(st_lease_t *l, double ttl, double now);
/* What to do at `now`, and when to ask again (*wake). A command is due only when none is
 * awaited; a FENCE comes once per loss. */
st_lease_action_t st_lease_step(st_lease_t *l, double now, double *wake);
/* Answers to the command sent at `sent` (the time st_lease_step returned the action). */
void st_lease_acquired(st_lease_t *l, double sent, uint64_t term, double now);
/* Another holds it, for `remaining` seconds more (Redis PTTL; < 0 unknown): the next attempt
 * comes just after that, so a standby takes over as soon as the lease expires. */
void st_lease_refused(st_lease_t *l, double remaining, double now);
void st_lease_renewed(st_lease_t *l, double sent, double now);
/* Redis says the lease is no longer this instance's (expired, or taken): fence at once. Returns
 * true when the caller must fence (it was the leader). */
bool st_lease_lost(st_lease_t *l, double now);
/* No answer (Redis down, an error): the command is forgotten; the fence deadline stands. */
void st_lease_failed(st_lease_t *l, double now);
/* The renew interval: a third of the TTL. */
static inline double st_lease_interval(const st_lease_t *l) { return l->ttl / 3; }

#endif
