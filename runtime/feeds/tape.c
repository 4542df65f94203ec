#include "tape.h"
#include "feed.h"
#include "core/log.h"
#include "record/recset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    st_time_t t;
    uint8_t flags;
    st_trade_t tr;
} item_t;

typedef struct {
    item_t *q; /* a ring */
    size_t head, n, cap;
    double prev_close;
} tsym_t;

struct st_tape {
    st_recset_t *r;
    const st_symtab_t *syms;
    uint8_t *map;
    size_t nmap;
    st_feed_rec_syms_t codes;
    tsym_t *s; /* by symbol id */
    size_t ns;
    bool eof;
    st_time_t read_to; /* the record time of the newest item read */
    st_tape_stats_t st;
};

static void on_corrupt(void *ctx, uint64_t offset, const char *why)
{
    st_log_error(FEED, "market tape: at byte %llu of %s", (unsigned long long)offset, why);
}

static void push(tsym_t *s, const st_rec_item_t *it)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        item_t *q = st_xmalloc(cap * sizeof(*q));
        for (size_t i = 0; i < s->n; i++) q[i] = s->q[(s->head + i) % s->cap];
        free(s->q);
        s->q = q, s->cap = cap, s->head = 0;
    }
    s->q[(s->head + s->n++) % s->cap] = (item_t){it->tick.venue_time, it->tick.flags, it->tick.u.trade};
}

/* Reads one item of the tape; false at its end. */
static bool read_one(st_tape_t *t)
{
    const st_rec_item_t *it;
    for (;;) {
        if (t->eof || !(it = st_recset_read(t->r))) return !(t->eof = true);
        t->read_to = it->time;
        if (it->type != ST_REC_TICK || (it->tick.kind != ST_TICK_TRADE && it->tick.kind != ST_TICK_SNAPSHOT)) continue;
        st_sym_t sym = st_feed_rec_sym(&t->codes, t->syms, t->map, t->nmap, it);
        if (sym == ST_SYM_NONE || (size_t)sym >= t->ns) {
            t->st.unknown++;
            continue;
        }
        if (it->tick.kind == ST_TICK_SNAPSHOT)
            t->s[sym].prev_close = it->tick.u.trade.prev_close;
        else
            push(&t->s[sym], it);
        return true;
    }
}

st_tape_t *st_tape_open(const char *path, const st_universe_t *u, const st_symtab_t *syms, char *err,
                        size_t errlen)
{
    st_recset_t *r = st_recset_open(path, err, errlen);
    if (!r) return NULL;
    st_tape_t *t = st_xcalloc(1, sizeof(*t));
    t->r = r;
    t->syms = syms;
    t->map = st_feed_index_map(u, &t->nmap);
    t->ns = u->by_sym_len;
    t->s = st_xcalloc(t->ns ? t->ns : 1, sizeof(*t->s));
    t->read_to = INT64_MIN;
    st_recset_set_corrupt_cb(r, on_corrupt, t);
    st_time_t start = st_recset_start(r);
    while (!t->eof && t->read_to <= start) read_one(t); /* the references at its start */
    return t;
}

void st_tape_free(st_tape_t *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->ns; i++) free(t->s[i].q);
    free(t->s);
    st_feed_rec_syms_free(&t->codes);
    free(t->map);
    st_recset_free(t->r);
    free(t);
}

size_t st_tape_advance(st_tape_t *t, st_sym_t sym, st_time_t until, st_simmkt_emit emit, void *ctx)
{
    if ((size_t)sym >= t->ns) return 0;
    while (!t->eof && t->read_to <= until) read_one(t);
    tsym_t *s = &t->s[sym];
    size_t n = 0;
    while (s->n && s->q[s->head].t <= until) {
        const item_t *it = &s->q[s->head];
        st_tick_t tick;
        memset(&tick, 0, sizeof(tick));
        tick.kind = ST_TICK_TRADE;
        tick.flags = it->flags;
        tick.sym = sym;
        tick.venue_time = it->t;
        tick.u.trade = it->tr;
        s->head = (s->head + 1) % s->cap;
        s->n--;
        n++;
        t->st.halts += (it->flags & ST_TICK_HALTED) != 0;
        if (emit) emit(&tick, ctx);
    }
    t->st.trades += n;
    return n;
}

st_time_t st_tape_next_event(st_tape_t *t, st_sym_t sym)
{
    if ((size_t)sym >= t->ns) return ST_TIME_NEVER;
    tsym_t *s = &t->s[sym];
    while (!s->n && read_one(t)) {}
    return s->n ? s->q[s->head].t : ST_TIME_NEVER;
}

double st_tape_prev_close(const st_tape_t *t, st_sym_t sym)
{
    return (size_t)sym < t->ns ? t->s[sym].prev_close : 0;
}

void st_tape_stats(const st_tape_t *t, st_tape_stats_t *out)
{
    *out = t->st;
}
