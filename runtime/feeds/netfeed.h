/* What the venue feeds over the network share (kis_feed.c, upbit_feed.c): WebSocket sessions,
 * each an st_subconn_t (its ledger, coalescer and limiter) first in the venue's own session
 * struct, and a REST side whose poller serves tier 3 and, while a session is down, that
 * session's tiers 1-2. A venue file keeps what is its own — its codec's glue (the session
 * callbacks: approval keys, pings, frames), its REST requests, its counters — and embeds this
 * struct first, so its feed is an st_feed_t and an st_netfeed_t. A third venue is a codec plus
 * such a file. */
#ifndef ST_FEEDS_NETFEED_H
#define ST_FEEDS_NETFEED_H

#include "bookcache.h"
#include "feed.h"
#include "subconn.h"

typedef struct {
    st_feed_t base; /* first: the feed interface */
    struct lws_context *ctx; /* the sessions' */
    st_tls_ctx_t *tls_ctx;   /* wss://: the CA store the sessions verify the venue against */
    st_http_t *http;         /* the REST side's */
    char url[512], host[256], path[256];
    int port;
    bool tls;
    char *rest_url; /* without a trailing '/' */
    const st_symtab_t *syms;
    size_t nsyms;
    uint8_t *kinds;        /* by symbol id: st_feed_sym_kind_t */
    st_subconn_t **conns;  /* session k: the st_subconn_t first in the venue's session struct */
    st_coalescer_t **cos;  /* conns[k]->co, for st_feed_apply_subs */
    int nconns, budget;
    struct st_restpoll *poller; /* tier 3, and the fallback polls (the venue sets it) */
    st_dur_t default_poll;  /* a poll change without a plan (tests): tiers.polling.medium */
    st_dur_t fallback_poll; /* tiers.polling.min_interval: tiers 1-2 of a session that is down */
    uint8_t *fallback;      /* by symbol: 1 + the session whose outage has it polled, 0 = none */
    uint64_t malformed;     /* frames dropped as malformed */
    st_time_t warned_malformed;
    bool running;
} st_netfeed_t;

/* What the venue's REST clients (its poller, its orderbook cache) are told of the feed. */
static inline st_rest_env_t st_netfeed_rest_env(const st_netfeed_t *nf, const st_feed_cfg_t *fc, const st_feed_env_t *env)
{
    return (st_rest_env_t){fc->name, env->clock, nf->http, env->syms, nf->nsyms};
}

/* The shared part of a venue feed for fc: the URL parsed, the WebSocket and HTTP contexts, the
 * symbols, and *sessions: fc->connections venue session structs of session_size bytes each
 * (each beginning with its st_subconn_t), zeroed, for the venue to fill (st_netfeed_session).
 * Returns 0, or a negative error with the reason in err (nothing left to free). */
int st_netfeed_init(st_netfeed_t *nf, const st_feed_vtable_t *vt, const st_feed_cfg_t *fc, const st_feed_env_t *env,
                    void **sessions, size_t session_size, char *err, size_t errlen);
/* Session k set up: its subscriptions (refused may be NULL) and its connection, with the venue's
 * callbacks (cb_ctx: the venue's session struct). */
void st_netfeed_session(st_netfeed_t *nf, int k, st_venue_t venue, const st_feed_cfg_t *fc,
                        void (*refused)(void *ctx, st_key_t key, st_ack_t ack, int cap), st_wsconn_cbs_t cb,
                        void *cb_ctx);
/* Session sc went down or came back: while it is down its tiers 1-2 are polled by REST at the
 * fastest interval allowed; when it is back they are handed back to the stream. */
void st_netfeed_fallback_sync(st_netfeed_t *nf, st_subconn_t *sc);
/* The feed interface's apply: the plan's changes into subscriptions and polling, the sessions
 * armed (and the fallback of those that are down brought up to date). */
int st_netfeed_apply(st_feed_t *f, const st_plan_change_t *ch, size_t n, int conn_base, const st_planner_t *plan);
/* The shared counters (the venue adds its REST side's and its own). */
void st_netfeed_stats(const st_netfeed_t *nf, st_feed_stats_t *out);
/* Stops every session and its flush timer (the venue stops its REST side and timers of its own). */
void st_netfeed_stop_sessions(st_netfeed_t *nf);
/* HTTP, then the WebSocket context: requests in flight are cancelled (their callbacks not
 * called), sessions left are closed (their callbacks may still run: the venue's REST side must
 * still be there). */
void st_netfeed_close(st_netfeed_t *nf);
/* Frees what init allocated (sessions: its array), after the venue let go of its sessions'
 * parts (st_subconn_free and its own). */
void st_netfeed_free(st_netfeed_t *nf, void *sessions);
/* Adds an account's REST polling figures (calls, staleness, stretch, penalty). */
struct st_restpoll_stats;
void st_netfeed_add_restpoll(st_feed_stats_t *out, const struct st_restpoll_stats *rp);
/* A malformed frame: counted, and logged at most once a minute with its first bytes. */
void st_netfeed_malformed(st_netfeed_t *nf, const char *what, const char *buf, st_time_t now);

#endif
