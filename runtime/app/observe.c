/* What operations see of a running strata: the snapshot behind GET /status and GET /metrics,
 * and the endpoint itself. */
#include "runtime.h"
#include "cluster.h"
#include "remote.h"
#include "core/log.h"
#include "ops/session.h"
#include "core/res.h"
#include "core/timefmt.h"
#include "ops/symbols.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ST_DASHBOARD_PAGE "embedded:../web/dashboard.html"
#define LIVE_PERIOD 0.5      /* seconds between two frames of the dashboard */
#define LIVE_POLLING_TOP 12  /* tier-3 symbols in a frame: the busiest */

void st_runtime_status(st_runtime_t *rt, st_status_t *out, st_strat_info_t *strats)
{
    memset(out, 0, sizeof(*out));
    st_runtime_collect(rt, &out->c);
    out->generation = rt->generation;
    out->reloads_ok = rt->reloads_ok;
    out->reloads_failed = rt->reloads_failed;
    out->uptime = rt->started ? ev_time() - rt->started : 0;
    out->total_stocks = rt->world->universe.nstocks;
    out->total_indices = rt->world->universe.n - rt->world->universe.nstocks;
    if (rt->slot.slot) st_policy_from_slot(&out->policy, rt->slot.slot);
    st_planner_stats(rt->planner, &out->plan);
    out->nconns = out->plan.nconns;
    for (int k = 0; k < out->nconns; k++) {
        out->conns[k].used = out->plan.used[k];
        out->conns[k].budget = out->plan.budget[k];
    }
    for (size_t f = 0; f < rt->nfeeds; f++) { /* what each venue holds, and whether the session is up */
        st_feed_stats_t fs;
        st_feed_stats(rt->feeds[f], &fs);
        for (int i = 0; i < rt->conn_count[f] && rt->conn_base[f] + i < out->nconns; i++) {
            st_conn_status_t *k = &out->conns[rt->conn_base[f] + i];
            k->feed = rt->feeds[f]->name;
            k->held = i < fs.nconns ? fs.conn_held[i] : 0;
            k->open = i < fs.nconns && fs.conn_open[i];
        }
    }
    st_redisout_stats(rt->redis, &out->redis);
    out->remotes = st_remote_live(rt->remote);
    if (rt->cluster) {
        st_cluster_state_t cs;
        st_cluster_state(rt->cluster, &cs);
        out->cluster_leader = cs.leader, out->cluster_term = cs.term, out->cluster_fences = cs.fences;
        out->cluster_standby_ticks = cs.standby_ticks, out->cluster_signals_held = cs.signals_held;
    }
    out->day = rt->day;
    out->market_state = rt->day.trading ? "open" : rt->closed_text;
    out->promotions = rt->promotions;
    out->demotions = rt->demotions;
    st_signals_stats(rt->signals, &out->signals);
    out->nstrategies = st_strats_count(rt->strats);
    for (size_t i = 0; i < out->nstrategies; i++) st_strats_info(rt->strats, i, &strats[i]);
    out->strategies = strats;
}

/* st_runtime_status into s, its strategies' rows in a buffer the caller frees. */
static st_strat_info_t *snapshot(st_runtime_t *rt, st_status_t *s)
{
    st_strat_info_t *strats = st_xcalloc(st_strats_count(rt->strats) + 1, sizeof(*strats));
    st_runtime_status(rt, s, strats);
    return strats;
}

/* The status hash in Redis, as GET /status answers. */
static void on_redis_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    st_runtime_t *rt = w->data;
    st_status_t s;
    st_strat_info_t *strats = snapshot(rt, &s);
    char *json = st_status_json(&s);
    st_redisout_status(rt->redis, json, s.c.now);
    free(json);
    free(strats);
}

