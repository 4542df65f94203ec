/* strata-exsim's own header: the simulator's state (one process, one simulator), the types its
 * files share, and what each file offers the others. Files: exsim.c (the loop, the market clock,
 * sending, libwebsockets, main), kis_ws.c and upbit_ws.c (the venues' WebSocket protocols),
 * kis_rest.c and upbit_rest.c (their REST protocols), control.c (GET /control/…: stats, faults;
 * the HTTP routes). */
#ifndef ST_EXSIM_H
#define ST_EXSIM_H

#include "core/clock.h"
#include "core/timefmt.h"
#include "feeds/kis_codec.h"
#include "feeds/simmkt.h"
#include "core/res.h"
#include "conf/calendar.h"
#include "market/universe.h"
#include "subs/ledger.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <getopt.h>
#include <stdarg.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 20
#define RX_RING 256
#define MAX_QUEUE 4096 /* per session: past this, data frames to a slow reader are dropped */

typedef struct msg {
    struct msg *next;
    size_t len;
    bool binary; /* Upbit data frames are binary frames of UTF-8 JSON */
    char *rec;   /* --record lines of the records it carries, written when it is sent */
    unsigned char data[]; /* LWS_PRE bytes, then the payload */
} msg_t;

typedef struct session {
    struct lws *wsi;
    struct session *next;
    int id;
    char appkey[64];
    bool in_use_refused;
    uint8_t *reg; /* per key */
    int held, max_held;
    uint64_t rx, frames, pings, pongs, errors, dropped;
    st_time_t rx_times[RX_RING];
    int max_rx_per_sec;
    st_time_t last_tx;
    msg_t *head, *tail;
    size_t queued;
    char *rx_buf; /* a message arriving in several pieces */
    size_t rx_len, rx_cap;
    bool open;
    bool rx_paused; /* a stall: not even read, so a WebSocket ping goes unanswered */
    /* Upbit */
    bool upbit, simple, list, closing, close_policy; /* list: JSON_LIST / SIMPLE_LIST */
    uint8_t *depth;     /* per symbol: orderbook units asked for ("KRW-BTC.15"), 30 by default */
    double *level;      /* per symbol: the orderbook's price grouping level (0 = none) */
    struct candle { int unit; st_time_t start, sent; double o, h, l, c, vol, val; } *candle; /* per symbol */
    char ticket[64];
    st_time_t last_rx;
    int violations;
    st_time_t rx_min[128]; /* the latest message times, for the per-minute limit */
} session_t;

