/* strata-exsim: a local exchange simulator that speaks KIS's and Upbit's WebSocket and REST
 * protocols as the venues do (their limits, answers and faults), driven by the same simulated
 * market as strata's embedded sim feed. It binds 127.0.0.1 only and stops by itself (--duration,
 * or the test that spawned it).
 *
 *   strata-exsim [--port N] [--universe FILE] [--indices FILE] [--seed S] [--speed X]
 *                [--start "YYYY-MM-DD HH:MM"] [--cap N] [--ping-idle DUR] [--duration DUR]
 *                [--rest-jitter PCT:MIN-MAX] (PCT % of REST calls reach the venue MIN-MAX late)
 *
 * It prints "strata-exsim: listening on 127.0.0.1:PORT; market time ..." once ready (port 0 picks
 * a free one). Without --start the market time is now while a KRX session runs, else the next
 * weekday's 08:55 (the first line says so).
 * KIS WebSocket on any path (/, /tryitout, /tryitout/<tr_id>): JSON register/unregister
 * (tr_type 1/2) answered with SUBSCRIBE SUCCESS, UNSUBSCRIBE SUCCESS, ALREADY IN SUBSCRIBE,
 * MAX SUBSCRIBE OVER past the cap, OPSP0003 for unknown unregisters, OPSP8991/8992 for unknown
 * tr_id/tr_key, JSON PARSING ERROR for bad JSON, ALREADY IN USE appkey for a second session on
 * one approval key; PINGPONG when a session is quiet (a text echo or a pong counts as an
 * answer); data frames 0|H0STCNT0|NNN|… (up to 20 records per frame) and 0|H0STASP0|001|….
 * GET /control/stats returns the accounting as JSON. */
#include "core/clock.h"
#include "core/timefmt.h"
#include "feeds/kis_codec.h"
#include "feeds/simmkt.h"
#include "core/res.h"
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

static struct {
    struct ev_loop *loop;
    st_clock_t clock;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    st_symtab_t syms;
    st_arena_t *arena;
    st_universe_t uni;
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
} X;

/* --- sending ---------------------------------------------------------------------------- */

static void enqueue_as(session_t *s, const char *text, size_t len, bool binary)
{
    msg_t *m = st_xmalloc(sizeof(*m) + LWS_PRE + len);
    m->next = NULL;
    m->binary = binary;
    m->len = len;
    memcpy(m->data + LWS_PRE, text, len);
    m->rec = NULL;
    if (X.rec_len) { /* the first session to get a recorded frame writes its lines */
        m->rec = st_xmalloc(X.rec_len + 1);
        memcpy(m->rec, X.rec_pending, X.rec_len);
        m->rec[X.rec_len] = '\0';
        X.rec_len = 0;
    }
    if (s->tail) s->tail->next = m;
    else s->head = m;
    s->tail = m;
    s->queued++;
    lws_callback_on_writable(s->wsi);
}

static void free_queue(session_t *s)
{
    for (msg_t *m = s->head; m;) {
        msg_t *n = m->next;
        free(m->rec);
        free(m);
        m = n;
    }
    s->head = s->tail = NULL;
}

static void enqueue(session_t *s, const char *text, size_t len)
{
    enqueue_as(s, text, len, false);
}

static void flush_one(session_t *s)
{
    msg_t *m = s->head;
    if (!m) return;
    if (lws_write(s->wsi, m->data + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)m->len)
        return;
    if (m->rec) { /* sent now: the latency benchmark measures from here */
        long long wall = (long long)st_wall_now();
        for (char *line = m->rec, *nl; (nl = strchr(line, '\n')); line = nl + 1)
            fprintf(X.record, "%.*s @%lld\n", (int)(nl - line), line, wall);
        free(m->rec);
    }
    s->head = m->next;
    if (!s->head) s->tail = NULL;
    s->queued--;
    free(m);
    s->last_tx = st_clock_now(&X.clock);
    if (s->head) lws_callback_on_writable(s->wsi);
}

static void on_delayed(st_timer_t *t, st_time_t now, void *ctx)
{
    while (X.delayed && X.delayed->at <= now) {
        struct delayed *d = X.delayed;
        X.delayed = d->next;
        if (d->s->open) enqueue(d->s, d->text, d->len);
        free(d->text);
        free(d);
    }
    if (X.delayed) st_clock_timer_start(&X.clock, &X.delay_timer, X.delayed->at, 0);
}

/* Answers go out at once, or after the injected ack delay (in order). */
static void answer(session_t *s, const char *text, size_t len)
{
    if (X.fault.ack_delay <= 0) {
        enqueue(s, text, len);
        return;
    }
    struct delayed *d = st_xcalloc(1, sizeof(*d)), **tail = &X.delayed;
    d->s = s;
    d->text = st_xstrdup(text);
    d->len = len;
    d->at = st_clock_now(&X.clock) + X.fault.ack_delay;
    while (*tail) tail = &(*tail)->next;
    *tail = d;
    if (X.delayed == d) st_clock_timer_start(&X.clock, &X.delay_timer, d->at, 0);
}

static void reply(session_t *s, const char *tr_id, const char *tr_key, const char *rt, const char *cd,
                  const char *msg1, bool output)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf),
                     "{\"header\":{\"tr_id\":\"%s\",\"tr_key\":\"%s\",\"encrypt\":\"N\"},\"body\":{\"rt_cd\":\"%s\","
                     "\"msg_cd\":\"%s\",\"msg1\":\"%s\"%s}}",
                     tr_id, tr_key, rt, cd, msg1,
                     output ? ",\"output\":{\"iv\":\"55ce3d099479ce11\",\"key\":\"tvldhmfplvgcovaqrspclzhdotfzzequ\"}" : "");
    answer(s, buf, (size_t)n);
}

/* --- the KIS protocol -------------------------------------------------------------------- */

static const char *json_str(cJSON *o, const char *a, const char *b)
{
    cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static void count_rx(session_t *s, st_time_t now)
{
    s->rx_times[s->rx % RX_RING] = now;
    s->rx++;
    int in_sec = 0;
    for (uint64_t i = 0; i < s->rx && i < RX_RING; i++) in_sec += s->rx_times[(s->rx - 1 - i) % RX_RING] > now - ST_SEC;
    if (in_sec > s->max_rx_per_sec) s->max_rx_per_sec = in_sec;
}

static void set_reg(session_t *s, st_key_t k, bool on)
{
    st_sym_t sym = ST_KEY_SYM(k);
    uint16_t *refs = ST_KEY_CH(k) == ST_CH_BOOK ? X.book_refs : X.trade_refs;
    if (on && !s->reg[k]) {
        if (!X.trade_refs[sym] && !X.book_refs[sym]) /* what came before is history */
            st_simmkt_advance(st_universe_get(&X.upuni, sym) ? X.upmkt : X.mkt, sym, st_clock_now(&X.clock), NULL, NULL);
        s->reg[k] = 1, s->held++, refs[sym]++;
    } else if (!on && s->reg[k]) {
        s->reg[k] = 0, s->held--, refs[sym]--;
    }
    if (s->held > s->max_held) s->max_held = s->held;
    if (s->held > X.max_held_ever) X.max_held_ever = s->held;
}

/* Upbit: a candle stream of `unit` seconds for sym (0 stops it). */
static void set_candle(session_t *s, st_sym_t sym, int unit)
{
    if (!s->candle) s->candle = st_xcalloc(X.syms.n + 1, sizeof(*s->candle));
    struct candle *c = &s->candle[sym];
    if (unit && !c->unit) {
        if (!X.trade_refs[sym] && !X.book_refs[sym] && !X.candle_refs[sym])
            st_simmkt_advance(X.upmkt, sym, st_clock_now(&X.clock), NULL, NULL);
        X.candle_refs[sym]++;
    } else if (!unit && c->unit) {
        X.candle_refs[sym]--;
    }
    *c = (struct candle){.unit = unit};
}

static void on_text(session_t *s, const char *text, size_t len)
{
    st_time_t now = st_clock_now(&X.clock);
    count_rx(s, now);
    st_kis_request_t q;
    st_kis_request_parse(text, len, &q);
    if (q.pingpong) { /* the client's echo */
        if (!X.fault.pong_ignore) s->pongs++;
        return;
    }
    const char *id = q.tr_id, *key = q.tr_key;
    if (q.err_cd) {
        s->errors++;
        reply(s, id, key, "9", q.err_cd, q.err_msg, false);
        return;
    }
    if (!s->appkey[0]) {
        /* One live session per approval key. */
        for (session_t *o = X.sessions; o; o = o->next) {
            if (o != s && o->open && strcmp(o->appkey, q.approval_key) == 0) {
                s->in_use_refused = true;
                X.refused_in_use++;
                reply(s, id, key, "1", "OPSP8996", "ALREADY IN USE appkey", false);
                return;
            }
        }
        snprintf(s->appkey, sizeof(s->appkey), "%s", q.approval_key);
    }
    st_channel_t ch = q.tr == ST_KIS_TR_TRADE ? ST_CH_TRADE
                      : q.tr == ST_KIS_TR_BOOK ? ST_CH_BOOK
                      : q.tr == ST_KIS_TR_INDEX ? ST_CH_INDEX : ST_CH_COUNT;
    st_sym_t sym = st_symtab_find(&X.syms, key, strlen(key));
    bool on = q.on;
    if (ch == ST_CH_COUNT) {
        reply(s, id, key, "1", "OPSP8991", "SUBSCRIBE ERROR : invalid tr_id", false);
    } else if (sym == ST_SYM_NONE || !st_universe_get(&X.uni, sym) ||
               (st_universe_get(&X.uni, sym)->market == ST_MKT_INDEX) != (ch == ST_CH_INDEX)) {
        /* an index code with a stock tr_id, or a stock with H0UPCNT0, is a key the venue does not know */
        reply(s, id, key, "1", "OPSP8992", "SUBSCRIBE ERROR : invalid tr_key", false);
    } else {
        st_key_t k = ST_KEY(sym, ch == ST_CH_INDEX ? ST_CH_TRADE : ch);
        if (on && s->reg[k]) {
            reply(s, id, key, "1", "OPSP0002", "ALREADY IN SUBSCRIBE", false);
        } else if (on && X.fault.ack_reject > 0) {
            X.fault.ack_reject--;
            X.fault.acks_rejected++;
            reply(s, id, key, "1", "OPSP0007", "SUBSCRIBE INTERNAL ERROR", false);
        } else if (on && s->held >= X.cap) {
            X.over_cap++;
            reply(s, id, key, "1", "OPSP0008", "MAX SUBSCRIBE OVER", false);
        } else if (on) {
            set_reg(s, k, true);
            reply(s, id, key, "0", "OPSP0000", "SUBSCRIBE SUCCESS", true);
        } else if (!s->reg[k]) {
            reply(s, id, key, "1", "OPSP0003", "UNSUBSCRIBE ERROR (not found!)", false);
        } else {
            set_reg(s, k, false);
            reply(s, id, key, "0", "OPSP0001", "UNSUBSCRIBE SUCCESS", false);
        }
    }
}

/* --- the market ------------------------------------------------------------------------------ */

typedef struct {
    st_tick_t t[MAX_BATCH];
    int n;
} batch_t;

static void collect(const st_tick_t *t, void *ctx)
{
    batch_t *b = ctx;
    if (b->n < MAX_BATCH) b->t[b->n++] = *t;
}

/* Sends a data frame to every session registered for k. Returns the sessions that got the
 * frame as it was (not replaced by an injected fault, not dropped). */
static int send_to(st_key_t k, const char *frame, size_t len)
{
    static const char bad[] = "0|H0STCNT0|002|005930^12^not-a-number";
    static const char enc[] = "1|H0STCNI0|001|q1w2e3r4t5y6u7i8o9p0ASDFGHJKLZXCVBNM==";
    bool genuine = true;
    if (X.fault.malformed > 0) { /* one corrupted frame instead of this one */
        X.fault.malformed--;
        X.fault.malformed_sent++;
        frame = bad;
        len = sizeof(bad) - 1;
        genuine = false;
        X.rec_len = 0; /* what was meant is not what is sent */
    } else if (X.fault.encrypted > 0) { /* an order-fill notice, AES-encrypted as KIS sends them */
        X.fault.encrypted--;
        X.fault.encrypted_sent++;
        frame = enc;
        len = sizeof(enc) - 1;
        genuine = false;
        X.rec_len = 0;
    }
    int got = 0;
    for (session_t *s = X.sessions; s; s = s->next) {
        if (!s->open || !s->reg[k]) continue;
        if (s->queued >= MAX_QUEUE) { /* a slow reader loses data, never answers */
            s->dropped++;
            X.frames_dropped++;
            continue;
        }
        enqueue(s, frame, len);
        s->frames++;
        X.frames_total++;
        got += genuine;
    }
    X.rec_len = 0; /* nobody took it */
    return got;
}

static void up_market(st_time_t now);

/* --record: one line per KIS data record sent, from the simulator's own tick (not from the
 * frame), so a test can compare what a client decoded with what was meant:
 *   T code unix_seconds price volume cum_volume open high low best_bid best_ask halted
 *   B code unix_seconds ask1 bid1 ask1_qty bid1_qty ask10 bid10 total_ask_qty total_bid_qty
 * Times are whole seconds (the wire carries HHMMSS). Lines are written when their frame goes to
 * the socket, each ending " @<wall µs>" of that moment (the send-to-tick latency benchmark reads
 * it); a frame never sent (its session closed first) is not recorded. */
static void rec_add(const char *fmt, ...) ST_PRINTF(1, 2);
static void rec_add(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(X.rec_pending + X.rec_len, sizeof(X.rec_pending) - X.rec_len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof(X.rec_pending) - X.rec_len) X.rec_len += (size_t)n;
}

static void record_tick(const st_tick_t *t, const char *code)
{
    long long secs = (long long)(t->venue_time / ST_SEC);
    if (t->kind == ST_TICK_ORDERBOOK) {
        const st_book_t *b = &t->u.book;
        rec_add("B %s %lld %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f", code, secs, b->ask[0], b->bid[0],
                b->ask_qty[0], b->bid_qty[0], b->ask[9], b->bid[9], b->total_ask_qty, b->total_bid_qty);
    } else {
        const st_trade_t *q = &t->u.trade;
        rec_add("T %s %lld %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %d", code, secs, q->price, q->volume,
                q->cum_volume, q->open, q->high, q->low, q->best_bid, q->best_ask, (t->flags & ST_TICK_HALTED) != 0);
    }
    rec_add("\n");
}

/* A stall looks like a dead link: the sessions open at its start are not read (so a ping is
 * never answered) until it ends; sessions opened meanwhile are quiet but alive. */
static void stall_rx(bool pause)
{
    for (session_t *s = X.sessions; s; s = s->next) {
        if (!s->open || !s->wsi || s->rx_paused == pause) continue;
        lws_rx_flow_control(s->wsi, pause ? 0 : 1);
        s->rx_paused = pause;
    }
    X.fault.stall_rx = pause;
}

static void on_market(st_timer_t *t, st_time_t now, void *ctx)
{
    static char frame[65536];
    if (now < X.fault.stall_until) return; /* a stalled stream: nothing, not even PINGPONG */
    if (X.fault.stall_rx) stall_rx(false);
    if (now < X.fault.quiet_until) return; /* after hours, illiquid symbols: quiet, not dead */
    for (size_t i = 0; i < X.uni.n; i++) {
        const st_instrument_t *ins = &X.uni.items[i];
        st_sym_t sym = ins->sym;
        if (!X.trade_refs[sym] && !X.book_refs[sym]) continue;
        for (;;) { /* busy symbols: several frames of up to 20 records */
            batch_t b = {.n = 0};
            st_time_t until = now;
            while (b.n < MAX_BATCH && st_simmkt_next_event(X.mkt, sym) <= until)
                st_simmkt_advance(X.mkt, sym, st_simmkt_next_event(X.mkt, sym), collect, &b);
            if (b.n == 0) break;
            const char *codes[MAX_BATCH];
            for (int k = 0; k < b.n; k++) codes[k] = ins->code;
            if (X.trade_refs[sym]) {
                size_t len = st_kis_encode_trades(frame, sizeof(frame), b.t, codes, (size_t)b.n, X.utc_offset);
                if (ins->market == ST_MKT_INDEX && len > 11) memcpy(frame + 2, "H0UPCNT0", 8); /* index */
                if (X.record)
                    for (int k = 0; k < b.n; k++) record_tick(&b.t[k], ins->code);
                send_to(ST_KEY(sym, ST_CH_TRADE), frame, len);
            }
            if (X.book_refs[sym]) {
                st_tick_t book;
                st_simmkt_book(X.mkt, sym, b.t[b.n - 1].venue_time, &book);
                size_t len = st_kis_encode_book(frame, sizeof(frame), &book, ins->code, X.utc_offset);
                if (X.record) record_tick(&book, ins->code);
                send_to(ST_KEY(sym, ST_CH_BOOK), frame, len);
            }
            if (b.n < MAX_BATCH) break;
        }
    }
    up_market(now);
    if (X.record) fflush(X.record);
    /* PINGPONG for quiet KIS sessions. */
    for (session_t *s = X.sessions; s; s = s->next) {
        if (!s->open || s->upbit || now - s->last_tx < X.ping_idle) continue;
        char date[32], msg[128];
        struct tm tm;
        time_t secs = (time_t)(now / ST_SEC + X.utc_offset);
        gmtime_r(&secs, &tm);
        strftime(date, sizeof(date), "%Y%m%d%H%M%S", &tm);
        int n = snprintf(msg, sizeof(msg), "{\"header\":{\"tr_id\":\"PINGPONG\",\"datetime\":\"%s\"}}", date);
        enqueue(s, msg, (size_t)n);
        s->pings++;
        s->last_tx = now;
    }
}


/* --- Upbit ------------------------------------------------------------------------------- */

enum { UP_TICKER, UP_TRADE, UP_BOOK };
static const char *const up_types[] = {"ticker", "trade", "orderbook"};
static const st_channel_t up_ch[] = {ST_CH_TICKER, ST_CH_TRADE, ST_CH_BOOK};

typedef struct {
    char *p;
    size_t len, off;
    bool simple;
} jw_t;

static void jput(jw_t *w, const char *fmt, ...) ST_PRINTF(2, 3);
static void jput(jw_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->p + w->off, w->len - w->off, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < w->len - w->off) w->off += (size_t)n;
}

