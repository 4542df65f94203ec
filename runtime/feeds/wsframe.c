#include "wsframe.h"
#include "core/common.h"

#include <libwebsockets.h> /* lws_SHA1, lws_b64_encode_string: pure helpers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 1.3 */
#define MAX_HEAD 16384 /* an answer to the handshake longer than this is not one */
#define DEFAULT_MAX (16u << 20)

void st_ws_key(const uint8_t nonce[16], char key[32])
{
    lws_b64_encode_string((const char *)nonce, 16, key, 32);
}

size_t st_ws_request(char *out, size_t cap, const char *host, int port, bool tls, const char *path, const char *key)
{
    char hostport[300];
    if (port == (tls ? 443 : 80)) snprintf(hostport, sizeof(hostport), "%s", host);
    else snprintf(hostport, sizeof(hostport), "%s:%d", host, port);
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nUser-Agent: strata\r\n\r\n",
                     path, hostport, key);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* A header's value in the head [h, end) (the first of that name; the name case-insensitive),
 * its surrounding spaces trimmed; NULL when absent. */
static const char *field(const char *h, const char *end, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    for (const char *l = h; l < end;) {
        const char *eol = memchr(l, '\n', (size_t)(end - l));
        if (!eol) eol = end;
        if ((size_t)(eol - l) > nl && l[nl] == ':' && strncasecmp(l, name, nl) == 0) {
            const char *v = l + nl + 1, *e = eol;
            while (v < e && (*v == ' ' || *v == '\t')) v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
            *vlen = (size_t)(e - v);
            return v;
        }
        l = eol + 1;
    }
    return NULL;
}

/* Whether a comma-separated value holds token (case-insensitive). */
static bool has_token(const char *v, size_t len, const char *token)
{
    size_t tl = strlen(token);
    for (size_t i = 0; i < len;) {
        while (i < len && (v[i] == ' ' || v[i] == ',' || v[i] == '\t')) i++;
        size_t j = i;
        while (j < len && v[j] != ',' && v[j] != ' ' && v[j] != '\t') j++;
        if (j - i == tl && strncasecmp(v + i, token, tl) == 0) return true;
        i = j;
    }
    return false;
}

long st_ws_response(const char *buf, size_t n, const char *key, char *why, size_t whylen)
{
    const char *end = NULL;
    for (size_t i = 0; i + 3 < n && !end; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') end = buf + i + 4;
    if (!end) {
        if (n < MAX_HEAD) return 0;
        snprintf(why, whylen, "an answer to the WebSocket handshake of more than %d bytes", MAX_HEAD);
        return -1;
    }
    const char *eol = memchr(buf, '\n', (size_t)(end - buf));
    size_t sl = (size_t)(eol - buf);
    while (sl && (buf[sl - 1] == '\r')) sl--;
    int status = 0; /* three digits read by hand: buf is not terminated (sscanf would look for the end) */
    for (size_t i = 9; i < 12 && sl >= 12 && buf[i] >= '0' && buf[i] <= '9'; i++) status = status * 10 + (buf[i] - '0');
    if (sl < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' || status < 100) {
        snprintf(why, whylen, "not an HTTP answer to the WebSocket handshake: \"%.*s\"", (int)(sl < 60 ? sl : 60), buf);
        return -1;
    }
    if (status != 101) {
        snprintf(why, whylen, "the WebSocket handshake was answered HTTP %.*s", (int)(sl - 9 < 80 ? sl - 9 : 80), buf + 9);
        return -1;
    }
    const char *h = eol + 1;
    size_t vl = 0;
    const char *v = field(h, end, "Upgrade", &vl);
    if (!v || !has_token(v, vl, "websocket")) {
        snprintf(why, whylen, "a 101 answer without \"Upgrade: websocket\"");
        return -1;
    }
    v = field(h, end, "Connection", &vl);
    if (!v || !has_token(v, vl, "upgrade")) {
        snprintf(why, whylen, "a 101 answer without \"Connection: Upgrade\"");
        return -1;
    }
    char in[128], want[64];
    unsigned char md[20];
    snprintf(in, sizeof(in), "%s" GUID, key);
    lws_SHA1((const unsigned char *)in, strlen(in), md);
    lws_b64_encode_string((const char *)md, 20, want, sizeof(want));
    v = field(h, end, "Sec-WebSocket-Accept", &vl);
    if (!v || vl != strlen(want) || memcmp(v, want, vl) != 0) {
        snprintf(why, whylen, "a 101 answer with %s Sec-WebSocket-Accept", v ? "a wrong" : "no");
        return -1;
    }
    return (long)(end - buf);
}

size_t st_ws_frame_header(uint8_t *out, int opcode, size_t len, uint32_t mask)
{
    size_t h = 2;
    out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        out[1] = 0x80 | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        h = 4;
    } else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++) out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        h = 10;
    }
    out[h] = (uint8_t)(mask >> 24);
    out[h + 1] = (uint8_t)(mask >> 16);
    out[h + 2] = (uint8_t)(mask >> 8);
    out[h + 3] = (uint8_t)mask;
    return h + 4;
}

void st_ws_mask(uint8_t *p, size_t len, const uint8_t mask[4])
{
    for (size_t i = 0; i < len; i++) p[i] ^= mask[i & 3];
}

