#include "status_server.h"
#include "core/log.h"
#include "core/res.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct st_status_server {
    struct lws_context *ctx;
    struct lws_vhost *vh;
    char *token;
    st_status_handler_t handler;
    void *hctx;
    uint64_t requests;
};

typedef struct {
    char *body;
    size_t len;
} pss_t;

static bool token_ok(const st_status_server_t *s, struct lws *wsi)
{
    if (!s->token) return true;
    char got[512] = "";
    if (lws_hdr_copy(wsi, got, sizeof(got), WSI_TOKEN_HTTP_AUTHORIZATION) < 0) return false;
    char want[512];
    int n = snprintf(want, sizeof(want), "Bearer %s", s->token);
    size_t glen = strlen(got);
    unsigned diff = glen != (size_t)n;
    for (size_t i = 0; i < (size_t)n; i++) diff |= (unsigned)(want[i] ^ (i < glen ? got[i] : 0));
    return diff == 0;
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
        if (!token_ok(s, wsi)) return respond(wsi, pss, 401, "text/plain", st_xstrdup("a bearer token is required\n"));
        char path[256] = "";
        lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI);
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
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(pss_t), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_to_log(int level, const char *line)
{
    size_t n = strlen(line);
    st_log_warn(OUT, "status: libwebsockets: %.*s", (int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
}

st_status_server_t *st_status_server_start(struct ev_loop *loop, const char *addr, int port, const char *token,
                                           st_status_handler_t handler, void *ctx, char *err, size_t errlen)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_to_log);
    st_status_server_t *s = st_xcalloc(1, sizeof(*s));
    s->handler = handler;
    s->hctx = ctx;
    if (token && *token) s->token = st_xstrdup(token);
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
    info.port = port;
    info.iface = addr;
    info.protocols = protocols;
    info.vhost_name = "status";
    info.options = LWS_SERVER_OPTION_LIBEV;
    s->vh = lws_create_vhost(s->ctx, &info);
    if (!s->vh) {
        snprintf(err, errlen, "cannot listen on %s:%d (in use, or not an address of this machine)", addr, port);
        st_status_server_stop(s);
        return NULL;
    }
    return s;
}

int st_status_server_port(const st_status_server_t *s)
{
    return lws_get_vhost_listen_port(s->vh);
}

uint64_t st_status_server_requests(const st_status_server_t *s)
{
    return s->requests;
}

void st_status_server_stop(st_status_server_t *s)
{
    if (!s) return;
    if (s->ctx) lws_context_destroy(s->ctx);
    free(s->token);
    free(s);
}