/* A field in DEFAULT or SIMPLE naming. */
#define KN(w, dflt, smpl) ((w)->simple ? (smpl) : (dflt))

static const char *change_of(double d)
{
    return d > 0 ? "RISE" : d < 0 ? "FALL" : "EVEN";
}

/* The orderbook a client asked for: the simulated ten levels, continued to 30 on the same price
 * grid with thinning sizes, cut to `depth` units. */
#define UP_MAX_UNITS 30
static int up_units(const st_book_t *b, int depth, double ap[], double bp[], double as[], double bs[])
{
    double step_a = b->ask[ST_BOOK_DEPTH - 1] - b->ask[ST_BOOK_DEPTH - 2];
    double step_b = b->bid[ST_BOOK_DEPTH - 2] - b->bid[ST_BOOK_DEPTH - 1];
    int n = depth > 0 && depth <= UP_MAX_UNITS ? depth : UP_MAX_UNITS;
    for (int i = 0; i < n; i++) {
        if (i < ST_BOOK_DEPTH) {
            ap[i] = b->ask[i], bp[i] = b->bid[i], as[i] = b->ask_qty[i], bs[i] = b->bid_qty[i];
        } else {
            ap[i] = ap[i - 1] + step_a, bp[i] = bp[i - 1] - step_b;
            as[i] = as[i - ST_BOOK_DEPTH] * 0.8, bs[i] = bs[i - ST_BOOK_DEPTH] * 0.8;
        }
    }
    return n;
}

/* Figures the simulated market does not keep, derived from what it does (docs/exsim.md). */
typedef struct {
    double ask_vol, bid_vol, vol24, val24, hi52, lo52;
    char hi52_date[16], lo52_date[16];
} up_derived_t;

static void up_derive(const st_trade_t *q, st_time_t now, up_derived_t *d)
{
    double day = (double)(now % ST_DAY) / (double)ST_DAY; /* share of the UTC day gone */
    d->bid_vol = q->cum_volume * 0.52, d->ask_vol = q->cum_volume - d->bid_vol;
    d->vol24 = q->cum_volume * (2 - day), d->val24 = q->cum_value * (2 - day); /* yesterday alike */
    d->hi52 = fmax(q->high, q->prev_close * 1.6), d->lo52 = fmin(q->low, q->prev_close * 0.55);
    time_t hi = (time_t)(now / ST_SEC - 97 * 86400), lo = (time_t)(now / ST_SEC - 241 * 86400);
    struct tm tm;
    strftime(d->hi52_date, sizeof(d->hi52_date), "%Y-%m-%d", gmtime_r(&hi, &tm));
    strftime(d->lo52_date, sizeof(d->lo52_date), "%Y-%m-%d", gmtime_r(&lo, &tm));
}

/* One Upbit data object (no list brackets). t is a trade or snapshot tick (ticker, trade) or an
 * orderbook tick; bk, for trades, the book at that moment (best sizes). */
static size_t up_frame(char *buf, size_t len, int type, bool simple, const st_tick_t *t, const char *code,
                       bool snapshot, const st_book_t *bk, int depth, double level)
{
    jw_t w = {buf, len, 0, simple};
    const st_trade_t *q = &t->u.trade;
    time_t secs = (time_t)(t->venue_time / ST_SEC);
    struct tm tm;
    gmtime_r(&secs, &tm);
    long long ms = (long long)(t->venue_time / ST_MSEC);
    jput(&w, "{\"%s\":\"%s\",\"%s\":\"%s\"", KN(&w, "type", "ty"), up_types[type], KN(&w, "code", "cd"), code);
    if (type == UP_BOOK) {
        const st_book_t *b = &t->u.book;
        double ap[UP_MAX_UNITS], bp[UP_MAX_UNITS], as[UP_MAX_UNITS], bs[UP_MAX_UNITS];
        int n = up_units(b, depth, ap, bp, as, bs);
        double ta = 0, tb = 0;
        for (int i = 0; i < n; i++) ta += as[i], tb += bs[i];
        jput(&w, ",\"%s\":%.4f,\"%s\":%.4f,\"%s\":[", KN(&w, "total_ask_size", "tas"), ta,
             KN(&w, "total_bid_size", "tbs"), tb, KN(&w, "orderbook_units", "obu"));
        for (int i = 0; i < n; i++)
            jput(&w, "%s{\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.4f,\"%s\":%.4f}", i ? "," : "", KN(&w, "ask_price", "ap"),
                 ap[i], KN(&w, "bid_price", "bp"), bp[i], KN(&w, "ask_size", "as"), as[i], KN(&w, "bid_size", "bs"),
                 bs[i]);
        jput(&w, "],\"%s\":%lld,\"%s\":%g", KN(&w, "timestamp", "tms"), ms, KN(&w, "level", "lv"), level);
    } else {
        double d = q->price - q->prev_close;
        char date[16], hms[16];
        if (type == UP_TRADE) {
            strftime(date, sizeof(date), "%Y-%m-%d", &tm);
            strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
        } else {
            strftime(date, sizeof(date), "%Y%m%d", &tm);
            strftime(hms, sizeof(hms), "%H%M%S", &tm);
        }
        jput(&w, ",\"%s\":%.0f,\"%s\":%.8f,\"%s\":\"%s\",\"%s\":%.0f,\"%s\":\"%s\",\"%s\":%.0f",
             KN(&w, "trade_price", "tp"), q->price, KN(&w, "trade_volume", "tv"), q->volume, KN(&w, "ask_bid", "ab"),
             q->side == ST_SIDE_SELL ? "ASK" : "BID", KN(&w, "prev_closing_price", "pcp"), q->prev_close,
             KN(&w, "change", "c"), change_of(d), KN(&w, "change_price", "cp"), d < 0 ? -d : d);
        jput(&w, ",\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":%lld,\"%s\":%lld", type == UP_TRADE ? KN(&w, "trade_date", "td") : KN(&w, "trade_date", "tdt"),
             date, KN(&w, "trade_time", "ttm"), hms, KN(&w, "trade_timestamp", "ttms"), ms, KN(&w, "timestamp", "tms"), ms);
        if (type == UP_TRADE) {
            jput(&w, ",\"%s\":%llu,\"%s\":%.0f,\"%s\":%.8f,\"%s\":%.0f,\"%s\":%.8f", KN(&w, "sequential_id", "sid"),
                 (unsigned long long)++X.up_seq, KN(&w, "best_ask_price", "bap"), q->best_ask,
                 KN(&w, "best_ask_size", "bas"), bk ? bk->ask_qty[0] : 0, KN(&w, "best_bid_price", "bbp"),
                 q->best_bid, KN(&w, "best_bid_size", "bbs"), bk ? bk->bid_qty[0] : 0);
        } else {
            double rate = q->prev_close > 0 ? d / q->prev_close : 0;
            up_derived_t x;
            up_derive(q, t->venue_time, &x);
            jput(&w, ",\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.8f,\"%s\":%.8f,\"%s\":%.8f,\"%s\":%.0f",
                 KN(&w, "opening_price", "op"), q->open, KN(&w, "high_price", "hp"), q->high, KN(&w, "low_price", "lp"),
                 q->low, KN(&w, "signed_change_price", "scp"), d, KN(&w, "change_rate", "cr"), rate < 0 ? -rate : rate,
                 KN(&w, "signed_change_rate", "scr"), rate, KN(&w, "acc_trade_volume", "atv"), q->cum_volume,
                 KN(&w, "acc_trade_price", "atp"), q->cum_value);
            jput(&w, ",\"%s\":%.8f,\"%s\":%.8f,\"%s\":%.8f,\"%s\":%.8f", KN(&w, "acc_trade_volume_24h", "atv24h"),
                 x.vol24, KN(&w, "acc_trade_price_24h", "atp24h"), x.val24, KN(&w, "acc_ask_volume", "aav"), x.ask_vol,
                 KN(&w, "acc_bid_volume", "abv"), x.bid_vol);
            jput(&w, ",\"%s\":%.0f,\"%s\":\"%s\",\"%s\":%.0f,\"%s\":\"%s\"", KN(&w, "highest_52_week_price", "h52wp"),
                 x.hi52, KN(&w, "highest_52_week_date", "h52wdt"), x.hi52_date, KN(&w, "lowest_52_week_price", "l52wp"),
                 x.lo52, KN(&w, "lowest_52_week_date", "l52wdt"), x.lo52_date);
            jput(&w, ",\"%s\":\"ACTIVE\",\"%s\":false,\"%s\":null,\"%s\":\"NONE\"", KN(&w, "market_state", "ms"),
                 KN(&w, "is_trading_suspended", "its"), KN(&w, "delisting_date", "dd"), KN(&w, "market_warning", "mw"));
        }
    }
    jput(&w, ",\"%s\":\"%s\"}", KN(&w, "stream_type", "st"), snapshot ? "SNAPSHOT" : "REALTIME");
    return w.off;
}

