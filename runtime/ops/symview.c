#include "symview.h"
#include "core/res.h"

#include <stdlib.h>
#include <string.h>

const char *const st_sv_kind_names[ST_SV_KINDS] = {"tier", "emergency", "signal", "subscription"};

void st_symview_init(st_symview_t *v, size_t n)
{
    v->s = st_xcalloc(n + 1, sizeof(*v->s));
    v->n = n;
}

void st_symview_free(st_symview_t *v)
{
    for (size_t i = 0; i < v->n; i++) free(v->s[i].ring);
    free(v->s);
    v->s = NULL;
    v->n = 0;
}

void st_symview_add(st_symview_t *v, st_sym_t sym, const st_sv_event_t *e)
{
    if (sym >= v->n) return;
    st_sv_sym_t *s = &v->s[sym];
    if (!s->ring) s->ring = st_xmalloc(ST_SV_RING * sizeof(*s->ring)); /* on first use: a symbol nothing happens to keeps no history */
    s->ring[s->nevents++ % ST_SV_RING] = *e;
}

const st_sv_sym_t *st_symview_get(const st_symview_t *v, st_sym_t sym)
{
    return sym < v->n ? &v->s[sym] : NULL;
}

uint32_t st_symview_per_minute(const st_sv_sym_t *s, st_time_t now)
{
    st_time_t m = st_sv_minute(now);
    return st_sv_follows(s, m) ? s->in_minute : m == s->minute ? s->in_prev_minute : 0;
}

size_t st_symview_nevents(const st_sv_sym_t *s)
{
    return s->nevents < ST_SV_RING ? s->nevents : ST_SV_RING;
}

const st_sv_event_t *st_symview_event(const st_sv_sym_t *s, size_t i)
{
    size_t n = st_symview_nevents(s);
    if (i >= n) return NULL;
    return &s->ring[(s->nevents - n + i) % ST_SV_RING];
}
