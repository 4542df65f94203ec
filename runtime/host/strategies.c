/* The set of strategies: each a record by name (what outlives a swap of its code) running one
 * build of a Lua script or a C plugin through one back-end table; staging, starting on trial and
 * committing a reload, all or nothing; and what is running, for the status. The host API is in
 * strats_api.c, the tick path in strats_dispatch.c. */
#include "strats_int.h"
#include "core/log.h"
#include "core/res.h"
#include "host/lua_host.h"
#include "host/plugin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the two back ends ------------------------------------------------------------------------- */


static int lua_init(inst_t *in)
{
    return st_lua_init(in->impl, (const char *const *)in->keys, (const char *const *)in->values, in->nparams);
}
static int lua_reload(void *impl, void *old) { return st_lua_on_reload(impl, old); }
static void lua_timer(void *impl, const char *name) { st_lua_on_timer(impl, name); }
static void lua_timeslot(void *impl, const char *slot) { st_lua_on_timeslot(impl, slot); }
static void lua_day(void *impl, const char *date) { st_lua_on_day(impl, date); }
static void lua_emergency(void *impl, const char *code, bool granted, const char *why)
{
    st_lua_on_emergency(impl, code, granted, why);
}
static void lua_close(void *impl, bool started)
{
    if (started) st_lua_shutdown(impl);
    st_lua_close(impl);
}
static void lua_failure(void *impl, const char *step, char *why, size_t whylen)
{
    st_lua_stats_t ls;
    st_lua_stats(impl, &ls);
    snprintf(why, whylen, "%s failed: %s", step, ls.last_error);
}
static const char *const *lua_sources(void *impl, size_t *n) { return st_lua_sources(impl, n); }
static const char *const *lua_warnings(void *impl, size_t *n) { return st_lua_warnings(impl, n); }
static void lua_info(void *impl, st_strat_info_t *out)
{
    st_lua_stats_t ls;
    st_lua_stats(impl, &ls);
    out->faults = ls.faults;
    out->fault_rate = ls.fault_rate;
    out->mem = ls.mem;
    out->last_error = ls.last_error;
    memcpy(out->faults_by, ls.faults_by, sizeof(out->faults_by));
}

static const backend_t lua_backend = {"lua",     lua_init,    lua_reload,  st_lua_tick,     lua_timer,    lua_timeslot,
                                      lua_close, lua_failure, lua_sources, lua_warnings, lua_info, lua_day,
                                      lua_emergency};

static int plugin_init(inst_t *in)
{
    return st_plugin_init(in->impl, &st_strats_host, in, (const char *const *)in->keys, (const char *const *)in->values,
                          in->nparams);
}
static int plugin_reload(void *impl, void *old) { return st_plugin_on_reload(impl, old); }
static void plugin_timer(void *impl, const char *name) { st_plugin_on_timer(impl, name); }
static void plugin_timeslot(void *impl, const char *slot) { st_plugin_on_timeslot(impl, slot); }
static void plugin_day(void *impl, const char *date) { st_plugin_on_day(impl, date); }
static void plugin_emergency(void *impl, const char *code, bool granted, const char *why)
{
    st_plugin_on_emergency(impl, code, granted, why);
}
static void plugin_close(void *impl, bool started) { st_plugin_close(impl); /* it knows whether it started */ }
static void plugin_failure(void *impl, const char *step, char *why, size_t whylen)
{
    snprintf(why, whylen, "%s refused to start (it returned NULL)", step);
}

static const backend_t plugin_backend = {"c",          plugin_init,    plugin_reload, st_plugin_tick, plugin_timer,
                                         plugin_timeslot, plugin_close, plugin_failure, NULL,        NULL,
                                         NULL,            plugin_day,     plugin_emergency};

/* --- builds --------------------------------------------------------------------------------- */

static void add_param(inst_t *in, const char *key, const char *value)
{
    in->keys = st_xrealloc(in->keys, (in->nparams + 1) * sizeof(char *));
    in->values = st_xrealloc(in->values, (in->nparams + 1) * sizeof(char *));
    in->keys[in->nparams] = st_xstrdup(key);
    in->values[in->nparams++] = st_xstrdup(value);
}