/* Upbit's candle units (candle.1s, candle.1m … candle.240m), in seconds. */
static const int candle_units[] = {1, 60, 180, 300, 600, 900, 1800, 3600, 14400};

static void candle_type(int unit, char *out, size_t n)
{
    if (unit < 60) snprintf(out, n, "candle.%ds", unit);
    else snprintf(out, n, "candle.%dm", unit / 60);
}

/* The unit of a "candle.…" type, 0 if it is none of Upbit's. */
static int candle_unit(const char *type)
{
    char t[32];
    for (size_t i = 0; i < ST_ARRAY_SIZE(candle_units); i++) {
        candle_type(candle_units[i], t, sizeof(t));
        if (strcmp(type, t) == 0) return candle_units[i];
    }
    return 0;
}

/* A candle of `unit` seconds (candle.1s … candle.240m): its start in UTC and KST. */
static size_t up_candle(char *buf, size_t len, bool simple, const char *code, const struct candle *c, bool snapshot)
{
    jw_t w = {buf, len, 0, simple};
    char type[32], utc[32], kst[32];
    candle_type(c->unit, type, sizeof(type));
    time_t s = (time_t)(c->start / ST_SEC), k = s + 9 * 3600;
    struct tm tm;
    strftime(utc, sizeof(utc), "%Y-%m-%dT%H:%M:%S", gmtime_r(&s, &tm));
    strftime(kst, sizeof(kst), "%Y-%m-%dT%H:%M:%S", gmtime_r(&k, &tm));
    jput(&w, "{\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":\"%s\"", KN(&w, "type", "ty"), type,
         KN(&w, "code", "cd"), code, KN(&w, "candle_date_time_utc", "cdttmu"), utc,
         KN(&w, "candle_date_time_kst", "cdttmk"), kst);
    jput(&w, ",\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.0f,\"%s\":%.8f,\"%s\":%.8f,\"%s\":%lld,\"%s\":\"%s\"}",
         KN(&w, "opening_price", "op"), c->o, KN(&w, "high_price", "hp"), c->h, KN(&w, "low_price", "lp"), c->l,
         KN(&w, "trade_price", "tp"), c->c, KN(&w, "candle_acc_trade_volume", "catv"), c->vol,
         KN(&w, "candle_acc_trade_price", "catp"), c->val, KN(&w, "timestamp", "tms"),
         (long long)(c->sent / ST_MSEC), KN(&w, "stream_type", "st"), snapshot ? "SNAPSHOT" : "REALTIME");
    return w.off;
}

/* --record, Upbit: one line per realtime trade or orderbook frame sent (per session):
 *   UT code unix_ms price volume side best_bid best_ask
 *   UB code unix_ms ask1 bid1 ask1_size bid1_size total_ask_size total_bid_size
 * each ending " @<wall µs>" like the KIS lines. */
static void up_record(const st_tick_t *t, const char *code, int depth)
{
    long long ms = (long long)(t->venue_time / ST_MSEC);
    if (t->kind == ST_TICK_ORDERBOOK) { /* the totals over the units sent */
        const st_book_t *b = &t->u.book;
        double ap[UP_MAX_UNITS], bp[UP_MAX_UNITS], as[UP_MAX_UNITS], bs[UP_MAX_UNITS], ta = 0, tb = 0;
        int n = up_units(b, depth, ap, bp, as, bs);
        for (int i = 0; i < n; i++) ta += as[i], tb += bs[i];
        rec_add("UB %s %lld %.0f %.0f %.4f %.4f %.4f %.4f", code, ms, b->ask[0], b->bid[0], b->ask_qty[0],
                b->bid_qty[0], ta, tb);
    } else {
        const st_trade_t *q = &t->u.trade;
        rec_add("UT %s %lld %.0f %.8f %s %.0f %.0f", code, ms, q->price, q->volume,
                q->side == ST_SIDE_SELL ? "ASK" : "BID", q->best_bid, q->best_ask);
    }
    rec_add("\n");
}

static void up_error(session_t *s, const char *name, const char *message)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "{\"error\":{\"name\":\"%s\",\"message\":\"%s\"}}", name, message);
    enqueue_as(s, buf, (size_t)n, true);
}

/* A data object written at buf + 1 (n bytes) goes out as is, or as a one-object list
 * (JSON_LIST, SIMPLE_LIST): buf has room for the brackets. */
static void up_enqueue(session_t *s, char *buf, size_t n)
{
    if (s->list) {
        buf[0] = '[', buf[n + 1] = ']';
        enqueue_as(s, buf, n + 2, true);
    } else {
        enqueue_as(s, buf + 1, n, true);
    }
    s->frames++;
    X.frames_total++;
}

static void up_send_one(session_t *s, int type, st_sym_t sym, const char *code, bool snapshot)
{
    static char buf[8192];
    st_time_t now = st_clock_now(&X.clock);
    st_tick_t t, book;
    st_simmkt_advance(X.upmkt, sym, now, NULL, NULL);
    st_simmkt_book(X.upmkt, sym, now, &book);
    if (type == UP_BOOK) t = book;
    else st_simmkt_snapshot(X.upmkt, sym, now, &t);
    size_t n = up_frame(buf + 1, sizeof(buf) - 2, type, s->simple, &t, code, snapshot, &book.u.book,
                        s->depth[sym], s->level[sym]);
    up_enqueue(s, buf, n);
}

/* The per-connection request limit: 5 per second and 100 per minute. */
static bool up_over_limit(session_t *s, st_time_t now)
{
    int in_sec = 0, in_min = 0;
    for (uint64_t i = 0; i < s->rx && i < RX_RING; i++) {
        st_time_t t = s->rx_times[(s->rx - 1 - i) % RX_RING];
        in_sec += t > now - ST_SEC;
        in_min += t > now - ST_MIN;
    }
    return in_sec > 5 || in_min > 100;
}

static void on_upbit_text(session_t *s, const char *text, size_t len)
{
    if (s->closing) return; /* being closed: what is still buffered is ignored */
    st_time_t now = st_clock_now(&X.clock);
    s->last_rx = now;
    if (len == 4 && memcmp(text, "PING", 4) == 0) { /* keep-alive: not a data request */
        enqueue_as(s, "{\"status\":\"UP\"}", 15, false);
        return;
    }
    count_rx(s, now);
    if (up_over_limit(s, now)) {
        s->violations++;
        X.up_violations++;
        up_error(s, X.up_rate_name, "request limit exceeded (5 per second, 100 per minute)");
        if (s->violations >= X.up_close_after) { /* repeated violations close the connection: 1008 */
            X.up_closed++;
            s->closing = true;
            s->close_policy = true;
            lws_callback_on_writable(s->wsi);
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
        }
        return;
    }
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsArray(j)) {
        cJSON_Delete(j);
        up_error(s, "WRONG_FORMAT", "the request must be a JSON array");
        return;
    }
    const char *ticket = NULL, *method = NULL, *format = NULL;
    cJSON *it;
    int ntypes = 0;
    cJSON_ArrayForEach(it, j)
    {
        if (!ticket) ticket = json_str(it, "ticket", NULL);
        if (!method) method = json_str(it, "method", NULL);
        if (!format) format = json_str(it, "format", NULL);
        ntypes += cJSON_GetObjectItem(it, "type") != NULL;
    }
    if (!ticket) {
        up_error(s, "NO_TICKET", "ticket is required");
        cJSON_Delete(j);
        return;
    }
    if (format) { /* it applies to the live streams at once, even in LIST_SUBSCRIPTIONS */
        bool simple = strcmp(format, "SIMPLE") == 0 || strcmp(format, "SIMPLE_LIST") == 0;
        bool list = strcmp(format, "JSON_LIST") == 0 || strcmp(format, "SIMPLE_LIST") == 0;
        if (!simple && !list && strcmp(format, "DEFAULT") != 0) {
            up_error(s, "INVALID_PARAM", "format must be DEFAULT, SIMPLE, JSON_LIST or SIMPLE_LIST");
            cJSON_Delete(j);
            return;
        }
        s->simple = simple, s->list = list;
    }
    snprintf(s->ticket, sizeof(s->ticket), "%s", ticket);
    if (method && strcmp(method, "LIST_SUBSCRIPTIONS") == 0) {
        cJSON *r = cJSON_CreateObject(), *res = cJSON_CreateArray();
        cJSON_AddStringToObject(r, s->simple ? "mthd" : "method", "LIST_SUBSCRIPTIONS");
        for (int ty = 0; ty < 3; ty++) {
            cJSON *codes = cJSON_CreateArray();
            for (size_t i = 0; i < X.upuni.n; i++)
                if (s->reg[ST_KEY(X.upuni.items[i].sym, up_ch[ty])])
                    cJSON_AddItemToArray(codes, cJSON_CreateString(X.upuni.items[i].code));
            if (cJSON_GetArraySize(codes) == 0) {
                cJSON_Delete(codes);
                continue;
            }
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, s->simple ? "ty" : "type", up_types[ty]);
            cJSON_AddItemToObject(o, s->simple ? "cds" : "codes", codes);
            if (ty == UP_BOOK) { /* the level asked for (the first code's; one per request here) */
                double lv = 0;
                for (size_t i = 0; i < X.upuni.n && lv == 0; i++)
                    if (s->reg[ST_KEY(X.upuni.items[i].sym, ST_CH_BOOK)]) lv = s->level[X.upuni.items[i].sym];
                cJSON_AddNumberToObject(o, s->simple ? "lv" : "level", lv);
            }
            cJSON_AddItemToArray(res, o);
        }
        for (size_t i = 0; s->candle && i < X.upuni.n; i++) { /* candles, one entry per unit and code */
            st_sym_t sym = X.upuni.items[i].sym;
            if (!s->candle[sym].unit) continue;
            char type[32];
            candle_type(s->candle[sym].unit, type, sizeof(type));
            cJSON *o = cJSON_CreateObject(), *codes = cJSON_AddArrayToObject(o, s->simple ? "cds" : "codes");
            cJSON_AddStringToObject(o, s->simple ? "ty" : "type", type);
            cJSON_AddItemToArray(codes, cJSON_CreateString(X.upuni.items[i].code));
            cJSON_AddItemToArray(res, o);
        }
        cJSON_AddItemToObject(r, s->simple ? "rslt" : "result", res);
        cJSON_AddStringToObject(r, s->simple ? "tckt" : "ticket", s->ticket);
        char *out = cJSON_PrintUnformatted(r);
        enqueue_as(s, out, strlen(out), true);
        free(out);
        cJSON_Delete(r);
        cJSON_Delete(j);
        return;
    }
    if (ntypes == 0) {
        up_error(s, "NO_TYPE", "a type field is required");
        cJSON_Delete(j);
        return;
    }
    /* Validate every type object before changing anything. */
    cJSON_ArrayForEach(it, j)
    {
        const char *type = json_str(it, "type", NULL);
        if (!cJSON_GetObjectItem(it, "type")) continue;
        int ty = type && candle_unit(type) ? 3 : -1;
        for (int k = 0; k < 3 && type; k++)
            if (strcmp(type, up_types[k]) == 0) ty = k;
        cJSON *codes = cJSON_GetObjectItem(it, "codes");
        const char *err = ty < 0 ? "INVALID_PARAM" : !cJSON_IsArray(codes) || cJSON_GetArraySize(codes) == 0 ? "NO_CODES" : NULL;
        if (err) {
            up_error(s, err, ty < 0 ? "unknown type" : "codes are required");
            cJSON_Delete(j);
            return;
        }
    }
    /* A new subscription replaces the previous set. */
    for (size_t i = 0; i < X.upuni.n; i++) {
        for (int ty = 0; ty < 3; ty++) set_reg(s, ST_KEY(X.upuni.items[i].sym, up_ch[ty]), false);
        if (s->candle) set_candle(s, X.upuni.items[i].sym, 0);
    }
    cJSON_ArrayForEach(it, j)
    {
        const char *type = json_str(it, "type", NULL);
        if (!type) continue;
        int unit = candle_unit(type);
        int ty = strcmp(type, "ticker") == 0 ? UP_TICKER : strcmp(type, "trade") == 0 ? UP_TRADE : UP_BOOK;
        cJSON *lv = cJSON_GetObjectItem(it, "level");
        bool only_snap = cJSON_IsTrue(cJSON_GetObjectItem(it, "is_only_snapshot")) ||
                         cJSON_IsTrue(cJSON_GetObjectItem(it, "isOnlySnapshot"));
        bool only_real = cJSON_IsTrue(cJSON_GetObjectItem(it, "is_only_realtime")) ||
                         cJSON_IsTrue(cJSON_GetObjectItem(it, "isOnlyRealtime"));
        cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(it, "codes"))
        {
            if (!cJSON_IsString(c)) continue;
            const char *code = c->valuestring;
            size_t cl = strcspn(code, "."); /* orderbook depth suffix "KRW-BTC.15" */
            st_sym_t sym = st_symtab_find(&X.syms, code, cl);
            if (sym == ST_SYM_NONE || !st_universe_get(&X.upuni, sym)) continue; /* unknown: no data */
            if (unit) { /* candles: realtime only here, sent once a second while trades occur */
                set_candle(s, sym, unit);
                continue;
            }
            if (ty == UP_BOOK) { /* units 1, 5, 15, 30; anything else is 30 (since 2025-07-02) */
                int n = code[cl] == '.' ? atoi(code + cl + 1) : 30;
                s->depth[sym] = (uint8_t)(n == 1 || n == 5 || n == 15 ? n : 30);
                s->level[sym] = cJSON_IsNumber(lv) ? lv->valuedouble : 0;
            }
            if (!only_real) up_send_one(s, ty, sym, st_universe_get(&X.upuni, sym)->code, true);
            if (!only_snap) set_reg(s, ST_KEY(sym, up_ch[ty]), true);
        }
    }
    cJSON_Delete(j);
}

