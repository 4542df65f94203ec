#define _GNU_SOURCE /* accept4 */
#include "status_server.h"
#include "core/log.h"
#include "core/res.h"
#include "core/timefmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* strata listens itself (exactly the configured address, v6-only for an IPv6 one) and hands
 * each accepted connection to libwebsockets, so it decides what listens where, how many
 * connections are served at once, and what happens when descriptors run out. */
struct st_status_server {
    struct ev_loop *loop;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    int fd;
    ev_io accept_w;
    ev_timer resume_w; /* accepting again after descriptors ran out */
    char bound[64];    /* "127.0.0.1:8787", "[::1]:8787" */
    int port;
    char *token;
    char *public_path; /* served without the token; NULL: none */
    st_status_handler_t handler;
    void *hctx;
    int conns, max_conns;
    uint64_t requests, refused;
    st_time_t emfile_logged;
    /* the live channel: the latest frame, shared by every client, and the clients */
    struct live *lives;
    unsigned char *frame; /* LWS_PRE bytes of headroom, then frame_len bytes */
    size_t frame_len;
    uint64_t gen;         /* frames broadcast */
    uint64_t live_dropped, live_refused;
    double live_timeout;
};

typedef struct {
    char *body;
    size_t len;
} pss_t;

#define LIVE_AUTH_SECONDS 5 /* a live client that has not sent its token by then is closed */

/* A live client (GET /live, WebSocket subprotocol "strata-live"). */
typedef struct live {
    struct lws *wsi;
    st_status_server_t *s;
    struct live *next;
    bool authed;
    uint64_t sent;   /* the generation of the last frame it took */
    ev_tstamp owes;  /* since when a frame has waited for it (0: none) */
} live_t;

/* Compares without an early exit, over the longer of the two, for any length. */
static bool same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen > blen ? alen : blen;
    unsigned diff = alen != blen;
    for (size_t i = 0; i < n; i++) diff |= (unsigned)((i < alen ? a[i] : 0) ^ (i < blen ? b[i] : 0));
    return diff == 0;
}

static bool token_ok(const st_status_server_t *s, struct lws *wsi)
{
    if (!s->token) return true;
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (len <= 0) return false;
    char *got = st_xmalloc((size_t)len + 1);
    bool ok = lws_hdr_copy(wsi, got, len + 1, WSI_TOKEN_HTTP_AUTHORIZATION) == len && !strncmp(got, "Bearer ", 7) &&
              same_secret(got + 7, (size_t)len - 7, s->token, strlen(s->token));
    free(got);
    return ok;
}

static int respond(struct lws *wsi, pss_t *pss, int status, const char *ctype, char *body)
{
    pss->body = body;
    pss->len = strlen(body);
    unsigned char hdr[LWS_PRE + 512], *start = &hdr[LWS_PRE], *p = start, *end = &hdr[sizeof(hdr) - 1];
    if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, pss->len, &p, end)) return 1;
    if (status == 401 && lws_add_http_header_by_name(wsi, (const unsigned char *)"www-authenticate:",
                                                     (const unsigned char *)"Bearer", 6, &p, end))
        return 1;
    if (lws_finalize_write_http_header(wsi, start, &p, end)) return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    pss_t *pss = user;
    st_status_server_t *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        s->requests++;
        if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
            return respond(wsi, pss, 405, "text/plain", st_xstrdup("only GET\n"));
        char path[512] = "";
        int n = lws_hdr_copy(wsi, path, 256, WSI_TOKEN_GET_URI);
        if ((!s->public_path || strcmp(path, s->public_path) != 0) && !token_ok(s, wsi))
            return respond(wsi, pss, 401, "text/plain", st_xstrdup("a bearer token is required\n"));
        if (n > 0 && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > 0) { /* "?tier=1&q=..." */
            path[n] = '?';
            if (lws_hdr_copy(wsi, path + n + 1, (int)sizeof(path) - n - 1, WSI_TOKEN_HTTP_URI_ARGS) < 0) path[n] = '\0';
        }
        const char *ctype = "text/plain";
        char *body = NULL;
        int status = s->handler(s->hctx, path, &ctype, &body);
        return respond(wsi, pss, status, ctype, body ? body : st_xstrdup(""));
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!pss || !pss->body) break;
        unsigned char *buf = st_xmalloc(LWS_PRE + pss->len + 1);
        memcpy(buf + LWS_PRE, pss->body, pss->len);
        int n = lws_write(wsi, buf + LWS_PRE, pss->len, LWS_WRITE_HTTP_FINAL);
        free(buf);
        free(pss->body);
        pss->body = NULL;
        if (n < 0) return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss) {
            free(pss->body);
            pss->body = NULL;
        }
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        if (s && s->conns > 0) s->conns--;
        break;
    default:
        break;
    }
    return 0;
}

