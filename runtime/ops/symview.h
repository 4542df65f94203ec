/* What operations see of each symbol beyond its plan entry: its latest tick (time, price), its
 * ticks per minute, and a bounded history of what happened to it — tier moves with their
 * reason, emergencies, signals, subscriptions sent and answered. Pure: every time is an
 * argument. The runtime feeds it from its tick path and its hooks; GET /symbols and
 * `strata status --symbols` read it (ops/symbols.c). */
#ifndef ST_OPS_SYMVIEW_H
#define ST_OPS_SYMVIEW_H

#include "market/tick.h"

#define ST_SV_RING 16 /* events kept per symbol, the latest */

typedef enum { ST_SV_TIER, ST_SV_EMERGENCY, ST_SV_SIGNAL, ST_SV_SUBSCRIPTION, ST_SV_KINDS } st_sv_kind_t;
extern const char *const st_sv_kind_names[ST_SV_KINDS]; /* "tier", "emergency", "signal", "subscription" */

typedef struct {
    st_time_t at;
    uint8_t kind;          /* st_sv_kind_t */
    uint8_t from, to, why; /* TIER: the tiers (0: none) and the planner's reason (st_plan_why_t) */
    int16_t conn;          /* TIER: the connection it went to; SUBSCRIPTION: its connection; -1: none */
    uint8_t channel;       /* SUBSCRIPTION: st_channel_t */
    bool ok;               /* EMERGENCY: granted */
    double value;          /* EMERGENCY: its score; SIGNAL: its strength */
    const char *op;        /* SUBSCRIPTION: "subscribe", "subscribed", "max subscribe over", … (static) */
    char who[24];          /* EMERGENCY, SIGNAL: the strategy (cut to fit) */
    char text[40];         /* SIGNAL: the side; EMERGENCY refused: the planner's reason (cut to fit) */
} st_sv_event_t;

typedef struct {
    st_time_t last_tick;   /* receive time of its latest tick; 0: none yet */
    double last_price;     /* of its latest trade or snapshot; 0: none yet */
    uint64_t ticks;        /* ticks seen */
    st_time_t minute;      /* the start of the clock minute `in_minute` counts (a multiple of ST_MIN) */
    uint32_t in_minute, in_prev_minute;
    uint32_t nevents;      /* events ever added; the ring holds the last ST_SV_RING */
    st_sv_event_t *ring;   /* NULL until its first event */
} st_sv_sym_t;

typedef struct {
    st_sv_sym_t *s;
    size_t n;
} st_symview_t;

/* For symbol ids below n. */
void st_symview_init(st_symview_t *v, size_t n);
void st_symview_free(st_symview_t *v);

/* The start of t's clock minute (`minute`'s unit), and whether minute m comes right after s's
 * (unsigned: no overflow at the ends of time). */
static inline st_time_t st_sv_minute(st_time_t t)
{
    return t / ST_MIN * ST_MIN;
}
static inline bool st_sv_follows(const st_sv_sym_t *s, st_time_t m)
{
    return (uint64_t)m == (uint64_t)s->minute + ST_MIN;
}

/* A tick delivered (the runtime's tick path: a few stores). */
static inline void st_symview_tick(st_symview_t *v, const st_tick_t *t)
{
    if (t->sym >= v->n) return;
    st_sv_sym_t *s = &v->s[t->sym];
    /* within s's minute: one subtraction, not a division a tick (a time before 1970 may fail
     * it in its own minute, which the division then finds) */
    if ((uint64_t)t->recv_time - (uint64_t)s->minute >= (uint64_t)ST_MIN) {
        st_time_t m = st_sv_minute(t->recv_time);
        if (m != s->minute) {
            s->in_prev_minute = st_sv_follows(s, m) ? s->in_minute : 0;
            s->in_minute = 0;
            s->minute = m;
        }
    }
    s->in_minute++;
    s->ticks++;
    s->last_tick = t->recv_time;
    if (t->kind == ST_TICK_TRADE || t->kind == ST_TICK_SNAPSHOT) s->last_price = t->u.trade.price;
}

/* Adds an event to sym's history (its `at` as given). */
void st_symview_add(st_symview_t *v, st_sym_t sym, const st_sv_event_t *e);

/* sym's state; NULL for an id it does not cover. */
const st_sv_sym_t *st_symview_get(const st_symview_t *v, st_sym_t sym);
/* Ticks in the last whole clock minute before now. */
uint32_t st_symview_per_minute(const st_sv_sym_t *s, st_time_t now);
/* The i-th event kept (0: the oldest kept); NULL past the end. */
const st_sv_event_t *st_symview_event(const st_sv_sym_t *s, size_t i);
/* Events kept: at most ST_SV_RING. */
size_t st_symview_nevents(const st_sv_sym_t *s);

#endif
