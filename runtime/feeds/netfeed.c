#include "netfeed.h"
#include "restpoll.h"
#include "core/log.h"
#include "subs/poller.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- helpers (no one else's) -------------------------------------------------------------- */

/* Adds a session's figures: the session (open, drops, stalls, failed attempts) and its
 * subscriptions (held, desired, messages, latency, penalty). */
static void stats_add_subconn(st_feed_stats_t *out, st_subconn_t *c, st_time_t now)
{
    const st_coalescer_t *co = &c->co;
    out->sessions_open += st_wsconn_open(&c->ws);
    if (out->nconns < ST_PLAN_MAX_CONNS) {
        out->conn_held[out->nconns] = co->ledger.confirmed;
        out->conn_open[out->nconns++] = st_wsconn_open(&c->ws);
    }
    out->reconnects += c->ws.drops;
    out->stalls += c->ws.stalls;
    out->quiet_pings += c->ws.probes;
    out->pongs += c->ws.pongs;
    out->connect_failures += c->ws.failed;
    out->ws_used += co->ledger.confirmed;
    out->ws_desired += co->ledger.desired;
    out->subs_requests += co->st.requests;
    out->subs_messages += co->st.messages;
    if (co->st.lat_max > out->subs_latency_max) out->subs_latency_max = co->st.lat_max;
    st_dur_t p99 = st_coalescer_latency(co, 0.99);
    if (p99 > out->subs_latency_p99) out->subs_latency_p99 = p99;
    st_feed_limiter_stats(out, &c->lim, now);
}

/* While a session is down (`down`), the symbols its ledger wants are polled by REST every
 * `every` (class fallback); when it is back, or a symbol leaves it, they are handed back.
 * fallback[sym] holds 1 + the session polling it (`mine`), 0 = none. */
static void fallback_sync(st_restpoll_t *rp, const st_ledger_t *ledger, bool down, uint8_t mine,
                           uint8_t *fallback, size_t nsyms, st_dur_t every)
{
    for (size_t s = 0; s < nsyms; s++) {
        bool wanted = false;
        for (int ch = 0; ch < ST_CH_COUNT && !wanted; ch++)
            wanted = st_ledger_state(ledger, ST_KEY(s, ch)) & ST_LK_DESIRED;
        if (down && wanted && !fallback[s]) {
            fallback[s] = mine;
            st_restpoll_set(rp, (st_sym_t)s, every, ST_POLL_FALLBACK);
        } else if ((!down || !wanted) && fallback[s] == mine) {
            fallback[s] = 0;
            st_restpoll_set(rp, (st_sym_t)s, 0, 0);
        }
    }
}

/* A base URL without its trailing slashes (malloc'd). */
static char *base_url(const char *url)
{
    char *u = st_xstrdup(url);
    size_t n = strlen(u);
    while (n && u[n - 1] == '/') u[--n] = '\0';
    return u;
}

/* A session's settings from the feed's config (name, backoff, stall timeout, where to connect). */
static void wsconn_setup(st_wsconn_t *w, const st_feed_cfg_t *fc, int index, struct lws_context *ctx,
                          const char *host, const char *path, int port, bool tls, st_tls_ctx_t *tls_ctx,
                          st_clock_t *clock)
{
    snprintf(w->feed, sizeof(w->feed), "%s", fc->name);
    w->index = index;
    w->ctx = ctx;
    w->host = host;
    w->path = path;
    w->port = port;
    w->tls = tls;
    w->tls_ctx = tls_ctx;
    w->clock = clock;
    w->stall_timeout = fc->stall_timeout;
    w->backoff_min = fc->reconnect_min;
    w->backoff_max = fc->reconnect_max;
}

void st_netfeed_add_restpoll(st_feed_stats_t *out, const st_restpoll_stats_t *rp)
{
    out->rest_calls += rp->calls;
    out->rest_ok += rp->ok;
    out->rest_last_second += rp->calls_last_second;
    if (rp->penalty < out->penalty) out->penalty = rp->penalty;
    out->margin = ST_MAX2(out->margin, rp->margin);
    out->poll_symbols += (int64_t)rp->poller->n;
    if (rp->poller->stretch > out->poll_stretch) out->poll_stretch = rp->poller->stretch;
    for (int k = 0; k < ST_POLL_CLASSES && k < (int)ST_ARRAY_SIZE(out->poll_age); k++)
        out->poll_age[k] = st_poller_age_mean(rp->poller, k);
}

/* --- the base -------------------------------------------------------------------------------- */