void st_runtime_redis_start(st_runtime_t *rt)
{
    const st_config_t *cfg = rt->world->cfg;
    const char **names = st_xcalloc(rt->nfeeds + 1, sizeof(*names));
    for (size_t i = 0; i < rt->nfeeds; i++) names[i] = rt->feeds[i]->name;
    rt->redis = st_redisout_create(&cfg->outputs.redis, rt->loop, names, rt->nfeeds);
    free(names);
    if (!rt->redis) return;
    if (*cfg->cluster.name) st_redisout_cluster(rt->redis, false, 0); /* a cluster's leader publishes; not yet */
    rt->remote = st_remote_create(rt);
    double every = (double)cfg->outputs.redis.status_every / ST_SEC;
    ev_timer_init(&rt->redis_timer, on_redis_timer, every, every);
    rt->redis_timer.data = rt;
    ev_timer_start(rt->loop, &rt->redis_timer);
}

void st_runtime_redis_stop(st_runtime_t *rt, double seconds)
{
    if (!rt->redis) return;
    st_remote_destroy(rt->remote);
    rt->remote = NULL;
    ev_timer_stop(rt->loop, &rt->redis_timer);
    on_redis_timer(rt->loop, &rt->redis_timer, 0); /* the last status */
    st_redisout_destroy(rt->redis, seconds);
    rt->redis = NULL;
}

void st_runtime_day_base(st_runtime_t *rt)
{
    st_status_t s;
    free(snapshot(rt, &s));
    st_session_base_take(&rt->day_base, rt->day.day, &s, rt->signals);
}

/* The process as the day ends: resident memory, open descriptors, armed timers. */
static void process_figures(st_runtime_t *rt, st_session_proc_t *p)
{
    memset(p, 0, sizeof(*p));
    p->timers = (int64_t)rt->clock.timers.n;
    FILE *f = fopen("/proc/self/statm", "r");
    long long size, resident;
    if (f && fscanf(f, "%lld %lld", &size, &resident) == 2) p->rss_kb = resident * (sysconf(_SC_PAGESIZE) / 1024);
    if (f) fclose(f);
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') p->fds++;
    if (d) closedir(d), p->fds--; /* not the one reading */
}

void st_runtime_session_report(st_runtime_t *rt)
{
    st_status_t s;
    st_strat_info_t *strats = snapshot(rt, &s);
    rt->session_reported = s.c.now;
    st_session_log(&rt->report, &s, &rt->day_base, rt->signals);
    const char *path = rt->world->cfg->runtime.session_report;
    if (*path) {
        st_session_proc_t proc;
        process_figures(rt, &proc);
        char *json = st_session_json(&rt->report, &s, &rt->day_base, rt->signals, &proc);
        char name[4096];
        int rc = st_session_write(path, st_day_start(rt->day_base.day), json, name, sizeof(name));
        if (rc) st_log_error(OUT, "session report: cannot write %s: %s", path, st_strerror(rc));
        else st_log_info(OUT, "session report: written to %s", name);
        free(json);
    }
    free(strats);
}

void st_runtime_symbols_src(st_runtime_t *rt, st_symbols_src_t *out)
{
    *out = (st_symbols_src_t){st_clock_now(&rt->clock), &rt->world->universe, rt->planner, &rt->view};
}

/* GET /symbols[?filters] and GET /symbols/CODE. */
static int handle_symbols(st_runtime_t *rt, const char *path, const char **ctype, char **body)
{
    st_symbols_src_t src;
    st_runtime_symbols_src(rt, &src);
    if (path[8] == '/') {
        char code[64];
        snprintf(code, sizeof(code), "%.*s", (int)strcspn(path + 9, "?"), path + 9);
        *body = st_symbols_one_json(&src, code);
        if (!*body) {
            *body = st_xstrdup("not found: no such symbol in the universe\n");
            return 404;
        }
    } else {
        st_symbols_filter_t f;
        char err[160];
        if (st_symbols_filter_parse(path[8] == '?' ? path + 9 : "", &f, err, sizeof(err))) {
            size_t n = strlen(err) + 2;
            *body = st_xmalloc(n);
            snprintf(*body, n, "%s\n", err);
            return 400;
        }
        *body = st_symbols_json(&src, &f);
    }
    *ctype = "application/json";
    return 200;
}

