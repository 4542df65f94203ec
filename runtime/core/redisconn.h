/* One hiredis connection on strata's loop that comes back by itself: connects (the libev
 * adapter), says an outage once and backs off from 100 ms to backoff_max between attempts, and
 * tells its owner when it is up (again) and when it went down. What to send and what a loss
 * costs is the owner's (ops/redisout.c publishes, app/remote.c reads demands, app/cluster.c keeps the lease). */
#ifndef ST_CORE_REDISCONN_H
#define ST_CORE_REDISCONN_H

#include "core/common.h"

#include <ev.h>

struct redisAsyncContext;

typedef struct st_redisconn {
    struct ev_loop *loop;
    struct redisAsyncContext *ac; /* NULL between attempts; commands may be queued while connecting */
    bool connected, warned, closing;
    char *host, *what; /* what: for the log ("publishing", "remote demands") */
    int port, db;
    double backoff, backoff_max;
    ev_timer retry;
    ev_tstamp down_since;
    uint64_t outages;
    void (*on_up)(struct st_redisconn *c, double down_for, void *ctx); /* down_for: 0 the first time */
    void (*on_down)(struct st_redisconn *c, void *ctx);                /* may be NULL */
    void *ctx;
} st_redisconn_t;

/* Starts connecting. */
void st_redisconn_open(st_redisconn_t *c, struct ev_loop *loop, const char *host, int port, int db,
                       double backoff_max, const char *what);
/* Frees the connection now: commands still unanswered get their callbacks with no reply. */
void st_redisconn_close(st_redisconn_t *c);

#endif
