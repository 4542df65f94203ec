#include "redisout.h"
#include "core/redisconn.h"
#include "feeds/redistick.h"
#include "core/log.h"
#include "core/timefmt.h"

#include <ev.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64 /* XADD, its key, MAXLEN ~ N *, the term, and a tick's fields (ST_REDISTICK_MAX_FIELDS) */

struct st_redisout {
    st_redisconn_t conn;
    int ticks; /* st_redis_ticks_t */
    size_t queue;
    char maxlen[24];
    char term[24]; /* cluster mode: the leadership term, first field of every record; "" none */
    bool standby;  /* cluster mode, not the leader: publishes nothing (the leader's streams are the cluster's) */
    char *prefix, *k_signals, *k_plan, *k_status;
    char **k_feed; /* PREFIX:ticks:FEED by feed index */
    size_t nfeeds;
    uint64_t dropped_at_outage; /* st.dropped when the connection was lost */
    st_redisout_stats_t st;     /* connected and outages are the connection's */
};

/* --- the connection --------------------------------------------------------------------- */

static void on_up(st_redisconn_t *c, double down_for, void *ctx)
{
    st_redisout_t *r = ctx;
    if (down_for > 0)
        st_log_info(OUT, "redis %s:%d: connected again after %.1f s; %llu records dropped meanwhile", c->host, c->port,
                    down_for, (unsigned long long)(r->st.dropped - r->dropped_at_outage));
    else
        st_log_info(OUT, "redis %s:%d: connected, publishing under %s", c->host, c->port, r->prefix);
}

/* Once an outage (the connection goes down only from up): its drops count from here. */
static void on_down(st_redisconn_t *c, void *ctx)
{
    st_redisout_t *r = ctx;
    r->dropped_at_outage = r->st.dropped;
}

/* A record's answer; NULL when the connection went with it unanswered (lost). */
static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    st_redisout_t *r = priv;
    redisReply *rep = reply;
    r->st.inflight--;
    if (!rep) {
        r->st.dropped++;
    } else if (rep->type == REDIS_REPLY_ERROR) {
        if (!r->st.errors++) st_log_error(OUT, "redis %s:%d refused a record: %s", r->conn.host, r->conn.port, rep->str);
    } else {
        r->st.published++;
    }
}

/* Sends one command, or counts its record dropped. While a connection is being made the command
 * waits in it (sent once it is up, dropped if it fails): a run's first records are not lost to
 * the connect's round trip. */
static void send_argv(st_redisout_t *r, int argc, const char **argv, const size_t *lens)
{
    if (r->standby) return;
    if (!r->conn.ac || r->st.inflight >= r->queue) {
        r->st.dropped++;
        return;
    }
    if (redisAsyncCommandArgv(r->conn.ac, on_reply, r, argc, argv, lens) != REDIS_OK) {
        r->st.dropped++;
        return;
    }
    r->st.inflight++;
}

/* --- records ---------------------------------------------------------------------------- */

/* An XADD under construction: its arguments point into buf. */
typedef struct {
    const char *argv[MAX_ARGS];
    size_t len[MAX_ARGS];
    int argc;
    char buf[2048];
    size_t used;
} cmd_t;

static void arg(cmd_t *c, const char *s, size_t n)
{
    if (c->argc < MAX_ARGS) c->argv[c->argc] = s, c->len[c->argc++] = n;
}

static void arg_s(cmd_t *c, const char *s)
{
    arg(c, s, strlen(s));
}

/* A formatted argument, kept in c->buf. */
static void arg_f(cmd_t *c, const char *fmt, ...) ST_PRINTF(2, 3);
static void arg_f(cmd_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->buf + c->used, sizeof(c->buf) - c->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(c->buf) - c->used) n = 0;
    arg(c, c->buf + c->used, (size_t)n);
    c->used += (size_t)n + 1;
}

static void xadd(cmd_t *c, st_redisout_t *r, const char *key)
{
    c->argc = 0, c->used = 0;
    arg_s(c, "XADD");
    arg_s(c, key);
    arg_s(c, "MAXLEN");
    arg_s(c, "~");
    arg_s(c, r->maxlen);
    arg_s(c, "*");
    if (r->term[0]) {
        arg_s(c, "term");
        arg_s(c, r->term);
    }
}

void st_redisout_cluster(st_redisout_t *r, bool leading, uint64_t term)
{
    if (!r) return;
    r->standby = !leading;
    snprintf(r->term, sizeof(r->term), "%llu", (unsigned long long)term);
}

void st_redisout_tick(st_redisout_t *r, const st_tick_t *t, const char *code)
{
    if (!r || r->ticks == ST_REDIS_TICKS_NONE) return;
    cmd_t c;
    char key[256];
    if (r->ticks == ST_REDIS_TICKS_PER_SYMBOL || t->feed >= r->nfeeds)
        snprintf(key, sizeof(key), "%s:ticks:%s", r->prefix, code);
    else
        snprintf(key, sizeof(key), "%s", r->k_feed[t->feed]);
    xadd(&c, r, key);
    st_redistick_t e; /* the fields, as a reader decodes them (feeds/redistick.c) */
    st_redistick_encode(t, code, &e);
    for (size_t i = 0; i < e.n; i++) {
        arg_s(&c, e.name[i]);
        arg(&c, e.value[i], e.len[i]);
    }
    send_argv(r, c.argc, c.argv, c.len);
}

