/* strata-exsim: a local exchange simulator that speaks KIS's and Upbit's WebSocket and REST
 * protocols as the venues do (their limits, answers and faults), driven by the same simulated
 * market as strata's embedded sim feed. It binds 127.0.0.1 only and stops by itself (--duration,
 * or the test that spawned it).
 *
 *   strata-exsim [--port N] [--universe FILE] [--indices FILE] [--seed S] [--speed X]
 *                [--start "YYYY-MM-DD HH:MM"] [--cap N] [--ping-idle DUR] [--duration DUR]
 *                [--rest-jitter PCT:MIN-MAX] (PCT % of REST calls reach the venue MIN-MAX late)
 *                [--calendar krx|24/7|FILE] (the KRX market's trading days: strata's calendar)
 *
 * It prints "strata-exsim: listening on 127.0.0.1:PORT; market time ..." once ready (port 0 picks
 * a free one). Without --start the market time is now while a KRX session runs, else 08:55 on the
 * next trading day of the calendar (the first line says so). The KRX market trades the calendar's
 * days and sessions (none on a holiday; 10:00 on the year's first day), as strata's sim feed does.
 * KIS WebSocket on any path (/, /tryitout, /tryitout/<tr_id>): JSON register/unregister
 * (tr_type 1/2) answered with SUBSCRIBE SUCCESS, UNSUBSCRIBE SUCCESS, ALREADY IN SUBSCRIBE,
 * MAX SUBSCRIBE OVER past the cap, OPSP0003 for unknown unregisters, OPSP8991/8992 for unknown
 * tr_id/tr_key, JSON PARSING ERROR for bad JSON, ALREADY IN USE appkey for a second session on
 * one approval key; PINGPONG when a session is quiet (a text echo or a pong counts as an
 * answer); data frames 0|H0STCNT0|NNN|… (up to 20 records per frame) and 0|H0STASP0|001|….
 * GET /control/stats returns the accounting as JSON. */
#include "exsim.h"

exsim_t X;
const char *const up_types[3] = {"ticker", "trade", "orderbook"};
const st_channel_t up_ch[3] = {ST_CH_TICKER, ST_CH_TRADE, ST_CH_BOOK};

/* --- sending ---------------------------------------------------------------------------- */

void ex_enqueue_as(session_t *s, const char *text, size_t len, bool binary)
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
    ex_enqueue_as(s, text, len, false);
}

/* A server frame's header (FIN, opcode, unmasked length: RFC 6455 5.2) into h; its length.
 * The simulator's own, not strata's framing (wsframe.c): a second hand, as for the frames. */
static size_t frame_header(unsigned char *h, bool binary, size_t len)
{
    h[0] = binary ? 0x82 : 0x81;
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++) h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

/* The record lines of a message sent now: the latency benchmark measures from here. */
static void sent(session_t *s, msg_t *m, long long wall)
{
    if (m->rec) {
        for (char *line = m->rec, *nl; (nl = strchr(line, '\n')); line = nl + 1)
            fprintf(X.record, "%.*s @%lld\n", (int)(nl - line), line, wall);
        free(m->rec);
    }
    s->head = m->next;
    if (!s->head) s->tail = NULL;
    s->queued--;
    free(m);
}

#define BATCH_BYTES 65536 /* queued messages written together, framed here, in one write */

/* Writes what is queued: one message as libwebsockets frames it, or several framed here into
 * one buffer and one write (a write per frame made the simulator, not strata, the bottleneck
 * of the end-to-end benchmarks). */
static void flush(session_t *s)
{
    msg_t *m = s->head;
    if (!m) return;
    size_t total = 0, n = 0;
    for (msg_t *k = m; k && (n == 0 || total + k->len + 10 <= BATCH_BYTES); k = k->next, n++) total += k->len + 10;
    if (n == 1) {
        if (lws_write(s->wsi, m->data + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)m->len)
            return;
        sent(s, m, (long long)st_wall_now());
    } else {
        unsigned char *buf = st_xmalloc(LWS_PRE + total), *p = buf + LWS_PRE;
        size_t i = 0;
        for (msg_t *k = m; i < n; k = k->next, i++) {
            p += frame_header(p, k->binary, k->len);
            memcpy(p, k->data + LWS_PRE, k->len);
            p += k->len;
        }
        size_t len = (size_t)(p - (buf + LWS_PRE));
        int w = lws_write(s->wsi, buf + LWS_PRE, len, LWS_WRITE_RAW);
        free(buf);
        if (w < (int)len) return;
        long long wall = (long long)st_wall_now();
        for (i = 0; i < n; i++) sent(s, s->head, wall);
    }
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
void ex_answer(session_t *s, const char *text, size_t len)
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

void ex_reply(session_t *s, const char *tr_id, const char *tr_key, const char *rt, const char *cd,
                  const char *msg1, bool output)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf),
                     "{\"header\":{\"tr_id\":\"%s\",\"tr_key\":\"%s\",\"encrypt\":\"N\"},\"body\":{\"rt_cd\":\"%s\","
                     "\"msg_cd\":\"%s\",\"msg1\":\"%s\"%s}}",
                     tr_id, tr_key, rt, cd, msg1,
                     output ? ",\"output\":{\"iv\":\"55ce3d099479ce11\",\"key\":\"tvldhmfplvgcovaqrspclzhdotfzzequ\"}" : "");
    ex_answer(s, buf, (size_t)n);
}

