/* A raw WebSocket client for tests of strata's live channel, driven by the test's own event
 * loop: connect and send the upgrade at once (loopback), then `ws_pump` runs the loop and takes
 * what has arrived. Server frames are unmasked; the client's are masked (RFC 6455). */
#ifndef ST_TEST_WS_CLIENT_H
#define ST_TEST_WS_CLIENT_H

#include <ev.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    int fd;
    char *buf;
    size_t n, cap, at; /* at: where the next frame starts (after the handshake) */
    bool upgraded, closed;
} ws_client_t;

static inline void ws_open(ws_client_t *c, int fd, const char *protocol)
{
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->cap = 1 << 16;
    c->buf = malloc(c->cap);
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: %s\r\n\r\n", protocol);
    if (send(fd, req, (size_t)n, 0) != n) c->closed = true;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static inline void ws_close(ws_client_t *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
}

/* Runs the loop for secs and reads what came (read: false to leave it in the kernel). */
static inline void ws_pump(ws_client_t *c, double secs, bool read)
{
    ev_tstamp t0 = ev_time();
    do {
        ev_run(EV_DEFAULT, EVRUN_NOWAIT);
        while (read && !c->closed) {
            if (c->n == c->cap) c->buf = realloc(c->buf, c->cap *= 2);
            ssize_t k = recv(c->fd, c->buf + c->n, c->cap - c->n, MSG_DONTWAIT);
            if (k > 0) c->n += (size_t)k;
            else {
                if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) c->closed = true;
                break;
            }
        }
        if (!c->upgraded) {
            char *end = NULL;
            for (size_t i = 0; i + 4 <= c->n && !end; i++)
                if (!memcmp(c->buf + i, "\r\n\r\n", 4)) end = c->buf + i;
            if (end && !strncmp(c->buf, "HTTP/1.1 101", 12)) c->upgraded = true, c->at = (size_t)(end + 4 - c->buf);
        }
    } while (ev_time() - t0 < secs);
}

/* The next whole frame: its opcode, payload and length; false when none has come whole. */
static inline bool ws_next(ws_client_t *c, int *op, const char **payload, size_t *len)
{
    if (!c->upgraded || c->n - c->at < 2) return false;
    const unsigned char *b = (const unsigned char *)c->buf + c->at;
    size_t have = c->n - c->at, hl = 2;
    uint64_t l = b[1] & 0x7f;
    if (l == 126) {
        if (have < 4) return false;
        l = (uint64_t)b[2] << 8 | b[3], hl = 4;
    } else if (l == 127) {
        if (have < 10) return false;
        l = 0;
        for (int i = 0; i < 8; i++) l = l << 8 | b[2 + i];
        hl = 10;
    }
    if (have < hl + l) return false;
    *op = b[0] & 0x0f;
    *payload = (const char *)b + hl;
    *len = (size_t)l;
    c->at += hl + (size_t)l;
    return true;
}

/* A masked text frame. */
static inline void ws_send_text(ws_client_t *c, const char *text)
{
    size_t n = strlen(text);
    unsigned char f[256 + 14], *p = f;
    static const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
    *p++ = 0x81;
    if (n < 126) *p++ = (unsigned char)(0x80 | n);
    else *p++ = 0x80 | 126, *p++ = (unsigned char)(n >> 8), *p++ = (unsigned char)n;
    memcpy(p, key, 4), p += 4;
    for (size_t i = 0; i < n && i < 256; i++) *p++ = (unsigned char)text[i] ^ key[i % 4];
    if (send(c->fd, f, (size_t)(p - f), MSG_NOSIGNAL) < 0) c->closed = true;
}

#endif
