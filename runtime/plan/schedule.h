/* The time-slot schedule: which slot of the configured day a moment falls in, and when the
 * next change happens. Pure: the caller passes the local midnight of `now`'s day. A slot
 * lasts until the next slot's start; before the first start of a day the previous day's last
 * slot is still in force. */
#ifndef ST_PLAN_SCHEDULE_H
#define ST_PLAN_SCHEDULE_H

#include "conf/config.h"

typedef struct {
    const st_slot_cfg_t *slot; /* in force at now */
    size_t index;
    st_time_t next_change;     /* absolute time of the next slot start after now */
} st_slot_at_t;

void st_schedule_at(const st_config_t *cfg, st_time_t now, st_time_t midnight, st_slot_at_t *out);

#endif