static void scalar_text(const st_value_t *v, char *buf, size_t len)
{
    switch (v->type) {
    case ST_V_BOOL: snprintf(buf, len, "%s", v->u.b ? "true" : "false"); break;
    case ST_V_INT: snprintf(buf, len, "%" PRId64, v->u.i); break;
    case ST_V_DOUBLE: snprintf(buf, len, "%.17g", v->u.d); break;
    case ST_V_STRING: snprintf(buf, len, "%s", v->u.s); break;
    default: buf[0] = '\0'; break;
    }
}

/* params as key/value strings: nested mappings become "a.b" keys, lists of scalars "x,y,z". */
static void flatten(inst_t *in, const st_value_t *v, const char *prefix)
{
    char buf[1024];
    if (v->type == ST_V_MAP) {
        for (size_t i = 0; i < v->u.c.n; i++) {
            char key[256];
            snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", v->u.c.keys[i]);
            flatten(in, &v->u.c.items[i], key);
        }
    } else if (v->type == ST_V_LIST) {
        size_t n = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < v->u.c.n && n < sizeof(buf); i++) {
            char one[256];
            scalar_text(&v->u.c.items[i], one, sizeof(one));
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "," : "", one);
        }
        if (*prefix) add_param(in, prefix, buf);
    } else if (*prefix) {
        scalar_text(v, buf, sizeof(buf));
        add_param(in, prefix, buf);
    }
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* What identifies a build: kind, path, params, and the bytes of every file it loaded; 0 when a
 * file cannot be read (a good fingerprint is never 0, and 0 never matches: it counts as
 * changed). */
static uint64_t fingerprint(const inst_t *in, const char *path, const char *const *files, size_t nfiles)
{
    uint64_t h = fnv(14695981039346656037ull, &in->kind, sizeof(in->kind));
    h = fnv(h, path, strlen(path) + 1);
    for (size_t i = 0; i < in->nparams; i++) {
        h = fnv(h, in->keys[i], strlen(in->keys[i]) + 1);
        h = fnv(h, in->values[i], strlen(in->values[i]) + 1);
    }
    for (size_t i = 0; i < nfiles; i++) {
        char *data;
        size_t len;
        if (st_file_read(files[i], &data, &len) != 0) return 0;
        h = fnv(h, data, len);
        free(data);
    }
    return h ? h : 1;
}

/* The fingerprint of `params`'s kind and params over the files `loaded` read (its Lua sources,
 * or the plugin at path). */
static uint64_t fingerprint_of(const inst_t *params, const inst_t *loaded, const char *path)
{
    size_t n = 1;
    const char *const *files = loaded->be->sources ? loaded->be->sources(loaded->impl, &n) : &path;
    return fingerprint(params, path, files, n);
}

static void inst_free(inst_t *in)
{
    if (!in) return;
    if (in->be) in->be->close(in->impl, in->started);
    st_strats_journal_free(in);
    for (size_t i = 0; i < in->nparams; i++) free(in->keys[i]), free(in->values[i]);
    free(in->keys);
    free(in->values);
    free(in);
}

static inst_t *inst_new(strat_t *rec, const st_strategy_cfg_t *sc)
{
    inst_t *in = st_xcalloc(1, sizeof(*in));
    in->rec = rec;
    in->kind = sc->kind;
    in->mark = sc->mark;
    if (sc->params) flatten(in, sc->params, "");
    return in;
}

