#include "cluster.h"
#include "runtime.h"
#include "core/log.h"
#include "ops/lease.h"
#include "core/redisconn.h"
#include "ops/redisout.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Takes the lease if nobody holds it, with the next term; else says how long the holder has
 * left: {1, term} or {0, pttl_ms}. */
static const char ACQUIRE[] =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then "
    "local t = redis.call('INCR', KEYS[2]) "
    "redis.call('SET', KEYS[1], ARGV[1] .. '/' .. t, 'PX', ARGV[2]) "
    "return {1, t} else return {0, redis.call('PTTL', KEYS[1])} end";
/* Extends the lease only if it is still this instance's, in this term: 1, else 0. */
static const char RENEW[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                            "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

struct st_cluster {
    st_runtime_t *rt;
    st_redisconn_t conn;
    st_lease_t lease;
    const char *name;
    char instance[96];
    char k_leader[200], k_term[200];
    char held[140]; /* the lease's value while leader: INSTANCE/TERM */
    char ttl_ms[24];
    double sent;    /* when the command awaited was sent */
    ev_timer timer;
    bool feeds_on, said_standby;
    st_feed_t **shadow; /* by feed index: a reader of the leader's PREFIX:ticks:FEED, or NULL */
    bool said_held;
    uint64_t signals_held;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The standby's readers of the leader's streams (on exactly while the feeds are off): each from
 * the stream's end at a start (what came before went to the strategies from this instance's own
 * sessions, or was the past). */
static void shadows(st_cluster_t *c, bool on)
{
    if (!c->shadow) return;
    for (size_t i = 0; i < c->rt->nfeeds; i++) {
        st_feed_t *f = c->shadow[i];
        if (!f) continue;
        if (!on) {
            st_feed_stop(f);
            continue;
        }
        st_redis_feed_rewind(f, "$");
        int rc = st_feed_start(f);
        if (rc) st_log_error(FEED, "%s (the leader's stream): cannot start: %s", f->name, st_strerror(rc));
    }
    c->said_held = false;
}

/* The venue sessions on (leading) or off (standing by: the leader's streams instead). */
static void feeds(st_cluster_t *c, bool on)
{
    if (c->feeds_on == on) return;
    c->feeds_on = on;
    if (on) shadows(c, false);
    for (size_t i = 0; i < c->rt->nfeeds; i++) {
        if (!on) {
            st_feed_stop(c->rt->feeds[i]);
            continue;
        }
        int rc = st_feed_start(c->rt->feeds[i]);
        if (rc) st_log_error(FEED, "%s: cannot start: %s", c->rt->feeds[i]->name, st_strerror(rc));
    }
    if (!on) shadows(c, true);
}

/* A redis feed in the place of each feed, on the stream the leader publishes it to. */
static void create_shadows(st_cluster_t *c)
{
    st_runtime_t *rt = c->rt;
    const st_redis_cfg_t *r = &rt->world->cfg->outputs.redis;
    if (r->ticks != ST_REDIS_TICKS_PER_FEED) {
        st_log_info(CORE, "cluster %s: standing by, the strategies get no ticks: the leader publishes no stream per feed "
                          "(outputs.redis.ticks)", c->name);
        return;
    }
    c->shadow = st_xcalloc(rt->nfeeds ? rt->nfeeds : 1, sizeof(*c->shadow));
    st_feed_env_t env;
    st_runtime_feed_env(rt, &env);
    for (size_t i = 0; i < rt->nfeeds; i++) {
        char stream[512], err[256];
        snprintf(stream, sizeof(stream), "%s:ticks:%s", r->prefix, rt->feeds[i]->name);
        st_feed_cfg_t fc = {.kind = ST_FEED_REDIS, .name = rt->feeds[i]->name, .stream = stream, .from = "$",
                            .stream_host = r->host, .stream_port = r->port, .stream_db = r->db,
                            .reconnect_max = r->reconnect_max};
        if (st_feed_create(&fc, (uint16_t)i, &env, &c->shadow[i], err, sizeof(err)) != 0)
            st_log_error(CORE, "cluster %s: %s", c->name, err); /* (a redis feed is not refused) */
    }
}

bool st_cluster_hold_signal(st_cluster_t *c, const st_signal_t *sig)
{
    if (c->lease.role == ST_LEASE_LEADER) return false;
    c->signals_held++;
    if (!c->said_held)
        st_log_info(CORE, "cluster %s: standing by: %s's signal on %s held back, as every one until this instance leads "
                          "(the leader's go out)", c->name, sig->strategy, sig->symbol);
    c->said_held = true;
    return true;
}

static void drive(st_cluster_t *c);

static void fence(st_cluster_t *c, const char *why)
{
    st_log_warn(CORE, "cluster %s: %s: closing the venue sessions, standing by (term %llu)", c->name, why,
                (unsigned long long)c->lease.term);
    feeds(c, false);
    st_redisout_cluster(c->rt->redis, false, c->lease.term);
    c->held[0] = '\0';
    c->said_standby = false;
}

static void on_acquire(redisAsyncContext *ac, void *reply, void *priv)
{
    st_cluster_t *c = priv;
    const redisReply *r = reply;
    double now = mono();
    if (c->conn.closing) return; /* (freed with the connection) */
    if (!r) { /* the connection went: forgotten; the timer stands */
        st_lease_failed(&c->lease, now);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER) {
        if (r && r->type == REDIS_REPLY_ERROR) st_log_warn(CORE, "cluster %s: redis: %s", c->name, r->str);
        st_lease_failed(&c->lease, now);
    } else if (r->element[0]->integer == 1) {
        uint64_t term = (uint64_t)r->element[1]->integer;
        st_lease_acquired(&c->lease, c->sent, term, now);
        snprintf(c->held, sizeof(c->held), "%s/%llu", c->instance, (unsigned long long)term);
        st_log_info(CORE, "cluster %s: %s leads (term %llu): opening the venue sessions", c->name, c->instance,
                    (unsigned long long)term);
        st_redisout_cluster(c->rt->redis, true, term);
        feeds(c, true);
    } else {
        long long pttl = r->element[1]->integer;
        st_lease_refused(&c->lease, pttl >= 0 ? (double)pttl / 1000 : -1, now);
        if (!c->said_standby) st_log_info(CORE, "cluster %s: %s stands by: another instance leads", c->name, c->instance);
        c->said_standby = true;
    }
    drive(c);
}

static void on_renew(redisAsyncContext *ac, void *reply, void *priv)
{
    st_cluster_t *c = priv;
    const redisReply *r = reply;
    double now = mono();
    if (c->conn.closing) return;
    if (!r) {
        st_lease_failed(&c->lease, now);
        return;
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        st_lease_failed(&c->lease, now);
    } else if (r->integer == 1) {
        st_lease_renewed(&c->lease, c->sent, now);
    } else if (st_lease_lost(&c->lease, now)) {
        fence(c, "the lease is no longer this instance's");
    }
    drive(c);
}

/* Does what the lease says now, and sleeps until it has more to say. */
static void drive(st_cluster_t *c)
{
    double now = mono(), wake = now + 1;
    st_lease_action_t a = st_lease_step(&c->lease, now, &wake);
    if (a == ST_LEASE_FENCE) {
        fence(c, "no renewal of the lease confirmed in time (Redis down, slow or unreachable)");
    } else if (a == ST_LEASE_ACQUIRE || a == ST_LEASE_RENEW) {
        c->sent = now;
        int rc = REDIS_ERR;
        if (c->conn.ac && c->conn.connected) {
            if (a == ST_LEASE_ACQUIRE)
                rc = redisAsyncCommand(c->conn.ac, on_acquire, c, "EVAL %s 2 %s %s %s %s", ACQUIRE, c->k_leader,
                                       c->k_term, c->instance, c->ttl_ms);
            else
                rc = redisAsyncCommand(c->conn.ac, on_renew, c, "EVAL %s 1 %s %s %s", RENEW, c->k_leader, c->held,
                                       c->ttl_ms);
        }
        if (rc != REDIS_OK) st_lease_failed(&c->lease, now); /* tried again at the next interval */
    }
    ev_timer_stop(c->rt->loop, &c->timer);
    ev_timer_set(&c->timer, wake > now ? wake - now : 0.001, 0);
    ev_timer_start(c->rt->loop, &c->timer);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    drive(w->data);
}

static void on_up(st_redisconn_t *rc, double down_for, void *ctx)
{
    drive(ctx);
}

static void on_down(st_redisconn_t *rc, void *ctx)
{
    st_cluster_t *c = ctx;
    st_lease_failed(&c->lease, mono()); /* the answer awaited will not come; the fence deadline stands */
}

st_cluster_t *st_cluster_create(st_runtime_t *rt)
{
    const st_config_t *cfg = rt->world->cfg;
    const st_cluster_cfg_t *cc = &cfg->cluster;
    if (!*cc->name) return NULL;
    st_cluster_t *c = st_xcalloc(1, sizeof(*c));
    c->rt = rt;
    c->name = cc->name;
    const char *env = *cc->instance_env ? getenv(cc->instance_env) : NULL;
    if (*cc->instance) {
        snprintf(c->instance, sizeof(c->instance), "%s", cc->instance);
    } else if (env && *env && !strchr(env, ' ') && !strchr(env, '/')) {
        snprintf(c->instance, sizeof(c->instance), "%s", env);
    } else {
        char host[64] = "host";
        gethostname(host, sizeof(host) - 1);
        snprintf(c->instance, sizeof(c->instance), "%.60s-%d", host, (int)getpid());
    }
    snprintf(c->k_leader, sizeof(c->k_leader), "strata:cluster:%s:leader", cc->name);
    snprintf(c->k_term, sizeof(c->k_term), "strata:cluster:%s:term", cc->name);
    snprintf(c->ttl_ms, sizeof(c->ttl_ms), "%lld", (long long)(cc->ttl / ST_MSEC));
    st_lease_init(&c->lease, (double)cc->ttl / ST_SEC, mono());
    ev_timer_init(&c->timer, on_timer, 0, 0);
    c->timer.data = c; /* (publishing stands by from the start: st_runtime_redis_start) */
    st_log_info(CORE, "cluster %s: instance %s; lease %s (TTL %.1f s): venue sessions open only while it is held",
                cc->name, c->instance, c->k_leader, (double)cc->ttl / ST_SEC);
    c->conn.on_up = on_up, c->conn.on_down = on_down, c->conn.ctx = c;
    const st_redis_cfg_t *r = &cfg->outputs.redis;
    st_redisconn_open(&c->conn, rt->loop, r->host, (int)r->port, (int)r->db, (double)r->reconnect_max / ST_SEC,
                      "the cluster lease");
    create_shadows(c);
    shadows(c, true); /* standing by until the lease is taken */
    return c;
}

static void on_released(redisAsyncContext *ac, void *reply, void *priv)
{
    *(bool *)priv = true;
}

void st_cluster_destroy(st_cluster_t *c)
{
    if (!c) return;
    ev_timer_stop(c->rt->loop, &c->timer);
    feeds(c, false); /* the sessions go before the lease does */
    bool released = false;
    if (c->held[0] && c->conn.ac && c->conn.connected) { /* hand over at once, not after the TTL */
        redisAsyncCommand(c->conn.ac, on_released, &released,
                          "EVAL %s 1 %s %s", "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                                             "return redis.call('DEL', KEYS[1]) else return 0 end",
                          c->k_leader, c->held);
        ev_tstamp until = ev_time() + 1;
        while (!released && c->conn.ac && ev_time() < until) ev_run(c->rt->loop, EVRUN_ONCE);
        if (released) st_log_info(CORE, "cluster %s: lease released", c->name);
    }
    st_redisconn_close(&c->conn); /* (unanswered callbacks see it closing) */
    for (size_t i = 0; c->shadow && i < c->rt->nfeeds; i++)
        if (c->shadow[i]) st_feed_destroy(c->shadow[i]);
    free(c->shadow);
    free(c);
}

void st_cluster_state(const st_cluster_t *c, st_cluster_state_t *out)
{
    *out = (st_cluster_state_t){c->name, c->instance, c->lease.role == ST_LEASE_LEADER, c->lease.term,
                                c->lease.acquired, c->lease.fences, c->lease.lost, 0, c->signals_held};
    for (size_t i = 0; c->shadow && i < c->rt->nfeeds; i++)
        if (c->shadow[i]) out->standby_ticks += c->shadow[i]->ticks;
}