/* --- the live channel ---------------------------------------------------------------------- */

static void live_unlink(live_t *l)
{
    for (live_t **p = &l->s->lives; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            return;
        }
}

static int live_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    live_t *l = user;
    st_status_server_t *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        *l = (live_t){.wsi = wsi, .s = s, .next = s->lives};
        s->lives = l;
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LIVE_AUTH_SECONDS); /* its token, or it goes */
        break;
    case LWS_CALLBACK_RECEIVE:
        if (l->authed) break; /* nothing else is asked of a client */
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) ||
            (s->token && !same_secret(in, len, s->token, strlen(s->token)))) {
            s->live_refused++;
            static const char why[] = "the token is wrong";
            lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why, sizeof(why) - 1);
            return -1;
        }
        l->authed = true;
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
        if (s->frame) lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!l->authed || !s->frame || l->sent == s->gen) break;
        if (lws_write(wsi, s->frame + LWS_PRE, s->frame_len, LWS_WRITE_TEXT) < (int)s->frame_len) return -1;
        l->sent = s->gen; /* what lws could not send at once it holds: the next waits for it */
        l->owes = 0;
        break;
    case LWS_CALLBACK_CLOSED:
        live_unlink(l);
        break;

    default:
        break;
    }
    return 0;
}

void st_status_server_broadcast(st_status_server_t *s, const char *frame, size_t len)
{
    free(s->frame); /* lws keeps its own copy of what a client has not taken whole */
    s->frame = st_xmalloc(LWS_PRE + len);
    memcpy(s->frame + LWS_PRE, frame, len);
    s->frame_len = len;
    s->gen++;
    ev_tstamp now = ev_now(s->loop);
    for (live_t *l = s->lives; l; l = l->next) {
        if (!l->authed) continue;
        if (l->sent + 1 < s->gen && !l->owes) l->owes = now; /* the previous frame still waits */
        if (l->owes && now - l->owes > s->live_timeout) { /* a slow client is dropped, not buffered */
            s->live_dropped++;
            l->authed = false;
            lws_set_timeout(l->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
            continue;
        }
        lws_callback_on_writable(l->wsi);
    }
}

size_t st_status_server_live(const st_status_server_t *s)
{
    size_t n = 0;
    for (const live_t *l = s->lives; l; l = l->next) n += l->authed;
    return n;
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(pss_t), 0, 0, NULL, 0},
    {"strata-live", live_callback, sizeof(live_t), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
    st_status_server_t *s = w->data;
    ev_io_start(loop, &s->accept_w);
}

/* Accepts what waits: over max_conns a connection is closed at once; when descriptors run out
 * (EMFILE, ENFILE) accepting pauses for a second, said once a minute, and the loop goes on. */
static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    st_status_server_t *s = w->data;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                st_time_t now = st_mono_now();
                if (!s->emfile_logged || now - s->emfile_logged >= ST_MIN) {
                    st_log_warn(OUT, "status: cannot accept: %s; pausing for a second (%d connections open)",
                                strerror(errno), s->conns);
                    s->emfile_logged = now;
                }
                ev_io_stop(loop, &s->accept_w);
                ev_timer_set(&s->resume_w, 1.0, 0);
                ev_timer_start(loop, &s->resume_w);
            }
            return; /* EAGAIN: none left; anything else: try at the next readiness */
        }
        if (s->conns >= s->max_conns || !lws_adopt_socket_vhost(s->vh, fd)) {
            if (s->conns >= s->max_conns) s->refused++;
            close(fd);
            continue;
        }
        s->conns++;
    }
}