/* --- the market ------------------------------------------------------------------------------ */


void ex_collect(const st_tick_t *t, void *ctx)
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


/* --record: one line per KIS data record sent, from the simulator's own tick (not from the
 * frame), so a test can compare what a client decoded with what was meant:
 *   T code unix_seconds price volume cum_volume open high low best_bid best_ask halted
 *   B code unix_seconds ask1 bid1 ask1_qty bid1_qty ask10 bid10 total_ask_qty total_bid_qty
 * Times are whole seconds (the wire carries HHMMSS). Lines are written when their frame goes to
 * the socket, each ending " @<wall µs>" of that moment (the send-to-tick latency benchmark reads
 * it); a frame never sent (its session closed first) is not recorded. */
void ex_rec_add(const char *fmt, ...)
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
        ex_rec_add("B %s %lld %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f", code, secs, b->ask[0], b->bid[0],
                b->ask_qty[0], b->bid_qty[0], b->ask[9], b->bid[9], b->total_ask_qty, b->total_bid_qty);
    } else {
        const st_trade_t *q = &t->u.trade;
        ex_rec_add("T %s %lld %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %d", code, secs, q->price, q->volume,
                q->cum_volume, q->open, q->high, q->low, q->best_bid, q->best_ask, (t->flags & ST_TICK_HALTED) != 0);
    }
    ex_rec_add("\n");
}

/* A stall looks like a dead link: the sessions open at its start are not read (so a ping is
 * never answered) until it ends; sessions opened meanwhile are quiet but alive. */
void ex_stall_rx(bool pause)
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
    if (X.fault.stall_rx) ex_stall_rx(false);
    if (now < X.fault.quiet_until) return; /* after hours, illiquid symbols: quiet, not dead */
    for (size_t i = 0; i < X.uni.n; i++) {
        const st_instrument_t *ins = &X.uni.items[i];
        st_sym_t sym = ins->sym;
        if (!X.trade_refs[sym] && !X.book_refs[sym]) continue;
        for (;;) { /* busy symbols: several frames of up to 20 records */
            batch_t b = {.n = 0};
            st_time_t until = now;
            while (b.n < MAX_BATCH && st_simmkt_next_event(X.mkt, sym) <= until)
                st_simmkt_advance(X.mkt, sym, st_simmkt_next_event(X.mkt, sym), ex_collect, &b);
            if (b.n == 0) break;
            if (X.trade_refs[sym]) {
                size_t len = ex_kis_trades_frame(frame, sizeof(frame), ins->market == ST_MKT_INDEX ? "H0UPCNT0"
                                                 : "H0STCNT0", b.t, ins->code, (size_t)b.n, X.utc_offset);
                if (X.record)
                    for (int k = 0; k < b.n; k++) record_tick(&b.t[k], ins->code);
                send_to(ST_KEY(sym, ST_CH_TRADE), frame, len);
            }
            if (X.book_refs[sym]) {
                st_tick_t book;
                st_simmkt_book(X.mkt, sym, b.t[b.n - 1].venue_time, &book);
                size_t len = ex_kis_book_frame(frame, sizeof(frame), &book, ins->code, X.utc_offset);
                if (X.record) record_tick(&book, ins->code);
                send_to(ST_KEY(sym, ST_CH_BOOK), frame, len);
            }
            if (b.n < MAX_BATCH) break;
        }
    }
    ex_up_market(now);
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

/* A WebSocket handshake: Upbit refuses a request carrying Origin within 10 s of the last one
 * (protocols.md 2.5). -1 refuses it. */
