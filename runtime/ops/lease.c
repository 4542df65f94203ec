#include "lease.h"

#define RETRY_AFTER_EXPIRY 0.02 /* seconds after the holder's lease should be gone */

void st_lease_init(st_lease_t *l, double ttl, double now)
{
    *l = (st_lease_t){.ttl = ttl, .role = ST_LEASE_STANDBY, .next = now, .pending_since = -1};
}

/* The leader's fence deadline: a third of the TTL before the proven end. */
static double fence_at(const st_lease_t *l)
{
    return l->held_until - l->ttl / 3;
}

st_lease_action_t st_lease_step(st_lease_t *l, double now, double *wake)
{
    if (l->role == ST_LEASE_LEADER && now >= fence_at(l)) { /* no renewal proven in time */
        l->role = ST_LEASE_STANDBY;
        l->fences++;
        l->next = now + st_lease_interval(l);
        *wake = l->pending_since >= 0 ? now + st_lease_interval(l) : l->next;
        return ST_LEASE_FENCE;
    }
    st_lease_action_t a = ST_LEASE_NONE;
    if (l->pending_since < 0 && now >= l->next) {
        a = l->role == ST_LEASE_LEADER ? ST_LEASE_RENEW : ST_LEASE_ACQUIRE;
        l->pending_since = now;
        l->next = now + st_lease_interval(l);
    }
    *wake = l->next;
    if (l->pending_since >= 0 && *wake <= now) *wake = now + st_lease_interval(l); /* (awaiting an answer) */
    if (l->role == ST_LEASE_LEADER && fence_at(l) < *wake) *wake = fence_at(l);
    return a;
}

void st_lease_acquired(st_lease_t *l, double sent, uint64_t term, double now)
{
    l->pending_since = -1;
    l->role = ST_LEASE_LEADER;
    l->term = term;
    l->held_until = sent + l->ttl;
    l->next = sent + st_lease_interval(l);
    l->acquired++;
    (void)now;
}

void st_lease_refused(st_lease_t *l, double remaining, double now)
{
    l->pending_since = -1;
    if (remaining >= 0 && now + remaining + RETRY_AFTER_EXPIRY < l->next)
        l->next = now + remaining + RETRY_AFTER_EXPIRY;
}

void st_lease_renewed(st_lease_t *l, double sent, double now)
{
    l->pending_since = -1;
    if (l->role != ST_LEASE_LEADER) return; /* fenced meanwhile: the sessions are gone; it lapses */
    if (sent + l->ttl > l->held_until) l->held_until = sent + l->ttl;
    l->renewals++;
    (void)now;
}

bool st_lease_lost(st_lease_t *l, double now)
{
    l->pending_since = -1;
    if (l->role != ST_LEASE_LEADER) return false;
    l->role = ST_LEASE_STANDBY;
    l->lost++;
    l->fences++;
    l->next = now + st_lease_interval(l);
    return true;
}

void st_lease_failed(st_lease_t *l, double now)
{
    l->pending_since = -1;
    (void)now;
}
