/* The demands of strategies fed by a `kind: redis` feed travel back to the instance that owns
 * the venue sessions (issue 22.2): with feeds[].forward_demands, every second the demands this
 * instance's strategies hold (their upgrade_priority / watch priorities, as the local planner
 * has them) and the symbols' performance scores are compared with what was last sent, and the
 * differences go to the publisher's PREFIX:demands as `watch` / `unwatch` / `score` entries (PREFIX: the feed's stream less ":ticks:…"), with
 * a `hello` for each strategy; an emergency_subscribe goes at once as `emergency`. The owner
 * takes them as requester remote:INSTANCE/STRATEGY (app/remote.c) and answers on
 * PREFIX:answers:INSTANCE: emergencies' answers are logged; a new `owner` (the owner
 * restarted) makes everything be sent again. INSTANCE: $STRATA_INSTANCE, else HOST-PID. */
#ifndef ST_APP_FORWARD_H
#define ST_APP_FORWARD_H

#include "market/types.h"


struct st_runtime;
typedef struct st_forward st_forward_t;

/* NULL when no feed forwards demands. */
st_forward_t *st_forward_create(struct st_runtime *rt);
void st_forward_destroy(st_forward_t *f);
/* A strategy's emergency, as it is asked for (the local planner decides for local ticks). */
void st_forward_emergency(st_forward_t *f, const char *strategy, st_sym_t sym, double score);

#endif
