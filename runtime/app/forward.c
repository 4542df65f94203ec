#include "forward.h"
#include "runtime.h"
#include "core/log.h"
#include "core/redisconn.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_STRATS 32
#define PENDING 64 /* emergencies awaiting the owner's answer (the oldest forgotten first) */
#define HELLO_EVERY 5.0 /* seconds: well inside the owner's lease (outputs.redis.lease, 15 s) */

typedef struct {
    char name[64];
    uint8_t *sent; /* by symbol: the priority last sent (ST_PRIO_NONE: none) */
} strat_t;

struct st_forward {
    st_runtime_t *rt;
    st_redisconn_t out, in; /* demands out; answers in (XREAD BLOCK holds its connection) */
    char instance[96], *k_demands, *k_answers;
    st_redis_tail_t answers; /* PREFIX:answers:INSTANCE, on `in` */
    char owner[64];
    strat_t s[MAX_STRATS];
    size_t ns, nsyms;
    float *score_sent; /* by symbol: the performance score last sent (scores are the symbol's, not a strategy's) */
    ev_timer timer;
    double hello_at;
    uint64_t id;
    struct { /* emergencies sent and not answered yet, by the id their entry carries */
        uint64_t id;
        char strategy[64], code[16];
    } pending[PENDING];
    size_t npending;
};

static strat_t *strat_of(st_forward_t *f, const char *name)
{
    for (size_t i = 0; i < f->ns; i++)
        if (!strcmp(f->s[i].name, name)) return &f->s[i];
    if (f->ns == MAX_STRATS) return NULL;
    strat_t *s = &f->s[f->ns++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->sent = st_xmalloc(f->nsyms ? f->nsyms : 1);
    memset(s->sent, ST_PRIO_NONE, f->nsyms);
    return s;
}

/* Sends one demand; its id (0: not sent, Redis is down). */
static uint64_t put(st_forward_t *f, const char *strategy, const char *op, const char *code, const char *k,
                    const char *v)
{
    if (!f->out.ac || !f->out.connected) return 0;
    char id[24];
    snprintf(id, sizeof(id), "%llu", (unsigned long long)++f->id);
    if (k)
        redisAsyncCommand(f->out.ac, NULL, NULL, "XADD %s MAXLEN ~ 100000 * instance %s strategy %s op %s sym %s %s %s id %s",
                          f->k_demands, f->instance, strategy, op, code, k, v, id);
    else
        redisAsyncCommand(f->out.ac, NULL, NULL, "XADD %s MAXLEN ~ 100000 * instance %s strategy %s op %s sym %s id %s",
                          f->k_demands, f->instance, strategy, op, code, id);
    return f->id;
}

static void emergency_answered(st_forward_t *f, uint64_t n, bool ok, const char *why);

/* Every second: hellos, and the demands that changed since the last time. */
static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    st_forward_t *f = w->data;
    st_runtime_t *rt = f->rt;
    /* Emergencies asked while the demands' Redis was down: refused (one a strategy asks again
     * as it hears the refusal waits for the next second). */
    for (size_t i = 0, n = f->npending; i < n && i < f->npending;) {
        if (f->pending[i].id) {
            i++;
            continue;
        }
        emergency_answered(f, 0, false, "not sent: the Redis of the demands is unreachable");
        n--;
    }
    if (!f->out.connected) return;
    bool hello = ev_now(loop) >= f->hello_at;
    if (hello) f->hello_at = ev_now(loop) + HELLO_EVERY;
    const char *req_config = st_planner_requester_name(rt->planner, rt->req_config);
    uint8_t now_prio[MAX_STRATS];
    for (st_sym_t sym = 0; sym < f->nsyms; sym++) {
        st_plan_demand_t d[ST_PLAN_MAX_REQUESTERS];
        size_t n = st_planner_demands(rt->planner, sym, d, ST_PLAN_MAX_REQUESTERS);
        memset(now_prio, ST_PRIO_NONE, sizeof(now_prio));
        for (size_t i = 0; i < n && i < ST_PLAN_MAX_REQUESTERS; i++) {
            if (!d[i].requester || (req_config && !strcmp(d[i].requester, req_config)) ||
                !strncmp(d[i].requester, "remote:", 7))
                continue;
            strat_t *s = strat_of(f, d[i].requester);
            if (s) now_prio[s - f->s] = d[i].prio;
        }
        const st_plan_entry_t *e = st_planner_entry(rt->planner, sym);
        if (e && e->score != f->score_sent[sym]) { /* update_performance_score */
            char v[32];
            snprintf(v, sizeof(v), "%.6g", (double)e->score);
            put(f, f->ns ? f->s[0].name : "scores", "score", st_symtab_code(&rt->syms, sym), "score", v);
            f->score_sent[sym] = e->score;
        }
        for (size_t k = 0; k < f->ns; k++) {
            if (now_prio[k] == f->s[k].sent[sym]) continue;
            const char *code = st_symtab_code(&rt->syms, sym);
            if (now_prio[k] == ST_PRIO_NONE) put(f, f->s[k].name, "unwatch", code, NULL, NULL);
            else put(f, f->s[k].name, "watch", code, "prio", st_priority_names[now_prio[k]]);
            f->s[k].sent[sym] = now_prio[k];
        }
    }
    for (size_t k = 0; hello && k < f->ns; k++) put(f, f->s[k].name, "hello", "-", NULL, NULL);
}