typedef struct {
    struct ev_loop *loop;
    st_clock_t clock;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    st_symtab_t syms;
    st_arena_t *arena;
    st_universe_t uni;
    st_calendar_t calendar; /* the KRX market's days (--calendar) */
    st_simmkt_t *mkt;
    session_t *sessions;
    int next_id;
    int cap;
    st_dur_t ping_idle;
    int32_t utc_offset;
    uint16_t *trade_refs, *book_refs; /* per symbol: sessions streaming it */
    uint16_t *candle_refs;            /* … Upbit candles of it */
    st_universe_t upuni; /* Upbit markets (same symtab, codes like KRW-BTC) */
    st_simmkt_t *upmkt;  /* a 24-hour market, UTC days */
    uint64_t up_seq;     /* sequential_id */
    uint64_t up_violations, up_closed;
    const char *up_rate_name; /* the rate error's name: Upbit does not document it */
    const char *reject_key;   /* an app key whose credentials are refused (EGW00103) */
    int up_close_after;       /* violations before a connection is closed (1008) */
    uint64_t auth_refused;
    uint64_t up_origin, up_origin_refused; /* handshakes carrying Origin; refused by its 1-per-10-s rule */
    uint64_t close_normal, close_going_away, close_strata, close_other; /* close frames received, by code */
    st_time_t up_origin_last;
    st_timer_t market_timer;
    ev_timer stop_timer;
    ev_signal sigint, sigterm;
    uint64_t frames_total, frames_dropped, sessions_total, over_cap, refused_in_use;
    int max_held_ever;
    /* KIS REST */
    bool paper;
    st_dur_t token_ttl; /* how long an access token lives (KIS: a day) */
    st_dur_t approval_ttl; /* how long an approval key is known after it was issued (KIS: a day) */
    struct {
        char key[40];
        st_time_t at; /* last issued */
    } approvals[32];
    size_t napprovals;
    uint64_t approval_expired; /* messages that came with a key past approval_ttl (OPSP0011) */
    struct app {
        char key[64];
        st_time_t token_issued; /* 0 = never */
        char token[48];
        st_time_t token_expires;
        st_time_t calls[64]; /* ring of the latest call times (the 1 s window) */
        uint64_t ncalls;
    } apps[256];
    int napps;
    uint64_t rest_calls, rest_ok, rest_rate_refused, rest_token_refused, tokens_issued, tokens_refused;
    int rest_max_per_second;
    uint64_t token_seq;
    /* Faults, set through GET /control/fault */
    struct {
        st_time_t stall_until;   /* no data frames or pings before this (sim time); the sessions */
        bool stall_rx;           /* open when it began are not even read (no pong to a ping) */
        st_time_t quiet_until;   /* no data frames or PINGPONG, but alive: pings are answered */
        int malformed;           /* the next N data frames are corrupted */
        int encrypted;           /* the next N data frames are replaced by encrypted ones */
        st_dur_t ack_delay;      /* answers to registrations wait this long */
        int ack_reject;          /* the next N registrations get OPSP0007 */
        int rest_error;          /* the next N quotation calls get HTTP 500 EGW00201 */
        int rest_timeout;        /* the next N quotation calls get no answer */
        bool pong_ignore;        /* PINGPONG answers are not accepted */
        int jitter_pct;          /* --rest-jitter: this share of REST calls arrives late, */
        st_dur_t jitter_min, jitter_max; /* by a uniform delay in [min, max] of venue time */
        uint64_t jitter_rng, jittered;
        uint64_t drops, malformed_sent, encrypted_sent, acks_rejected, rest_errors, rest_timeouts;
    } fault;
    FILE *record; /* --record: every data record sent, as text (see record_tick) */
    char rec_pending[65536]; /* lines for the next data message enqueued */
    size_t rec_len;
    struct delayed { session_t *s; char *text; size_t len; st_time_t at; struct delayed *next; } *delayed;
    /* Upbit REST: per group (market, ticker, orderbook) 10 per second, shared by every client
     * (Upbit counts quotation calls per IP); 429s ignored lead to a 418 ban. */
    struct up_group { st_time_t calls[10]; uint64_t n; } up_groups[4]; /* market, ticker, orderbook, trade */
    struct up_ticks { st_tick_t t[64]; uint64_t n, seq[64]; } *up_ticks; /* per Upbit market: its latest trades */
    st_time_t up_429s[8];
    uint64_t up_n429, up_n418, up_rest_ok;
    st_time_t up_banned_until;
    st_timer_t delay_timer;
} exsim_t;

extern exsim_t X; /* the one simulator of the process (exsim.c) */

typedef struct {
    st_tick_t t[MAX_BATCH];
    int n;
} batch_t;

typedef struct {
    int status; /* 0: no answer at all (an injected timeout) */
    char *body; /* malloc'd JSON */
    const char *tr_id;
    char remaining[64]; /* Upbit Remaining-Req */
} http_reply_t;

/* Figures the simulated market does not keep, derived from what it does (docs/exsim.md). */
typedef struct {
    double ask_vol, bid_vol, vol24, val24, hi52, lo52;
    char hi52_date[16], lo52_date[16];
} up_derived_t;

enum { UP_TICKER, UP_TRADE, UP_BOOK };
extern const char *const up_types[3];
extern const st_channel_t up_ch[3];

#define UP_MAX_UNITS 30


/* --- exsim.c --- */
/* A message for session s, queued (binary: an Upbit data frame); past MAX_QUEUE data frames to a
 * slow reader are dropped and counted. */
void ex_enqueue_as(session_t *s, const char *text, size_t len, bool binary);
/* An answer to s's request, after the --ack-delay fault if one is set. */
void ex_answer(session_t *s, const char *text, size_t len);
/* A KIS control answer (header tr_id/tr_key, body rt_cd/msg_cd/msg1; output: the iv/key block). */
void ex_reply(session_t *s, const char *tr_id, const char *tr_key, const char *rt, const char *cd,
              const char *msg1, bool output);