/* The latest trades of an Upbit market, for GET /v1/trades/ticks. */
static void up_keep_trades(const st_instrument_t *ins, const batch_t *b)
{
    struct up_ticks *r = &X.up_ticks[ins - X.upuni.items];
    for (int k = 0; k < b->n; k++) {
        r->seq[r->n % 64] = ++X.up_seq;
        r->t[r->n++ % 64] = b->t[k];
    }
}

static void up_market(st_time_t now)
{
    static char buf[8192];
    for (size_t i = 0; i < X.upuni.n; i++) {
        const st_instrument_t *ins = &X.upuni.items[i];
        st_sym_t sym = ins->sym;
        if (!X.trade_refs[sym] && !X.book_refs[sym] && !X.candle_refs[sym]) continue;
        batch_t b = {.n = 0};
        while (b.n < MAX_BATCH && st_simmkt_next_event(X.upmkt, sym) <= now)
            st_simmkt_advance(X.upmkt, sym, st_simmkt_next_event(X.upmkt, sym), collect, &b);
        if (!b.n) continue;
        up_keep_trades(ins, &b);
        st_tick_t book;
        st_simmkt_book(X.upmkt, sym, b.t[b.n - 1].venue_time, &book);
        for (int k = 0; k < b.n; k++) {
            for (session_t *s = X.sessions; s; s = s->next) {
                if (!s->open || !s->upbit) continue;
                for (int ty = 0; ty < 2; ty++) { /* ticker, trade */
                    if (!s->reg[ST_KEY(sym, up_ch[ty])] || s->queued >= MAX_QUEUE) continue;
                    size_t n = up_frame(buf + 1, sizeof(buf) - 2, ty, s->simple, &b.t[k], ins->code, false,
                                        &book.u.book, 0, 0);
                    if (ty == UP_TRADE && X.record) up_record(&b.t[k], ins->code, 0);
                    up_enqueue(s, buf, n);
                }
                struct candle *c = s->candle ? &s->candle[sym] : NULL;
                if (!c || !c->unit) continue;
                const st_trade_t *q = &b.t[k].u.trade;
                st_time_t start = b.t[k].venue_time / ((st_dur_t)c->unit * ST_SEC) * ((st_dur_t)c->unit * ST_SEC);
                if (start != c->start) *c = (struct candle){c->unit, start, c->sent, q->price, q->price, q->price,
                                                            q->price, 0, 0};
                c->h = fmax(c->h, q->price), c->l = fmin(c->l, q->price), c->c = q->price;
                c->vol += q->volume, c->val += q->volume * q->price;
            }
        }
        for (session_t *s = X.sessions; s; s = s->next) { /* candles: at most one a second, on trades */
            struct candle *c = s->open && s->upbit && s->candle ? &s->candle[sym] : NULL;
            if (!c || !c->unit || !c->start || now - c->sent < ST_SEC || s->queued >= MAX_QUEUE) continue;
            c->sent = now;
            up_enqueue(s, buf, up_candle(buf + 1, sizeof(buf) - 2, s->simple, ins->code, c, false));
        }
        if (X.book_refs[sym]) {
            for (session_t *s = X.sessions; s; s = s->next) {
                if (!s->open || !s->upbit || !s->reg[ST_KEY(sym, ST_CH_BOOK)] || s->queued >= MAX_QUEUE) continue;
                size_t n = up_frame(buf + 1, sizeof(buf) - 2, UP_BOOK, s->simple, &book, ins->code, false, NULL,
                                    s->depth[sym], s->level[sym]);
                if (X.record) up_record(&book, ins->code, s->depth[sym]);
                up_enqueue(s, buf, n);
            }
        }
    }
    /* Upbit closes a connection after 120 s without data from the client. */
    for (session_t *s = X.sessions; s; s = s->next) {
        if (s->open && s->upbit && s->wsi && now - s->last_rx > 120 * ST_SEC) {
            X.up_closed++;
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
            s->last_rx = now; /* once */
        }
    }
}

/* --- accounting ------------------------------------------------------------------------------ */

static char *stats_json(void)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "sessions");
    for (session_t *s = X.sessions; s; s = s->next) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", s->id);
        cJSON_AddStringToObject(o, "venue", s->upbit ? "upbit" : "kis");
        if (s->upbit) cJSON_AddNumberToObject(o, "violations", s->violations);
        cJSON_AddStringToObject(o, "appkey", s->appkey);
        cJSON_AddBoolToObject(o, "open", s->open);
        cJSON_AddNumberToObject(o, "registrations", s->held);
        cJSON_AddNumberToObject(o, "max_registrations", s->max_held);
        cJSON_AddNumberToObject(o, "messages", (double)s->rx);
        cJSON_AddNumberToObject(o, "max_messages_per_second", s->max_rx_per_sec);
        cJSON_AddNumberToObject(o, "frames", (double)s->frames);
        cJSON_AddNumberToObject(o, "pings", (double)s->pings);
        cJSON_AddNumberToObject(o, "pongs", (double)s->pongs);
        cJSON_AddNumberToObject(o, "errors", (double)s->errors);
        cJSON_AddNumberToObject(o, "frames_dropped", (double)s->dropped);
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_AddNumberToObject(root, "sessions_total", (double)X.sessions_total);
    cJSON_AddNumberToObject(root, "max_registrations_ever", X.max_held_ever);
    cJSON_AddNumberToObject(root, "registration_cap", X.cap);
    cJSON_AddNumberToObject(root, "refused_over_cap", (double)X.over_cap);
    cJSON_AddNumberToObject(root, "refused_in_use", (double)X.refused_in_use);
    cJSON_AddNumberToObject(root, "frames_sent", (double)X.frames_total);
    cJSON_AddNumberToObject(root, "frames_dropped", (double)X.frames_dropped);
    cJSON_AddNumberToObject(root, "upbit_violations", (double)X.up_violations);
    cJSON_AddNumberToObject(root, "upbit_closed", (double)X.up_closed);
    cJSON *cl = cJSON_AddObjectToObject(root, "close_frames");
    cJSON_AddNumberToObject(cl, "normal", (double)X.close_normal);
    cJSON_AddNumberToObject(cl, "going_away", (double)X.close_going_away);
    cJSON_AddNumberToObject(cl, "private_4000", (double)X.close_strata);
    cJSON_AddNumberToObject(cl, "other", (double)X.close_other);
    cJSON_AddNumberToObject(root, "upbit_origin_requests", (double)X.up_origin);
    cJSON_AddNumberToObject(root, "upbit_origin_refused", (double)X.up_origin_refused);
    cJSON *ur = cJSON_AddObjectToObject(root, "upbit_rest");
    cJSON_AddNumberToObject(ur, "ok", (double)X.up_rest_ok);
    cJSON_AddNumberToObject(ur, "refused_429", (double)X.up_n429);
    cJSON_AddNumberToObject(ur, "refused_418", (double)X.up_n418);
    cJSON *rest = cJSON_AddObjectToObject(root, "rest");
    cJSON_AddNumberToObject(rest, "calls", (double)X.rest_calls);
    cJSON_AddNumberToObject(rest, "ok", (double)X.rest_ok);
    cJSON_AddNumberToObject(rest, "refused_rate", (double)X.rest_rate_refused);
    cJSON_AddNumberToObject(rest, "refused_token", (double)X.rest_token_refused);
    cJSON_AddNumberToObject(rest, "max_per_second", X.rest_max_per_second);
    cJSON_AddNumberToObject(rest, "limit_per_second", X.paper ? 2 : 20);
    cJSON_AddNumberToObject(rest, "tokens_issued", (double)X.tokens_issued);
    cJSON_AddNumberToObject(rest, "tokens_refused", (double)X.tokens_refused);
    cJSON_AddNumberToObject(rest, "auth_refused", (double)X.auth_refused);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}


/* --- KIS REST ----------------------------------------------------------------------------- */

static struct app *app_get(const char *key, bool create)
{
    for (int i = 0; i < X.napps; i++)
        if (strcmp(X.apps[i].key, key) == 0) return &X.apps[i];
    if (!create || X.napps == (int)ST_ARRAY_SIZE(X.apps)) return NULL;
    struct app *a = &X.apps[X.napps++];
    memset(a, 0, sizeof(*a));
    snprintf(a->key, sizeof(a->key), "%s", key);
    return a;
}

typedef struct {
    int status; /* 0: no answer at all (an injected timeout) */
    char *body; /* malloc'd JSON */
    const char *tr_id;
    char remaining[64]; /* Upbit Remaining-Req */
} http_reply_t;

static http_reply_t jreply(int status, cJSON *j)
{
    http_reply_t r = {.status = status, .body = cJSON_PrintUnformatted(j)};
    cJSON_Delete(j);
    return r;
}

static http_reply_t kis_error(int status, const char *cd, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "rt_cd", "1");
    cJSON_AddStringToObject(j, "msg_cd", cd);
    cJSON_AddStringToObject(j, "msg1", msg);
    return jreply(status, j);
}

static http_reply_t oauth_error(int status, const char *cd, const char *desc)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error_description", desc);
    cJSON_AddStringToObject(j, "error_code", cd);
    return jreply(status, j);
}

static http_reply_t token(const char *body)
{
    cJSON *in = cJSON_Parse(body);
    const char *key = json_str(in, "appkey", NULL), *secret = json_str(in, "appsecret", NULL);
    http_reply_t r;
    if (!key || !*key || !secret || !*secret) {
        r = oauth_error(403, "EGW00103", "유효하지 않은 AppKey입니다.");
    } else {
        struct app *a = app_get(key, true);
        st_time_t now = st_clock_now(&X.clock);
        if (X.reject_key && !strcmp(key, X.reject_key)) {
            X.auth_refused++;
            r = oauth_error(403, "EGW00103", "유효하지 않은 AppKey입니다.");
        } else if (!a) {
            r = oauth_error(403, "EGW00103", "유효하지 않은 AppKey입니다.");
        } else if (a->token_issued && now - a->token_issued < ST_MIN) {
            X.tokens_refused++;
            r = oauth_error(403, "EGW00133", "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)");
        } else {
            a->token_issued = now;
            a->token_expires = now + X.token_ttl;
            snprintf(a->token, sizeof(a->token), "sim-token-%llu-%s", (unsigned long long)++X.token_seq, key);
            X.tokens_issued++;
            char exp[32];
            st_format_datetime(a->token_expires, exp, sizeof(exp), false);
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "access_token", a->token);
            cJSON_AddStringToObject(j, "access_token_token_expired", exp);
            cJSON_AddStringToObject(j, "token_type", "Bearer");
            cJSON_AddNumberToObject(j, "expires_in", (double)(X.token_ttl / ST_SEC));
            r = jreply(200, j);
        }
    }
    cJSON_Delete(in);
    return r;
}

static http_reply_t approval(const char *body)
{
    cJSON *in = cJSON_Parse(body);
    const char *key = json_str(in, "appkey", NULL), *secret = json_str(in, "secretkey", NULL);
    http_reply_t r;
    if (!key || !*key || !secret || !*secret) {
        r = oauth_error(403, "EGW00103", "유효하지 않은 AppKey입니다. (appkey and secretkey are required)");
    } else if (X.reject_key && !strcmp(key, X.reject_key)) {
        X.auth_refused++;
        r = oauth_error(403, "EGW00103", "유효하지 않은 AppKey입니다.");
    } else {
        char k[40];
        uint64_t h = 1469598103934665603ull;
        for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
        snprintf(k, sizeof(k), "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(h >> 32), (unsigned)(h >> 16) & 0xffff,
                 (unsigned)h & 0xfff, (unsigned)(h >> 20) & 0xfff, (unsigned long long)(h & 0xffffffffffffull));
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "approval_key", k);
        r = jreply(200, j);
    }
    cJSON_Delete(in);
    return r;
}

/* Token and rate checks common to the quotation endpoints: true when the call may proceed,
 * else false with the refusal in *r. */
