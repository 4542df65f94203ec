/* The trading calendar a config names (market.calendar, market.closed, market.special), built
 * into market/calendar.h's st_calendar_t: the shipped KRX file ("krx"), around the clock
 * ("24/7"), or a calendar file of the user's; the config's days replace the file's on the same
 * date. Every problem is a located diagnostic. */
#ifndef ST_CONF_CALENDAR_H
#define ST_CONF_CALENDAR_H

#include "config.h"
#include "market/calendar.h"

#define ST_CALENDAR_KRX "embedded:krx_calendar.yaml"

/* The calendar `spec` names ("krx", "24/7" or a file) alone, its memory from arena (the
 * exchange simulator's). Returns 0 or ST_ECONFIG. */
int st_calendar_load(const char *spec, const st_session_t *regular, st_arena_t *arena, st_calendar_t *out,
                     st_diags_t *d);
/* Builds cfg's calendar into *out (its memory from cfg's arena). Returns 0 or ST_ECONFIG. */
int st_calendar_build(const st_config_t *cfg, st_calendar_t *out, st_diags_t *d);
/* The regular session of cfg's market as the calendar takes it. */
void st_session_of(const st_config_t *cfg, st_session_t *out);

#endif
