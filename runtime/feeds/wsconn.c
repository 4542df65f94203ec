#include "wsconn.h"
#include "core/log.h"
#include "core/timefmt.h" /* st_wall_now */

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct st_wsmsg {
    st_wsmsg_t *next;
    size_t len;
    bool binary;
    unsigned char data[]; /* LWS_PRE + ST_WS_MAX_HEADER bytes, then the message */
};

st_dur_t st_wsconn_backoff(st_dur_t min, st_dur_t max, int attempt, double r01)
{
    st_dur_t d = min;
    for (int i = 0; i < attempt && d < max; i++) d *= 2;
    if (d > max) d = max;
    return (st_dur_t)((double)d * (0.5 + 0.5 * r01));
}

static double rand01(st_wsconn_t *w)
{
    w->rng ^= w->rng << 13, w->rng ^= w->rng >> 7, w->rng ^= w->rng << 17;
    return (double)(w->rng >> 11) / 9007199254740992.0;
}

int st_wsconn_url_parse(const char *url, char *host, size_t hostlen, int *port, char *path, size_t pathlen, bool *tls)
{
    char buf[512];
    const char *prot = NULL, *h = NULL, *p = NULL;
    if (strlen(url) >= sizeof(buf)) return -EINVAL;
    snprintf(buf, sizeof(buf), "%s", url);
    if (lws_parse_uri(buf, &prot, &h, port, &p) || !*h) return -EINVAL;
    if (strcmp(prot, "ws") != 0 && strcmp(prot, "wss") != 0) return -EINVAL;
    *tls = strcmp(prot, "wss") == 0;
    if ((size_t)snprintf(host, hostlen, "%s", h) >= hostlen || (size_t)snprintf(path, pathlen, "/%s", p) >= pathlen)
        return -EINVAL;
    return 0;
}

static void drop_queue(st_wsconn_t *w)
{
    for (st_wsmsg_t *m = w->head; m;) {
        st_wsmsg_t *n = m->next;
        free(m);
        m = n;
    }
    w->head = w->tail = NULL;
}

static st_dur_t probe_wait(const st_wsconn_t *w)
{
    return w->stall_timeout / 3 > ST_SEC ? w->stall_timeout / 3 : ST_SEC;
}

static void arm_stall(st_wsconn_t *w)
{
    st_time_t at = w->last_rx + w->stall_timeout + (w->probing ? probe_wait(w) : 0);
    st_clock_timer_start(w->clock, &w->stall, at, 0);
}

/* Anything from the venue (a frame, a pong) shows the session alive. */
static void heard(st_wsconn_t *w)
{
    w->last_rx = st_clock_now(w->clock);
    w->probing = false;
}

static void on_stall(st_timer_t *t, st_time_t now, void *ctx)
{
    st_wsconn_t *w = ctx;
    if (w->state != ST_WSCONN_OPEN) return;
    if (now - w->last_rx < w->stall_timeout) {
        arm_stall(w);
        return;
    }
    if (w->cb.subscribed && !w->cb.subscribed(w, w->cb_ctx)) { /* nothing subscribed: quiet is fine */
        heard(w);
        arm_stall(w);
        return;
    }
    if (!w->probing && w->wsi && !w->closing) { /* quiet, or dead? ask */
        w->probing = w->ping_due = true;
        w->probes++;
        st_log_debug(FEED, "%s: session %d: no frame for %.1f s: ping", w->feed, w->index,
                     (double)(now - w->last_rx) / ST_SEC);
        lws_callback_on_writable(w->wsi);
        arm_stall(w);
        return;
    }
    w->stalls++;
    st_log_warn(FEED, "%s: session %d: stalled stream: no frame for %.1f s while subscribed, and no answer to a ping",
                w->feed, w->index, (double)(now - w->last_rx) / ST_SEC);
    st_wsconn_close(w, ST_WSCONN_CLOSE_STALLED);
}

static void on_retry(st_timer_t *t, st_time_t now, void *ctx)
{
    st_wsconn_t *w = ctx;
    if (!w->running) return;
    w->state = ST_WSCONN_PREPARING;
    if (w->cb.prepare)
        w->cb.prepare(w, w->cb_ctx);
    else
        st_wsconn_connect(w);
}