static bool rest_gate(struct lws *wsi, http_reply_t *r)
{
    char auth[128] = "", key[64] = "";
    lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION);
    lws_hdr_custom_copy(wsi, key, sizeof(key), "appkey:", 7);
    st_time_t now = st_clock_now(&X.clock);
    X.rest_calls++;
    /* Injected faults, errors before timeouts when both are pending. */
    if (X.fault.rest_error > 0) {
        X.fault.rest_error--;
        X.fault.rest_errors++;
        *r = kis_error(500, "EGW00201", "초당 거래건수를 초과하였습니다.");
        return false;
    }
    if (X.fault.rest_timeout > 0) {
        X.fault.rest_timeout--;
        X.fault.rest_timeouts++;
        *r = (http_reply_t){.status = 0};
        return false;
    }
    struct app *a = key[0] ? app_get(key, false) : NULL;
    const char *tok = strncmp(auth, "Bearer ", 7) == 0 ? auth + 7 : "";
    if (!a || !a->token[0] || strcmp(tok, a->token) != 0) {
        X.rest_token_refused++;
        *r = kis_error(500, "EGW00121", "유효하지 않은 token 입니다.");
        return false;
    }
    if (now >= a->token_expires) {
        X.rest_token_refused++;
        *r = kis_error(500, "EGW00123", "기간이 만료된 token 입니다.");
        return false;
    }
    /* The venue's limit per app key, as a sliding one-second window. */
    int limit = X.paper ? 2 : 20, in_sec = 0;
    for (uint64_t i = 0; i < a->ncalls && i < 64; i++) in_sec += a->calls[(a->ncalls - 1 - i) % 64] > now - ST_SEC;
    if (in_sec >= limit) {
        X.rest_rate_refused++;
        *r = kis_error(500, "EGW00201", "초당 거래건수를 초과하였습니다.");
        return false;
    }
    a->calls[a->ncalls++ % 64] = now;
    if (in_sec + 1 > X.rest_max_per_second) X.rest_max_per_second = in_sec + 1;
    X.rest_ok++;
    return true;
}

static void num_field(cJSON *o, const char *name, double v)
{
    char b[48];
    snprintf(b, sizeof(b), "%.0f", v);
    cJSON_AddStringToObject(o, name, b);
}

static const char *sign_of(double change)
{
    return change > 0 ? "2" : change < 0 ? "5" : "3";
}

/* The change against the previous close: `vrss` (signed), prdy_vrss_sign, prdy_ctrt (%). */
/* A change against prev under the three names KIS gives it (difference, sign, rate in %). */
static void add_change_as(cJSON *o, const char *vrss, const char *sign, const char *ctrt, double price, double prev)
{
    num_field(o, vrss, price - prev);
    cJSON_AddStringToObject(o, sign, sign_of(price - prev));
    char rate[32];
    snprintf(rate, sizeof(rate), "%.2f", prev > 0 ? (price / prev - 1) * 100 : 0);
    cJSON_AddStringToObject(o, ctrt, rate);
}

static void add_change(cJSON *o, const char *vrss, double price, double prev)
{
    add_change_as(o, vrss, "prdy_vrss_sign", "prdy_ctrt", price, prev);
}

/* A success with one output (name2 NULL) or two. */
static http_reply_t envelope2(cJSON *output, const char *name, cJSON *output2, const char *name2, const char *tr_id)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "rt_cd", "0");
    cJSON_AddStringToObject(j, "msg_cd", "MCA00000");
    cJSON_AddStringToObject(j, "msg1", "정상처리 되었습니다.");
    cJSON_AddItemToObject(j, name, output);
    if (name2) cJSON_AddItemToObject(j, name2, output2);
    http_reply_t r = jreply(200, j);
    r.tr_id = tr_id;
    return r;
}

static http_reply_t envelope(cJSON *output, const char *name, const char *tr_id)
{
    return envelope2(output, name, NULL, NULL, tr_id);
}

static const st_instrument_t *stock_arg(struct lws *wsi, const char *arg)
{
    char buf[64];
    const char *v = lws_get_urlarg_by_name(wsi, arg, buf, sizeof(buf));
    if (!v) return NULL;
    st_sym_t sym = st_symtab_find(&X.syms, v, strlen(v));
    return sym == ST_SYM_NONE ? NULL : st_universe_get(&X.uni, sym);
}

/* Every field protocols.md lists for the KIS quotation answers (all values are strings). What
 * the simulated market knows is filled from it; the rest gets a neutral value of its kind (a
 * flag "N", a date, a class code "00", a number "0"). */
static const char *const inquire_price_fields[] = {
    "iscd_stat_cls_code", "marg_rate", "rprs_mrkt_kor_name", "new_hgpr_lwpr_cls_code", "bstp_kor_isnm",
    "temp_stop_yn", "oprc_rang_cont_yn", "clpr_rang_cont_yn", "crdt_able_yn", "grmn_rate_cls_code", "elw_pblc_yn",
    "stck_prpr", "prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "acml_tr_pbmn", "acml_vol", "prdy_vrss_vol_rate",
    "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_mxpr", "stck_llam", "stck_sdpr", "wghn_avrg_stck_prc",
    "hts_frgn_ehrt", "frgn_ntby_qty", "pgtr_ntby_qty", "pvt_scnd_dmrs_prc", "pvt_frst_dmrs_prc", "pvt_pont_val",
    "pvt_frst_dmsp_prc", "pvt_scnd_dmsp_prc", "dmrs_val", "dmsp_val", "cpfn", "rstc_wdth_prc", "stck_fcam",
    "stck_sspr", "aspr_unit", "hts_deal_qty_unit_val", "lstn_stcn", "hts_avls", "per", "pbr", "stac_month",
    "vol_tnrt", "eps", "bps", "d250_hgpr", "d250_hgpr_date", "d250_hgpr_vrss_prpr_rate", "d250_lwpr",
    "d250_lwpr_date", "d250_lwpr_vrss_prpr_rate", "stck_dryy_hgpr", "dryy_hgpr_vrss_prpr_rate", "dryy_hgpr_date",
    "stck_dryy_lwpr", "dryy_lwpr_vrss_prpr_rate", "dryy_lwpr_date", "w52_hgpr", "w52_hgpr_vrss_prpr_ctrt",
    "w52_hgpr_date", "w52_lwpr", "w52_lwpr_vrss_prpr_ctrt", "w52_lwpr_date", "whol_loan_rmnd_rate", "ssts_yn",
    "stck_shrn_iscd", "fcam_cnnm", "cpfn_cnnm", "apprch_rate", "frgn_hldn_qty", "vi_cls_code", "ovtm_vi_cls_code",
    "last_ssts_cntg_qty", "invt_caful_yn", "mrkt_warn_cls_code", "short_over_yn", "sltr_yn", "mang_issu_cls_code"};
static const char *const asking_output2_fields[] = {
    "antc_mkop_cls_code", "stck_prpr", "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_sdpr", "antc_cnpr",
    "antc_cntg_vrss_sign", "antc_cntg_vrss", "antc_cntg_prdy_ctrt", "antc_vol", "stck_shrn_iscd", "vi_cls_code"};
static const char *const multprice_fields[] = {
    "kospi_kosdaq_cls_name", "mrkt_trtm_cls_name", "hour_cls_code", "inter_shrn_iscd", "inter_kor_isnm",
    "inter2_prpr", "inter2_prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "acml_vol", "inter2_oprc", "inter2_hgpr",
    "inter2_lwpr", "inter2_llam", "inter2_mxpr", "inter2_askp", "inter2_bidp", "seln_rsqn", "shnu_rsqn",
    "total_askp_rsqn", "total_bidp_rsqn", "acml_tr_pbmn", "inter2_prdy_clpr", "oprc_vrss_hgpr_rate",
    "intr_antc_cntg_vrss", "intr_antc_cntg_vrss_sign", "intr_antc_cntg_prdy_ctrt", "intr_antc_vol", "inter2_sdpr"};

static void fill_rest(cJSON *o, const char *const *names, size_t n)
{
    char today[16];
    time_t secs = (time_t)(st_clock_now(&X.clock) / ST_SEC + X.utc_offset);
    struct tm tm;
    strftime(today, sizeof(today), "%Y%m%d", gmtime_r(&secs, &tm));
    for (size_t i = 0; i < n; i++) {
        if (cJSON_GetObjectItem(o, names[i])) continue;
        const char *v = "0";
        size_t len = strlen(names[i]);
        if (len > 3 && strcmp(names[i] + len - 3, "_yn") == 0) v = "N";
        else if (strstr(names[i], "_date")) v = today;
        else if (strstr(names[i], "cls_code")) v = "00";
        cJSON_AddStringToObject(o, names[i], v);
    }
}

/* The daily price limits (±30 % on the tick grid). */
static void price_limits(double prev, double *up, double *down)
{
    double u = prev * 1.3, d = prev * 0.7;
    *up = floor(u / st_krx_tick_size(u)) * st_krx_tick_size(u);
    *down = ceil(d / st_krx_tick_size(d)) * st_krx_tick_size(d);
}

static http_reply_t inquire_price(struct lws *wsi)
{
    http_reply_t r;
    if (!rest_gate(wsi, &r)) return r;
    const st_instrument_t *ins = stock_arg(wsi, "FID_INPUT_ISCD=");
    if (!ins) return kis_error(200, "OPSQ2002", "ERROR : INPUT_FIELD_NAME FID_INPUT_ISCD");
    st_tick_t t;
    st_simmkt_snapshot(X.mkt, ins->sym, st_clock_now(&X.clock), &t);
    const st_trade_t *q = &t.u.trade;
    cJSON *o = cJSON_CreateObject();
    num_field(o, "stck_prpr", q->price);
    add_change(o, "prdy_vrss", q->price, q->prev_close);
    num_field(o, "acml_tr_pbmn", q->cum_value);
    num_field(o, "acml_vol", q->cum_volume);
    num_field(o, "stck_oprc", q->open);
    num_field(o, "stck_hgpr", q->high);
    num_field(o, "stck_lwpr", q->low);
    double up, down;
    price_limits(q->prev_close, &up, &down);
    num_field(o, "stck_mxpr", up);
    num_field(o, "stck_llam", down);
    num_field(o, "stck_sdpr", q->prev_close);
    num_field(o, "aspr_unit", st_krx_tick_size(q->price));
    num_field(o, "wghn_avrg_stck_prc", q->cum_volume > 0 ? q->cum_value / q->cum_volume : q->price);
    cJSON_AddStringToObject(o, "stck_shrn_iscd", ins->code);
    cJSON_AddStringToObject(o, "temp_stop_yn", (t.flags & ST_TICK_HALTED) ? "Y" : "N");
    cJSON_AddStringToObject(o, "iscd_stat_cls_code", (t.flags & ST_TICK_HALTED) ? "58" : "55");
    cJSON_AddStringToObject(o, "rprs_mrkt_kor_name", ins->market == 1 ? "KOSDAQ" : "KOSPI");
    cJSON_AddStringToObject(o, "bstp_kor_isnm", X.uni.sectors[ins->sector]);
    cJSON_AddStringToObject(o, "hts_deal_qty_unit_val", "1");
    cJSON_AddStringToObject(o, "stck_fcam", "100");
    cJSON_AddStringToObject(o, "fcam_cnnm", "100");
    cJSON_AddStringToObject(o, "cpfn_cnnm", "0");
    fill_rest(o, inquire_price_fields, ST_ARRAY_SIZE(inquire_price_fields));
    return envelope(o, "output", "FHKST01010100");
}

static http_reply_t asking_price(struct lws *wsi)
{
    http_reply_t r;
    if (!rest_gate(wsi, &r)) return r;
    const st_instrument_t *ins = stock_arg(wsi, "FID_INPUT_ISCD=");
    if (!ins) return kis_error(200, "OPSQ2002", "ERROR : INPUT_FIELD_NAME FID_INPUT_ISCD");
    st_time_t now = st_clock_now(&X.clock);
    st_simmkt_advance(X.mkt, ins->sym, now, NULL, NULL);
    st_tick_t b;
    st_simmkt_book(X.mkt, ins->sym, now, &b);
    cJSON *o = cJSON_CreateObject();
    char name[32];
    for (int i = 0; i < ST_BOOK_DEPTH; i++) {
        snprintf(name, sizeof(name), "askp%d", i + 1), num_field(o, name, b.u.book.ask[i]);
        snprintf(name, sizeof(name), "bidp%d", i + 1), num_field(o, name, b.u.book.bid[i]);
        snprintf(name, sizeof(name), "askp_rsqn%d", i + 1), num_field(o, name, b.u.book.ask_qty[i]);
        snprintf(name, sizeof(name), "bidp_rsqn%d", i + 1), num_field(o, name, b.u.book.bid_qty[i]);
    }
    num_field(o, "total_askp_rsqn", b.u.book.total_ask_qty);
    num_field(o, "total_bidp_rsqn", b.u.book.total_bid_qty);
    for (int i = 0; i < ST_BOOK_DEPTH; i++) { /* changes since the previous book: not kept */
        snprintf(name, sizeof(name), "askp_rsqn_icdc%d", i + 1), cJSON_AddStringToObject(o, name, "0");
        snprintf(name, sizeof(name), "bidp_rsqn_icdc%d", i + 1), cJSON_AddStringToObject(o, name, "0");
    }
    char hhmmss[16];
    time_t secs = (time_t)(now / ST_SEC + X.utc_offset);
    struct tm tm;
    strftime(hhmmss, sizeof(hhmmss), "%H%M%S", gmtime_r(&secs, &tm));
    cJSON_AddStringToObject(o, "aspr_acpt_hour", hhmmss);
    num_field(o, "ntby_aspr_rsqn", b.u.book.total_bid_qty - b.u.book.total_ask_qty);
    static const char *const rest1[] = {"total_askp_rsqn_icdc", "total_bidp_rsqn_icdc", "ovtm_total_askp_icdc",
                                        "ovtm_total_bidp_icdc", "ovtm_total_askp_rsqn", "ovtm_total_bidp_rsqn"};
    fill_rest(o, rest1, ST_ARRAY_SIZE(rest1));
    cJSON_AddStringToObject(o, "new_mkop_cls_code", "20"); /* the regular session */
    /* output2: the expected (auction) price, here the last trade's, and the day so far */
    st_tick_t t;
    st_simmkt_snapshot(X.mkt, ins->sym, now, &t);
    const st_trade_t *q = &t.u.trade;
    cJSON *o2 = cJSON_CreateObject();
    cJSON_AddStringToObject(o2, "antc_mkop_cls_code", "112");
    num_field(o2, "stck_prpr", q->price);
    num_field(o2, "stck_oprc", q->open);
    num_field(o2, "stck_hgpr", q->high);
    num_field(o2, "stck_lwpr", q->low);
    num_field(o2, "stck_sdpr", q->prev_close);
    num_field(o2, "antc_cnpr", q->price);
    add_change_as(o2, "antc_cntg_vrss", "antc_cntg_vrss_sign", "antc_cntg_prdy_ctrt", q->price, q->prev_close);
    cJSON_AddStringToObject(o2, "stck_shrn_iscd", ins->code);
    fill_rest(o2, asking_output2_fields, ST_ARRAY_SIZE(asking_output2_fields));
    return envelope2(o, "output1", o2, "output2", "FHKST01010200");
}