static int on_handshake(struct lws *wsi)
{
    char uri[128] = "";
    lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    if (strncmp(uri, "/websocket/v1", 13) != 0 || lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0) return 0;
    st_time_t now = st_clock_now(&X.clock);
    X.up_origin++;
    if (X.up_origin_last && now - X.up_origin_last < 10 * ST_SEC) {
        X.up_origin_refused++;
        return -1;
    }
    X.up_origin_last = now;
    return 0;
}

/* A WebSocket session opened: KIS's on any path, Upbit's on /websocket/v1. */
static void on_established(struct lws *wsi, pss_t *pss)
{
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
}

/* Bytes of a message from s: lws may hand one message over in several pieces (when its bytes
 * span reads), gathered until the final fragment is complete, then to its venue's protocol. */
static void on_receive(struct lws *wsi, session_t *s, const void *in, size_t len)
{
    if (s->rx_len + len + 1 > s->rx_cap) {
        s->rx_cap = (s->rx_len + len + 1) * 2;
        s->rx_buf = st_xrealloc(s->rx_buf, s->rx_cap);
    }
    memcpy(s->rx_buf + s->rx_len, in, len);
    s->rx_len += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) return;
    if (s->upbit)
        ex_on_upbit_text(s, s->rx_buf, s->rx_len); /* text or binary: both are JSON */
    else if (!lws_frame_is_binary(wsi))
        ex_on_text(s, s->rx_buf, s->rx_len);
    s->rx_len = 0;
}

/* A session closed: what it held is released (the accounting keeps it). */
static void on_ws_closed(session_t *s)
{
    for (st_key_t k = 0; k < X.syms.n * ST_CH_COUNT; k++)
        if (s->reg[k]) ex_set_reg(s, k, false);
    for (size_t i = 0; s->candle && i < X.syms.n; i++)
        if (s->candle[i].unit) s->candle[i].unit = 0, X.candle_refs[i]--;
    s->open = false;
    free_queue(s);
    s->wsi = NULL;
}

/* An HTTP request: a POST's body follows; a REST call may reach the venue late (--rest-jitter). */
static int on_http(struct lws *wsi, pss_t *pss)
{
    bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    lws_hdr_copy(wsi, pss->uri, sizeof(pss->uri), post ? WSI_TOKEN_POST_URI : WSI_TOKEN_GET_URI);
    if (post) return 0;
    st_dur_t late = strncmp(pss->uri, "/control/", 9) != 0 ? jitter_draw() : 0;
    if (late > 0) { /* it reaches the venue's windows later than it was sent */
        pss->deferred = true;
        st_timer_init(&pss->arrival, on_arrival, wsi);
        st_clock_timer_start(&X.clock, &pss->arrival, st_clock_now(&X.clock) + late, 0);
        return 0;
    }
    return respond(wsi, pss, ex_route(wsi, false, pss->uri, ""));
}

/* An HTTP connection may write: a deferred call is answered now, or the answer is sent. */
static int on_http_writeable(struct lws *wsi, pss_t *pss)
{
    if (pss && pss->deferred && !st_timer_active(&pss->arrival)) {
        pss->deferred = false;
        return respond(wsi, pss, ex_route(wsi, false, pss->uri, ""));
    }
    if (!pss || !pss->body) return 0;
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

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    pss_t *pss = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: return on_handshake(wsi);
    case LWS_CALLBACK_ESTABLISHED: on_established(wsi, pss); break;
    case LWS_CALLBACK_RECEIVE:
        if (pss->s) on_receive(wsi, pss->s, in, len);
        break;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (pss->s && !X.fault.pong_ignore) pss->s->pongs++;
        if (pss->s) pss->s->last_rx = st_clock_now(&X.clock);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (pss->s && pss->s->close_policy && !pss->s->head) { /* what was queued went first */
            lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"rate", 4);
            return -1;
        }
        if (pss->s) flush(pss->s);
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
        if (pss->s) on_ws_closed(pss->s);
        break;
    case LWS_CALLBACK_HTTP: return on_http(wsi, pss);
    case LWS_CALLBACK_HTTP_BODY:
        if (pss->req_len + len > 1 << 20) return -1;
        pss->req = st_xrealloc(pss->req, pss->req_len + len + 1);
        memcpy(pss->req + pss->req_len, in, len);
        pss->req_len += len;
        pss->req[pss->req_len] = 0;
        break;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
        int rc = respond(wsi, pss, ex_route(wsi, true, pss->uri, pss->req ? pss->req : ""));
        free(pss->req);
        pss->req = NULL;
        pss->req_len = 0;
        return rc;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: return on_http_writeable(wsi, pss);
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

