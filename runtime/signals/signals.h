/* Signals: what strategies tell a trader, and where it goes.
 *
 * A signal passes a per-(strategy, symbol) cooldown (signals.cooldown, on strata's clock: a
 * flood of one strategy about one symbol becomes one signal per cooldown; the rest are counted
 * as suppressed), then goes to every sink of signals.sinks:
 * - log: one line at info level, at once;
 * - jsonl: one JSON object per line appended to a file with one write(2) each (O_APPEND: never
 *   truncated, nothing buffered in the process, so a crash or restart loses nothing written);
 * - webhook: a POST of the signal as JSON through the loop's libcurl (never blocking it), one at
 *   a time and in order, retried with exponential backoff (100 ms doubling, at most 10 s, real
 *   time) up to `retries` times after the first attempt. Signals wait in a bounded queue
 *   (signals.queue); when it is full the oldest waiting one is dropped, and a signal whose
 *   attempts all failed is dropped: both are counted, nothing is lost silently. */
#ifndef ST_SIGNALS_SIGNALS_H
#define ST_SIGNALS_SIGNALS_H

#include <ev.h>

#include "conf/config.h"
#include "market/symtab.h"

typedef struct {
    st_time_t time;
    char strategy[48];
    char symbol[ST_CODE_MAX];
    char side[16]; /* "buy", "sell", or "" (none: STRATA_SIDE_NONE) */
    double strength;
    double price; /* the symbol's last price strata saw; 0 if none yet */
    char reason[160];
    uint64_t generation;  /* the config generation running (1 + successful reloads) */
    uint64_t fingerprint; /* the strategy build's: its kind, path, params and code */
    int tier;             /* the symbol's tier when it fired (0: none) */
} st_signal_t;

typedef struct {
    uint64_t emitted;    /* accepted past the cooldown, handed to the sinks */
    uint64_t suppressed; /* within a (strategy, symbol) cooldown */
    uint64_t dropped;    /* webhook: pushed out of a full queue, or given up after its retries */
    uint64_t delivered;  /* webhook: POSTs answered 2xx */
    uint64_t retries;    /* webhook: attempts after a failure */
    uint64_t write_errors; /* jsonl: lines that could not be written */
    size_t queued;       /* webhook: waiting now */
    uint64_t per_hour[24]; /* emitted, by the local hour of their time */
} st_signals_stats_t;

typedef struct st_signals st_signals_t;

/* Opens the sinks (a jsonl file that cannot be opened is an error in err). */
st_signals_t *st_signals_create(const st_signals_cfg_t *cfg, struct ev_loop *loop, char *err, size_t errlen);
/* Counts what is still waiting for a webhook as dropped, says so in the log, and frees. */
void st_signals_destroy(st_signals_t *s);

/* sig->time is strata's clock. Returns 0 when it went to the sinks, 1 when the cooldown
 * suppressed it. */
int st_signals_emit(st_signals_t *s, const st_signal_t *sig);
void st_signals_stats(const st_signals_t *s, st_signals_stats_t *out);
/* A new market day: every (strategy, symbol) cooldown ends (yesterday's last signal does not
 * hold back today's first). */
void st_signals_new_day(st_signals_t *s);
/* The latest signals emitted, oldest first: the i-th of at most ST_SIGNALS_RECENT; NULL past them. */
#define ST_SIGNALS_RECENT 32
const st_signal_t *st_signals_recent(const st_signals_t *s, size_t i);
/* Signals emitted per strategy: the i-th name and count, i < st_signals_strategies(s). */
size_t st_signals_strategies(const st_signals_t *s);
const char *st_signals_strategy(const st_signals_t *s, size_t i, uint64_t *count);

/* The signal as one JSON object (no newline); returns its length, or the length it needs. */
size_t st_signal_json(const st_signal_t *sig, char *buf, size_t len);

#endif