static http_reply_t multprice(struct lws *wsi)
{
    http_reply_t r;
    if (X.paper) return kis_error(500, "EGW00002", "모의투자 미지원 서비스입니다.");
    if (!rest_gate(wsi, &r)) return r;
    cJSON *rows = cJSON_CreateArray();
    st_time_t now = st_clock_now(&X.clock);
    for (int i = 1; i <= 30; i++) {
        char arg[40];
        snprintf(arg, sizeof(arg), "FID_INPUT_ISCD_%d=", i);
        const st_instrument_t *ins = stock_arg(wsi, arg);
        if (!ins) continue;
        st_tick_t t;
        st_simmkt_snapshot(X.mkt, ins->sym, now, &t);
        const st_trade_t *q = &t.u.trade;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "inter_shrn_iscd", ins->code);
        cJSON_AddStringToObject(o, "inter_kor_isnm", ins->name);
        num_field(o, "inter2_prpr", q->price);
        add_change(o, "inter2_prdy_vrss", q->price, q->prev_close);
        num_field(o, "acml_vol", q->cum_volume);
        num_field(o, "inter2_oprc", q->open);
        num_field(o, "inter2_hgpr", q->high);
        num_field(o, "inter2_lwpr", q->low);
        num_field(o, "inter2_askp", q->best_ask);
        num_field(o, "inter2_bidp", q->best_bid);
        num_field(o, "acml_tr_pbmn", q->cum_value);
        num_field(o, "inter2_prdy_clpr", q->prev_close);
        num_field(o, "inter2_sdpr", q->prev_close);
        double up, down;
        price_limits(q->prev_close, &up, &down);
        num_field(o, "inter2_mxpr", up);
        num_field(o, "inter2_llam", down);
        cJSON_AddStringToObject(o, "kospi_kosdaq_cls_name", ins->market == 1 ? "코스닥" : "코스피");
        cJSON_AddStringToObject(o, "mrkt_trtm_cls_name", (t.flags & ST_TICK_HALTED) ? "거래정지" : "");
        cJSON_AddStringToObject(o, "hour_cls_code", "0");
        cJSON_AddStringToObject(o, "intr_antc_cntg_vrss_sign", "3");
        fill_rest(o, multprice_fields, ST_ARRAY_SIZE(multprice_fields));
        cJSON_AddItemToArray(rows, o);
    }
    return envelope(rows, "output", "FHKST11300006");
}


/* --- Upbit REST --------------------------------------------------------------------------- */

static http_reply_t up_http_error(int status, const char *name, const char *message)
{
    cJSON *j = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(j, "error");
    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddStringToObject(e, "message", message);
    return jreply(status, j);
}

/* The group's window: NULL-free reply when the call may proceed. */
static bool up_gate(int group, const char *gname, http_reply_t *r)
{
    st_time_t now = st_clock_now(&X.clock);
    if (now < X.up_banned_until) {
        X.up_n418++;
        char msg[96];
        snprintf(msg, sizeof(msg), "blocked for %lld more seconds after ignoring 429",
                 (long long)((X.up_banned_until - now) / ST_SEC + 1));
        *r = up_http_error(418, "ip_blocked", msg);
        return false;
    }
    struct up_group *g = &X.up_groups[group];
    int used = 0;
    for (uint64_t i = 0; i < g->n && i < 10; i++) used += g->calls[(g->n - 1 - i) % 10] > now - ST_SEC;
    if (used >= 10) {
        X.up_n429++;
        X.up_429s[X.up_n429 % 8] = now;
        /* Five 429s within ten seconds: the caller ignores them; a one-minute ban. */
        int recent = 0;
        for (uint64_t i = 0; i < X.up_n429 && i < 8; i++) recent += X.up_429s[(X.up_n429 - i) % 8] > now - 10 * ST_SEC;
        if (recent >= 5) X.up_banned_until = now + ST_MIN;
        *r = up_http_error(429, "too_many_requests", "Too many API requests.");
        snprintf(r->remaining, sizeof(r->remaining), "group=%s; min=1800; sec=0", gname);
        return false;
    }
    g->calls[g->n++ % 10] = now;
    X.up_rest_ok++;
    snprintf(r->remaining, sizeof(r->remaining), "group=%s; min=1800; sec=%d", gname, 10 - used - 1);
    return true;
}

/* markets=KRW-BTC,KRW-ETH → instruments; NULL with a 404 reply for an unknown code. */
static int up_markets(struct lws *wsi, const st_instrument_t **out, int max, http_reply_t *r)
{
    char buf[2048];
    const char *v = lws_get_urlarg_by_name(wsi, "markets=", buf, sizeof(buf));
    if (!v || !*v) {
        *r = up_http_error(400, "validation_error", "markets is required");
        return -1;
    }
    int n = 0;
    char *save, *list = st_xstrdup(v);
    for (char *tok = strtok_r(list, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save)) {
        st_sym_t sym = st_symtab_find(&X.syms, tok, strlen(tok));
        const st_instrument_t *ins = sym == ST_SYM_NONE ? NULL : st_universe_get(&X.upuni, sym);
        if (!ins) {
            free(list);
            *r = up_http_error(404, "404", "Code not found");
            return -1;
        }
        out[n++] = ins;
    }
    free(list);
    return n;
}

/* GET /v1/trades/ticks?market=KRW-BTC&count=N: the latest N trades (1 by default, up to 64
 * here), newest first. */
static http_reply_t up_trades_ticks(struct lws *wsi, st_time_t now)
{
    http_reply_t r = {0};
    if (!up_gate(3, "trade", &r)) return r;
    char remaining[64], buf[64];
    memcpy(remaining, r.remaining, sizeof(remaining));
    const char *m = lws_get_urlarg_by_name(wsi, "market=", buf, sizeof(buf));
    st_sym_t sym = m ? st_symtab_find(&X.syms, m, strlen(m)) : ST_SYM_NONE;
    const st_instrument_t *ins = sym == ST_SYM_NONE ? NULL : st_universe_get(&X.upuni, sym);
    if (!ins) return up_http_error(m ? 404 : 400, m ? "404" : "validation_error", m ? "Code not found" : "market is required");
    char cbuf[16];
    const char *cv = lws_get_urlarg_by_name(wsi, "count=", cbuf, sizeof(cbuf));
    int count = cv ? atoi(cv) : 1;
    if (count < 1 || count > 64) count = count < 1 ? 1 : 64;
    for (;;) { /* what happened since anyone last looked */
        batch_t b = {.n = 0};
        while (b.n < MAX_BATCH && st_simmkt_next_event(X.upmkt, sym) <= now)
            st_simmkt_advance(X.upmkt, sym, st_simmkt_next_event(X.upmkt, sym), collect, &b);
        if (!b.n) break;
        up_keep_trades(ins, &b);
    }
    struct up_ticks *rt = &X.up_ticks[ins - X.upuni.items];
    cJSON *arr = cJSON_CreateArray();
    for (uint64_t i = 0; i < (uint64_t)count && i < rt->n && i < 64; i++) {
        uint64_t at = (rt->n - 1 - i) % 64;
        const st_tick_t *t = &rt->t[at];
        const st_trade_t *q = &t->u.trade;
        char date[16], hms[16];
        time_t secs = (time_t)(t->venue_time / ST_SEC);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d", &tm);
        strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "market", ins->code);
        cJSON_AddStringToObject(o, "trade_date_utc", date);
        cJSON_AddStringToObject(o, "trade_time_utc", hms);
        cJSON_AddNumberToObject(o, "timestamp", (double)(t->venue_time / ST_MSEC));
        cJSON_AddNumberToObject(o, "trade_price", q->price);
        cJSON_AddNumberToObject(o, "trade_volume", q->volume);
        cJSON_AddNumberToObject(o, "prev_closing_price", q->prev_close);
        cJSON_AddNumberToObject(o, "change_price", q->price - q->prev_close);
        cJSON_AddStringToObject(o, "ask_bid", q->side == ST_SIDE_SELL ? "ASK" : "BID");
        cJSON_AddNumberToObject(o, "sequential_id", (double)rt->seq[at]);
        cJSON_AddItemToArray(arr, o);
    }
    http_reply_t ok = jreply(200, arr);
    memcpy(ok.remaining, remaining, sizeof(remaining));
    return ok;
}

static http_reply_t up_rest(struct lws *wsi, const char *uri)
{
    http_reply_t r = {0};
    st_time_t now = st_clock_now(&X.clock);
    if (strcmp(uri, "/v1/market/all") == 0) {
        if (!up_gate(0, "market", &r)) return r;
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < X.upuni.n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "market", X.upuni.items[i].code);
            cJSON_AddStringToObject(o, "korean_name", X.upuni.items[i].name);
            cJSON_AddStringToObject(o, "english_name", strchr(X.upuni.items[i].code, '-') + 1);
            cJSON_AddItemToArray(arr, o);
        }
        http_reply_t ok = jreply(200, arr);
        memcpy(ok.remaining, r.remaining, sizeof(r.remaining));
        return ok;
    }
    if (strcmp(uri, "/v1/trades/ticks") == 0) return up_trades_ticks(wsi, now);
    bool ticker = strcmp(uri, "/v1/ticker") == 0, book = strcmp(uri, "/v1/orderbook") == 0;
    if (!ticker && !book) return up_http_error(404, "404", "not found");
    if (!up_gate(ticker ? 1 : 2, ticker ? "ticker" : "orderbook", &r)) return r;
    char remaining[64];
    memcpy(remaining, r.remaining, sizeof(remaining));
    const st_instrument_t *ins[64];
    int n = up_markets(wsi, ins, 64, &r);
    if (n < 0) return r;
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "market", ins[i]->code);
        st_tick_t t;
        if (ticker) {
            st_simmkt_snapshot(X.upmkt, ins[i]->sym, now, &t);
            const st_trade_t *q = &t.u.trade;
            double d = q->price - q->prev_close, rate = q->prev_close > 0 ? d / q->prev_close : 0;
            cJSON_AddNumberToObject(o, "opening_price", q->open);
            cJSON_AddNumberToObject(o, "high_price", q->high);
            cJSON_AddNumberToObject(o, "low_price", q->low);
            cJSON_AddNumberToObject(o, "trade_price", q->price);
            cJSON_AddNumberToObject(o, "prev_closing_price", q->prev_close);
            cJSON_AddStringToObject(o, "change", change_of(d));
            cJSON_AddNumberToObject(o, "change_price", d < 0 ? -d : d);
            cJSON_AddNumberToObject(o, "change_rate", rate < 0 ? -rate : rate);
            cJSON_AddNumberToObject(o, "signed_change_price", d);
            cJSON_AddNumberToObject(o, "signed_change_rate", rate);
            cJSON_AddNumberToObject(o, "acc_trade_price", q->cum_value);
            cJSON_AddNumberToObject(o, "acc_trade_volume", q->cum_volume);
            up_derived_t x;
            up_derive(q, now, &x);
            char date[16], hms[16], kdate[16], khms[16];
            time_t secs = (time_t)(t.venue_time / ST_SEC), ksecs = secs + 9 * 3600;
            struct tm tm;
            strftime(date, sizeof(date), "%Y%m%d", gmtime_r(&secs, &tm));
            strftime(hms, sizeof(hms), "%H%M%S", &tm);
            strftime(kdate, sizeof(kdate), "%Y%m%d", gmtime_r(&ksecs, &tm));
            strftime(khms, sizeof(khms), "%H%M%S", &tm);
            cJSON_AddStringToObject(o, "trade_date", date);
            cJSON_AddStringToObject(o, "trade_time", hms);
            cJSON_AddStringToObject(o, "trade_date_kst", kdate);
            cJSON_AddStringToObject(o, "trade_time_kst", khms);
            cJSON_AddNumberToObject(o, "trade_timestamp", (double)(t.venue_time / ST_MSEC));
            cJSON_AddNumberToObject(o, "trade_volume", q->volume);
            cJSON_AddNumberToObject(o, "acc_trade_price_24h", x.val24);
            cJSON_AddNumberToObject(o, "acc_trade_volume_24h", x.vol24);
            cJSON_AddNumberToObject(o, "highest_52_week_price", x.hi52);
            cJSON_AddStringToObject(o, "highest_52_week_date", x.hi52_date);
            cJSON_AddNumberToObject(o, "lowest_52_week_price", x.lo52);
            cJSON_AddStringToObject(o, "lowest_52_week_date", x.lo52_date);
            cJSON_AddNumberToObject(o, "timestamp", (double)(now / ST_MSEC));
        } else {
            st_simmkt_advance(X.upmkt, ins[i]->sym, now, NULL, NULL);
            st_simmkt_book(X.upmkt, ins[i]->sym, now, &t);
            char cbuf[16];
            const char *cv = lws_get_urlarg_by_name(wsi, "count=", cbuf, sizeof(cbuf));
            double ap[UP_MAX_UNITS], bp[UP_MAX_UNITS], as[UP_MAX_UNITS], bs[UP_MAX_UNITS], ta = 0, tb = 0;
            int nu = up_units(&t.u.book, cv ? atoi(cv) : 30, ap, bp, as, bs);
            for (int k = 0; k < nu; k++) ta += as[k], tb += bs[k];
            cJSON_AddNumberToObject(o, "timestamp", (double)(now / ST_MSEC));
            cJSON_AddNumberToObject(o, "total_ask_size", ta);
            cJSON_AddNumberToObject(o, "total_bid_size", tb);
            cJSON *units = cJSON_AddArrayToObject(o, "orderbook_units");
            for (int k = 0; k < nu; k++) {
                cJSON *u = cJSON_CreateObject();
                cJSON_AddNumberToObject(u, "ask_price", ap[k]);
                cJSON_AddNumberToObject(u, "bid_price", bp[k]);
                cJSON_AddNumberToObject(u, "ask_size", as[k]);
                cJSON_AddNumberToObject(u, "bid_size", bs[k]);
                cJSON_AddItemToArray(units, u);
            }
            cJSON_AddNumberToObject(o, "level", 0);
        }
        cJSON_AddItemToArray(arr, o);
    }
    http_reply_t ok = jreply(200, arr);
    memcpy(ok.remaining, remaining, sizeof(remaining));
    return ok;
}