int st_netfeed_init(st_netfeed_t *nf, const st_feed_vtable_t *vt, const st_feed_cfg_t *fc, const st_feed_env_t *env,
                    void **sessions, size_t session_size, char *err, size_t errlen)
{
    nf->base.vt = vt;
    nf->base.clock = env->clock; /* st_feed_create sets it too, after */
    if (st_wsconn_url_parse(fc->ws_url, nf->host, sizeof(nf->host), &nf->port, nf->path, sizeof(nf->path),
                            &nf->tls)) {
        snprintf(err, errlen, "feed \"%s\": cannot parse ws_url \"%s\"", fc->name, fc->ws_url);
        return -EINVAL;
    }
    if (nf->tls) {
        char why[300];
        nf->tls_ctx = st_tls_ctx_create(fc->tls_ca_file, why, sizeof(why));
        if (!nf->tls_ctx) {
            snprintf(err, errlen, "feed \"%s\": %s", fc->name, why);
            return -EINVAL;
        }
    }
    nf->ctx = st_wsconn_context_create(env->clock->loop);
    nf->http = st_http_create(env->clock->loop);
    if (nf->http) st_http_set_ca(nf->http, fc->tls_ca_file);
    if (!nf->ctx || !nf->http) {
        snprintf(err, errlen, "feed \"%s\": cannot create the WebSocket/HTTP context", fc->name);
        st_wsconn_context_destroy(nf->ctx);
        st_http_destroy(nf->http);
        st_tls_ctx_free(nf->tls_ctx);
        nf->ctx = NULL, nf->http = NULL, nf->tls_ctx = NULL;
        return -ENOMEM;
    }
    snprintf(nf->url, sizeof(nf->url), "%s", fc->ws_url);
    nf->rest_url = base_url(fc->rest_url);
    nf->syms = env->syms;
    nf->nconns = (int)fc->connections;
    nf->budget = (int)fc->budget;
    nf->kinds = st_feed_index_map(env->universe, &nf->nsyms);
    nf->default_poll = env->cfg->tiers.polling.medium;
    nf->fallback_poll = env->cfg->tiers.polling.min_interval;
    nf->fallback = st_xcalloc(nf->nsyms ? nf->nsyms : 1, 1);
    char *arr = st_xcalloc((size_t)nf->nconns ? (size_t)nf->nconns : 1, session_size);
    nf->conns = st_xcalloc((size_t)nf->nconns ? (size_t)nf->nconns : 1, sizeof(*nf->conns));
    nf->cos = st_xcalloc((size_t)nf->nconns ? (size_t)nf->nconns : 1, sizeof(*nf->cos));
    for (int k = 0; k < nf->nconns; k++) {
        nf->conns[k] = (st_subconn_t *)(void *)(arr + (size_t)k * session_size);
        nf->cos[k] = &nf->conns[k]->co;
    }
    *sessions = arr;
    return 0;
}

void st_netfeed_session(st_netfeed_t *nf, int k, st_venue_t venue, const st_feed_cfg_t *fc,
                        void (*refused)(void *ctx, st_key_t key, st_ack_t ack, int cap), st_wsconn_cbs_t cb,
                        void *cb_ctx)
{
    st_subconn_t *sc = nf->conns[k];
    st_subconn_init(sc, venue, fc, nf->syms, nf->nsyms, refused);
    sc->feed = &nf->base;
    wsconn_setup(&sc->ws, fc, k, nf->ctx, nf->host, nf->path, nf->port, nf->tls, nf->tls_ctx, nf->base.clock);
    sc->ws.cb = cb;
    sc->ws.cb_ctx = cb_ctx;
    st_wsconn_init(&sc->ws);
}

void st_netfeed_fallback_sync(st_netfeed_t *nf, st_subconn_t *sc)
{
    fallback_sync(nf->poller, &sc->co.ledger, st_wsconn_down(&sc->ws), (uint8_t)(sc->ws.index + 1),
                          nf->fallback, nf->nsyms, nf->fallback_poll);
}

int st_netfeed_apply(st_feed_t *f, const st_plan_change_t *ch, size_t n, int conn_base, const st_planner_t *plan)
{
    st_netfeed_t *nf = (st_netfeed_t *)f;
    st_feed_apply_subs(ch, n, conn_base, nf->cos, nf->nconns, nf->kinds, nf->nsyms, st_clock_now(f->clock));
    for (size_t i = 0; i < n; i++) /* polled for itself now */
        if ((size_t)ch[i].sym < nf->nsyms && ch[i].to_tier == ST_TIER_POLL) nf->fallback[ch[i].sym] = 0;
    st_restpoll_kick(nf->poller); /* (the schedule's rate follows the limiter first, as a first set did) */
    st_feed_apply_polls(st_restpoll_schedule(nf->poller), ch, n, plan, nf->default_poll, nf->fallback,
                        st_clock_now(nf->base.clock));
    st_restpoll_kick(nf->poller);
    for (int k = 0; k < nf->nconns; k++) {
        st_subconn_arm(nf->conns[k]);
        if (!st_wsconn_open(&nf->conns[k]->ws)) st_netfeed_fallback_sync(nf, nf->conns[k]);
    }
    return 0;
}

void st_netfeed_stats(const st_netfeed_t *nf, st_feed_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->ticks_delivered = nf->base.ticks;
    out->market_trades = nf->base.trades; /* the trades received: a venue does not say the market's */
    out->malformed = nf->malformed;
    out->ws_budget = (int64_t)nf->budget * nf->nconns;
    out->penalty = 1.0;
    out->sessions = nf->nconns;
    st_time_t now = st_clock_now(nf->base.clock);
    for (int k = 0; k < nf->nconns; k++) stats_add_subconn(out, nf->conns[k], now);
}

void st_netfeed_stop_sessions(st_netfeed_t *nf)
{
    for (int k = 0; k < nf->nconns; k++) {
        st_clock_timer_stop(nf->base.clock, &nf->conns[k]->flush);
        st_wsconn_stop(&nf->conns[k]->ws);
    }
}

void st_netfeed_close(st_netfeed_t *nf)
{
    st_http_destroy(nf->http);
    st_wsconn_context_destroy(nf->ctx);
    st_tls_ctx_free(nf->tls_ctx); /* (sessions still open hold their own reference) */
    nf->http = NULL, nf->ctx = NULL, nf->tls_ctx = NULL;
}

void st_netfeed_free(st_netfeed_t *nf, void *sessions)
{
    free(sessions);
    free(nf->conns);
    free(nf->cos);
    free(nf->kinds);
    free(nf->fallback);
    free(nf->rest_url);
    free(nf->base.name);
}

void st_netfeed_malformed(st_netfeed_t *nf, const char *what, const char *buf, st_time_t now)
{
    nf->malformed++;
    if (st_feed_warn_due(&nf->warned_malformed, now))
        st_log_warn(FEED, "%s: dropped a malformed %s (%llu so far): %.60s", nf->base.name, what,
                    (unsigned long long)nf->malformed, buf);
}
