/* KIS REST for one app key: the access token and tier-3 polling.
 *
 * Token: POST /oauth2/tokenP, cached with its expiry in a file (mode 0600, outside the repo:
 * token_dir, by default $XDG_CACHE_HOME/strata or ~/.cache/strata; the file is named by a hash
 * of the app key, never the key) so a restart reuses it; re-issued an hour before it expires;
 * never more than one issue a minute (KIS answers EGW00133 otherwise); a quotation answered
 * EGW00123 (expired) or EGW00121 (invalid) re-issues it once.
 *
 * Polling (restpoll.h does the scheduling, pacing and bookkeeping): intstock-multprice with up
 * to 30 symbols per call on real accounts, inquire-price one by one on paper accounts; rows
 * become ST_TICK_SNAPSHOT ticks; EGW00201 and HTTP 429 are rate errors; calls wait while there
 * is no token. */
#ifndef ST_FEEDS_KIS_REST_H
#define ST_FEEDS_KIS_REST_H

#include "core/clock.h"
#include "core/http.h"
#include "market/symtab.h"
#include "market/tick.h"
#include "bookcache.h"
#include "restpoll.h"

typedef struct st_kis_rest st_kis_rest_t;

typedef struct {
    st_rest_env_t env;
    const char *base_url;    /* https://openapi.koreainvestment.com:9443 */
    const char *app_key, *app_secret;
    const char *token_dir;   /* "" = $XDG_CACHE_HOME/strata or ~/.cache/strata; "none" = no cache */
    bool paper;              /* no multprice: one symbol per call */
    double rate;             /* the key's REST calls per second */
    int limiter_mode;        /* st_limiter_mode_t */
    int failure_threshold;   /* consecutive misses before a symbol is reported */
    st_dur_t orderbook_ttl;  /* orderbooks on demand answer again for this long */
    void (*on_snapshot)(void *ctx, const st_tick_t *t);     /* sym and venue_time set */
    void (*on_failure)(void *ctx, st_sym_t sym);            /* failure_threshold misses in a row */
    void *ctx;
} st_kis_rest_cfg_t;

typedef struct {
    st_restpoll_stats_t rp; /* the quotations */
    uint64_t tokens_issued, tokens_reused;
    uint64_t token_calls; /* access-token requests answered (or failed) */
    uint64_t auth_failures; /* the credentials refused (EGW00103/EGW00105) */
} st_kis_rest_stats_t;

st_kis_rest_t *st_kis_rest_create(const st_kis_rest_cfg_t *cfg);
void st_kis_rest_start(st_kis_rest_t *r);
void st_kis_rest_stop(st_kis_rest_t *r);
void st_kis_rest_destroy(st_kis_rest_t *r);
void st_kis_rest_stats(st_kis_rest_t *r, st_kis_rest_stats_t *out);
/* A symbol's orderbook on demand (inquire-asking-price-exp-ccn), cached (bookcache.h). */
int st_kis_rest_orderbook(st_kis_rest_t *r, st_sym_t sym, st_book_cb cb, void *ctx);
/* The quotations' poller (tier-3 changes go straight to it). */
st_restpoll_t *st_kis_rest_poller(st_kis_rest_t *r);
/* The token file's path for an app key (for tests and operators). */
void st_kis_token_path(const char *token_dir, const char *app_key, char *buf, size_t len);

#endif