void st_wsconn_retry(st_wsconn_t *w, const char *why, bool long_wait)
{
    if (!w->running) {
        w->state = ST_WSCONN_IDLE;
        return;
    }
    long_wait = long_wait || w->long_wait;
    w->long_wait = false;
    st_dur_t d = long_wait ? w->backoff_max : st_wsconn_backoff(w->backoff_min, w->backoff_max, w->failures, rand01(w));
    w->failures++;
    w->state = ST_WSCONN_WAITING;
    st_log_warn(FEED, "%s: session %d: %s; reconnecting in %.1f s", w->feed, w->index, why, (double)d / ST_SEC);
    st_clock_timer_start(w->clock, &w->retry, st_clock_now(w->clock) + d, 0);
}

/* A random 32-bit word (xorshift64; seeded from the kernel's randomness in init). */
static uint32_t rand32(st_wsconn_t *w)
{
    w->rng ^= w->rng << 13, w->rng ^= w->rng >> 7, w->rng ^= w->rng << 17;
    return (uint32_t)(w->rng >> 32);
}

void st_wsconn_connect(st_wsconn_t *w)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = w->ctx;
    ci.address = w->host;
    ci.port = w->port;
    ci.path = w->path;
    ci.host = w->host;
    /* A connected socket and nothing more: TLS is tlsbio.c's, the WebSocket protocol wsframe.c's
     * (libwebsockets 4.1 cannot start TLS on a raw client connection: it tries before the socket
     * exists, "tls start fail"). */
    ci.method = "RAW";
    ci.local_protocol_name = "strata-feed";
    ci.opaque_user_data = w;
    ci.pwsi = &w->wsi;
    w->state = ST_WSCONN_CONNECTING;
    w->closing = w->upgraded = w->request_due = w->pong_due = w->echo_close = false;
    w->peer_close = 0;
    w->buflen = 0;
    w->why[0] = '\0';
    st_wsrx_reset(&w->rx);
    st_tls_free(w->tls_session);
    w->tls_session = w->tls ? st_tls_new(w->tls_ctx, w->host) : NULL;
    uint8_t nonce[16];
    for (int i = 0; i < 16; i += 4) {
        uint32_t r = rand32(w);
        memcpy(nonce + i, &r, 4);
    }
    st_ws_key(nonce, w->key);
    if (!lws_client_connect_via_info(&ci)) {
        w->wsi = NULL;
        st_wsconn_retry(w, "cannot start a connection", false);
    }
}

void st_wsconn_close(st_wsconn_t *w, int code)
{
    if (w->wsi && !w->closing) {
        w->closing = true;
        w->close_code = code;
        lws_callback_on_writable(w->wsi); /* closes from the writeable callback, at once */
        lws_set_timeout(w->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC); /* in case it never is */
    }
}

#define MSG_PAYLOAD (LWS_PRE + ST_WS_MAX_HEADER) /* where a queued message's payload starts */

int st_wsconn_send(st_wsconn_t *w, const char *msg, size_t len, bool binary)
{
    if (w->state != ST_WSCONN_OPEN || !w->wsi || w->closing) return -ENOTCONN;
    st_wsmsg_t *m = st_xmalloc(sizeof(*m) + MSG_PAYLOAD + len);
    m->next = NULL;
    m->len = len;
    m->binary = binary;
    memcpy(m->data + MSG_PAYLOAD, msg, len);
    if (w->tail) w->tail->next = m; else w->head = m;
    w->tail = m;
    lws_callback_on_writable(w->wsi);
    return 0;
}

static void opened(st_wsconn_t *w)
{
    w->state = ST_WSCONN_OPEN;
    w->ping_due = false;
    heard(w);
    w->connects++;
    st_log_info(FEED, "%s: session %d connected to %s:%d", w->feed, w->index, w->host, w->port);
    arm_stall(w);
    if (w->cb.on_open) w->cb.on_open(w, w->cb_ctx);
}

static void closed(st_wsconn_t *w, const char *why)
{
    bool was_open = w->state == ST_WSCONN_OPEN;
    w->wsi = NULL;
    drop_queue(w);
    st_wsrx_reset(&w->rx);
    st_clock_timer_stop(w->clock, &w->stall);
    if (was_open) w->drops++;
    w->state = ST_WSCONN_IDLE;
    if (w->running) st_wsconn_retry(w, why, false);
    if (w->cb.on_closed) w->cb.on_closed(w, w->cb_ctx);
}