static const st_session_t krx_session = {8 * ST_HOUR + 30 * ST_MIN, 9 * ST_HOUR, 15 * ST_HOUR + 20 * ST_MIN,
                                         15 * ST_HOUR + 30 * ST_MIN};

/* Without --start: now while a KRX session runs (a trading day of the calendar, from its
 * pre-open to its close), else 5 minutes before the next trading day's open, so a simulator
 * started after hours or on a holiday serves a market. */
static st_time_t next_session(st_time_t now, bool *moved)
{
    st_day_t d;
    st_dur_t tod = st_local_tod(now);
    int32_t day = st_local_day(now);
    st_calendar_day(&X.calendar, &krx_session, day, &d);
    if (d.trading && tod >= d.s.pre_open && tod < d.s.close) return now;
    *moved = true;
    if (!d.trading || tod >= d.s.pre_open) day++;
    day = st_calendar_next_trading(&X.calendar, day);
    st_calendar_day(&X.calendar, &krx_session, day, &d);
    return st_day_start(day) + d.s.open - 5 * ST_MIN;
}

/* The command line. */
typedef struct {
    int port;
    const char *universe, *indices, *upbit; /* default: strata's demo lists, embedded (no tree path) */
    uint64_t seed;
    double speed;
    const char *start, *now_at;
    st_dur_t duration;
    const char *tls_dir; /* --tls: serve wss:// and https:// with DIR/cert.pem and DIR/key.pem */
    const char *calendar; /* the KRX market's days: krx (strata's), 24/7, or a calendar file */
} args_t;

/* Fills a and X's settings from argv: -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, args_t *a)
{
    *a = (args_t){.universe = ST_EMBEDDED_PREFIX "universe.csv", .indices = ST_EMBEDDED_PREFIX "indices.csv",
                  .upbit = ST_EMBEDDED_PREFIX "upbit_markets.csv", .seed = 1, .speed = 1, .duration = 300 * ST_SEC,
                  .calendar = "krx"};
    X.cap = 41;
    X.ping_idle = 10 * ST_SEC;
    X.token_ttl = ST_DAY;
    X.approval_ttl = ST_DAY;
    X.up_rate_name = "TOO_MANY_REQUEST";
    X.up_close_after = 3;
    static const struct option opts[] = {
        {"port", 1, 0, 'p'},        {"universe", 1, 0, 'u'},         {"indices", 1, 0, 'i'},
        {"seed", 1, 0, 's'},        {"speed", 1, 0, 'x'},            {"start", 1, 0, 't'},
        {"cap", 1, 0, 'c'},         {"ping-idle", 1, 0, 'g'},        {"duration", 1, 0, 'd'},
        {"paper", 0, 0, 'P'},       {"upbit-markets", 1, 0, 'U'},    {"token-ttl", 1, 0, 'T'},
        {"record", 1, 0, 'R'},      {"tls", 1, 0, 'L'},              {"now", 1, 0, 'N'},
        {"upbit-rate-error", 1, 0, 'E'}, {"reject-key", 1, 0, 'K'},  {"upbit-close-after", 1, 0, 'C'},
        {"rest-jitter", 1, 0, 'J'}, {"calendar", 1, 0, 'A'},         {"approval-ttl", 1, 0, 'Y'},
        {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': a->port = atoi(optarg); break;
        case 'u': a->universe = optarg; break;
        case 'i': a->indices = optarg; break;
        case 's': a->seed = strtoull(optarg, NULL, 10); break;
        case 'x': a->speed = atof(optarg); break;
        case 't': a->start = optarg; break;
        case 'A': a->calendar = optarg; break;
        case 'Y':
            if (st_parse_duration(optarg, &X.approval_ttl) || X.approval_ttl <= 0)
                return fprintf(stderr, "bad --approval-ttl\n"), 2;
            break;
        case 'N': a->now_at = optarg; break;
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
        case 'U': a->upbit = optarg; break;
        case 'L': a->tls_dir = optarg; break;
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
            if (st_parse_duration(optarg, &a->duration)) return fprintf(stderr, "bad --duration\n"), 2;
            break;
        default:
            printf("usage: strata-exsim [--port N] [--universe F] [--indices F] [--seed S] [--speed X] "
                   "[--start \"YYYY-MM-DD HH:MM\"] [--cap N] [--ping-idle DUR] [--duration DUR] [--paper]\n"
                   "                    [--upbit-markets F] [--token-ttl DUR] [--record FILE] [--tls DIR]\n"
                   "                    [--rest-jitter PCT:MIN-MAX] [--calendar krx|24/7|FILE] [--approval-ttl DUR]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    X.fault.jitter_rng = a->seed * 0x9E3779B97F4A7C15ull + 1;
    return -1;
}

/* The simulated KRX and Upbit markets from t0, and the per-symbol tables. */
static void markets(const args_t *a, st_time_t t0)
{
    st_simmkt_params_t p = {.seed = a->seed, .activity = 1, .volatility = 1, .halt_rate = 1,
                            .pre_open = krx_session.pre_open, .open = krx_session.open,
                            .closing_auction = krx_session.closing_auction, .close = krx_session.close,
                            .utc_offset = X.utc_offset, .calendar = &X.calendar};
    X.mkt = st_simmkt_create(&p, &X.uni, t0);
    st_simmkt_params_t up = p; /* crypto trades around the clock, on UTC days */
    up.calendar = NULL;
    up.pre_open = up.open = 0;
    up.closing_auction = up.close = ST_DAY - 1;
    up.utc_offset = 0;
    up.activity = 50; /* market OTHER draws KONEX-like rates; crypto trades far more */
    X.upmkt = st_simmkt_create(&up, &X.upuni, t0);
    X.trade_refs = st_xcalloc(X.syms.n + 1, sizeof(uint16_t));
    X.book_refs = st_xcalloc(X.syms.n + 1, sizeof(uint16_t));
    X.candle_refs = st_xcalloc(X.syms.n + 1, sizeof(uint16_t));
    X.up_ticks = st_xcalloc(X.upuni.n + 1, sizeof(*X.up_ticks));
}

