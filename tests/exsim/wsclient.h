/* A minimal RFC 6455 client for tests: plain TCP to 127.0.0.1, the upgrade handshake, masked
 * text frames out, frames in (answering pings). Independent of libwebsockets, so the simulator
 * is checked against the protocol rather than against the library that implements it. */
#ifndef ST_TEST_WSCLIENT_H
#define ST_TEST_WSCLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    int fd;
    unsigned char buf[1 << 20];
    size_t have;
} ws_t;

static inline int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads at least `need` bytes into ws->buf within timeout_ms; false on timeout or close. */
static inline bool ws_fill(ws_t *w, size_t need, int timeout_ms)
{
    while (w->have < need) {
        struct pollfd p = {w->fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return false;
        ssize_t n = read(w->fd, w->buf + w->have, sizeof(w->buf) - w->have);
        if (n <= 0) return false;
        w->have += (size_t)n;
    }
    return true;
}

static inline void ws_consume(ws_t *w, size_t n)
{
    memmove(w->buf, w->buf + n, w->have - n);
    w->have -= n;
}

static inline bool ws_open(ws_t *w, int port, const char *path)
{
    memset(w, 0, sizeof(*w));
    w->fd = tcp_connect(port);
    if (w->fd < 0) return false;
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path, port);
    if (write(w->fd, req, (size_t)n) != n) return false;
    for (int i = 0; i < 100; i++) {
        if (!ws_fill(w, w->have + 1, 5000)) return false;
        unsigned char *end = memmem(w->buf, w->have, "\r\n\r\n", 4);
        if (end) {
            bool ok = memcmp(w->buf, "HTTP/1.1 101", 12) == 0;
            ws_consume(w, (size_t)(end + 4 - w->buf));
            return ok;
        }
    }
    return false;
}

static inline bool ws_send_op(ws_t *w, int op, const char *data, size_t len)
{
    unsigned char h[14];
    size_t hn = 0;
    h[hn++] = (unsigned char)(0x80 | op);
    if (len < 126) {
        h[hn++] = (unsigned char)(0x80 | len);
    } else {
        h[hn++] = 0x80 | 126;
        h[hn++] = (unsigned char)(len >> 8);
        h[hn++] = (unsigned char)len;
    }
    unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(h + hn, mask, 4);
    hn += 4;
    unsigned char *f = malloc(hn + len);
    memcpy(f, h, hn);
    for (size_t i = 0; i < len; i++) f[hn + i] = (unsigned char)data[i] ^ mask[i % 4];
    bool ok = write(w->fd, f, hn + len) == (ssize_t)(hn + len);
    free(f);
    return ok;
}

static inline bool ws_send(ws_t *w, const char *text)
{
    return ws_send_op(w, 1, text, strlen(text));
}

/* Receives the next text frame into out (NUL-terminated, malloc'd); answers pings on the way
 * (counting them in *pings if given). Returns false on timeout or close. */
static inline bool ws_recv(ws_t *w, char **out, int timeout_ms, int *pings)
{
    for (;;) {
        if (!ws_fill(w, 2, timeout_ms)) return false;
        int op = w->buf[0] & 0x0f;
        size_t len = w->buf[1] & 0x7f, off = 2;
        if (len == 126) {
            if (!ws_fill(w, 4, timeout_ms)) return false;
            len = (size_t)w->buf[2] << 8 | w->buf[3];
            off = 4;
        } else if (len == 127) {
            if (!ws_fill(w, 10, timeout_ms)) return false;
            len = 0;
            for (int i = 0; i < 8; i++) len = len << 8 | w->buf[2 + i];
            off = 10;
        }
        if (!ws_fill(w, off + len, timeout_ms)) return false;
        if (op == 9) { /* ping: pong with the same payload */
            ws_send_op(w, 10, (const char *)w->buf + off, len);
            if (pings) (*pings)++;
            ws_consume(w, off + len);
            continue;
        }
        if (op == 8) return false;
        *out = malloc(len + 1);
        memcpy(*out, w->buf + off, len);
        (*out)[len] = 0;
        ws_consume(w, off + len);
        if (op == 1 || op == 2) return true;
        free(*out);
    }
}

static inline void ws_close(ws_t *w)
{
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
}

/* The header block of the latest http_req response. */
static char http_resp_headers[4096];

/* One HTTP/1.1 request (headers: "name: value\r\n" lines, may be ""); returns the body
 * (malloc'd) or NULL, and the status in *status when given. */
static inline char *http_req(int port, const char *method, const char *path, const char *headers,
                             const char *body, int *status)
{
    int fd = tcp_connect(port);
    if (fd < 0) return NULL;
    char req[4096];
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n%s",
                     method, path, headers, strlen(body), body);
    if (write(fd, req, (size_t)n) != n) return close(fd), NULL;
    size_t cap = 1 << 16, have = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0) break;
        ssize_t r = read(fd, buf + have, cap - have);
        if (r <= 0) break;
        have += (size_t)r;
        buf[have] = 0;
        char *hend = strstr(buf, "\r\n\r\n");
        char *cl = strcasestr(buf, "content-length:");
        if (hend && cl && (size_t)(have - (size_t)(hend + 4 - buf)) >= (size_t)atoi(cl + 15)) break;
    }
    close(fd);
    buf[have] = 0;
    if (status) *status = have > 12 ? atoi(buf + 9) : 0;
    char *end = strstr(buf, "\r\n\r\n");
    snprintf(http_resp_headers, sizeof(http_resp_headers), "%.*s", end ? (int)(end - buf) : 0, buf);
    char *res = end ? strdup(end + 4) : NULL;
    free(buf);
    return res;
}

static inline char *http_get(int port, const char *path)
{
    return http_req(port, "GET", path, "", "", NULL);
}

#endif
