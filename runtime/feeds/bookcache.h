/* Orderbooks on demand by REST, cached: a strategy asks for a symbol's book; a fresh cached one
 * (younger than the TTL, 30 s by default) answers at once and costs nothing; otherwise one
 * request goes out when the account's limiter allows it (shared with polling and tokens), and
 * every ask that arrived meanwhile for that symbol rides on it. The venue builds the request
 * and reads the answer (kis_rest.c, upbit_feed.c). */
#ifndef ST_FEEDS_BOOKCACHE_H
#define ST_FEEDS_BOOKCACHE_H

#include "core/clock.h"
#include "core/http.h"
#include "market/symtab.h"
#include "market/tick.h"
#include "subs/limiter.h"

/* What a feed's REST clients share (this cache, the poller, a venue's client): the feed's name
 * for log lines, its clock, its HTTP client and the symbols. */
typedef struct {
    const char *name;
    st_clock_t *clock;
    st_http_t *http;
    const st_symtab_t *syms;
    size_t nsyms;
} st_rest_env_t;

typedef struct st_bookcache st_bookcache_t;

/* The answer to an ask: the book (NULL on failure) or why it failed. */
typedef void (*st_book_cb)(const st_tick_t *book, const char *err, void *ctx);

typedef struct {
    st_rest_env_t env;
    st_limiter_t *limiter; /* the account's */
    st_dur_t ttl;
    /* The request for sym: URL and up to 7 headers (NULL-terminated, alive until it returns);
     * false when it cannot go out yet (no token). */
    bool (*request)(void *ctx, st_sym_t sym, char *url, size_t urllen, const char **headers);
    /* Reads the answer into book (kind, sym, venue_time set); NULL, or what went wrong. */
    const char *(*parse)(void *ctx, const st_http_response_t *resp, st_sym_t sym, st_tick_t *book);
    void *ctx;
} st_bookcache_cfg_t;

st_bookcache_t *st_bookcache_create(const st_bookcache_cfg_t *cfg);
/* After the HTTP handle is destroyed; asks still waiting are answered "stopped". */
void st_bookcache_destroy(st_bookcache_t *bc);
/* Asks for sym's book: cb runs at once with a fresh cached book (returns 0), or later (returns
 * ST_PENDING); -EINVAL for a symbol out of range (cb not called). */
int st_bookcache_get(st_bookcache_t *bc, st_sym_t sym, st_book_cb cb, void *ctx);

#endif
