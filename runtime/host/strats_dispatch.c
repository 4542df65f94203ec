/* The strategy host's tick path: each symbol's subscriber list (and the all_symbols list), and
 * the delivery of a tick to every strategy that wants it. */
#include "strats_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- subscriber lists ----------------------------------------------------------------------- */

void st_strats_sub_add(sublist_t *l, strat_t *r)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (!l->v[i]) {
            l->v[i] = r;
            return;
        }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = st_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = r;
}

void st_strats_sub_remove(sublist_t *l, strat_t *r)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i] == r) l->v[i] = NULL;
}

/* Sets flags on r's byte for sym, growing the array as needed. */
void st_strats_mark(strat_t *r, st_sym_t sym, uint8_t flags)
{
    if (sym >= r->watched_cap) {
        size_t n = ST_MAX2((size_t)sym + 1, r->watched_cap * 2);
        r->watched = st_xrealloc(r->watched, n);
        memset(r->watched + r->watched_cap, 0, n - r->watched_cap);
        r->watched_cap = n;
    }
    r->watched[sym] |= flags;
}

void st_strats_watch_sym(strat_t *r, st_sym_t sym)
{
    st_strats_t *h = r->h;
    if (sym >= h->nsubs) {
        size_t n = ST_MAX2((size_t)sym + 1, h->nsubs * 2);
        h->subs = st_xrealloc(h->subs, n * sizeof(*h->subs));
        memset(h->subs + h->nsubs, 0, (n - h->nsubs) * sizeof(*h->subs));
        h->nsubs = n;
    }
    st_strats_mark(r, sym, 0);
    if (r->watched[sym] & WATCHED) return;
    r->watched[sym] |= WATCHED;
    r->nwatched++;
    st_strats_sub_add(&h->subs[sym], r);
}

void st_strats_unwatch_sym(strat_t *r, st_sym_t sym)
{
    if (sym >= r->watched_cap || !(r->watched[sym] & WATCHED)) return;
    r->watched[sym] &= (uint8_t)~WATCHED;
    r->nwatched--;
    st_strats_sub_remove(&r->h->subs[sym], r);
}

/* --- dispatch ------------------------------------------------------------------------------- */

/* One tick callback in ST_STRATS_TIMED_EVERY is timed (two clock reads would double a Lua
 * call's cost): its time goes to the strategy's histogram (/metrics, the dashboard). The
 * choice is by count, so a run's behaviour never depends on it. */
static ST_NOINLINE void deliver_timed(strat_t *r, const char *code, const st_tick_t *t)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    r->cur->be->on_tick(r->cur->impl, code, t);
    clock_gettime(CLOCK_MONOTONIC, &b);
    st_hist_add(&r->cb_ns, (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec)));
}

static inline void deliver(strat_t *r, const char *code, const st_tick_t *t)
{
    if ((r->ticks++ & (ST_STRATS_TIMED_EVERY - 1)) == 0) deliver_timed(r, code, t);
    else r->cur->be->on_tick(r->cur->impl, code, t);
}

void st_strats_deliver_book(strat_t *r, const st_tick_t *t)
{
    if (!r->quarantined && r->cur) deliver(r, st_symtab_code(r->h->env.syms, t->sym), t);
}

void st_strats_tick(st_strats_t *h, const st_tick_t *t)
{
    const char *code = NULL;
    st_sym_t sym = t->sym;
    /* by index: a callback may add to a list (and grow it) while it is walked */
    for (uint32_t i = 0; sym < h->nsubs && i < h->subs[sym].n; i++) {
        strat_t *r = h->subs[sym].v[i];
        if (!r || r->all_symbols) continue; /* it gets every tick below */
        if (!code) code = st_symtab_code(h->env.syms, sym);
        deliver(r, code, t);
    }
    for (uint32_t i = 0; i < h->all.n; i++) {
        strat_t *r = h->all.v[i];
        if (!r || r->quarantined) continue;
        if (!code) code = st_symtab_code(h->env.syms, sym);
        deliver(r, code, t);
    }
}

void st_strats_day(st_strats_t *h, const char *date)
{
    for (size_t i = 0; i < h->n; i++) {
        strat_t *r = h->recs[i];
        if (r->quarantined || !r->cur) continue;
        r->cur->be->on_day(r->cur->impl, date);
    }
}

void st_strats_timeslot(st_strats_t *h, const char *slot)
{
    for (size_t i = 0; i < h->n; i++) {
        strat_t *r = h->recs[i];
        if (r->quarantined || !r->cur) continue;
        r->cur->be->on_timeslot(r->cur->impl, slot);
    }
}
