/* Tier-3 REST polling for one venue account, without the venue: the poll scheduler
 * (subs/poller.h) picks the symbols, the account's limiter (shared with every other REST use of
 * it) paces the calls, one timer runs at the later of the next due time and the next grant.
 * The venue (kis_rest.c, upbit_feed.c) builds each request and reads each answer.
 *
 * Outcomes: rows become snapshot ticks; a symbol missing from `failure_threshold` answers in a
 * row is reported (the planner excludes it for a cool-down) and retried after a tenth of its
 * interval like every failed symbol; a rate error (EGW00201, HTTP 429) drops the limiter's
 * penalty; a ban (HTTP 418) blocks every call until it ends; timeouts and malformed answers are
 * counted. */
#ifndef ST_FEEDS_RESTPOLL_H
#define ST_FEEDS_RESTPOLL_H

#include "bookcache.h"
#include "core/clock.h"
#include "core/http.h"
#include "market/symtab.h"
#include "market/tick.h"
#include "subs/poller.h"
#include "subs/limiter.h"

#define ST_RESTPOLL_MAX_BATCH 100

typedef struct st_restpoll st_restpoll_t;

typedef enum {
    ST_RP_OK,      /* rows delivered with st_restpoll_row; the symbols without one are misses */
    ST_RP_RATE,    /* the venue's rate error: slow down, retry the symbols */
    ST_RP_BANNED,  /* no calls until st_restpoll_ban's time */
    ST_RP_RETRY,   /* anything else (token renewed, malformed): retry the symbols */
} st_rp_outcome_t;

#define ST_RESTPOLL_SHARE 0.95 /* of the account's REST rate, for polling; the rest for tokens and orderbooks */

typedef struct {
    st_rest_env_t env;
    int batch;              /* symbols per call, <= ST_RESTPOLL_MAX_BATCH */
    double rate;            /* the account's REST calls per second */
    int limiter_mode;       /* st_limiter_mode_t */
    int failure_threshold;
    /* The request for syms[0..n): the URL and up to 7 headers (NULL-terminated; the strings
     * must live until the call returns). */
    void (*request)(void *ctx, const st_sym_t *syms, size_t n, char *url, size_t urllen, const char **headers);
    /* Reads an answer (resp->error set for a transport failure). */
    st_rp_outcome_t (*answer)(void *ctx, st_restpoll_t *rp, const st_http_response_t *resp, const st_sym_t *syms,
                              size_t n);
    bool (*ready)(void *ctx); /* may calls go out (a token, …)? NULL = always */
    void (*on_snapshot)(void *ctx, const st_tick_t *t);
    void (*on_failure)(void *ctx, st_sym_t sym); /* sym was missing from an answer: every miss */
    void *ctx;
} st_restpoll_cfg_t;

typedef struct st_restpoll_stats {
    uint64_t calls, ok, rate_errors, bans, timeouts, malformed, failures;
    uint64_t calls_last_second;
    double penalty;
    st_dur_t margin;
    const st_poller_t *poller;
} st_restpoll_stats_t;

st_restpoll_t *st_restpoll_create(const st_restpoll_cfg_t *cfg);
/* After the HTTP handle is destroyed (calls in flight are then freed here). */
void st_restpoll_destroy(st_restpoll_t *rp);
void st_restpoll_start(st_restpoll_t *rp);
void st_restpoll_stop(st_restpoll_t *rp);
/* Polls sym every interval (class cls of the figures); interval 0 stops. */
void st_restpoll_set(st_restpoll_t *rp, st_sym_t sym, st_dur_t interval, int cls);
/* Something `ready` depends on changed (a token arrived), or the schedule was changed through
 * st_restpoll_schedule: look at the schedule again. */
void st_restpoll_kick(st_restpoll_t *rp);
/* The schedule itself, for many changes at once (st_feed_apply_polls); then st_restpoll_kick. */
st_poller_t *st_restpoll_schedule(st_restpoll_t *rp);
/* From answer: one symbol's row. */
void st_restpoll_row(st_restpoll_t *rp, const st_tick_t *t);
/* From answer: no calls before `until` (HTTP 418, Retry-After). */
void st_restpoll_ban(st_restpoll_t *rp, st_time_t until);
/* The account's limiter, for its other REST uses (tokens, orderbooks). */
st_limiter_t *st_restpoll_limiter(st_restpoll_t *rp);
void st_restpoll_stats(st_restpoll_t *rp, st_restpoll_stats_t *out);

#endif
