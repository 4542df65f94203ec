/* The time-slot schedule: which slot of the configured day a moment falls in, and when the
 * next change happens. Pure: the caller passes the local midnight of `now`'s day and that
 * day's session (a slot's start may count from the open or the close, which a special session
 * moves). A slot lasts until the next slot's start; before the first start of a day the
 * previous day's last slot is still in force. The next day's starts are taken at today's
 * session: the caller asks again when the day changes. */
#ifndef ST_PLAN_SCHEDULE_H
#define ST_PLAN_SCHEDULE_H

#include "conf/config.h"

typedef struct {
    const st_slot_cfg_t *slot; /* in force at now */
    size_t index;
    st_time_t next_change;     /* absolute time of the next slot start after now */
} st_slot_at_t;

void st_schedule_at(const st_config_t *cfg, const st_session_t *session, st_time_t now, st_time_t midnight,
                    st_slot_at_t *out);
/* Slot i's time of day on a day with that session: its own start, or the previous slot's if a
 * moved session brings it before that (the slot then lasts no time). */
st_dur_t st_schedule_start(const st_config_t *cfg, const st_session_t *session, size_t i);

#endif