static int inst_compile(inst_t *in, const st_strategy_cfg_t *sc, char *err, size_t errlen)
{
    int rc;
    if (sc->kind == ST_STRAT_LUA) {
        st_lua_cfg_t lc = {.name = sc->name, .path = sc->path, .mem_cap = (size_t)sc->memory_mb << 20,
                           .budget = (uint64_t)sc->instruction_budget, .quarantine_after = (int)sc->quarantine_after,
                           .quarantine_window = (int)sc->quarantine_window, .host = &st_strats_host, .ctx = in,
                           .quarantined = st_strats_quarantined};
        st_lua_t *lua = NULL;
        rc = st_lua_open(&lua, &lc, err, errlen);
        if (rc == 0) in->be = &lua_backend, in->impl = lua;
    } else {
        st_plugin_t *plugin = NULL;
        rc = st_plugin_open(&plugin, sc->name, sc->path, err, errlen);
        if (rc == 0) in->be = &plugin_backend, in->impl = plugin;
    }
    if (rc == 0) in->fingerprint = fingerprint_of(in, in, sc->path);
    return rc;
}

/* Starts a staged build on trial while the running one (old, or NULL) still runs: init(params),
 * then on_reload(old's state). What it asks of the host is journaled. Returns 0, or the back
 * end's negative error with the reason (the strategy's file:line and traceback for Lua) in why. */
static int inst_trial(inst_t *in, inst_t *old, char *why, size_t whylen)
{
    in->starting = in->started = true;
    const char *step = "init";
    int rc = in->be->init(in);
    if (rc >= 0 && old && old->be == in->be) { /* a new kind starts afresh */
        step = "on_reload";
        rc = in->be->on_reload(in->impl, old->impl);
    }
    in->starting = false;
    if (rc >= 0) return 0;
    in->started = false; /* it did not start: no shutdown for it */
    in->be->failure(in->impl, step, why, whylen);
    st_strats_journal_free(in);
    return rc;
}

/* --- the set of strategies ------------------------------------------------------------------ */

st_strats_t *st_strats_create(const st_strats_env_t *env)
{
    st_strats_t *h = st_xcalloc(1, sizeof(*h));
    h->env = *env;
    return h;
}

static strat_t *find(const st_strats_t *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->recs[i]->name, name)) return h->recs[i];
    return NULL;
}

static void rec_free(strat_t *r)
{
    if (r->cur) r->cur->live = false; /* its shutdown may not change demands any more */
    inst_free(r->cur);
    inst_free(r->staged);
    free(r->watched);
    free(r->fail_reason);
    free(r->name);
    free(r);
}

/* A strategy leaves: everything it held is released, then its code shuts down (its host calls
 * refused by then). */
static void rec_remove(strat_t *r)
{
    st_log_info(HOST, "%s: stopped (removed from the config)", r->name);
    st_strats_release(r);
    rec_free(r);
}

void st_strats_abort(st_strats_t *h)
{
    for (size_t i = 0; i < h->n; i++) {
        inst_free(h->recs[i]->staged);
        h->recs[i]->staged = NULL;
    }
    for (size_t i = 0; i < h->nfresh; i++) rec_free(h->fresh[i]);
    h->nfresh = 0;
}

int st_strats_stage(st_strats_t *h, const st_config_t *cfg, st_diags_t *d)
{
    st_strats_abort(h);
    size_t errors = d->n;
    for (size_t i = 0; i < h->n; i++) h->recs[i]->keep = false;
    for (size_t i = 0; i < cfg->strategies.n; i++) {
        const st_strategy_cfg_t *sc = ST_LIST_AT(cfg->strategies, st_strategy_cfg_t, i);
        if (!sc->enabled) continue;
        strat_t *r = find(h, sc->name);
        if (!r) {
            r = st_xcalloc(1, sizeof(*r));
            r->h = h;
            r->name = st_xstrdup(sc->name);
            r->req = -ENOENT;
            h->fresh = st_xrealloc(h->fresh, (h->nfresh + 1) * sizeof(*h->fresh));
            h->fresh[h->nfresh++] = r;
        }
        r->keep = true;
        r->next_weight = sc->weight;
        r->next_all = sc->all_symbols;
        inst_t *in = inst_new(r, sc);
        in->index = (int)i;
        /* Unchanged (same kind, path, params and file contents): keeps running as it is. */
        uint64_t fp = r->cur && r->cur->kind == sc->kind ? fingerprint_of(in, r->cur, sc->path) : 0;
        if (fp && fp == r->cur->fingerprint) {
            inst_free(in);
            continue;
        }
        char err[1536] = "";
        if (inst_compile(in, sc, err, sizeof(err)) != 0) {
            st_diags_add(d, sc->mark.file, sc->mark.line, sc->mark.col, "strategies[%zu] \"%s\": %s", i, sc->name,
                         err);
            inst_free(in);
            continue;
        }
        r->staged = in;
        size_t nw = 0;
        const char *const *w = in->be->warnings ? in->be->warnings(in->impl, &nw) : NULL;
        for (size_t k = 0; k < nw; k++) {
            if (h->env.warn) h->env.warn(h->env.ctx, w[k]);
            else st_log_warn(HOST, "%s: %s", sc->name, w[k]);
        }
    }
    if (d->n > errors) {
        st_strats_abort(h);
        return ST_ECONFIG;
    }
    return 0;
}

