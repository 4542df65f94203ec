#include "remote.h"
#include "cluster.h"
#include "runtime.h"
#include "core/log.h"
#include "core/redisconn.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REMOTES 32

typedef struct {
    char name[64];
    ev_tstamp seen;  /* its last word (wall time) */
    bool live;       /* it holds demands */
    int reqs[ST_PLAN_MAX_REQUESTERS];
    int nreqs;
} remote_t;

struct st_remote {
    st_runtime_t *rt;
    st_redisconn_t conn;
    char *prefix, *k_demands;
    st_redis_tail_t demands; /* PREFIX:demands, from what comes after the start */
    double lease;
    ev_timer lease_timer;
    remote_t r[MAX_REMOTES];
    size_t n;
    char owner[32]; /* this run's id, in every answer to a hello: a new one means "send again" */
};

static void answer(st_remote_t *m, const char *instance, const char *id, const char *op, bool ok, const char *why)
{
    if (!m->conn.ac) return;
    if (m->rt->cluster) { /* a cluster answers through its leader; a standby only keeps the demands */
        st_cluster_state_t cs;
        st_cluster_state(m->rt->cluster, &cs);
        if (!cs.leader) return;
    }
    char key[300];
    snprintf(key, sizeof(key), "%s:answers:%s", m->prefix, instance);
    redisAsyncCommand(m->conn.ac, NULL, NULL, "XADD %s MAXLEN ~ 10000 * id %s op %s ok %d why %s owner %s", key, id, op,
                      ok ? 1 : 0, why, m->owner);
}

static remote_t *remote_of(st_remote_t *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->r[i].name, name)) return &m->r[i];
    if (m->n == MAX_REMOTES) return NULL;
    remote_t *x = &m->r[m->n++];
    snprintf(x->name, sizeof(x->name), "%s", name);
    return x;
}

/* The planner's requester for INSTANCE/STRATEGY, noted as the instance's (-ENOSPC: no room). */
static int requester_of(st_remote_t *m, remote_t *x, const char *strategy)
{
    char name[160];
    snprintf(name, sizeof(name), "remote:%s/%s", x->name, strategy);
    int req = st_planner_requester(m->rt->planner, name, 1.0);
    if (req < 0) return req;
    for (int i = 0; i < x->nreqs; i++)
        if (x->reqs[i] == req) return req;
    if (x->nreqs < ST_PLAN_MAX_REQUESTERS) x->reqs[x->nreqs++] = req;
    return req;
}

static int prio_of(const char *s)
{
    for (int p = 0; st_priority_names[p]; p++)
        if (!strcmp(st_priority_names[p], s)) return p;
    return !strcmp(s, "none") ? ST_PRIO_NONE : -1;
}

/* One demand: instance, strategy, op (hello, watch, upgrade, unwatch, score, emergency), sym,
 * prio, score, id. */
