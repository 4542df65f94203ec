/* A small read-only HTTP server on the runtime's loop (libwebsockets with the libev loop as a
 * foreign loop): GET requests only, each answered whole by a handler; an optional bearer token
 * (`Authorization: Bearer <token>`, of any length, compared in constant time) guards every path.
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
} st_status_server_stats_t;
void st_status_server_stats(const st_status_server_t *s, st_status_server_stats_t *out);
uint64_t st_status_server_requests(const st_status_server_t *s);
void st_status_server_stop(st_status_server_t *s);

#endif
