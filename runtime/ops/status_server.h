/* A small read-only HTTP server on the runtime's loop (libwebsockets with the libev loop as a
 * foreign loop): GET requests only, each answered whole by a handler; an optional bearer token
 * (`Authorization: Bearer <token>`, of any length, compared in constant time) guards every path
 * but the configured public one (the dashboard's page, which holds no data); the live channel
 * (below) takes it as its first message instead, so it never travels in a URL.
 * strata owns the listening socket: bound to exactly the configured address, at most
 * max_connections served at once, and a pause (not a storm of log lines) when the process runs
 * out of descriptors. */
#ifndef ST_OPS_STATUS_SERVER_H
#define ST_OPS_STATUS_SERVER_H

#include <ev.h>

#include "core/common.h"

/* Answers GET path (with "?" and its query when there is one, as libwebsockets gives it): the
 * HTTP status, with *ctype (static) and *body (malloc'd, freed by the server) set. */
typedef int (*st_status_handler_t)(void *ctx, const char *path, const char **ctype, char **body);

typedef struct st_status_server st_status_server_t;

typedef struct {
    const char *addr;    /* an IPv4 or IPv6 literal, bound exactly (IPv6: v6 only) */
    int port;            /* 0: any free one */
    const char *token;   /* NULL or "" = none */
    int max_connections; /* served at once; more are closed at accept; 0 = 64 */
    double live_timeout; /* seconds a live client may leave a frame untaken before it is dropped; 0 = 10 */
    const char *public_path; /* the one path served without the token (a page that holds no data); NULL: none */
} st_status_server_cfg_t;

/* Listens; NULL with err set when it cannot. */
st_status_server_t *st_status_server_start(struct ev_loop *loop, const st_status_server_cfg_t *cfg,
                                           st_status_handler_t handler, void *ctx, char *err, size_t errlen);
int st_status_server_port(const st_status_server_t *s);
/* The address the socket is bound to, as the kernel says: "127.0.0.1:8787", "[::1]:8787". */
const char *st_status_server_bound(const st_status_server_t *s);
/* The listening socket (tests). */
int st_status_server_fd(const st_status_server_t *s);
typedef struct {
    uint64_t requests, refused; /* refused: closed at accept, over max_connections */
    int connections;            /* open now */
    size_t live;                /* live clients that gave their token */
    uint64_t live_dropped;      /* dropped for leaving frames untaken */
    uint64_t live_refused;      /* closed for a wrong token */
} st_status_server_stats_t;
void st_status_server_stats(const st_status_server_t *s, st_status_server_stats_t *out);
uint64_t st_status_server_requests(const st_status_server_t *s);

/* The live channel: a WebSocket on any path with the subprotocol "strata-live". A client's
 * first message is the token (anything when none is set; a wrong one closes it with 1008,
 * none within 5 s closes it); then it gets every frame broadcast, or rather the latest: one
 * frame is kept for all clients, and a client that leaves one untaken for live_timeout is
 * dropped, so a slow client costs at most one frame in flight. */
void st_status_server_broadcast(st_status_server_t *s, const char *frame, size_t len);
/* Live clients that gave their token. */
size_t st_status_server_live(const st_status_server_t *s);
void st_status_server_stop(st_status_server_t *s);

#endif