size_t st_ws_frame(uint8_t *out, int opcode, const void *payload, size_t len, uint32_t mask)
{
    size_t h = st_ws_frame_header(out, opcode, len, mask);
    memcpy(out + h, payload, len);
    st_ws_mask(out + h, len, out + h - 4);
    return h + len;
}

/* buf with room for need bytes (doubling). */
static void *grow(void *buf, size_t *cap, size_t need)
{
    if (need <= *cap) return buf;
    size_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    *cap = c;
    return st_xrealloc(buf, c);
}

/* Appends a fragment to the open message. */
static bool join(st_wsrx_t *rx, const char *p, size_t len, size_t max)
{
    if (rx->mlen + len > max) return false;
    rx->msg = grow(rx->msg, &rx->mcap, rx->mlen + len + 1);
    memcpy(rx->msg + rx->mlen, p, len);
    rx->mlen += len;
    return true;
}

int st_wsrx_feed(st_wsrx_t *rx, const void *data, size_t n, const st_wsrx_cbs_t *cb, void *ctx, const char **why)
{
    size_t max = rx->max ? rx->max : DEFAULT_MAX;
    if (rx->closed) return 0;
    rx->buf = grow(rx->buf, &rx->cap, rx->len + n + 1); /* + 1: a payload at the end is terminated in place */
    memcpy(rx->buf + rx->len, data, n);
    rx->len += n;
    size_t off = 0;
    int rc = 0;
    while (!rx->closed) {
        size_t avail = rx->len - off;
        if (avail < 2) break;
        uint8_t *h = rx->buf + off;
        int op = h[0] & 0x0f;
        bool fin = h[0] & 0x80;
        uint64_t len = h[1] & 0x7f;
        size_t hl = 2;
        if (h[0] & 0x70) {
            *why = "a frame with reserved bits set";
            rc = ST_WS_PROTOCOL_ERROR;
            break;
        }
        if (h[1] & 0x80) {
            *why = "a masked frame from the server";
            rc = ST_WS_PROTOCOL_ERROR;
            break;
        }
        if (op >= ST_WS_OP_CLOSE) {
            if (op > ST_WS_OP_PONG) {
                *why = "a frame with an unknown control opcode";
                rc = ST_WS_PROTOCOL_ERROR;
                break;
            }
            if (!fin || len > 125) {
                *why = "a fragmented or over-long control frame";
                rc = ST_WS_PROTOCOL_ERROR;
                break;
            }
        } else if (op > ST_WS_OP_BINARY) {
            *why = "a frame with an unknown data opcode";
            rc = ST_WS_PROTOCOL_ERROR;
            break;
        }
        if (len == 126) {
            if (avail < 4) break;
            len = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++) len = len << 8 | h[2 + i];
            hl = 10;
        }
        if (len > max) {
            *why = "a frame larger than the largest message accepted";
            rc = ST_WS_TOO_BIG;
            break;
        }
        if (avail - hl < len) { /* not all here yet: room for it, so the next read can complete it */
            rx->buf = grow(rx->buf, &rx->cap, off + hl + (size_t)len + 1);
            break;
        }
        char *p = (char *)h + hl;
        size_t plen = (size_t)len;
        off += hl + plen;
        if (op >= ST_WS_OP_CLOSE) {
            if (op == ST_WS_OP_CLOSE) rx->closed = true;
            cb->control(ctx, op, (const uint8_t *)p, plen);
            continue;
        }
        if (op == ST_WS_OP_CONT) {
            if (!rx->mop) {
                *why = "a continuation frame with no message to continue";
                rc = ST_WS_PROTOCOL_ERROR;
                break;
            }
            if (!join(rx, p, plen, max)) {
                *why = "a message larger than the largest accepted";
                rc = ST_WS_TOO_BIG;
                break;
            }
            if (fin) {
                bool binary = rx->mop == ST_WS_OP_BINARY;
                rx->mop = 0;
                rx->msg[rx->mlen] = '\0';
                size_t ml = rx->mlen;
                rx->mlen = 0;
                cb->message(ctx, rx->msg, ml, binary);
            }
            continue;
        }
        if (rx->mop) {
            *why = "a new message before the fragmented one ended";
            rc = ST_WS_PROTOCOL_ERROR;
            break;
        }
        if (!fin) {
            rx->mop = op;
            rx->mlen = 0;
            join(rx, p, plen, max);
            continue;
        }
        char save = p[plen]; /* the next frame's first byte, or the spare one */
        p[plen] = '\0';
        cb->message(ctx, p, plen, op == ST_WS_OP_BINARY);
        p[plen] = save;
    }
    if (rc) {
        rx->len = 0;
        return rc;
    }
    if (rx->closed) off = rx->len;
    memmove(rx->buf, rx->buf + off, rx->len - off);
    rx->len -= off;
    return 0;
}

void st_wsrx_reset(st_wsrx_t *rx)
{
    rx->len = rx->mlen = 0;
    rx->mop = 0;
    rx->closed = false;
}

void st_wsrx_free(st_wsrx_t *rx)
{
    free(rx->buf);
    free(rx->msg);
    rx->buf = NULL;
    rx->msg = NULL;
    rx->len = rx->cap = rx->mlen = rx->mcap = 0;
}
