/* A deterministic simulated KRX market. Pure: time is an argument, no I/O.
 *
 * Each symbol evolves on its own random stream (seeded from the market seed and the symbol's
 * code), so its path does not depend on which other symbols are observed or when: advancing a
 * symbol lazily gives exactly the trades an eager run gives. The microstructure strategies care
 * about: opening gaps (most symbols within ±1%, a few 3–12%), an intraday U-shaped activity
 * profile (busy golden time, a lunch lull, a closing surge), regimes of momentum runs and volume
 * bursts, news shocks that can trip a 2-minute volatility interruption (VI) halt at ±10% from
 * the reference price, ±30% daily price limits, and the KRX tick-size grid. Before the open and
 * during the closing auction there are no trades; the open and close are single-price prints. */
#ifndef ST_FEEDS_SIMMKT_H
#define ST_FEEDS_SIMMKT_H

#include "market/calendar.h"
#include "market/tick.h"
#include "market/universe.h"

typedef struct {
    uint64_t seed;
    double activity;   /* trade-rate multiplier */
    double volatility; /* volatility multiplier */
    double halt_rate;  /* news-shock frequency multiplier */
    st_dur_t pre_open, open, closing_auction, close; /* the regular session, µs since local midnight */
    int32_t utc_offset; /* seconds east of UTC of the venue's zone (KRX: 32400) */
    const st_calendar_t *calendar; /* which days trade, and their sessions (copied); NULL: every day */
} st_simmkt_params_t;

/* Per-symbol state a caller may read (summaries, tests). */
typedef struct {
    double price, prev_close, open, high, low, cum_volume, cum_value;
    double gap;     /* today's opening gap as a fraction of prev_close */
    uint32_t trades_today, halts_today, bursts_today;
    bool halted;
} st_simmkt_sym_t;

typedef struct {
    uint64_t trades, halts, bursts, momentum_runs, shocks;
} st_simmkt_stats_t;

typedef struct st_simmkt st_simmkt_t;
typedef void (*st_simmkt_emit)(const st_tick_t *t, void *ctx);

/* The market starts at `start` with every instrument of `u` (copied: u may go away later). */
st_simmkt_t *st_simmkt_create(const st_simmkt_params_t *p, const st_universe_t *u, st_time_t start);
void st_simmkt_destroy(st_simmkt_t *m);

/* Generates every trade of `sym` with venue time <= until, in order, passing each to emit
 * (which may be NULL to advance silently). Returns the number of trades. */
size_t st_simmkt_advance(st_simmkt_t *m, st_sym_t sym, st_time_t until, st_simmkt_emit emit, void *ctx);
/* Advances every symbol to `until`; returns the number of trades. */
size_t st_simmkt_advance_all(st_simmkt_t *m, st_time_t until);
/* Venue time of the symbol's next trade (ST_TIME_NEVER for an unknown symbol). */
st_time_t st_simmkt_next_event(const st_simmkt_t *m, st_sym_t sym);
/* A REST-style snapshot at `now` (advances the symbol silently first). */
void st_simmkt_snapshot(st_simmkt_t *m, st_sym_t sym, st_time_t now, st_tick_t *out);
/* A 10-level orderbook around the symbol's current price: st_simmkt_book_of its last trade. */
void st_simmkt_book(const st_simmkt_t *m, st_sym_t sym, st_time_t now, st_tick_t *out);

/* The whole market in time order, for a tape of it: the next trade of any symbol at or before
 * `until` (ties in universe order), or false. A market is driven either this way or per symbol
 * (st_simmkt_advance), not both: the order is kept for the first. */
bool st_simmkt_pop(st_simmkt_t *m, st_time_t until, st_tick_t *out);

/* What the simulated venue answers, from a symbol's last trade alone (`last`: a trade tick, or
 * the reference state before the day's first trade: price 0 and prev_close), so that a replayed
 * tape of the market gets the answers the live run got. Books are 10 levels around the last
 * trade, with sizes drawn from the code (st_simmkt_code_hash) and `now`; snapshots carry the
 * day's fields as of the last trade, or, when that trade was on an earlier local day (before
 * the open, after a holiday), none yet: open, high, low and volumes 0, prev_close its price. */
uint64_t st_simmkt_code_hash(const char *code);
void st_simmkt_book_of(const st_tick_t *last, uint64_t code_hash, bool index, st_time_t now, st_tick_t *out);
void st_simmkt_snapshot_of(const st_tick_t *last, bool index, st_time_t now, st_tick_t *out);

const st_simmkt_sym_t *st_simmkt_sym(const st_simmkt_t *m, st_sym_t sym);
void st_simmkt_stats(const st_simmkt_t *m, st_simmkt_stats_t *out);
/* Activity multiplier of the intraday profile at a time of day of a day with session s (1.0 =
 * an average minute). */
double st_simmkt_profile(const st_session_t *s, st_dur_t tod);

#endif