static char *fault_json(void)
{
    cJSON *j = cJSON_CreateObject();
    st_time_t now = st_clock_now(&X.clock);
    cJSON_AddNumberToObject(j, "stall_ms", now < X.fault.stall_until ? (double)(X.fault.stall_until - now) / 1e3 : 0);
    cJSON_AddNumberToObject(j, "quiet_ms", now < X.fault.quiet_until ? (double)(X.fault.quiet_until - now) / 1e3 : 0);
    cJSON_AddNumberToObject(j, "malformed", X.fault.malformed);
    cJSON_AddNumberToObject(j, "encrypted", X.fault.encrypted);
    cJSON_AddNumberToObject(j, "ack_delay_ms", (double)X.fault.ack_delay / 1e3);
    cJSON_AddNumberToObject(j, "ack_reject", X.fault.ack_reject);
    cJSON_AddNumberToObject(j, "rest_error", X.fault.rest_error);
    cJSON_AddNumberToObject(j, "rest_timeout", X.fault.rest_timeout);
    cJSON_AddBoolToObject(j, "pong_ignore", X.fault.pong_ignore);
    cJSON_AddNumberToObject(j, "drops", (double)X.fault.drops);
    cJSON_AddNumberToObject(j, "malformed_sent", (double)X.fault.malformed_sent);
    cJSON_AddNumberToObject(j, "encrypted_sent", (double)X.fault.encrypted_sent);
    cJSON_AddNumberToObject(j, "acks_rejected", (double)X.fault.acks_rejected);
    cJSON_AddNumberToObject(j, "rest_errors", (double)X.fault.rest_errors);
    cJSON_AddNumberToObject(j, "rest_timeouts", (double)X.fault.rest_timeouts);
    cJSON_AddNumberToObject(j, "rest_jittered", (double)X.fault.jittered);
    char *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return out;
}

/* GET /control/fault?drop=1&stall=30s&quiet=60s&malformed=3&encrypted=1&ack_delay=2s&ack_reject=1&rest_error=2
 *                   &rest_timeout=1&pong_ignore=1 (any subset; 0 or 0s clears). */
static http_reply_t fault(struct lws *wsi)
{
    char buf[128];
    const char *v;
    st_dur_t d;
    st_time_t now = st_clock_now(&X.clock);
    if ((v = lws_get_urlarg_by_name(wsi, "drop=", buf, sizeof(buf))) && atoi(v)) {
        for (session_t *s = X.sessions; s; s = s->next) {
            if (!s->open || !s->wsi) continue;
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
            X.fault.drops++;
        }
    }
    if ((v = lws_get_urlarg_by_name(wsi, "stall=", buf, sizeof(buf))) && st_parse_duration(v, &d) == 0) {
        X.fault.stall_until = now + d;
        stall_rx(d > 0);
    }
    if ((v = lws_get_urlarg_by_name(wsi, "quiet=", buf, sizeof(buf))) && st_parse_duration(v, &d) == 0)
        X.fault.quiet_until = now + d;
    if ((v = lws_get_urlarg_by_name(wsi, "malformed=", buf, sizeof(buf)))) X.fault.malformed = atoi(v);
    if ((v = lws_get_urlarg_by_name(wsi, "encrypted=", buf, sizeof(buf)))) X.fault.encrypted = atoi(v);
    if ((v = lws_get_urlarg_by_name(wsi, "ack_delay=", buf, sizeof(buf))) && st_parse_duration(v, &d) == 0)
        X.fault.ack_delay = d;
    if ((v = lws_get_urlarg_by_name(wsi, "ack_reject=", buf, sizeof(buf)))) X.fault.ack_reject = atoi(v);
    if ((v = lws_get_urlarg_by_name(wsi, "rest_error=", buf, sizeof(buf)))) X.fault.rest_error = atoi(v);
    if ((v = lws_get_urlarg_by_name(wsi, "rest_timeout=", buf, sizeof(buf)))) X.fault.rest_timeout = atoi(v);
    if ((v = lws_get_urlarg_by_name(wsi, "pong_ignore=", buf, sizeof(buf)))) X.fault.pong_ignore = atoi(v) != 0;
    http_reply_t r = {.status = 200, .body = fault_json()};
    return r;
}

static http_reply_t route(struct lws *wsi, bool post, const char *uri, const char *body)
{
    if (!post && strcmp(uri, "/control/fault") == 0) return fault(wsi);
    if (!post && strcmp(uri, "/control/stats") == 0) {
        http_reply_t r = {.status = 200, .body = stats_json()};
        return r;
    }
    if (post && strcmp(uri, "/oauth2/tokenP") == 0) return token(body);
    if (post && strcmp(uri, "/oauth2/Approval") == 0) return approval(body);
    if (!post && strcmp(uri, "/uapi/domestic-stock/v1/quotations/inquire-price") == 0) return inquire_price(wsi);
    if (!post && strcmp(uri, "/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn") == 0)
        return asking_price(wsi);
    if (!post && strcmp(uri, "/uapi/domestic-stock/v1/quotations/intstock-multprice") == 0) return multprice(wsi);
    if (!post && strncmp(uri, "/v1/", 4) == 0) return up_rest(wsi, uri);
    return kis_error(404, "EGW00002", "not found");
}

/* --- libwebsockets -------------------------------------------------------------------------- */

typedef struct {
    session_t *s;
    st_timer_t arrival; /* --rest-jitter: the call reaches the venue when this fires */
    bool deferred;
    char *body; /* HTTP response */
    size_t body_len;
    char uri[256];
    char *req; /* HTTP request body */
    size_t req_len;
} pss_t;

static int respond(struct lws *wsi, pss_t *pss, http_reply_t r)
{
    if (r.status == 0) return 0; /* an injected timeout: the request is never answered */
    pss->body = r.body;
    pss->body_len = strlen(r.body);
    unsigned char hdr[LWS_PRE + 1024], *start = &hdr[LWS_PRE], *p = start, *end = &hdr[sizeof(hdr) - 1];
    if (lws_add_http_common_headers(wsi, (unsigned)r.status, "application/json; charset=utf-8", pss->body_len, &p, end))
        return 1;
    if (r.tr_id && lws_add_http_header_by_name(wsi, (const unsigned char *)"tr_id:", (const unsigned char *)r.tr_id,
                                               (int)strlen(r.tr_id), &p, end))
        return 1;
    if (r.remaining[0] && lws_add_http_header_by_name(wsi, (const unsigned char *)"Remaining-Req:",
                                                      (const unsigned char *)r.remaining, (int)strlen(r.remaining), &p, end))
        return 1;
    if (lws_finalize_write_http_header(wsi, start, &p, end)) return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* --rest-jitter: whether this REST call arrives late, and by how much (venue time). */
static st_dur_t jitter_draw(void)
{
    if (!X.fault.jitter_pct) return 0;
    uint64_t *r = &X.fault.jitter_rng;
    *r ^= *r << 13, *r ^= *r >> 7, *r ^= *r << 17;
    if ((int)(*r % 100) >= X.fault.jitter_pct) return 0;
    *r ^= *r << 13, *r ^= *r >> 7, *r ^= *r << 17;
    X.fault.jittered++;
    return X.fault.jitter_min + (st_dur_t)(*r % (uint64_t)(X.fault.jitter_max - X.fault.jitter_min + 1));
}

static void on_arrival(st_timer_t *t, st_time_t deadline, void *wsi)
{
    lws_callback_on_writable(wsi); /* the deferred call is handled there */
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    pss_t *pss = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        /* Upbit allows a request carrying Origin once per 10 s (protocols.md 2.5) */
        char uri[128] = "";
        lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
        if (strncmp(uri, "/websocket/v1", 13) != 0 || lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0) break;
        st_time_t now = st_clock_now(&X.clock);
        X.up_origin++;
        if (X.up_origin_last && now - X.up_origin_last < 10 * ST_SEC) {
            X.up_origin_refused++;
            return -1; /* the handshake is refused */
        }
        X.up_origin_last = now;
        break;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        session_t *s = st_xcalloc(1, sizeof(*s));
        s->wsi = wsi;
        s->id = ++X.next_id;
        s->open = true;
        s->reg = st_xcalloc(X.syms.n * ST_CH_COUNT + 1, 1);
        s->depth = st_xcalloc(X.syms.n + 1, 1);
        s->level = st_xcalloc(X.syms.n + 1, sizeof(double));
        s->last_tx = s->last_rx = st_clock_now(&X.clock);
        char uri[128] = "";
        lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
        s->upbit = strncmp(uri, "/websocket/v1", 13) == 0;
        s->next = X.sessions;
        X.sessions = s;
        X.sessions_total++;
        pss->s = s;
        break;
    }
    case LWS_CALLBACK_RECEIVE: {
        /* lws may hand one message over in several pieces (when its bytes span reads):
         * gather them until the final fragment is complete. */
        session_t *s = pss->s;
        if (!s) break;
        if (s->rx_len + len + 1 > s->rx_cap) {
            s->rx_cap = (s->rx_len + len + 1) * 2;
            s->rx_buf = st_xrealloc(s->rx_buf, s->rx_cap);
        }
        memcpy(s->rx_buf + s->rx_len, in, len);
        s->rx_len += len;
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) break;
        if (s->upbit)
            on_upbit_text(s, s->rx_buf, s->rx_len); /* text or binary: both are JSON */
        else if (!lws_frame_is_binary(wsi))
            on_text(s, s->rx_buf, s->rx_len);
        s->rx_len = 0;
        break;
    }
    case LWS_CALLBACK_RECEIVE_PONG:
        if (pss->s && !X.fault.pong_ignore) pss->s->pongs++;
        if (pss->s) pss->s->last_rx = st_clock_now(&X.clock);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (pss->s && pss->s->close_policy && !pss->s->head) { /* what was queued went first */
            lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"rate", 4);
            return -1;
        }
        if (pss->s) flush_one(pss->s);
        if (pss->s && pss->s->close_policy) lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: { /* a polite client says why it goes */
        int code = len >= 2 ? ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1] : 0;
        if (code == 1000) X.close_normal++;
        else if (code == 1001) X.close_going_away++;
        else if (code >= 4000 && code < 5000) X.close_strata++;
        else X.close_other++;
        break;
    }
    case LWS_CALLBACK_CLOSED:
        if (pss->s) {
            session_t *s = pss->s;
            for (st_key_t k = 0; k < X.syms.n * ST_CH_COUNT; k++)
                if (s->reg[k]) set_reg(s, k, false);
            for (size_t i = 0; s->candle && i < X.syms.n; i++)
                if (s->candle[i].unit) s->candle[i].unit = 0, X.candle_refs[i]--;
            s->open = false;
            free_queue(s);
            s->wsi = NULL;
        }
        break;
    case LWS_CALLBACK_HTTP: {
        bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
        lws_hdr_copy(wsi, pss->uri, sizeof(pss->uri), post ? WSI_TOKEN_POST_URI : WSI_TOKEN_GET_URI);
        if (post) return 0; /* the body follows */
        st_dur_t late = strncmp(pss->uri, "/control/", 9) != 0 ? jitter_draw() : 0;
        if (late > 0) { /* it reaches the venue's windows later than it was sent */
            pss->deferred = true;
            st_timer_init(&pss->arrival, on_arrival, wsi);
            st_clock_timer_start(&X.clock, &pss->arrival, st_clock_now(&X.clock) + late, 0);
            return 0;
        }
        return respond(wsi, pss, route(wsi, false, pss->uri, ""));
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (pss->req_len + len > 1 << 20) return -1;
        pss->req = st_xrealloc(pss->req, pss->req_len + len + 1);
        memcpy(pss->req + pss->req_len, in, len);
        pss->req_len += len;
        pss->req[pss->req_len] = 0;
        break;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
        int rc = respond(wsi, pss, route(wsi, true, pss->uri, pss->req ? pss->req : ""));
        free(pss->req);
        pss->req = NULL;
        pss->req_len = 0;
        return rc;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (pss && pss->deferred && !st_timer_active(&pss->arrival)) {
            pss->deferred = false;
            return respond(wsi, pss, route(wsi, false, pss->uri, ""));
        }
        if (!pss || !pss->body) break;
        unsigned char *buf = st_xmalloc(LWS_PRE + pss->body_len);
        memcpy(buf + LWS_PRE, pss->body, pss->body_len);
        int n = lws_write(wsi, buf + LWS_PRE, pss->body_len, LWS_WRITE_HTTP_FINAL);
        free(buf);
        free(pss->body);
        pss->body = NULL;
        if (n < 0) return -1;
        if (lws_http_transaction_completed(wsi)) return -1;
        return 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (!pss) break; /* the client left before lws gave the connection its data */
        if (pss->deferred) st_clock_timer_stop(&X.clock, &pss->arrival);
        pss->deferred = false;
        free(pss->body);
        free(pss->req);
        pss->body = pss->req = NULL;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"kis", callback, sizeof(pss_t), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0} /* lws 4.1.6 has no LWS_PROTOCOL_LIST_TERM */
};

