/* The tier-3 poll scheduler: which symbols a REST call should carry next, and when. Pure:
 * time is an argument, nothing is sent from here; the caller gates every call on the venue's
 * shared rate limiter and runs a timer at st_poller_next().
 *
 * Each symbol has an interval (its priority's, times the time slot's scale: the planner's
 * st_plan_entry_t.poll) and a due time. A call takes the earliest-due symbols, up to `batch`
 * per call (KIS intstock-multprice: 30; Upbit /v1/ticker: many; 1 where batching is not
 * available), and pulls along symbols not due yet but within half an interval of it, so calls
 * are full and fewer. New symbols start spread over their interval (a hash of the id), so calls
 * spread evenly instead of arriving in a burst.
 *
 * When demand (sum over symbols of 1 / interval, per batch) exceeds the calls per second the
 * budget leaves for polling, every interval is stretched by the same factor: priorities keep
 * their ratios (MEDIUM stays 10x fresher than BACKGROUND) and nobody starves; the stretch and
 * the resulting staleness per priority class are reported, never hidden. */
#ifndef ST_SUBS_POLLER_H
#define ST_SUBS_POLLER_H

#include "market/types.h"

#define ST_POLL_CLASSES 6 /* the priorities (st_priority_t), plus fallback for a WebSocket outage */
#define ST_POLL_FALLBACK 5

typedef struct {
    st_dur_t interval; /* 0 = not polled */
    st_time_t last;    /* the latest poll, 0 = never */
    st_time_t due;
    int32_t heap;      /* index in the heap, -1 = absent */
    uint8_t cls;
} st_poll_item_t;

typedef struct {
    uint64_t polls;     /* symbol refreshes (a batch of 30 counts 30) */
    int64_t symbols;    /* in the class now */
    st_dur_t age_max;   /* the longest time between two polls of one symbol */
    st_dur_t age_sum;   /* … summed over every poll after the first, for the mean */
    uint64_t ages;
} st_poll_class_t;

typedef struct {
    st_poll_item_t *items; /* by symbol id */
    size_t nsyms;
    st_sym_t *heap;        /* min-heap by due */
    size_t n;
    int batch;
    double rate;           /* calls per second available for polling */
    double demand;         /* symbol refreshes per second wanted: sum of 1 / interval */
    double stretch;        /* >= 1: the factor every interval is stretched by */
    uint64_t calls;
    st_poll_class_t cls[ST_POLL_CLASSES];
} st_poller_t;

void st_poller_init(st_poller_t *p, size_t nsyms, int batch, double rate);
void st_poller_free(st_poller_t *p);
/* Polls sym every `interval` (class cls for the figures); adds it, or updates its interval
 * and class (the next due time moves by the difference). interval <= 0 removes it. */
void st_poller_set(st_poller_t *p, st_sym_t sym, st_dur_t interval, int cls, st_time_t now);
void st_poller_remove(st_poller_t *p, st_sym_t sym);
static inline bool st_poller_has(const st_poller_t *p, st_sym_t sym)
{
    return (size_t)sym < p->nsyms && p->items[sym].heap >= 0;
}
/* Calls per second the budget leaves for polling (the stretch follows). */
void st_poller_set_rate(st_poller_t *p, double rate);
/* When the next call is due (ST_TIME_NEVER when nothing is polled). */
st_time_t st_poller_next(const st_poller_t *p);
/* If a call is due at now, fills out (room for `batch`) with the symbols it carries, records
 * them as polled at now and returns how many; 0 when nothing is due. */
size_t st_poller_take(st_poller_t *p, st_time_t now, st_sym_t *out);
/* A symbol's poll failed: it is due again after a tenth of its interval (the caller counts
 * consecutive failures and tells the planner). */
void st_poller_retry(st_poller_t *p, st_sym_t sym, st_time_t now);
/* The mean time between two polls of a symbol of class cls (0 when none yet); the class's
 * age_max is the worst. This is the staleness a trader gets. */
st_dur_t st_poller_age_mean(const st_poller_t *p, int cls);

#endif