void st_forward_emergency(st_forward_t *f, const char *strategy, st_sym_t sym, double score)
{
    if (!f) return;
    char v[32];
    snprintf(v, sizeof(v), "%.6g", score);
    const char *code = st_symtab_code(&f->rt->syms, sym);
    uint64_t id = put(f, strategy, "emergency", code, "score", v); /* 0: not sent, refused at the next second */
    if (f->npending == PENDING) memmove(f->pending, f->pending + 1, --f->npending * sizeof(f->pending[0]));
    f->pending[f->npending].id = id;
    snprintf(f->pending[f->npending].strategy, sizeof(f->pending[0].strategy), "%s", strategy);
    snprintf(f->pending[f->npending].code, sizeof(f->pending[0].code), "%s", code);
    f->npending++;
}

/* The owner's answer to emergency n (0: one that could not be sent): logged, and handed to the
 * strategy that asked, outside its own call. */
static void emergency_answered(st_forward_t *f, uint64_t n, bool ok, const char *why)
{
    size_t i = 0;
    while (i < f->npending && f->pending[i].id != n) i++;
    if (i == f->npending) { /* before a restart of ours, or forgotten */
        st_log_info(PLAN, "remote demands: the owner %s an emergency%s%s", ok ? "granted" : "refused", ok ? "" : ": ", why);
        return;
    }
    char strategy[64], code[16]; /* taken out first: the strategy may ask for another emergency */
    snprintf(strategy, sizeof(strategy), "%s", f->pending[i].strategy);
    snprintf(code, sizeof(code), "%s", f->pending[i].code);
    memmove(f->pending + i, f->pending + i + 1, (f->npending - i - 1) * sizeof(f->pending[0]));
    f->npending--;
    st_log_info(PLAN, "remote demands: the owner %s %s's emergency on %s%s%s", ok ? "granted" : "refused", strategy, code,
                ok ? "" : ": ", why);
    if (st_strats_emergency_answer(f->rt->strats, strategy, code, ok, why) < 0)
        st_log_info(PLAN, "remote demands: %s is no longer running to hear it", strategy);
}

