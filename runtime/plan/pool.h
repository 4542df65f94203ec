/* Several app keys on several instances (issue 22.4, docs/scale-out.md): one planner on the
 * cluster's leader plans every key's connection; each key's session runs on one instance,
 * chosen by rendezvous hashing over the live instances, and that instance registers what the
 * plan puts on the key's connection — applying the plan's moves in order, or, when it takes a
 * key over, everything the plan holds there at once. Pure: the distribution's arithmetic, which
 * test_pool drives against a single-process planner of the same demands. */
#ifndef ST_PLAN_POOL_H
#define ST_PLAN_POOL_H

#include "planner.h"

/* The instance (an index into names) that should hold `key`: the live one with the highest
 * rendezvous weight hash(key, name) — so an instance joining or leaving moves only the keys it
 * gains or loses. -1 when none is live. */
int st_pool_owner(const char *key, const char *const *names, const bool *live, size_t n);

/* What a key's holder registers on the key's connection: the tier (1 or 2; an index stream 2)
 * of each symbol the plan puts there, 0 for none. */
typedef struct {
    int conn;
    uint8_t *tier; /* by symbol */
    size_t nsyms;
    int registrations; /* 2 a tier-1 symbol, 1 a tier-2 one or an index stream */
} st_pool_key_t;

void st_pool_key_init(st_pool_key_t *k, int conn, size_t nsyms);
void st_pool_key_free(st_pool_key_t *k);
/* A plan move: what it takes off this key's connection and what it puts on it. */
void st_pool_key_apply(st_pool_key_t *k, const st_plan_change_t *ch);
/* Taking the key over: what the plan holds on its connection now, whatever was there. */
void st_pool_key_resync(st_pool_key_t *k, const st_planner_t *p);
/* Whether k holds what the plan has on its connection; false with the first symbol that differs. */
bool st_pool_key_matches(const st_pool_key_t *k, const st_planner_t *p, st_sym_t *differs);

#endif