static void apply_settings(strat_t *r)
{
    st_strats_t *h = r->h;
    if (r->req < 0 || r->weight != r->next_weight) {
        r->req = st_planner_requester(h->env.planner, r->name, r->next_weight);
        if (r->req < 0) st_log_error(HOST, "%s: the planner has no room for another requester; its demands are refused", r->name);
        r->weight = r->next_weight;
    }
    if (r->all_symbols != r->next_all || !r->cur) {
        st_strats_sub_remove(&h->all, r);
        if (r->next_all) st_strats_sub_add(&h->all, r);
        r->all_symbols = r->next_all;
    }
}

/* The staged build, started on trial, replaces the running one: the old code's timers stop,
 * it shuts down and goes (its plugin handle is closed last), then the new build is live and
 * what it asked for while starting happens. */
static void swap(strat_t *r)
{
    inst_t *old = r->cur, *neu = r->staged;
    r->staged = NULL;
    st_strats_stop_timers(r);
    if (r->quarantined) { /* new code, a new chance: a quarantined one holds nothing now */
        r->quarantined = false;
        free(r->fail_reason);
        r->fail_reason = NULL;
        st_strats_sub_remove(&r->h->all, r);
        if (r->all_symbols) st_strats_sub_add(&r->h->all, r);
    }
    if (old) old->live = false;
    inst_free(old);
    r->cur = neu;
    neu->live = true;
    /* The new build's demands are what it asked for while starting, as after a fresh start:
     * what the old build held and the new one did not ask for again is released; what it asks
     * for again does not move the plan. */
    for (size_t sym = 0; sym < r->watched_cap; sym++) {
        if (!(r->watched[sym] & WATCHED)) continue;
        bool again = false;
        for (size_t i = 0; i < neu->njournal && !again; i++)
            again = neu->journal[i].op == J_DEMAND && neu->journal[i].sym == (st_sym_t)sym;
        if (!again) st_strats_demand(r, (st_sym_t)sym, ST_PRIO_NONE);
    }
    st_strats_journal_apply(neu);
    r->reloads++;
}

/* A build that did not start at start-up: the strategy is kept by name, failed, never called;
 * a reload with new code tries again. */
static void fail(strat_t *r, const char *why)
{
    st_log_error(HOST, "%s: did not start: %s", r->name, why);
    inst_free(r->cur);
    r->cur = r->staged;
    r->staged = NULL;
    r->quarantined = true;
    free(r->fail_reason);
    r->fail_reason = st_xstrdup(why);
}

int st_strats_start(st_strats_t *h, bool all_or_nothing, st_diags_t *d)
{
    size_t nfailed = 0;
    char why[2400];
    for (size_t k = 0; k < h->n + h->nfresh; k++) {
        strat_t *r = k < h->n ? h->recs[k] : h->fresh[k - h->n];
        if (!r->keep || !r->staged || r->staged->started) continue;
        if (inst_trial(r->staged, r->fail_reason ? NULL : r->cur, why, sizeof(why)) == 0) continue;
        nfailed++;
        if (all_or_nothing) {
            const st_mark_t *m = &r->staged->mark;
            st_diags_add(d, m->file, m->line, m->col, "strategies[%d] \"%s\": %s", r->staged->index, r->name, why);
        } else {
            fail(r, why);
        }
    }
    if (nfailed && all_or_nothing) {
        st_strats_abort(h);
        return ST_ECONFIG;
    }
    return 0;
}