static void on_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
    fprintf(stderr, "strata-exsim: duration reached, stopping\n");
    ev_break(loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    ev_break(loop, EVBREAK_ALL);
}

/* Without --start: now while a KRX session runs (a weekday, 08:30-15:30 KST), else the next
 * weekday's 08:55, so a simulator started after hours serves a market. */
static st_time_t next_session(st_time_t now, bool *moved)
{
    struct tm tm;
    st_dur_t tod = st_local_tod(now);
    if (st_tz_localtime(NULL, now, &tm) == 0 && tm.tm_wday >= 1 && tm.tm_wday <= 5 &&
        tod >= 8 * ST_HOUR + 30 * ST_MIN && tod < 15 * ST_HOUR + 30 * ST_MIN)
        return now;
    *moved = true;
    st_time_t day = st_local_midnight(now);
    if (tod >= 8 * ST_HOUR + 30 * ST_MIN) day = st_local_midnight(day + ST_DAY + ST_HOUR); /* tomorrow */
    for (int i = 0; i < 7; i++) {
        if (st_tz_localtime(NULL, day + 12 * ST_HOUR, &tm) == 0 && tm.tm_wday >= 1 && tm.tm_wday <= 5) break;
        day = st_local_midnight(day + ST_DAY + ST_HOUR);
    }
    return day + 8 * ST_HOUR + 55 * ST_MIN;
}

int main(int argc, char **argv)
{
    int port = 0;
    /* strata's own demo lists, embedded like its demo config: no path of the source tree */
    const char *universe = ST_EMBEDDED_PREFIX "universe.csv", *indices = ST_EMBEDDED_PREFIX "indices.csv";
    const char *upbit = ST_EMBEDDED_PREFIX "upbit_markets.csv";
    uint64_t seed = 1;
    double speed = 1;
    const char *start = NULL, *now_at = NULL;
    st_dur_t duration = 300 * ST_SEC;
    const char *tls_dir = NULL; /* --tls: serve wss:// and https:// with DIR/cert.pem and DIR/key.pem */
    char cert[512], key[512];
    X.cap = 41;
    X.ping_idle = 10 * ST_SEC;
    X.token_ttl = ST_DAY;
    X.up_rate_name = "TOO_MANY_REQUEST";
    X.up_close_after = 3;
    static const struct option opts[] = {{"port", 1, 0, 'p'},      {"universe", 1, 0, 'u'}, {"indices", 1, 0, 'i'},
                                         {"seed", 1, 0, 's'},      {"speed", 1, 0, 'x'},    {"start", 1, 0, 't'},
                                         {"cap", 1, 0, 'c'},       {"ping-idle", 1, 0, 'g'}, {"duration", 1, 0, 'd'},
                                         {"paper", 0, 0, 'P'},     {"upbit-markets", 1, 0, 'U'}, {"token-ttl", 1, 0, 'T'}, {"record", 1, 0, 'R'}, {"tls", 1, 0, 'L'}, {"now", 1, 0, 'N'}, {"upbit-rate-error", 1, 0, 'E'}, {"reject-key", 1, 0, 'K'}, {"upbit-close-after", 1, 0, 'C'}, {"rest-jitter", 1, 0, 'J'},     {"help", 0, 0, 'h'},      {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': port = atoi(optarg); break;
        case 'u': universe = optarg; break;
        case 'i': indices = optarg; break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'x': speed = atof(optarg); break;
        case 't': start = optarg; break;
        case 'N': now_at = optarg; break;
        case 'E': X.up_rate_name = optarg; break;
        case 'K': X.reject_key = optarg; break;
        case 'C': X.up_close_after = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'J': { /* PCT:MIN-MAX, e.g. 10:10ms-50ms */
            char lo[32] = "", hi[32] = "";
            if (sscanf(optarg, "%d:%31[^-]-%31s", &X.fault.jitter_pct, lo, hi) != 3 || X.fault.jitter_pct < 0 ||
                X.fault.jitter_pct > 100 || st_parse_duration(lo, &X.fault.jitter_min) ||
                st_parse_duration(hi, &X.fault.jitter_max) || X.fault.jitter_min < 0 ||
                X.fault.jitter_max < X.fault.jitter_min)
                return fprintf(stderr, "bad --rest-jitter (PCT:MIN-MAX, e.g. 10:10ms-50ms)\n"), 2;
            break;
        }
        case 'c': X.cap = atoi(optarg); break;
        case 'P': X.paper = true; break;
        case 'U': upbit = optarg; break;
        case 'L': tls_dir = optarg; break;
        case 'R':
            if (!(X.record = fopen(optarg, "w"))) return fprintf(stderr, "cannot write %s\n", optarg), 2;
            break;
        case 'T':
            if (st_parse_duration(optarg, &X.token_ttl) || X.token_ttl <= 0) return fprintf(stderr, "bad --token-ttl\n"), 2;
            break;
        case 'g':
            if (st_parse_duration(optarg, &X.ping_idle)) return fprintf(stderr, "bad --ping-idle\n"), 2;
            break;
        case 'd':
            if (st_parse_duration(optarg, &duration)) return fprintf(stderr, "bad --duration\n"), 2;
            break;
        default:
            printf("usage: strata-exsim [--port N] [--universe F] [--indices F] [--seed S] [--speed X] "
                   "[--start \"YYYY-MM-DD HH:MM\"] [--cap N] [--ping-idle DUR] [--duration DUR] [--paper]\n"
                   "                    [--upbit-markets F] [--token-ttl DUR] [--record FILE] [--tls DIR]\n"
                   "                    [--rest-jitter PCT:MIN-MAX]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    X.fault.jitter_rng = seed * 0x9E3779B97F4A7C15ull + 1;
    st_tz_set("Asia/Seoul");
    X.utc_offset = 9 * 3600;
    st_symtab_init(&X.syms);
    X.arena = st_arena_create(0);
    st_diags_t d;
    st_diags_init(&d);
    if (st_universe_load(&X.uni, universe, indices, &X.syms, X.arena, &d) ||
        st_universe_load(&X.upuni, upbit, "", &X.syms, X.arena, &d)) {
        for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s:%d:%d: %s\n", d.items[i].file, d.items[i].line, d.items[i].col, d.items[i].msg);
        return 1;
    }
    st_diags_free(&d);
    st_time_t t0 = st_wall_now();
    bool moved = false;
    if (now_at) { /* what "now" is, to test the choice below */
        struct tm tm;
        if (st_parse_datetime(now_at, &tm) || st_tz_mktime(NULL, &tm, &t0)) return fprintf(stderr, "bad --now\n"), 2;
    }
    if (start) {
        struct tm tm;
        if (st_parse_datetime(start, &tm) || st_tz_mktime(NULL, &tm, &t0)) return fprintf(stderr, "bad --start\n"), 2;
    } else {
        t0 = next_session(t0, &moved);
    }
    /* A client that vanishes mid-answer must cost its connection, not the simulator. */
    signal(SIGPIPE, SIG_IGN);
    X.loop = ev_default_loop(0);
    st_clock_init_sim(&X.clock, X.loop, t0, speed);
    st_simmkt_params_t p = {.seed = seed, .activity = 1, .volatility = 1, .halt_rate = 1,
                            .pre_open = 8 * ST_HOUR + 30 * ST_MIN, .open = 9 * ST_HOUR,
                            .closing_auction = 15 * ST_HOUR + 20 * ST_MIN, .close = 15 * ST_HOUR + 30 * ST_MIN,
                            .utc_offset = X.utc_offset};
    X.mkt = st_simmkt_create(&p, &X.uni, t0);
    st_simmkt_params_t up = p; /* crypto trades around the clock, on UTC days */
    up.pre_open = up.open = 0;
    up.closing_auction = up.close = ST_DAY - 1;
    up.utc_offset = 0;
    up.activity = 50; /* market OTHER draws KONEX-like rates; crypto trades far more */
    X.upmkt = st_simmkt_create(&up, &X.upuni, t0);
    X.trade_refs = st_xcalloc(X.syms.n + 1, sizeof(uint16_t));
    X.book_refs = st_xcalloc(X.syms.n + 1, sizeof(uint16_t));
    X.candle_refs = st_xcalloc(X.syms.n + 1, sizeof(uint16_t));
    X.up_ticks = st_xcalloc(X.upuni.n + 1, sizeof(*X.up_ticks));

    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    void *loops[1] = {X.loop};
    info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   (tls_dir ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    info.foreign_loops = loops;
    X.ctx = lws_create_context(&info);
    if (!X.ctx) return fprintf(stderr, "strata-exsim: cannot create the websocket context\n"), 1;
    memset(&info, 0, sizeof(info));
    info.port = port;
    info.iface = "127.0.0.1";
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6; /* else lws binds [::], every interface */
    info.protocols = protocols;
    info.vhost_name = "exsim";
    if (tls_dir) {
        snprintf(cert, sizeof(cert), "%s/cert.pem", tls_dir);
        snprintf(key, sizeof(key), "%s/key.pem", tls_dir);
        info.ssl_cert_filepath = cert;
        info.ssl_private_key_filepath = key;
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT; /* lws enables TLS on a vhost only with it */
    }
    X.vhost = lws_create_vhost(X.ctx, &info);
    if (!X.vhost) return fprintf(stderr, "strata-exsim: cannot listen on 127.0.0.1:%d\n", port), 1;

    st_timer_init(&X.market_timer, on_market, NULL);
    st_timer_init(&X.delay_timer, on_delayed, NULL);
    st_clock_timer_start(&X.clock, &X.market_timer, t0 + 100 * ST_MSEC, 100 * ST_MSEC);
    ev_timer_init(&X.stop_timer, on_stop, (double)duration / 1e6, 0);
    ev_timer_start(X.loop, &X.stop_timer);
    ev_signal_init(&X.sigint, on_signal, SIGINT);
    ev_signal_init(&X.sigterm, on_signal, SIGTERM);
    ev_signal_start(X.loop, &X.sigint);
    ev_signal_start(X.loop, &X.sigterm);
    char when[40];
    st_format_datetime(t0, when, sizeof(when), false);
    printf("strata-exsim: listening on 127.0.0.1:%d; market time %s KST%s\n", lws_get_vhost_listen_port(X.vhost),
           when, moved ? " (the next session's open: the KRX market is closed now; --start sets another)" : "");
    fflush(stdout);
    ev_run(X.loop, 0);

    lws_context_destroy(X.ctx);
    for (session_t *s = X.sessions; s;) {
        session_t *n = s->next;
        free_queue(s);
        free(s->reg);
        free(s->depth);
        free(s->level);
        free(s->candle);
        free(s->rx_buf);
        free(s);
        s = n;
    }
    for (struct delayed *q = X.delayed; q;) {
        struct delayed *next = q->next;
        free(q->text);
        free(q);
        q = next;
    }
    if (X.record) fclose(X.record);
    st_clock_free(&X.clock);
    st_simmkt_destroy(X.mkt);
    st_simmkt_destroy(X.upmkt);
    free(X.trade_refs);
    free(X.book_refs);
    free(X.candle_refs);
    free(X.up_ticks);
    st_arena_destroy(X.arena);
    st_symtab_free(&X.syms);
    return 0;
}
