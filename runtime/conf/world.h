/* A world is one configuration generation: the config and everything derived from it (the
 * universe, the watch list resolved to symbol ids). Reload builds a new world next to the
 * running one and swaps only if every check passed (nginx cycles). Symbol ids come from the
 * process-wide symtab, so they are stable across worlds. */
#ifndef ST_CONF_WORLD_H
#define ST_CONF_WORLD_H

#include "config.h"
#include "market/calendar.h"
#include "market/universe.h"

typedef struct {
    st_sym_t sym;
    int priority;
    bool pinned;
} st_watch_t;

typedef struct st_world {
    st_config_t *cfg; /* owns the arena everything below lives in */
    st_universe_t universe;
    st_calendar_t calendar; /* market.calendar with the config's own days */
    st_watch_t *watch;
    size_t nwatch;
    uint64_t generation;
} st_world_t;

/* Builds a world from `path`. Returns NULL with every problem in diags. */
st_world_t *st_world_build(const char *path, st_symtab_t *syms, st_diags_t *diags);
void st_world_free(st_world_t *w);
/* Day `day` of w's market: its calendar's, with the config's regular session. */
void st_world_day(const st_world_t *w, int32_t day, st_day_t *out);

#endif
