/* The coalescer: turns desired-set changes into the fewest venue messages the rate limits
 * allow. Pure: time is an argument, messages leave through a callback; the caller runs a timer
 * at st_coalescer_due().
 *
 * When the desired set changes and no flush is pending, a flush is scheduled after the debounce
 * (default 100 ms) and once the limiter grants a token; changes made while it is pending only
 * update the desired set and ride along for free. At flush time the message(s) come from the
 * latest state:
 * - Upbit: one message with the whole desired set (a new message replaces the previous set):
 *   ticket, per channel one type object for codes already streaming (is_only_realtime) and one
 *   for new codes, snapshot-only requests in their own type objects (is_only_snapshot), format.
 * - KIS: one register/unregister message per key that differs, every unregister before any
 *   register, registers only while the venue's count stays under the cap (unregisters in flight
 *   still count until acknowledged), each message paced by the limiter. A subscribe and an
 *   unsubscribe of the same key before the flush cancel out: nothing is sent.
 * An emergency makes the pending flush urgent: it goes without the debounce, and its grants may
 * use the limiter's reserve and skip its pacing, so it leaves within the per-second window
 * however much ordinary churn is queued. */
#ifndef ST_SUBS_COALESCER_H
#define ST_SUBS_COALESCER_H

#include "ledger.h"
#include "limiter.h"

typedef enum { ST_VENUE_KIS, ST_VENUE_UPBIT } st_venue_t;

typedef struct {
    /* Sends one text message; returns 0, or a negative error (the flush stops and retries). */
    int (*send)(void *ctx, const char *msg, size_t len);
    /* The venue code of a symbol ("005930", "KRW-BTC"). */
    const char *(*code)(void *ctx, st_sym_t sym);
    /* Optional: the venue refused key (MAX SUBSCRIBE OVER: cap is the cap now believed; an
     * invalid key). Feeds log it with the symbol and tell the planner. */
    void (*refused)(void *ctx, st_key_t key, st_ack_t ack, int cap);
    /* Optional, for recordings: key went out in a message (on: registered, off: unregistered;
     * Upbit: the keys its new set adds or drops), or the venue answered for it. */
    void (*sent)(void *ctx, st_key_t key, bool on);
    void (*answered)(void *ctx, st_key_t key, st_ack_t ack);
    void *ctx;
} st_coalescer_io_t;

#define ST_LAT_BUCKETS 48

typedef struct {
    uint64_t requests;   /* desired-set changes received */
    uint64_t messages;   /* messages sent */
    uint64_t keys_sent;  /* register/unregister operations carried by them */
    uint64_t cancelled;  /* changes that cancelled out before a flush */
    uint64_t flushes;
    uint64_t urgent;     /* flushes made urgent by an emergency */
    st_dur_t lat_max;    /* request -> send */
    uint64_t lat_hist[ST_LAT_BUCKETS]; /* log2 buckets of µs */
    uint64_t lat_count;
} st_coalescer_stats_t;

typedef struct {
    st_ledger_t ledger;
    st_limiter_t *limiter; /* may be shared by several connections of one venue account */
    st_venue_t venue;
    st_coalescer_io_t io;
    st_dur_t debounce;
    bool pending, urgent;
    st_time_t flush_at;
    char ticket[40];
    char approval_key[64]; /* KIS */
    bool simple_format;    /* Upbit SIMPLE instead of DEFAULT */
    st_key_t *snapshots;   /* Upbit one-off snapshot requests */
    size_t nsnap, capsnap;
    char *buf;
    size_t bufcap;
    st_coalescer_stats_t st;
} st_coalescer_t;

void st_coalescer_init(st_coalescer_t *c, st_venue_t venue, size_t nsyms, int cap,
                       st_limiter_t *limiter, st_dur_t debounce, const st_coalescer_io_t *io);
void st_coalescer_free(st_coalescer_t *c);

/* Wants key on or off; schedules a flush if none is pending. Returns 1 if the desired set
 * changed. */
int st_coalescer_want(st_coalescer_t *c, st_key_t key, bool on, st_time_t now);
/* Upbit: a one-off snapshot of key, sent with the next message, never added to the set. */
void st_coalescer_snapshot(st_coalescer_t *c, st_key_t key, st_time_t now);
/* An emergency is among the changes just wanted: the next flush goes at once, urgent. */
void st_coalescer_urgent(st_coalescer_t *c, st_time_t now);
/* When st_coalescer_flush should run next, or ST_TIME_NEVER when nothing is pending. */
st_time_t st_coalescer_due(st_coalescer_t *c, st_time_t now);
/* Sends what the limiter allows now. Returns the number of messages sent. */
int st_coalescer_flush(st_coalescer_t *c, st_time_t now);
/* The venue answered for key (KIS acks; Upbit first data). Schedules a flush if the answer
 * leaves work to do (a register that waited for an unregister's ack). */
void st_coalescer_ack(st_coalescer_t *c, st_key_t key, st_ack_t ack, st_time_t now);
/* The connection was lost or reopened: everything desired is sent again (paced). */
void st_coalescer_reset(st_coalescer_t *c, st_time_t now);
/* p in (0, 1]: request-to-send latency quantile from the histogram (upper bucket bound). */
st_dur_t st_coalescer_latency(const st_coalescer_t *c, double p);

/* The KIS tr_id of a channel ("H0STCNT0", …). */
const char *st_kis_tr_id(st_channel_t ch);

#endif