/* st_simmkt_advance's callback: the tick into the batch_t ctx. */
void ex_collect(const st_tick_t *t, void *ctx);
/* A --record line for the next data message enqueued. */
void ex_rec_add(const char *fmt, ...) ST_PRINTF(1, 2);
/* The stall fault: the sessions open now are not even read (pause), or read again. */
void ex_stall_rx(bool pause);

/* --- kis_frames.c: KIS data frames, exsim's own encoder (not strata's) --- */
/* n trades of one code as a data frame of tr_id (H0STCNT0's 46 fields each; an index's H0UPCNT0
 * the same here); 0 when buf is too short. */
size_t ex_kis_trades_frame(char *buf, size_t len, const char *tr_id, const st_tick_t *ticks, const char *code,
                           size_t n, int32_t utc_offset);
/* An orderbook as an H0STASP0 frame (59 fields); 0 when buf is too short. */
size_t ex_kis_book_frame(char *buf, size_t len, const st_tick_t *book, const char *code, int32_t utc_offset);

/* --- kis_ws.c --- */
/* o.a.b as a string, "" when absent. */
const char *ex_json_str(cJSON *o, const char *a, const char *b);
/* A message received from s: counted, and its rate per second kept. */
void ex_count_rx(session_t *s, st_time_t now);
/* s holds key k (on) or not: its count and the market's streaming references follow. */
void ex_set_reg(session_t *s, st_key_t k, bool on);
/* s streams sym's candles of unit seconds (0: none). */
void ex_set_candle(session_t *s, st_sym_t sym, int unit);
/* A KIS WebSocket message from s: a registration, a PINGPONG, or an error answered. */
void ex_on_text(session_t *s, const char *text, size_t len);

/* --- upbit_ws.c --- */
/* Upbit's change word for a price difference: RISE, EVEN, FALL. */
const char *ex_change_of(double d);
/* An orderbook as Upbit's units (depth of them, finer levels interpolated): how many. */
int ex_up_units(const st_book_t *b, int depth, double ap[], double bp[], double as[], double bs[]);
/* The figures Upbit sends that the simulated market does not keep (docs/exsim.md). */
void ex_up_derive(const st_trade_t *q, st_time_t now, up_derived_t *d);
/* An Upbit WebSocket message from s: a subscription request (the whole set), PING, or an error. */
void ex_on_upbit_text(session_t *s, const char *text, size_t len);
/* The market's latest trades of ins, kept for GET /v1/trades/ticks. */
void ex_up_keep_trades(const st_instrument_t *ins, const batch_t *b);
/* The Upbit market advanced to now: its data frames to the sessions that stream it. */
void ex_up_market(st_time_t now);

/* --- control.c --- */
/* GET /control/fault?…: sets a fault (docs/exsim.md). */
http_reply_t ex_fault(struct lws *wsi);
/* An HTTP request to its handler: KIS REST, Upbit REST, or /control. */
http_reply_t ex_route(struct lws *wsi, bool post, const char *uri, const char *body);

/* --- kis_rest.c --- */
/* A JSON answer (j consumed). */
http_reply_t ex_jreply(int status, cJSON *j);
/* A KIS error body: rt_cd 1, msg_cd, msg1. */
http_reply_t ex_kis_error(int status, const char *cd, const char *msg);
/* KIS's OAuth endpoints: an access token (one a minute per key), an approval key. */
http_reply_t ex_token(const char *body);
http_reply_t ex_approval(const char *body);
/* Approval keys it issued, and whether one is past --approval-ttl (keys it did not issue never are). */
void ex_approval_issued(const char *key, st_time_t now);
bool ex_approval_expired(const char *key, st_time_t now);
/* KIS's quotations (FHKST01010100, FHKST01010200, FHKST11300006). */
http_reply_t ex_inquire_price(struct lws *wsi);
http_reply_t ex_asking_price(struct lws *wsi);
http_reply_t ex_multprice(struct lws *wsi);

/* --- upbit_rest.c --- */
/* Upbit's quotation REST (markets, ticker, orderbook, trades), paced per group as Upbit does. */
http_reply_t ex_up_rest(struct lws *wsi, const char *uri);

#endif
