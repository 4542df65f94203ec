#include "bookcache.h"
#include "core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CALL_TIMEOUT (5 * ST_SEC)
#define NOT_READY_RETRY (100 * ST_MSEC) /* the venue side is not ready (no token yet) */

typedef struct waiter {
    struct waiter *next;
    st_book_cb cb;
    void *ctx;
} waiter_t;

typedef struct {
    st_tick_t book;
    st_time_t at; /* 0 = never fetched */
    waiter_t *waiters, *last;
    bool inflight, queued;
} entry_t;

typedef struct req {
    struct req *prev, *next;
    st_bookcache_t *bc;
    st_sym_t sym;
} req_t;

struct st_bookcache {
    st_bookcache_cfg_t cfg;
    entry_t **e; /* by symbol, allocated on first ask */
    st_sym_t *queue;
    size_t nq, capq;
    req_t *inflight;
    st_timer_t timer;
};

static void pump(st_bookcache_t *bc);

static void answer_all(entry_t *e, const char *err)
{
    waiter_t *w = e->waiters;
    e->waiters = e->last = NULL;
    while (w) { /* a callback may ask again: the list is detached first */
        waiter_t *next = w->next;
        w->cb(err ? NULL : &e->book, err, w->ctx);
        free(w);
        w = next;
    }
}

static void unlink_req(st_bookcache_t *bc, req_t *r)
{
    if (r->prev) r->prev->next = r->next; else bc->inflight = r->next;
    if (r->next) r->next->prev = r->prev;
    free(r);
}

static void on_answer(const st_http_response_t *resp, void *ctx)
{
    req_t *r = ctx;
    st_bookcache_t *bc = r->bc;
    entry_t *e = bc->e[r->sym];
    e->inflight = false;
    st_tick_t book;
    memset(&book, 0, sizeof(book));
    const char *err = resp->error ? resp->message : bc->cfg.parse(bc->cfg.ctx, resp, r->sym, &book);
    if (!err) {
        e->book = book;
        e->at = st_clock_now(bc->cfg.env.clock);
    } else {
    }
    unlink_req(bc, r);
    answer_all(e, err);
    pump(bc);
}

static void on_timer(st_timer_t *t, st_time_t now, void *ctx)
{
    pump(ctx);
}

/* Sends what the limiter allows, oldest ask first. */
static void pump(st_bookcache_t *bc)
{
    st_time_t now = st_clock_now(bc->cfg.env.clock), retry = ST_TIME_NEVER;
    while (bc->nq) {
        st_sym_t sym = bc->queue[0];
        char url[2048];
        const char *hdr[8] = {NULL};
        if (!bc->cfg.request(bc->cfg.ctx, sym, url, sizeof(url), hdr)) {
            retry = now + NOT_READY_RETRY;
            break;
        }
        if (!st_limiter_try(bc->cfg.limiter, now)) {
            retry = st_limiter_next(bc->cfg.limiter, now);
            break;
        }
        memmove(bc->queue, bc->queue + 1, --bc->nq * sizeof(*bc->queue));
        entry_t *e = bc->e[sym];
        e->queued = false;
        req_t *r = st_xcalloc(1, sizeof(*r));
        r->bc = bc;
        r->sym = sym;
        r->next = bc->inflight;
        if (r->next) r->next->prev = r;
        bc->inflight = r;
        if (st_http_request(bc->cfg.env.http, "GET", url, hdr, NULL, CALL_TIMEOUT, on_answer, r) == 0) {
            e->inflight = true;
        } else {
            unlink_req(bc, r);
            answer_all(e, "the request could not be started");
        }
    }
    if (retry != ST_TIME_NEVER)
        st_clock_timer_start(bc->cfg.env.clock, &bc->timer, retry, 0);
    else
        st_clock_timer_stop(bc->cfg.env.clock, &bc->timer);
}

int st_bookcache_get(st_bookcache_t *bc, st_sym_t sym, st_book_cb cb, void *ctx)
{
    if ((size_t)sym >= bc->cfg.env.nsyms) return -EINVAL;
    if (!bc->e[sym]) bc->e[sym] = st_xcalloc(1, sizeof(entry_t));
    entry_t *e = bc->e[sym];
    st_time_t now = st_clock_now(bc->cfg.env.clock);
    if (e->at && now - e->at < bc->cfg.ttl) { /* fresh: free */
        cb(&e->book, NULL, ctx);
        return 0;
    }
    waiter_t *w = st_xcalloc(1, sizeof(*w));
    w->cb = cb;
    w->ctx = ctx;
    if (e->last) e->last->next = w; else e->waiters = w;
    e->last = w;
    if (!e->inflight && !e->queued) { /* asks while one is pending ride on it */
        e->queued = true;
        if (bc->nq == bc->capq) {
            bc->capq = bc->capq ? bc->capq * 2 : 16;
            bc->queue = st_xrealloc(bc->queue, bc->capq * sizeof(*bc->queue));
        }
        bc->queue[bc->nq++] = sym;
        pump(bc);
    }
    return ST_PENDING;
}

st_bookcache_t *st_bookcache_create(const st_bookcache_cfg_t *cfg)
{
    st_bookcache_t *bc = st_xcalloc(1, sizeof(*bc));
    bc->cfg = *cfg;
    bc->e = st_xcalloc(cfg->env.nsyms ? cfg->env.nsyms : 1, sizeof(*bc->e));
    st_timer_init(&bc->timer, on_timer, bc);
    return bc;
}

void st_bookcache_destroy(st_bookcache_t *bc)
{
    if (!bc) return;
    st_clock_timer_stop(bc->cfg.env.clock, &bc->timer);
    while (bc->inflight) unlink_req(bc, bc->inflight); /* their answers will never come */
    for (size_t s = 0; s < bc->cfg.env.nsyms; s++) {
        if (!bc->e[s]) continue;
        answer_all(bc->e[s], "stopped");
        free(bc->e[s]);
    }
    free(bc->e);
    free(bc->queue);
    free(bc);
}
