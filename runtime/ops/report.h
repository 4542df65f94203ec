/* What a trader sees on the terminal: the periodic status block and the end-of-session
 * summary. Every number is a counter the runtime keeps; nothing is estimated. */
#ifndef ST_OPS_REPORT_H
#define ST_OPS_REPORT_H

#include <stdio.h>

#include "core/common.h"
#include "core/hist.h"
#include "market/universe.h"

/* Why a strategy's callback failed (Lua): an error it raised, its instruction budget, its
 * memory cap. */
typedef enum { ST_FAULT_ERROR, ST_FAULT_BUDGET, ST_FAULT_MEMORY, ST_FAULT_CAUSES } st_fault_cause_t;
extern const char *const st_fault_cause_names[ST_FAULT_CAUSES]; /* "error", "budget", "memory" */

/* What operations see of a strategy (the host fills it: st_strats_info). */
typedef struct st_strat_info {
    const char *name;
    const char *kind; /* "lua", "c" */
    const char *state; /* "running", "quarantined", "failed" (did not start) */
    uint64_t ticks, signals, emergencies, faults, reloads;
    double fault_rate; /* Lua: faults per call over its last quarantine_window calls */
    size_t watched; /* symbols in its subscriber lists */
    size_t mem;     /* Lua: bytes its state holds */
    const char *last_error;
    uint64_t faults_by[ST_FAULT_CAUSES];
    st_hist_t callback_ns;    /* its tick callbacks' time (the host times one call in 256) */
    uint64_t callback_p99_ns; /* their 99th percentile, as the histogram reads it; 0: none timed */
} st_strat_info_t;

/* A stock's day, for the summary's movers (a simulated market gives them: the caller fills). */
typedef struct {
    const st_instrument_t *ins;
    double price, prev_close, cum_value, gap;
    uint32_t trades, halts;
} st_report_day_t;

typedef struct {
    st_time_t now;
    const char *slot;
    int64_t monitored;          /* symbols with any tier */
    int64_t ws_used, ws_budget; /* WebSocket registrations */
    uint64_t signals;
    uint64_t api_calls, api_ok;
    double api_last_second, api_limit; /* calls in the last second / allowed per second */
    uint64_t market_trades, halts, bursts;
    uint64_t ticks_delivered;
    int64_t tier1, tier2, tier3, indices; /* symbols per tier (indices: index streams) */
    uint64_t emergencies, plan_changes;
    int64_t ws_desired;                   /* registrations the ledgers want */
    uint64_t subs_requests, subs_messages; /* desired-set changes and the messages sent for them */
    st_dur_t subs_latency_p99, subs_latency_max;
    double penalty;                       /* lowest limiter penalty (1 = full rate) */
    st_dur_t margin;                      /* widest limiter timing margin */
    int64_t msgs_second, msgs_second_limit; /* subscription messages of the busiest connection in */
    int64_t msgs_minute, msgs_minute_limit; /* the last second / minute, and the venue's limits */
    uint64_t violations;                  /* venue limits exceeded: must stay 0 */
    uint64_t auth_failures;               /* the venue refused the credentials */
    int64_t sessions, sessions_open;      /* network feeds' WebSocket sessions, and those up */
    uint64_t reconnects, stalls, malformed; /* sessions lost (stalls among them), frames dropped */
    int64_t poll_symbols;                 /* REST polling by network feeds */
    double poll_stretch;
    st_dur_t poll_age[6];                 /* per priority, then fallback: mean time between refreshes */
} st_counters_t;

typedef struct {
    char slot[48];
    st_time_t start, end;
    st_counters_t at_start;
    uint64_t trades, halts, bursts, ticks;
} st_report_row_t;

/* The plan's realtime use at one moment (each status block, each slot change). */
typedef struct {
    st_time_t at;
    int32_t tier1, tier2, indices, ws_used, ws_budget;
} st_report_sample_t;

typedef struct {
    st_report_row_t rows[64];
    size_t n;
    st_report_sample_t samples[512]; /* the first 512: a day at a 15-minute interval needs 30 */
    size_t nsamples;
    st_time_t sim_start;
    st_time_t mono_start;
} st_report_t;

void st_report_begin(st_report_t *r, const st_counters_t *c);
/* Records c's realtime use as a sample (the session report's "realtime over time"). */
void st_report_sample(st_report_t *r, const st_counters_t *c);
/* Closes the running row and opens one for `slot`. */
void st_report_slot(st_report_t *r, const st_counters_t *c, const char *slot);
/* Closes the last row and prints the summary table (and, given the stocks' days, the movers)
 * to out; days may be NULL. */
void st_report_finish(st_report_t *r, const st_counters_t *c, FILE *out, const st_report_day_t *days, size_t ndays);
/* The strategies table (the summary's last, and strata status's): a header and a row each;
 * nothing when n is 0. timing: with the callbacks' p99 (wall time: strata status's, not the
 * summary's, which stays the same run after run). */
void st_report_strategies(FILE *out, const st_strat_info_t *s, size_t n, bool timing);
/* 1234567 → "1,234,567" */
void st_format_count(uint64_t v, char *buf, size_t len);

#endif