/* Frames' callbacks (wsframe.c): a whole message, a control frame. */
static void rx_message(void *ctx, char *data, size_t len, bool binary)
{
    st_wsconn_t *w = ctx;
    heard(w);
    w->cb.on_message(w, data, len, w->cb_ctx);
}

static void rx_control(void *ctx, int opcode, const uint8_t *p, size_t len)
{
    st_wsconn_t *w = ctx;
    heard(w);
    if (opcode == ST_WS_OP_PING) { /* answered with its payload (a newer ping replaces one not yet answered) */
        memcpy(w->pong, p, len);
        w->pong_len = len;
        w->pong_due = true;
    } else if (opcode == ST_WS_OP_PONG) {
        w->pongs++;
        return;
    } else { /* close: the venue says why; one goes back, then the connection ends */
        w->peer_close = len >= 2 ? p[0] << 8 | p[1] : 0;
        w->echo_close = true;
    }
    if (w->wsi) lws_callback_on_writable(w->wsi);
}

static const st_wsrx_cbs_t rx_cbs = {rx_message, rx_control};

/* Plaintext from the venue: the handshake's answer until it is whole, frames after. Returns -1
 * to close the connection. */
static int received(st_wsconn_t *w, const char *in, size_t len)
{
    if (!w->upgraded) {
        if (w->buflen + len + 1 > w->bufcap) {
            w->bufcap = (w->buflen + len + 1) * 2;
            w->buf = st_xrealloc(w->buf, w->bufcap);
        }
        memcpy(w->buf + w->buflen, in, len);
        w->buflen += len;
        char why[200];
        long head = st_ws_response(w->buf, w->buflen, w->key, why, sizeof(why));
        if (head == 0) return 0;
        if (head < 0) {
            snprintf(w->why, sizeof(w->why), "%s", why);
            return -1;
        }
        w->upgraded = true;
        lws_set_timeout(w->wsi, NO_PENDING_TIMEOUT, 0);
        opened(w);
        in = w->buf + head; /* frames that came with the answer */
        len = w->buflen - (size_t)head;
        w->buflen = 0;
        if (!len || w->state != ST_WSCONN_OPEN) return 0;
    }
    const char *why = NULL;
    int rc = st_wsrx_feed(&w->rx, in, len, &rx_cbs, w, &why);
    if (rc && !w->closing) {
        st_log_warn(FEED, "%s: session %d: %s: closing with %d", w->feed, w->index, why, rc);
        snprintf(w->why, sizeof(w->why), "protocol error from the venue: %s", why);
        st_wsconn_close(w, rc);
    }
    return 0;
}

/* Writes the TLS records waiting (all of them: libwebsockets keeps what the socket did not take).
 * Returns -1 on an error. */
static int flush_tls(st_wsconn_t *w, struct lws *wsi)
{
    size_t n = st_tls_pending(w->tls_session);
    if (!n) return 0;
    if (LWS_PRE + n > w->outcap) {
        w->outcap = (LWS_PRE + n) * 2;
        w->out = st_xrealloc(w->out, w->outcap);
    }
    n = st_tls_take(w->tls_session, w->out + LWS_PRE, n);
    return lws_write(wsi, (unsigned char *)w->out + LWS_PRE, n, LWS_WRITE_RAW) == (int)n ? 0 : -1;
}

/* Bytes for the venue, as they go on the wire: encrypted first on wss://. Returns -1 on an
 * error (the connection is then closed). */
static int emit(st_wsconn_t *w, struct lws *wsi, unsigned char *p, size_t n)
{
    if (!w->tls_session) return lws_write(wsi, p, n, LWS_WRITE_RAW) == (int)n ? 0 : -1;
    if (st_tls_write(w->tls_session, p, n) != 0) {
        snprintf(w->why, sizeof(w->why), "TLS: %s", st_tls_error(w->tls_session));
        return -1;
    }
    return flush_tls(w, wsi);
}