static void take(void *ctx, const char *entry_id, const redisReply *kv)
{
    st_remote_t *m = ctx;
    st_runtime_t *rt = m->rt;
    const char *inst = st_redis_field(kv, "instance"), *strat = st_redis_field(kv, "strategy"), *op = st_redis_field(kv, "op"), *id = st_redis_field(kv, "id");
    const char *code = st_redis_field(kv, "sym");
    if (!*inst || strchr(inst, ' ')) return; /* nobody to answer */
    remote_t *x = remote_of(m, inst);
    if (!x) {
        answer(m, inst, id, op, false, "too many remote instances");
        return;
    }
    x->seen = ev_now(rt->loop);
    x->live = true;
    if (!strcmp(op, "hello")) {
        answer(m, inst, id, op, true, "");
        return;
    }
    st_sym_t sym = st_symtab_find(&rt->syms, code, strlen(code));
    int req = *strat ? requester_of(m, x, strat) : -EINVAL;
    char why[256] = "";
    bool ok = true;
    if (req < 0) {
        snprintf(why, sizeof(why), req == -ENOSPC ? "too many requesters" : "no strategy named");
        ok = false;
    } else if (sym == ST_SYM_NONE || !st_universe_get(&rt->world->universe, sym)) {
        snprintf(why, sizeof(why), "unknown symbol %.32s", code);
        ok = false;
    } else if (!strcmp(op, "watch") || !strcmp(op, "upgrade") || !strcmp(op, "unwatch")) {
        int prio = !strcmp(op, "unwatch") ? ST_PRIO_NONE : prio_of(st_redis_field(kv, "prio"));
        if (prio < 0) snprintf(why, sizeof(why), "prio: critical, high, medium, low, background or none"), ok = false;
        else st_planner_demand(rt->planner, req, sym, prio), rt->work.plan_dirty = true;
    } else if (!strcmp(op, "score")) {
        st_planner_score(rt->planner, sym, strtod(st_redis_field(kv, "score"), NULL));
    } else if (!strcmp(op, "emergency")) {
        ok = st_runtime_emergency(rt, req, sym, strtod(st_redis_field(kv, "score"), NULL), why, sizeof(why)) == 0;
    } else {
        snprintf(why, sizeof(why), "unknown op %.32s", op);
        ok = false;
    }
    answer(m, inst, id, op, ok, why);
}

static void on_up(st_redisconn_t *c, double down_for, void *ctx)
{
    st_remote_t *m = ctx;
    st_log_info(OUT, "redis %s:%d: taking remote demands from %s", c->host, c->port, m->k_demands);
    st_redis_tail_read(&m->demands);
}

/* Every second: an instance silent for the lease gives up its demands. */
static void on_lease(struct ev_loop *loop, ev_timer *w, int revents)
{
    st_remote_t *m = w->data;
    for (size_t i = 0; i < m->n; i++) {
        remote_t *x = &m->r[i];
        if (!x->live || ev_now(loop) - x->seen < m->lease) continue;
        for (int k = 0; k < x->nreqs; k++) st_planner_release(m->rt->planner, x->reqs[k]);
        st_log_warn(PLAN, "remote %s: nothing heard for %.0f s: the demands of its %d strateg%s are released", x->name,
                    m->lease, x->nreqs, x->nreqs == 1 ? "y" : "ies");
        x->live = false;
        m->rt->work.plan_dirty = true;
    }
}

st_remote_t *st_remote_create(st_runtime_t *rt)
{
    const st_redis_cfg_t *c = &rt->world->cfg->outputs.redis;
    if (!*c->url || !c->demands) return NULL;
    st_remote_t *m = st_xcalloc(1, sizeof(*m));
    m->rt = rt;
    m->prefix = st_xstrdup(c->prefix);
    size_t n = strlen(c->prefix) + sizeof(":demands");
    m->k_demands = st_xmalloc(n);
    snprintf(m->k_demands, n, "%s:demands", c->prefix);
    m->demands = (st_redis_tail_t){.conn = &m->conn, .key = m->k_demands, .last = "$", .fn = take, .ctx = m};
    snprintf(m->owner, sizeof(m->owner), "%.0f", ev_time() * 1e6);
    m->lease = (double)c->lease / ST_SEC;
    ev_timer_init(&m->lease_timer, on_lease, 1.0, 1.0);
    m->lease_timer.data = m;
    ev_timer_start(rt->loop, &m->lease_timer);
    m->conn.on_up = on_up, m->conn.ctx = m;
    st_redisconn_open(&m->conn, rt->loop, c->host, (int)c->port, (int)c->db, (double)c->reconnect_max / ST_SEC,
                      "remote demands");
    return m;
}

size_t st_remote_live(const st_remote_t *m)
{
    size_t n = 0;
    for (size_t i = 0; m && i < m->n; i++) n += m->r[i].live;
    return n;
}

void st_remote_destroy(st_remote_t *m)
{
    if (!m) return;
    ev_timer_stop(m->rt->loop, &m->lease_timer);
    st_redisconn_close(&m->conn);
    free(m->prefix), free(m->k_demands);
    free(m);
}
