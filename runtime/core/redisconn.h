/* One hiredis connection on strata's loop that comes back by itself: connects (the libev
 * adapter), says an outage once and backs off from 100 ms to backoff_max between attempts, and
 * tells its owner when it is up (again) and when it went down. What to send and what a loss
 * costs is the owner's (ops/redisout.c publishes, app/remote.c reads demands, app/cluster.c keeps the lease). */
#ifndef ST_CORE_REDISCONN_H
#define ST_CORE_REDISCONN_H

#include "core/common.h"

#include <ev.h>

struct redisAsyncContext;
struct redisReply;

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

/* The entries of an XREAD reply ([[key, [[id, [name, value, …]], …]], …]), each to fn with its id
 * and its fields as they came: the reply's shape is checked before it is read (entries come from
 * other programs); malformed parts are skipped. Returns the entries that were not well formed. */
size_t st_redis_xread_each(const struct redisReply *r,
                           void (*fn)(void *ctx, const char *id, const struct redisReply *fields), void *ctx);
/* A field's value in an entry's [name, value, …] ("" when absent or not a string). */
const char *st_redis_field(const struct redisReply *fields, const char *name);

/* Following a stream on a connection of its own (XREAD BLOCK holds it): each entry after `last`
 * to fn, `last` kept as the entry read, and read again after each answer while the connection
 * is up; call st_redis_tail_read when it is up (again). last starts as "$" (what comes after the
 * first read), "0" or an entry id. */
typedef struct {
    st_redisconn_t *conn;
    const char *key;
    char last[64];
    void (*fn)(void *ctx, const char *id, const struct redisReply *fields);
    void *ctx;
} st_redis_tail_t;
void st_redis_tail_read(st_redis_tail_t *t);

#endif
