#include "world.h"
#include "calendar.h"

#include <stdlib.h>
#include <string.h>

st_world_t *st_world_build(const char *path, st_symtab_t *syms, st_diags_t *diags)
{
    st_config_t *cfg;
    if (st_config_load(path, &cfg, diags) != 0) return NULL;
    st_world_t *w = st_arena_alloc(cfg->arena, sizeof(*w));
    w->cfg = cfg;
    size_t before = diags->n;
    st_universe_load(&w->universe, cfg->market.universe, cfg->market.indices, syms, cfg->arena, diags);
    st_calendar_build(cfg, &w->calendar, diags);

    const st_list_t *wl = &cfg->market.watch;
    w->watch = st_arena_alloc(cfg->arena, wl->n * sizeof(st_watch_t));
    for (size_t i = 0; i < wl->n && diags->n == before; i++) {
        const st_watch_cfg_t *wc = ST_LIST_AT(*wl, st_watch_cfg_t, i);
        if (wc->mark.bad) continue;
        st_sym_t sym = st_symtab_find(syms, wc->symbol, strlen(wc->symbol));
        if (sym == ST_SYM_NONE || !st_universe_get(&w->universe, sym)) {
            st_diags_add(diags, wc->mark.file, wc->mark.line, wc->mark.col,
                         "market.watch[%zu]: symbol \"%s\" is not in the universe (%s)", i,
                         wc->symbol, cfg->market.universe);
            continue;
        }
        w->watch[w->nwatch++] = (st_watch_t){sym, wc->priority, wc->pinned};
    }
    if (diags->n > before) {
        st_config_free(cfg);
        return NULL;
    }
    return w;
}

void st_world_day(const st_world_t *w, int32_t day, st_day_t *out)
{
    st_session_t reg;
    st_session_of(w->cfg, &reg);
    st_calendar_day(&w->calendar, &reg, day, out);
}

void st_world_free(st_world_t *w)
{
    if (w) st_config_free(w->cfg);
}
