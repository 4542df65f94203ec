/* One WebSocket client session of a network feed, on the runtime's libev loop: libwebsockets
 * connects a raw socket; on wss:// TLS runs over it in memory (tlsbio.c: the server verified
 * against the system CA store or tls_ca_file); the WebSocket protocol is strata's own
 * (wsframe.c: the handshake, frames, pings, closes; see there why); a send queue, messages reassembled from fragments, and resilience — a lost session is reconnected after an
 * exponential, jittered, bounded backoff. A session that receives nothing for stall_timeout
 * while it holds subscriptions may only be quiet (after hours, illiquid symbols, no keep-alive
 * from the venue): it is sent a WebSocket ping, which RFC 6455 obliges the venue to answer; a
 * pong (or any frame) within a third of stall_timeout keeps it, silence then calls it stalled
 * and reconnects it. Venue logic lives in the callbacks (kis_feed.c, upbit_feed.c); this module
 * knows no venue.
 *
 * Life: start → prepare (the venue's preliminaries, e.g. KIS's approval key; it calls
 * st_wsconn_connect or st_wsconn_retry) → open → messages … → closed → retry after the
 * backoff → prepare → … until stop. Times follow the strata clock. */
#ifndef ST_FEEDS_WSCONN_H
#define ST_FEEDS_WSCONN_H

#include "core/clock.h"
#include "tlsbio.h"
#include "wsframe.h"

struct lws;
struct lws_context;
typedef struct st_wsconn st_wsconn_t;

typedef struct {
    /* Before each connection attempt: connect now, or do what must come first. NULL = connect. */
    void (*prepare)(st_wsconn_t *w, void *ctx);
    void (*on_open)(st_wsconn_t *w, void *ctx);
    /* One whole message (text or binary). */
    void (*on_message)(st_wsconn_t *w, const char *buf, size_t len, void *ctx);
    /* The session is gone (a retry is already scheduled unless the connection was stopped). */
    void (*on_closed)(st_wsconn_t *w, void *ctx);
    /* Whether the session holds subscriptions (a quiet stream is a stall only then). */
    bool (*subscribed)(st_wsconn_t *w, void *ctx);
} st_wsconn_cbs_t;

typedef struct st_wsmsg st_wsmsg_t;

typedef enum { ST_WSCONN_IDLE, ST_WSCONN_PREPARING, ST_WSCONN_CONNECTING, ST_WSCONN_OPEN, ST_WSCONN_WAITING } st_wsconn_state_t;

struct st_wsconn {
    char feed[48]; /* for log lines: "<feed>: session <index>: …" */
    int index;
    struct lws_context *ctx;
    const char *host, *path; /* owned by the caller, live as long as the connection */
    int port;
    bool tls;
    st_clock_t *clock;
    st_dur_t stall_timeout, backoff_min, backoff_max;
    st_wsconn_cbs_t cb;
    void *cb_ctx;

    struct lws *wsi;
    st_wsconn_state_t state;
    st_wsmsg_t *head, *tail;
    st_wsrx_t rx;     /* frames into messages (wsframe.c) */
    char key[32];     /* this connection's Sec-WebSocket-Key */
    st_tls_ctx_t *tls_ctx;    /* wss://: the feed's CA store (the caller's) */
    st_tls_t *tls_session;    /* wss://: this connection's TLS session (tlsbio.c) */
    char *buf;        /* the answer to the handshake, until it is whole */
    size_t buflen, bufcap;
    char *out;        /* wss://: TLS records on their way to the socket */
    size_t outcap;
    bool upgraded;    /* the 101 came: frames flow */
    bool request_due; /* the handshake's request waits for the writeable callback */
    bool pong_due;    /* a ping's payload to answer with a pong */
    uint8_t pong[125];
    size_t pong_len;
    bool echo_close;  /* the venue sent a close: one goes back, then the connection ends */
    char why[256];    /* why this connection failed or was closed, when strata knows better than lws */
    st_time_t last_rx;
    st_timer_t retry, stall;
    uint64_t rng;
    int failures;     /* consecutive, for the backoff; st_wsconn_alive clears it */
    bool closing;     /* strata asked for the close */
    int close_code;   /* the close frame's status */
    int peer_close;   /* the status of the venue's close frame, 0 if none */
    bool running;
    bool long_wait;   /* the next retry waits backoff_max (the venue refused the session) */
    bool probing;     /* quiet for stall_timeout: a ping is out (or queued), its answer awaited */
    bool ping_due;    /* the ping waits for the writeable callback */
    uint64_t connects, drops, stalls, failed; /* failed: connection attempts that never opened */
    uint64_t probes, pongs; /* pings sent to quiet sessions; pongs received */
};

/* The connection context of a feed on `loop` (one per feed). NULL on failure. */
struct lws_context *st_wsconn_context_create(struct ev_loop *loop);
void st_wsconn_context_destroy(struct lws_context *ctx);

/* Splits "ws[s]://host[:port][/path]" into host, port (default 80 / 443), path (with its
 * leading '/') and tls. Returns 0, or -EINVAL. */
int st_wsconn_url_parse(const char *url, char *host, size_t hostlen, int *port, char *path, size_t pathlen,
                    bool *tls);

/* Reconnect delay after `attempt` consecutive failures: min doubled per attempt, bounded by
 * max, scaled by 0.5 + 0.5 x r01 (jitter; r01 in [0, 1)). */
st_dur_t st_wsconn_backoff(st_dur_t min, st_dur_t max, int attempt, double r01);

/* Fills everything but the callbacks' work; the caller sets the public fields above first
 * (feed, index, ctx, host, path, port, tls and tls_ctx, clock, stall_timeout, backoff_*, cb,
 * cb_ctx). */
void st_wsconn_init(st_wsconn_t *w);
void st_wsconn_start(st_wsconn_t *w);
/* Stops for good: timers off, the session closed, no reconnect. */
void st_wsconn_stop(st_wsconn_t *w);
void st_wsconn_free(st_wsconn_t *w);
/* From prepare: open the WebSocket now. */
void st_wsconn_connect(st_wsconn_t *w);
/* From prepare (or a venue refusal): give up this attempt and retry after the backoff
 * (backoff_max when long_wait). `why` is logged. */
void st_wsconn_retry(st_wsconn_t *w, const char *why, bool long_wait);
/* Closes the open session politely, a close frame with `code` first (1000 normal; 4000 and up
 * strata's own: 4000 stalled, 4001 refused by the venue), so the venue frees what it holds for
 * it (KIS: the app key's one session); a reconnect follows unless stopped. */
void st_wsconn_close(st_wsconn_t *w, int code);
#define ST_WSCONN_CLOSE_NORMAL 1000
#define ST_WSCONN_CLOSE_STALLED 4000
#define ST_WSCONN_CLOSE_REFUSED 4001
/* Queues a message (text or binary). Returns 0, or -ENOTCONN when the session is not open. */
int st_wsconn_send(st_wsconn_t *w, const char *msg, size_t len, bool binary);
/* Data is flowing: the next failure starts the backoff afresh. */
static inline void st_wsconn_alive(st_wsconn_t *w) { w->failures = 0; }
static inline bool st_wsconn_open(const st_wsconn_t *w) { return w->state == ST_WSCONN_OPEN; }
/* Down: running, not open, and not merely making its first attempt (a failure or a drop came
 * first). What the session carries is then served some other way (REST fallback). */
static inline bool st_wsconn_down(const st_wsconn_t *w)
{
    return w->running && w->state != ST_WSCONN_OPEN && (w->failures > 0 || w->drops > 0);
}

#endif