/* A listening socket on exactly addr:port (an IPv4 or IPv6 literal; IPv6 without the mapped
 * IPv4 addresses). */
static int listen_on(st_status_server_t *s, const char *addr, int port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    socklen_t sl;
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        sl = sizeof(*v4);
    } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        sl = sizeof(*v6);
    } else {
        snprintf(err, errlen, "%s is not an IP address", addr);
        return -EINVAL;
    }
    s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -errno;
    }
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6) setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(s->fd, (struct sockaddr *)&ss, sl) != 0 || listen(s->fd, 64) != 0) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s port %d: %s", addr, port, strerror(e));
        return -e;
    }
    sl = sizeof(ss);
    getsockname(s->fd, (struct sockaddr *)&ss, &sl);
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
        s->port = ntohs(v4->sin_port);
        snprintf(s->bound, sizeof(s->bound), "%s:%d", host, s->port);
    } else {
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
        s->port = ntohs(v6->sin6_port);
        snprintf(s->bound, sizeof(s->bound), "[%s]:%d", host, s->port);
    }
    return 0;
}

st_status_server_t *st_status_server_start(struct ev_loop *loop, const st_status_server_cfg_t *cfg,
                                           st_status_handler_t handler, void *ctx, char *err, size_t errlen)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, st_log_lws_line);
    st_status_server_t *s = st_xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->fd = -1;
    s->handler = handler;
    s->hctx = ctx;
    s->max_conns = cfg->max_connections > 0 ? cfg->max_connections : 64;
    if (cfg->token && *cfg->token) s->token = st_xstrdup(cfg->token);
    if (cfg->public_path) s->public_path = st_xstrdup(cfg->public_path);
    s->live_timeout = cfg->live_timeout > 0 ? cfg->live_timeout : 10;
    if (listen_on(s, cfg->addr, cfg->port, err, errlen) != 0) {
        st_status_server_stop(s);
        return NULL;
    }
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    void *loops[1] = {loop};
    info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.foreign_loops = loops;
    info.user = s;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot create the HTTP context");
        st_status_server_stop(s);
        return NULL;
    }
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* strata accepts; lws serves */
    info.protocols = protocols;
    info.vhost_name = "status";
    info.options = LWS_SERVER_OPTION_LIBEV;
    s->vh = lws_create_vhost(s->ctx, &info);
    if (!s->vh) {
        snprintf(err, errlen, "cannot create the HTTP server");
        st_status_server_stop(s);
        return NULL;
    }
    ev_io_init(&s->accept_w, on_accept, s->fd, EV_READ);
    s->accept_w.data = s;
    ev_timer_init(&s->resume_w, on_resume, 1.0, 0);
    s->resume_w.data = s;
    ev_io_start(loop, &s->accept_w);
    return s;
}

int st_status_server_port(const st_status_server_t *s)
{
    return s->port;
}

const char *st_status_server_bound(const st_status_server_t *s)
{
    return s->bound;
}

int st_status_server_fd(const st_status_server_t *s)
{
    return s->fd;
}

void st_status_server_stats(const st_status_server_t *s, st_status_server_stats_t *out)
{
    out->requests = s->requests;
    out->connections = s->conns;
    out->refused = s->refused;
    out->live = st_status_server_live(s);
    out->live_dropped = s->live_dropped;
    out->live_refused = s->live_refused;
}

uint64_t st_status_server_requests(const st_status_server_t *s)
{
    return s->requests;
}

void st_status_server_stop(st_status_server_t *s)
{
    if (!s) return;
    if (s->loop) {
        ev_io_stop(s->loop, &s->accept_w);
        ev_timer_stop(s->loop, &s->resume_w);
    }
    if (s->ctx) lws_context_destroy(s->ctx);
    if (s->fd >= 0) close(s->fd);
    free(s->token);
    free(s->public_path);
    free(s->frame);
    free(s);
}