/* One write per writeable callback, in this order: TLS records waiting, the handshake, a close,
 * a pong, a ping, the queue. Returns -1 to close the connection. */
static int writeable(st_wsconn_t *w, struct lws *wsi)
{
    if (w->tls_session && st_tls_pending(w->tls_session)) { /* then what waited behind them */
        int rc = flush_tls(w, wsi);
        if (!rc && (w->request_due || w->closing || w->echo_close || w->pong_due || w->ping_due || w->head))
            lws_callback_on_writable(wsi);
        return rc;
    }
    if (!w->upgraded) {
        if (!w->request_due) return 0;
        char req[LWS_PRE + 1024];
        size_t n = st_ws_request(req + LWS_PRE, sizeof(req) - LWS_PRE, w->host, w->port, w->tls, w->path, w->key);
        w->request_due = false;
        return n ? emit(w, wsi, (unsigned char *)req + LWS_PRE, n) : -1;
    }
    uint8_t f[LWS_PRE + 160];
    if (w->closing || w->echo_close) { /* a close frame with the status and reason, then the end */
        static const char *const why[] = {"strata stopping", "stalled", "refused", "protocol error"};
        int code = w->closing ? (w->close_code ? w->close_code : ST_WSCONN_CLOSE_NORMAL) : w->peer_close;
        const char *r = why[code == ST_WSCONN_CLOSE_STALLED   ? 1
                            : code == ST_WSCONN_CLOSE_REFUSED ? 2
                            : code >= ST_WS_PROTOCOL_ERROR && code < 1016 ? 3
                                                                         : 0];
        uint8_t payload[64];
        size_t pl = 0;
        if (code) { /* the venue's close without a status is answered without one */
            payload[0] = (uint8_t)(code >> 8);
            payload[1] = (uint8_t)code;
            pl = 2;
            if (w->closing) {
                memcpy(payload + 2, r, strlen(r));
                pl += strlen(r);
            }
        }
        size_t n = st_ws_frame(f + LWS_PRE, ST_WS_OP_CLOSE, payload, pl, rand32(w));
        emit(w, wsi, f + LWS_PRE, n);
        return -1;
    }
    if (w->pong_due || w->ping_due) {
        bool pong = w->pong_due;
        if (pong) w->pong_due = false;
        else w->ping_due = false;
        size_t n = st_ws_frame(f + LWS_PRE, pong ? ST_WS_OP_PONG : ST_WS_OP_PING, w->pong, pong ? w->pong_len : 0,
                               rand32(w));
        if (emit(w, wsi, f + LWS_PRE, n) != 0) return -1;
        if (w->head || w->pong_due || w->ping_due) lws_callback_on_writable(wsi);
        return 0;
    }
    st_wsmsg_t *m = w->head;
    if (!m) return 0;
    /* framed in place: the header goes just before the payload, which is masked where it is */
    uint8_t *payload = m->data + MSG_PAYLOAD, hdr[ST_WS_MAX_HEADER];
    size_t hl = st_ws_frame_header(hdr, m->binary ? ST_WS_OP_BINARY : ST_WS_OP_TEXT, m->len, rand32(w));
    uint8_t *start = payload - hl;
    memcpy(start, hdr, hl);
    st_ws_mask(payload, m->len, start + hl - 4);
    if (emit(w, wsi, start, hl + m->len) != 0) return -1;
    w->head = m->next;
    if (!w->head) w->tail = NULL;
    free(m);
    if (w->head) lws_callback_on_writable(wsi);
    return 0;
}

/* wss://: ciphertext from the venue into the TLS session, plaintext out of it into received().
 * Returns -1 to close the connection. */
static int received_tls(st_wsconn_t *w, struct lws *wsi, const char *in, size_t len)
{
    bool was_ready = st_tls_ready(w->tls_session);
    if (st_tls_input(w->tls_session, in, len) != 0) {
        const char *e = st_tls_error(w->tls_session);
        snprintf(w->why, sizeof(w->why), "TLS: %s%s", e,
                 strstr(e, "certificate verify failed") ? " (is the server's certificate trusted? tls_ca_file names "
                                                          "a private CA)" : "");
        return -1;
    }
    if (!was_ready && st_tls_ready(w->tls_session)) w->request_due = true; /* TLS up: the WebSocket handshake */
    char plain[16384];
    for (;;) {
        long n = st_tls_read(w->tls_session, plain, sizeof(plain));
        if (n == 0) break;
        if (n < 0) {
            snprintf(w->why, sizeof(w->why), "TLS: %s", st_tls_error(w->tls_session));
            return -1;
        }
        if (received(w, plain, (size_t)n) != 0) return -1;
        if (!w->wsi) return 0;
    }
    if (st_tls_pending(w->tls_session) || w->request_due) lws_callback_on_writable(wsi);
    return 0;
}