/* One answer: id, op, ok, why, owner. */
static void answered(void *ctx, const char *entry_id, const redisReply *kv)
{
    st_forward_t *f = ctx;
    const char *owner = st_redis_field(kv, "owner");
    if (*owner && strcmp(owner, f->owner) != 0) { /* a new owner: it knows nothing of us yet */
        if (f->owner[0]) {
            st_log_info(PLAN, "remote demands: the owner restarted: sending every demand again");
            for (size_t k = 0; k < f->ns; k++) memset(f->s[k].sent, ST_PRIO_NONE, f->nsyms);
            memset(f->score_sent, 0, f->nsyms * sizeof(*f->score_sent));
        }
        snprintf(f->owner, sizeof(f->owner), "%s", owner);
    }
    if (!strcmp(st_redis_field(kv, "op"), "emergency"))
        emergency_answered(f, strtoull(st_redis_field(kv, "id"), NULL, 10), !strcmp(st_redis_field(kv, "ok"), "1"),
                           st_redis_field(kv, "why"));
}

static void on_in_up(st_redisconn_t *c, double down_for, void *ctx)
{
    st_redis_tail_read(&((st_forward_t *)ctx)->answers);
}

static void on_out_up(st_redisconn_t *c, double down_for, void *ctx)
{
    st_forward_t *f = ctx;
    st_log_info(PLAN, "remote demands: this instance (%s) sends its strategies' demands to %s", f->instance,
                f->k_demands);
    f->hello_at = 0; /* hello at once */
}

st_forward_t *st_forward_create(st_runtime_t *rt)
{
    const st_config_t *cfg = rt->world->cfg;
    const st_feed_cfg_t *fc = NULL;
    for (size_t i = 0; i < cfg->feeds.n && !fc; i++) {
        const st_feed_cfg_t *x = ST_LIST_AT(cfg->feeds, st_feed_cfg_t, i);
        if (x->kind == ST_FEED_REDIS && x->forward_demands) fc = x;
    }
    if (!fc) return NULL;
    st_forward_t *f = st_xcalloc(1, sizeof(*f));
    f->rt = rt;
    f->nsyms = rt->syms.n;
    f->score_sent = st_xcalloc(f->nsyms ? f->nsyms : 1, sizeof(*f->score_sent));
    const char *env = getenv("STRATA_INSTANCE");
    if (env && *env && !strchr(env, ' ')) {
        snprintf(f->instance, sizeof(f->instance), "%s", env);
    } else {
        char host[64] = "host";
        gethostname(host, sizeof(host) - 1);
        snprintf(f->instance, sizeof(f->instance), "%.60s-%d", host, (int)getpid());
    }
    const char *t = strstr(fc->stream, ":ticks:"); /* (the config checks it is there) */
    size_t plen = t ? (size_t)(t - fc->stream) : strlen(fc->stream);
    size_t n = plen + sizeof(":answers:") + strlen(f->instance) + 1;
    f->k_demands = st_xmalloc(n), f->k_answers = st_xmalloc(n);
    snprintf(f->k_demands, n, "%.*s:demands", (int)plen, fc->stream);
    snprintf(f->k_answers, n, "%.*s:answers:%s", (int)plen, fc->stream, f->instance);
    f->answers = (st_redis_tail_t){.conn = &f->in, .key = f->k_answers, .last = "$", .fn = answered, .ctx = f};
    ev_timer_init(&f->timer, on_timer, 1.0, 1.0);
    f->timer.data = f;
    ev_timer_start(rt->loop, &f->timer);
    double backoff = (double)fc->reconnect_max / ST_SEC;
    f->out.on_up = on_out_up, f->out.ctx = f;
    st_redisconn_open(&f->out, rt->loop, fc->stream_host, (int)fc->stream_port, (int)fc->stream_db, backoff,
                      "remote demands (sending)");
    f->in.on_up = on_in_up, f->in.ctx = f;
    st_redisconn_open(&f->in, rt->loop, fc->stream_host, (int)fc->stream_port, (int)fc->stream_db, backoff,
                      "remote demands (answers)");
    return f;
}

void st_forward_destroy(st_forward_t *f)
{
    if (!f) return;
    ev_timer_stop(f->rt->loop, &f->timer);
    st_redisconn_close(&f->in);
    st_redisconn_close(&f->out);
    for (size_t k = 0; k < f->ns; k++) free(f->s[k].sent);
    free(f->score_sent);
    free(f->k_demands), free(f->k_answers);
    free(f);
}