/* The server: one vhost on 127.0.0.1:port (TLS with tls_dir's certificate): 0, or the exit code. */
static int listen_on(int port, const char *tls_dir)
{
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
    char cert[512], key[512];
    if (tls_dir) {
        snprintf(cert, sizeof(cert), "%s/cert.pem", tls_dir);
        snprintf(key, sizeof(key), "%s/key.pem", tls_dir);
        info.ssl_cert_filepath = cert;
        info.ssl_private_key_filepath = key;
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT; /* lws enables TLS on a vhost only with it */
    }
    X.vhost = lws_create_vhost(X.ctx, &info);
    if (!X.vhost) return fprintf(stderr, "strata-exsim: cannot listen on 127.0.0.1:%d\n", port), 1;
    return 0;
}

/* Everything the run held, after the loop. */
static void teardown(void)
{
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
}

int main(int argc, char **argv)
{
    args_t a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    st_tz_set("Asia/Seoul");
    X.utc_offset = 9 * 3600;
    st_symtab_init(&X.syms);
    X.arena = st_arena_create(0);
    st_diags_t d;
    st_diags_init(&d);
    if (st_universe_load(&X.uni, a.universe, a.indices, &X.syms, X.arena, &d) ||
        st_universe_load(&X.upuni, a.upbit, "", &X.syms, X.arena, &d) ||
        st_calendar_load(a.calendar, &krx_session, X.arena, &X.calendar, &d)) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "%s:%d:%d: %s\n", d.items[i].file, d.items[i].line, d.items[i].col, d.items[i].msg);
        return 1;
    }
    st_diags_free(&d);
    st_time_t t0 = st_wall_now();
    bool moved = false;
    struct tm tm;
    if (a.now_at && (st_parse_datetime(a.now_at, &tm) || st_tz_mktime(NULL, &tm, &t0))) /* "now", for tests */
        return fprintf(stderr, "bad --now\n"), 2;
    if (a.start && (st_parse_datetime(a.start, &tm) || st_tz_mktime(NULL, &tm, &t0)))
        return fprintf(stderr, "bad --start\n"), 2;
    if (!a.start) t0 = next_session(t0, &moved);
    /* A client that vanishes mid-answer must cost its connection, not the simulator. */
    signal(SIGPIPE, SIG_IGN);
    X.loop = ev_default_loop(0);
    st_clock_init_sim(&X.clock, X.loop, t0, a.speed);
    markets(&a, t0);
    if ((rc = listen_on(a.port, a.tls_dir)) != 0) return rc;

    st_timer_init(&X.market_timer, on_market, NULL);
    st_timer_init(&X.delay_timer, on_delayed, NULL);
    st_clock_timer_start(&X.clock, &X.market_timer, t0 + 100 * ST_MSEC, 100 * ST_MSEC);
    ev_timer_init(&X.stop_timer, on_stop, (double)a.duration / 1e6, 0);
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
    teardown();
    return 0;
}
