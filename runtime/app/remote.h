/* Remote strategies' demands (issue 22.2, the side of the instance that owns the venue
 * sessions): with outputs.redis.demands, strategies running in other processes ask through the
 * stream PREFIX:demands, and this instance's planner takes each as a requester of its own,
 * named remote:INSTANCE/STRATEGY, under the same priority rules as a local strategy; the answer
 * (an emergency granted, or refused with the planner's reason) goes back on
 * PREFIX:answers:INSTANCE. An instance that says nothing (a demand or a hello) for
 * outputs.redis.lease loses its demands. docs/operations.md#remote-demands has the fields. */
#ifndef ST_APP_REMOTE_H
#define ST_APP_REMOTE_H

#include <stddef.h>

struct st_runtime;
typedef struct st_remote st_remote_t;

/* NULL when the config does not take remote demands. */
st_remote_t *st_remote_create(struct st_runtime *rt);
void st_remote_destroy(st_remote_t *r);
/* Remote instances holding demands now (0 for NULL). */
size_t st_remote_live(const st_remote_t *r);

#endif