int st_strats_commit(st_strats_t *h)
{
    st_strats_start(h, false, NULL); /* what was not started on trial yet (start-up) */
    int started = 0;
    size_t k = 0;
    for (size_t i = 0; i < h->n; i++) {
        strat_t *r = h->recs[i];
        if (!r->keep) {
            rec_remove(r);
            continue;
        }
        h->recs[k++] = r;
    }
    h->n = k;
    for (size_t i = 0; i < h->n; i++) {
        strat_t *r = h->recs[i];
        apply_settings(r);
        if (r->staged && r->staged->started) {
            st_log_info(HOST, "%s: new code swapped in", r->name);
            swap(r);
            started++;
        }
    }
    h->recs = st_xrealloc(h->recs, (h->n + h->nfresh) * sizeof(*h->recs));
    for (size_t i = 0; i < h->nfresh; i++) {
        strat_t *r = h->fresh[i];
        h->recs[h->n++] = r;
        apply_settings(r);
        if (r->fail_reason) continue;
        st_log_info(HOST, "%s: started", r->name);
        swap(r);
        started++;
    }
    h->nfresh = 0;
    st_strats_dirty(h);
    return started;
}

void st_strats_destroy(st_strats_t *h)
{
    if (!h) return;
    st_strats_abort(h);
    for (size_t i = 0; i < h->n; i++) {
        st_strats_stop_timers(h->recs[i]);
        rec_free(h->recs[i]);
    }
    for (size_t i = 0; i < h->nsubs; i++) free(h->subs[i].v);
    free(h->subs);
    free(h->all.v);
    free(h->recs);
    free(h->fresh);
    free(h);
}

/* --- what is running ------------------------------------------------------------------------ */

size_t st_strats_count(const st_strats_t *h)
{
    return h->n;
}

void st_strats_info(const st_strats_t *h, size_t i, st_strat_info_t *out)
{
    const strat_t *r = h->recs[i];
    memset(out, 0, sizeof(*out));
    out->name = r->name;
    out->kind = r->cur ? r->cur->be->kind : "c";
    out->state = r->fail_reason ? "failed" : r->quarantined ? "quarantined" : "running";
    out->ticks = r->ticks;
    out->signals = r->signals;
    out->emergencies = r->emergencies;
    out->reloads = r->reloads ? r->reloads - 1 : 0;
    out->watched = r->nwatched;
    out->callback_ns = r->cb_ns;
    out->callback_p99_ns = st_hist_quantile(&r->cb_ns, 0.99);
    out->last_error = "";
    if (r->cur && r->cur->be->stats) r->cur->be->stats(r->cur->impl, out);
    if (r->fail_reason) out->last_error = r->fail_reason;
}

struct st_lua *st_strats_lua(const st_strats_t *h, const char *name)
{
    const strat_t *r = find(h, name);
    return r && r->cur && r->cur->be == &lua_backend ? r->cur->impl : NULL;
}

int st_strats_emergency_answer(st_strats_t *h, const char *name, const char *code, bool granted, const char *why)
{
    strat_t *r = find(h, name);
    if (!r || !r->cur || r->quarantined) return -ENOENT;
    r->cur->be->on_emergency(r->cur->impl, code, granted, why);
    return 0;
}

bool st_strats_watching(const st_strats_t *h, const char *name, st_sym_t sym)
{
    const strat_t *r = find(h, name);
    if (!r || sym >= r->watched_cap || !(r->watched[sym] & WATCHED)) return false;
    const sublist_t *l = sym < h->nsubs ? &h->subs[sym] : NULL;
    for (uint32_t i = 0; l && i < l->n; i++)
        if (l->v[i] == r) return true;
    return false; /* marked but not listed: a bug the tests catch */
}

uint64_t st_strats_signals(const st_strats_t *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i < h->n; i++) n += h->recs[i]->signals;
    return n;
}
