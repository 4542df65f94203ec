#include "http.h"
#include "timefmt.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct buf {
    char *p;
    size_t len, cap;
} buf_t;

typedef struct req {
    struct req *next, *prev;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    buf_t out, head;
    st_http_cb cb;
    void *ctx;
    st_time_t started;
    char errbuf[CURL_ERROR_SIZE];
} req_t;

typedef struct sock {
    ev_io w;
    st_http_t *h;
    curl_socket_t fd;
} sock_t;

struct st_http {
    struct ev_loop *loop;
    CURLM *multi;
    ev_timer timer;
    req_t *reqs;
    int pending;
    char *ca_file; /* NULL = the system CA store */
};

static void buf_add(buf_t *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = st_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf_add(&((req_t *)ud)->out, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    buf_add(&((req_t *)ud)->head, p, size * n);
    return size * n;
}

static void req_free(st_http_t *h, req_t *r)
{
    if (r->prev) r->prev->next = r->next;
    else h->reqs = r->next;
    if (r->next) r->next->prev = r->prev;
    curl_multi_remove_handle(h->multi, r->easy);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    free(r->body);
    free(r->out.p);
    free(r->head.p);
    free(r);
    h->pending--;
}

/* Delivers every finished transfer. */
static void drain(st_http_t *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        req_t *r;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        char errbuf[sizeof(r->errbuf)]; /* r goes before the callback runs */
        memcpy(errbuf, r->errbuf, sizeof(errbuf));
        st_http_response_t resp = {
            .status = m->data.result == CURLE_OK ? (int)status : 0,
            .error = (int)m->data.result,
            .message = m->data.result == CURLE_OK ? "" : (errbuf[0] ? errbuf : curl_easy_strerror(m->data.result)),
            .body = r->out.p ? r->out.p : "",
            .body_len = r->out.len,
            .headers = r->head.p ? r->head.p : "",
            .elapsed = st_mono_now() - r->started,
        };
        st_http_cb cb = r->cb;
        void *ctx = r->ctx;
        /* Free first: the callback may start new requests (or destroy h: it must not). */
        char *body = r->out.p, *head = r->head.p;
        r->out.p = r->head.p = NULL;
        req_free(h, r);
        cb(&resp, ctx);
        free(body);
        free(head);
    }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    sock_t *s = w->data;
    st_http_t *h = s->h;
    int flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    drain(h);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    st_http_t *h = w->data;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain(h);
}

/* libcurl says which sockets to watch for what. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    st_http_t *h = userp;
    sock_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            ev_io_stop(h->loop, &s->w);
            free(s);
        }
        curl_multi_assign(h->multi, fd, NULL);
        return 0;
    }
    int ev = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (!s) {
        s = st_xcalloc(1, sizeof(*s));
        s->h = h;
        s->fd = fd;
        s->w.data = s;
        curl_multi_assign(h->multi, fd, s);
    } else {
        ev_io_stop(h->loop, &s->w);
    }
    ev_io_init(&s->w, on_io, fd, ev);
    ev_io_start(h->loop, &s->w);
    return 0;
}

/* libcurl asks for a timeout. */
static int on_timer(CURLM *multi, long ms, void *userp)
{
    st_http_t *h = userp;
    ev_timer_stop(h->loop, &h->timer);
    if (ms >= 0) {
        ev_timer_set(&h->timer, (double)ms / 1000.0, 0);
        ev_timer_start(h->loop, &h->timer);
    }
    return 0;
}

st_http_t *st_http_create(struct ev_loop *loop)
{
    static bool global;
    if (!global) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
        global = true;
    }
    st_http_t *h = st_xcalloc(1, sizeof(*h));
    h->loop = loop;
    h->multi = curl_multi_init();
    if (!h->multi) {
        free(h);
        return NULL;
    }
    ev_timer_init(&h->timer, on_timeout, 0, 0);
    h->timer.data = h;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h;
}

void st_http_set_ca(st_http_t *h, const char *ca_file)
{
    free(h->ca_file);
    h->ca_file = ca_file && *ca_file ? st_xstrdup(ca_file) : NULL;
}

void st_http_destroy(st_http_t *h)
{
    if (!h) return;
    while (h->reqs) req_free(h, h->reqs);
    ev_timer_stop(h->loop, &h->timer);
    curl_multi_cleanup(h->multi); /* removes the sockets (on_socket frees their watchers) */
    free(h->ca_file);
    free(h);
}

int st_http_pending(const st_http_t *h)
{
    return h->pending;
}

int st_http_request(st_http_t *h, const char *method, const char *url, const char *const *headers,
                    const char *body, st_dur_t timeout, st_http_cb cb, void *ctx)
{
    req_t *r = st_xcalloc(1, sizeof(*r));
    r->easy = curl_easy_init();
    if (!r->easy) {
        free(r);
        return -ENOMEM;
    }
    r->cb = cb;
    r->ctx = ctx;
    r->started = st_mono_now();
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout / ST_MSEC));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout / ST_MSEC));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (h->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
    if (body) {
        r->body = st_xstrdup(body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
    }
    for (size_t i = 0; headers && headers[i]; i++) r->hdrs = curl_slist_append(r->hdrs, headers[i]);
    if (body && !headers) r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
    r->hdrs = curl_slist_append(r->hdrs, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    r->next = h->reqs;
    if (h->reqs) h->reqs->prev = r;
    h->reqs = r;
    h->pending++;
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        req_free(h, r);
        return -EIO;
    }
    return 0;
}

const char *st_http_header(const char *headers, const char *name, char *buf, size_t len)
{
    size_t n = strlen(name);
    for (const char *p = headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t line = eol ? (size_t)(eol - p) : strlen(p);
        if (line > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ' || *v == '\t') v++;
            size_t vl = line - (size_t)(v - p);
            snprintf(buf, len, "%.*s", (int)vl, v);
            return buf;
        }
        if (!eol) break;
        p = eol + 2;
    }
    return NULL;
}