/* How a connection that ends got there, for the log and the retry. */
static void ended(st_wsconn_t *w, struct lws *wsi)
{
    lws_set_opaque_user_data(wsi, NULL);
    char why[300];
    if (!w->upgraded) { /* the handshake never completed: a failed attempt */
        w->failed++;
        snprintf(why, sizeof(why), "cannot connect to %s:%d: %s", w->host, w->port,
                 w->why[0] ? w->why : "the connection ended during the WebSocket handshake");
    } else {
        snprintf(why, sizeof(why), "%s", w->why[0] ? w->why
                                         : w->closing ? "connection closed by strata"
                                                      : "connection closed by the venue");
    }
    closed(w, why);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    st_wsconn_t *w = lws_get_opaque_user_data(wsi);
    if (!w) return 0;
    switch (reason) {
    case LWS_CALLBACK_RAW_CONNECTED: /* TCP up: the TLS handshake (its ClientHello is ready), or the WebSocket's */
        w->request_due = !w->tls_session;
        lws_set_timeout(wsi, PENDING_TIMEOUT_AWAITING_SERVER_RESPONSE, 20);
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_RAW_RX:
        return w->tls_session ? received_tls(w, wsi, in, len) : received(w, in, len);
    case LWS_CALLBACK_RAW_WRITEABLE:
        return writeable(w, wsi);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        w->failed++;
        char why[300];
        const char *msg = in ? (const char *)in : "connection error";
        snprintf(why, sizeof(why), "cannot connect to %s:%d: %.120s", w->host, w->port, msg);
        lws_set_opaque_user_data(wsi, NULL);
        closed(w, why);
        break;
    }
    case LWS_CALLBACK_RAW_CLOSE:
        ended(w, wsi);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"strata-feed", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

struct lws_context *st_wsconn_context_create(struct ev_loop *loop)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, st_log_lws_line);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    void *loops[1] = {loop};
    info.options = LWS_SERVER_OPTION_LIBEV; /* no TLS here: tlsbio.c's */
    info.foreign_loops = loops;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    return lws_create_context(&info);
}

void st_wsconn_context_destroy(struct lws_context *ctx)
{
    if (!ctx) return;
    lws_context_destroy(ctx);
}

void st_wsconn_init(st_wsconn_t *w)
{
    w->wsi = NULL;
    w->state = ST_WSCONN_IDLE;
    w->head = w->tail = NULL;
    memset(&w->rx, 0, sizeof(w->rx));
    w->buf = w->out = NULL;
    w->buflen = w->bufcap = w->outcap = 0;
    w->tls_session = NULL;
    uint64_t seed = 0; /* masks and keys unpredictable to anything between strata and the venue */
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) seed = (uint64_t)st_wall_now();
    w->rng = (seed ^ ((uint64_t)w->index << 32)) | 1;
    st_timer_init(&w->retry, on_retry, w);
    st_timer_init(&w->stall, on_stall, w);
}

void st_wsconn_start(st_wsconn_t *w)
{
    w->running = true;
    on_retry(&w->retry, st_clock_now(w->clock), w);
}

void st_wsconn_stop(st_wsconn_t *w)
{
    if (!w->running) return;
    w->running = false;
    st_clock_timer_stop(w->clock, &w->retry);
    st_clock_timer_stop(w->clock, &w->stall);
    st_wsconn_close(w, ST_WSCONN_CLOSE_NORMAL);
}

void st_wsconn_free(st_wsconn_t *w)
{
    drop_queue(w);
    st_wsrx_free(&w->rx);
    free(w->buf);
    free(w->out);
    w->buf = w->out = NULL;
    st_tls_free(w->tls_session);
    w->tls_session = NULL;
}
