#include "wsconn.h"
#include "core/log.h"
#include "core/timefmt.h" /* st_wall_now */

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct st_wsmsg {
    st_wsmsg_t *next;
    size_t len;
    bool binary;
    unsigned char data[]; /* LWS_PRE bytes, then the message */
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

void st_wsconn_connect(st_wsconn_t *w)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = w->ctx;
    ci.address = w->host;
    ci.port = w->port;
    ci.path = w->path;
    ci.host = w->host;
    ci.origin = NULL; /* no Origin header: Upbit allows one carrying it once per 10 s */
    ci.ssl_connection = w->tls ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = "strata-feed";
    ci.opaque_user_data = w;
    ci.pwsi = &w->wsi;
    w->state = ST_WSCONN_CONNECTING;
    w->closing = false;
    w->peer_close = 0;
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

int st_wsconn_send(st_wsconn_t *w, const char *msg, size_t len, bool binary)
{
    if (w->state != ST_WSCONN_OPEN || !w->wsi || w->closing) return -ENOTCONN;
    st_wsmsg_t *m = st_xmalloc(sizeof(*m) + LWS_PRE + len);
    m->next = NULL;
    m->len = len;
    m->binary = binary;
    memcpy(m->data + LWS_PRE, msg, len);
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
    w->rxlen = 0;
    st_clock_timer_stop(w->clock, &w->stall);
    if (was_open) w->drops++;
    w->state = ST_WSCONN_IDLE;
    if (w->running) st_wsconn_retry(w, why, false);
    if (w->cb.on_closed) w->cb.on_closed(w, w->cb_ctx);
}

static void fragment(st_wsconn_t *w, struct lws *wsi, const char *in, size_t len)
{
    heard(w);
    bool last = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (last && w->rxlen == 0) { /* the usual case: the whole message at once, no copy */
        w->cb.on_message(w, in, len, w->cb_ctx);
        return;
    }
    if (w->rxlen + len + 1 > w->rxcap) {
        w->rxcap = (w->rxlen + len + 1) * 2;
        w->rx = st_xrealloc(w->rx, w->rxcap);
    }
    memcpy(w->rx + w->rxlen, in, len);
    w->rxlen += len;
    if (!last) return;
    w->rx[w->rxlen] = '\0';
    size_t n = w->rxlen;
    w->rxlen = 0;
    w->cb.on_message(w, w->rx, n, w->cb_ctx);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    st_wsconn_t *w = lws_get_opaque_user_data(wsi);
    if (!w) return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        opened(w);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        fragment(w, wsi, in, len);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        w->pongs++;
        heard(w);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (w->closing) { /* a close frame with the reason, then lws closes */
            static const char *const why[] = {"strata stopping", "stalled", "refused"};
            int code = w->close_code ? w->close_code : ST_WSCONN_CLOSE_NORMAL;
            const char *r = why[code == ST_WSCONN_CLOSE_STALLED ? 1 : code == ST_WSCONN_CLOSE_REFUSED ? 2 : 0];
            lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)(uintptr_t)r, strlen(r));
            return -1;
        }
        if (w->ping_due) {
            unsigned char ping[LWS_PRE + 8];
            w->ping_due = false;
            if (lws_write(wsi, ping + LWS_PRE, 0, LWS_WRITE_PING) < 0) return -1;
            if (w->head) lws_callback_on_writable(wsi);
            break;
        }
        st_wsmsg_t *m = w->head;
        if (!m) break;
        if (lws_write(wsi, m->data + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)m->len)
            return -1;
        w->head = m->next;
        if (!w->head) w->tail = NULL;
        free(m);
        if (w->head) lws_callback_on_writable(wsi);
        break;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        w->failed++;
        char why[300];
        const char *msg = in ? (const char *)in : "connection error";
        snprintf(why, sizeof(why), "cannot connect to %s:%d: %.120s%s", w->host, w->port, msg,
                 w->tls && strstr(msg, "SSL") ? " (TLS: is the server's certificate trusted? tls_ca_file names "
                                                "a private CA)" : "");
        lws_set_opaque_user_data(wsi, NULL);
        closed(w, why);
        break;
    }
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: /* the venue says why it closes */
        w->peer_close = len >= 2 ? ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1] : 0;
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        lws_set_opaque_user_data(wsi, NULL);
        closed(w, w->closing ? "connection closed by strata" : "connection closed by the venue");
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

struct lws_context *st_wsconn_context_create(struct ev_loop *loop, bool tls, const char *ca_file)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, st_log_lws_line);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    void *loops[1] = {loop};
    info.options = LWS_SERVER_OPTION_LIBEV | (tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    info.foreign_loops = loops;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    if (tls && ca_file && *ca_file) info.client_ssl_ca_filepath = ca_file;
    return lws_create_context(&info);
}

void st_wsconn_context_destroy(struct lws_context *ctx)
{
    if (!ctx) return;
    /* libwebsockets 4.1 on a foreign loop leaves a TLS vhost's client SSL_CTX (and the CA
     * store loaded into it) behind here; tests/lsan.supp names it for the sanitizer run. */
    lws_context_destroy(ctx);
}

void st_wsconn_init(st_wsconn_t *w)
{
    w->wsi = NULL;
    w->state = ST_WSCONN_IDLE;
    w->head = w->tail = NULL;
    w->rx = NULL;
    w->rxlen = w->rxcap = 0;
    w->rng = ((uint64_t)st_wall_now() ^ ((uint64_t)w->index << 32)) | 1;
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
    free(w->rx);
    w->rx = NULL;
}
