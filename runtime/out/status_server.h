/* A small read-only HTTP server on the runtime's loop (libwebsockets with the libev loop as a
 * foreign loop): GET requests only, each answered whole by a handler; an optional bearer token
 * (`Authorization: Bearer <token>`, compared in constant time) guards every path. */
#ifndef ST_OUT_STATUS_SERVER_H
#define ST_OUT_STATUS_SERVER_H

#include <ev.h>

#include "core/common.h"

/* Answers GET path: the HTTP status, with *ctype (static) and *body (malloc'd, freed by the
 * server) set. */
typedef int (*st_status_handler_t)(void *ctx, const char *path, const char **ctype, char **body);

typedef struct st_status_server st_status_server_t;

/* Listens on addr:port (port 0: any free one). token NULL or "" = none. NULL with err set when
 * it cannot listen. */
st_status_server_t *st_status_server_start(struct ev_loop *loop, const char *addr, int port, const char *token,
                                           st_status_handler_t handler, void *ctx, char *err, size_t errlen);
int st_status_server_port(const st_status_server_t *s);
uint64_t st_status_server_requests(const st_status_server_t *s);
void st_status_server_stop(st_status_server_t *s);

#endif
