/* The WebSocket protocol (RFC 6455) of a client, pure: no I/O, no clock. The opening
 * handshake (the request, its key, the check of the server's answer), masked frames out, and
 * the bytes a server sends turned into whole messages and control frames.
 *
 * Why strata frames WebSocket itself: libwebsockets 4.1 takes a received payload through its
 * parser one byte per call, which was 60 % of the CPU strata spends on a KIS tick (issue 19,
 * bench_e2e). wsconn.c now opens a raw connection through libwebsockets (which still does the
 * connecting, TLS and the event loop) and frames with this module: a received chunk is copied
 * once and its frames found by their headers. Everything a server sends is untrusted: every
 * violation is a protocol error with its close code and a reason (fuzz_wsframe). */
#ifndef ST_FEEDS_WSFRAME_H
#define ST_FEEDS_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_WS_OP_CONT 0x0
#define ST_WS_OP_TEXT 0x1
#define ST_WS_OP_BINARY 0x2
#define ST_WS_OP_CLOSE 0x8
#define ST_WS_OP_PING 0x9
#define ST_WS_OP_PONG 0xa

#define ST_WS_PROTOCOL_ERROR 1002
#define ST_WS_TOO_BIG 1009

/* The Sec-WebSocket-Key of 16 random bytes (base 64, 24 characters). */
void st_ws_key(const uint8_t nonce[16], char key[32]);
/* The opening handshake's request for path on host (port shown unless it is the scheme's
 * default). Returns its length, 0 if cap is too small. No Origin header: Upbit allows one
 * handshake carrying it per 10 seconds. */
size_t st_ws_request(char *out, size_t cap, const char *host, int port, bool tls, const char *path, const char *key);
/* The server's answer to the handshake, in buf[0..n): 0 while its head is incomplete; the
 * head's length when it is a 101 with the Upgrade, Connection and Sec-WebSocket-Accept for key;
 * -1 otherwise, with why ("HTTP 429 Too Many Requests", "a wrong Sec-WebSocket-Accept"). */
long st_ws_response(const char *buf, size_t n, const char *key, char *why, size_t whylen);

/* The largest frame header: 2 + 8 (length) + 4 (mask). */
#define ST_WS_MAX_HEADER 14
/* A client frame's header (FIN set, the length, the mask) for a payload of len bytes into
 * out; returns its length (the mask is its last 4 bytes). */
size_t st_ws_frame_header(uint8_t *out, int opcode, size_t len, uint32_t mask);
/* XORs p[0..len) with the 4-byte mask (masks and unmasks). */
void st_ws_mask(uint8_t *p, size_t len, const uint8_t mask[4]);
/* A client frame (FIN set, masked with mask) of payload[0..len) into out, which has room for
 * len + ST_WS_MAX_HEADER bytes. Returns its length. */
size_t st_ws_frame(uint8_t *out, int opcode, const void *payload, size_t len, uint32_t mask);

typedef struct {
    /* A whole message, its fragments joined; data[len] is '\0'. The bytes are the receiver's:
     * they change after the call. */
    void (*message)(void *ctx, char *data, size_t len, bool binary);
    /* A ping, a pong or a close (payload: its status code and reason), in order with the
     * messages. Nothing is delivered after a close. */
    void (*control)(void *ctx, int opcode, const uint8_t *payload, size_t len);
} st_wsrx_cbs_t;

typedef struct {
    uint8_t *buf;      /* received bytes not yet a whole frame, and room for one more */
    size_t len, cap;
    char *msg;         /* a fragmented message being joined */
    size_t mlen, mcap;
    int mop;           /* its opcode; 0 when none is open */
    size_t max;        /* the largest message accepted (0: 16 MiB) */
    bool closed;       /* a close frame came: the rest is ignored */
} st_wsrx_t;

/* Takes n received bytes: whole messages and control frames to the callbacks, in order.
 * Returns 0, or the close code of a protocol violation (ST_WS_PROTOCOL_ERROR, ST_WS_TOO_BIG)
 * with *why; the receiver must not be fed again until reset. */
int st_wsrx_feed(st_wsrx_t *rx, const void *data, size_t n, const st_wsrx_cbs_t *cb, void *ctx, const char **why);
/* For a new connection: nothing buffered, no message open (the memory is kept). */
void st_wsrx_reset(st_wsrx_t *rx);
void st_wsrx_free(st_wsrx_t *rx);

#endif