void st_redisout_signal(st_redisout_t *r, const st_signal_t *sig)
{
    if (!r) return;
    cmd_t c;
    xadd(&c, r, r->k_signals);
    arg_s(&c, "strategy");
    arg_s(&c, sig->strategy);
    arg_s(&c, "sym");
    arg_s(&c, sig->symbol);
    arg_s(&c, "side");
    arg_s(&c, sig->side);
    arg_s(&c, "t");
    arg_f(&c, "%lld", (long long)sig->time);
    char json[1024];
    size_t n = st_signal_json(sig, json, sizeof(json));
    while (n && json[n - 1] == '\n') n--;
    arg_s(&c, "json");
    arg(&c, json, n); /* the JSONL sink's record, as it is */
    send_argv(r, c.argc, c.argv, c.len);
}

void st_redisout_plan(st_redisout_t *r, const st_plan_change_t *p, const char *code)
{
    if (!r) return;
    cmd_t c;
    xadd(&c, r, r->k_plan);
    arg_s(&c, "sym");
    arg_s(&c, code);
    arg_s(&c, "from");
    arg_f(&c, "%d", p->from_tier);
    arg_s(&c, "to");
    arg_f(&c, "%d", p->to_tier);
    arg_s(&c, "from_conn");
    arg_f(&c, "%d", p->from_conn == ST_CONN_NONE ? -1 : p->from_conn);
    arg_s(&c, "to_conn");
    arg_f(&c, "%d", p->to_conn == ST_CONN_NONE ? -1 : p->to_conn);
    arg_s(&c, "why");
    arg_s(&c, p->why < ST_WHY_COUNT ? st_plan_why_names[p->why] : "?");
    arg_s(&c, "t");
    arg_f(&c, "%lld", (long long)p->at);
    send_argv(r, c.argc, c.argv, c.len);
}

void st_redisout_status(st_redisout_t *r, const char *json, st_time_t now)
{
    if (!r) return;
    char when[40];
    st_format_datetime(now, when, sizeof(when), true);
    const char *argv[] = {"HSET", r->k_status, "json", json, "time", when, "term", r->term[0] ? r->term : "0"};
    size_t lens[] = {4, strlen(r->k_status), 4, strlen(json), 4, strlen(when), 4, strlen(argv[7])};
    send_argv(r, 8, argv, lens);
}

void st_redisout_stats(const st_redisout_t *r, st_redisout_stats_t *out)
{
    if (r) *out = r->st, out->outages = r->conn.outages, out->connected = r->conn.connected;
    else memset(out, 0, sizeof(*out));
}

/* --- life --------------------------------------------------------------------------------- */

static char *key_of(const char *prefix, const char *what)
{
    size_t n = strlen(prefix) + strlen(what) + 2;
    char *k = st_xmalloc(n);
    snprintf(k, n, "%s:%s", prefix, what);
    return k;
}

st_redisout_t *st_redisout_create(const st_redis_cfg_t *cfg, struct ev_loop *loop, const char *const *feed_names,
                                  size_t nfeeds)
{
    if (!*cfg->url) return NULL;
    st_redisout_t *r = st_xcalloc(1, sizeof(*r));
    r->ticks = cfg->ticks;
    r->queue = (size_t)cfg->queue;
    snprintf(r->maxlen, sizeof(r->maxlen), "%lld", (long long)cfg->maxlen);
    r->prefix = st_xstrdup(cfg->prefix);
    r->k_signals = key_of(cfg->prefix, "signals");
    r->k_plan = key_of(cfg->prefix, "plan");
    r->k_status = key_of(cfg->prefix, "status");
    r->nfeeds = nfeeds;
    r->k_feed = st_xcalloc(nfeeds ? nfeeds : 1, sizeof(char *));
    for (size_t i = 0; i < nfeeds; i++) {
        char what[200];
        snprintf(what, sizeof(what), "ticks:%s", feed_names[i]);
        r->k_feed[i] = key_of(cfg->prefix, what);
    }
    r->conn.on_up = on_up, r->conn.on_down = on_down, r->conn.ctx = r;
    st_redisconn_open(&r->conn, loop, cfg->host, (int)cfg->port, (int)cfg->db, (double)cfg->reconnect_max / ST_SEC,
                      "publishing");
    return r;
}

void st_redisout_destroy(st_redisout_t *r, double seconds)
{
    if (!r) return;
    ev_tstamp until = ev_time() + seconds;
    while (r->conn.ac && r->st.inflight && ev_time() < until) ev_run(r->conn.loop, EVRUN_ONCE); /* what was sent */
    if (r->st.inflight || r->st.dropped)
        st_log_info(OUT, "redis %s:%d: %llu records published, %llu dropped, %zu unanswered at the stop", r->conn.host,
                    r->conn.port, (unsigned long long)r->st.published, (unsigned long long)r->st.dropped, r->st.inflight);
    st_redisconn_close(&r->conn); /* unanswered: dropped */
    for (size_t i = 0; i < r->nfeeds; i++) free(r->k_feed[i]);
    free(r->k_feed);
    free(r->k_signals), free(r->k_plan), free(r->k_status), free(r->prefix);
    free(r);
}
