#include "redisconn.h"
#include "core/log.h"

#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN 0.1 /* seconds before the first reconnect */

static void attempt(st_redisconn_t *c);

static void outage(st_redisconn_t *c, const char *why)
{
    bool was_up = c->connected;
    c->connected = false;
    if (c->closing) return;
    c->outages++;
    if (!c->warned) { /* once an outage: the owner's on_up says it is over */
        st_log_warn(OUT, "redis %s:%d (%s): %s; retrying", c->host, c->port, c->what, why);
        c->warned = true;
        c->down_since = ev_now(c->loop);
    }
    if (was_up && c->on_down) c->on_down(c, c->ctx);
    ev_timer_set(&c->retry, c->backoff, 0);
    ev_timer_start(c->loop, &c->retry);
    c->backoff = c->backoff * 2 > c->backoff_max ? c->backoff_max : c->backoff * 2;
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    attempt(w->data);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    st_redisconn_t *c = ac->data;
    if (status != REDIS_OK) { /* hiredis frees the context after this */
        c->ac = NULL;
        outage(c, ac->errstr[0] ? ac->errstr : "cannot connect");
        return;
    }
    c->connected = true;
    c->backoff = BACKOFF_MIN;
    double down = c->warned ? ev_now(c->loop) - c->down_since : 0;
    c->warned = false;
    if (c->on_up) c->on_up(c, down, c->ctx);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    st_redisconn_t *c = ac->data;
    c->ac = NULL;
    outage(c, status == REDIS_OK ? "the connection closed" : (ac->errstr[0] ? ac->errstr : "connection lost"));
}

static void on_select(redisAsyncContext *ac, void *reply, void *priv)
{
    st_redisconn_t *c = ac->data;
    redisReply *rep = reply;
    if (rep && rep->type == REDIS_REPLY_ERROR)
        st_log_error(OUT, "redis %s:%d: SELECT %d refused: %s", c->host, c->port, c->db, rep->str);
}

static void attempt(st_redisconn_t *c)
{
    redisAsyncContext *ac = redisAsyncConnect(c->host, c->port);
    if (!ac || ac->err) {
        char why[160];
        snprintf(why, sizeof(why), "%s", ac ? ac->errstr : "out of memory");
        if (ac) redisAsyncFree(ac);
        outage(c, why);
        return;
    }
    ac->data = c;
    c->ac = ac;
    redisLibevAttach(c->loop, ac);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (c->db) redisAsyncCommand(ac, on_select, NULL, "SELECT %d", c->db); /* before anything else */
}

void st_redisconn_open(st_redisconn_t *c, struct ev_loop *loop, const char *host, int port, int db,
                       double backoff_max, const char *what)
{
    c->loop = loop;
    c->host = st_xstrdup(host);
    c->what = st_xstrdup(what);
    c->port = port, c->db = db;
    c->backoff = BACKOFF_MIN, c->backoff_max = backoff_max;
    ev_timer_init(&c->retry, on_retry, 0, 0);
    c->retry.data = c;
    attempt(c);
}

void st_redisconn_close(st_redisconn_t *c)
{
    c->closing = true;
    ev_timer_stop(c->loop, &c->retry);
    if (c->ac) redisAsyncFree(c->ac); /* pending callbacks run with no reply, then the disconnect's */
    c->ac = NULL;
    free(c->host), free(c->what);
}

static bool array_of(const redisReply *r, size_t n)
{
    return r && r->type == REDIS_REPLY_ARRAY && r->elements >= n;
}

size_t st_redis_xread_each(const redisReply *r, void (*fn)(void *ctx, const char *id, const redisReply *fields),
                           void *ctx)
{
    size_t bad = 0;
    for (size_t s = 0; array_of(r, 0) && s < r->elements; s++) {
        const redisReply *st = r->element[s];
        if (!array_of(st, 2) || !array_of(st->element[1], 0)) {
            bad++;
            continue;
        }
        for (size_t i = 0; i < st->element[1]->elements; i++) {
            const redisReply *e = st->element[1]->element[i];
            if (!array_of(e, 2) || e->element[0]->type != REDIS_REPLY_STRING || !array_of(e->element[1], 0)) {
                bad++;
                continue;
            }
            fn(ctx, e->element[0]->str, e->element[1]);
        }
    }
    return bad;
}

const char *st_redis_field(const redisReply *kv, const char *name)
{
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && !strcmp(kv->element[i]->str, name) &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING)
            return kv->element[i + 1]->str;
    return "";
}

static void tail_entry(void *ctx, const char *id, const redisReply *fields)
{
    st_redis_tail_t *t = ctx;
    snprintf(t->last, sizeof(t->last), "%s", id);
    t->fn(t->ctx, id, fields);
}

static void tail_answer(redisAsyncContext *ac, void *reply, void *priv)
{
    st_redis_tail_t *t = priv;
    if (t->conn->closing || !reply) return; /* the connection went: read again when it is up */
    st_redis_xread_each(reply, tail_entry, t);
    st_redis_tail_read(t);
}

void st_redis_tail_read(st_redis_tail_t *t)
{
    if (t->conn->ac && t->conn->connected)
        redisAsyncCommand(t->conn->ac, tail_answer, t, "XREAD BLOCK 1000 COUNT 256 STREAMS %s %s", t->key, t->last);
}