/* The dashboard's frame: {"status": GET /status, "symbols": the live view, "signals": the latest}. */
static char *live_frame(st_runtime_t *rt)
{
    st_status_t s;
    st_strat_info_t *strats = snapshot(rt, &s);
    char *status = st_status_json(&s);
    free(strats);
    st_symbols_src_t src;
    st_runtime_symbols_src(rt, &src);
    char *symbols = st_symbols_live_json(&src, LIVE_POLLING_TOP);
    size_t cap = strlen(status) + strlen(symbols) + 64 + ST_SIGNALS_RECENT * 1024, n = 0;
    char *f = st_xmalloc(cap);
    n += (size_t)snprintf(f + n, cap - n, "{\"status\":%s,\"symbols\":%s,\"signals\":[", status, symbols);
    const st_signal_t *sig;
    for (size_t i = 0; (sig = st_signals_recent(rt->signals, i)) && n < cap; i++) {
        if (i) f[n++] = ',';
        size_t k = st_signal_json(sig, f + n, cap - n);
        n += k < cap - n ? k : 0;
    }
    if (n + 3 > cap) n = cap - 3; /* never: cap holds ST_SIGNALS_RECENT signals of 1 KiB */
    memcpy(f + n, "]}", 3);
    free(status), free(symbols);
    return f;
}

static void on_live(struct ev_loop *loop, ev_timer *w, int revents)
{
    st_runtime_t *rt = w->data;
    if (!rt->status || !st_status_server_live(rt->status)) return; /* nobody watches: nothing built */
    char *f = live_frame(rt);
    st_status_server_broadcast(rt->status, f, strlen(f));
    free(f);
}

static int handle(void *ctx, const char *path, const char **ctype, char **body)
{
    st_runtime_t *rt = ctx;
    if (!strcmp(path, "/")) { /* the dashboard: a page that asks the live channel */
        size_t len;
        if (st_file_read(ST_DASHBOARD_PAGE, body, &len) != 0) return 500;
        *ctype = "text/html; charset=utf-8";
        return 200;
    }
    if (!strncmp(path, "/symbols", 8) && (!path[8] || path[8] == '?' || path[8] == '/'))
        return handle_symbols(rt, path, ctype, body);
    bool status = !strcmp(path, "/status"), metrics = !strcmp(path, "/metrics");
    if (!status && !metrics) {
        *body = st_xstrdup("not found: GET /status, /metrics, /symbols or /symbols/CODE\n");
        return 404;
    }
    st_status_t s;
    st_strat_info_t *strats = snapshot(rt, &s);
    if (status) {
        *ctype = "application/json";
        *body = st_status_json(&s);
    } else {
        *ctype = "text/plain; version=0.0.4";
        *body = st_status_metrics(&s);
    }
    free(strats);
    return 200;
}

void st_runtime_status_start(st_runtime_t *rt)
{
    const st_status_cfg_t *sc = &rt->world->cfg->status;
    if (!sc->enabled) return;
    const char *token = *sc->token_env ? getenv(sc->token_env) : NULL;
    char err[256];
    st_status_server_cfg_t scfg = {.addr = sc->listen, .port = (int)sc->port, .token = token,
                                   .max_connections = (int)sc->max_connections,
                                   .public_path = "/"}; /* the dashboard's page: no data in it */
    rt->status = st_status_server_start(rt->loop, &scfg, handle, rt, err, sizeof(err));
    if (!rt->status) {
        st_log_error(OUT, "status: %s; running without the status endpoint", err);
        return;
    }
    if (!token && sc->allow_without_token)
        st_log_warn(OUT, "status: %s without a token (status.allow_without_token): anyone who can reach it can "
                         "read it", st_status_server_bound(rt->status));
    st_log_info(OUT, "status: listening on %s: GET /status, /metrics and /symbols; the dashboard at http://%s/",
                st_status_server_bound(rt->status), st_status_server_bound(rt->status));
    ev_timer_init(&rt->live_timer, on_live, LIVE_PERIOD, LIVE_PERIOD); /* wall time, at any clock speed */
    rt->live_timer.data = rt;
    ev_timer_start(rt->loop, &rt->live_timer);
}
