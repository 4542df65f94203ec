#include "feed.h"

#include "restpoll.h"
#include "subconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

st_feed_merge_fn *const st_feed_merges[ST_FEED_NKINDS] = {
    [ST_FEED_SIM] = st_sim_conf_merge,
    [ST_FEED_KIS] = st_kis_conf_merge,
    [ST_FEED_UPBIT] = st_upbit_conf_merge,
    [ST_FEED_REPLAY] = st_sim_conf_merge, /* a replay plans like the venue it replays: KIS's unless told */
    [ST_FEED_REDIS] = st_sim_conf_merge,  /* (it takes no plan: the limits are the publisher's) */
};

int st_feed_create(const st_feed_cfg_t *fc, uint16_t index, const st_feed_env_t *env,
                   st_feed_t **out, char *err, size_t errlen)
{
    int rc;
    switch (fc->kind) {
    case ST_FEED_SIM: rc = st_sim_feed_create(fc, env, out, err, errlen); break;
    case ST_FEED_KIS: rc = st_kis_feed_create(fc, env, out, err, errlen); break;
    case ST_FEED_UPBIT: rc = st_upbit_feed_create(fc, env, out, err, errlen); break;
    case ST_FEED_REPLAY: /* limited: the simulated venue serving the tape */
        rc = fc->mode == ST_REPLAY_LIMITED ? st_sim_feed_create(fc, env, out, err, errlen)
                                           : st_replay_feed_create(fc, env, out, err, errlen);
        break;
    case ST_FEED_REDIS: rc = st_redis_feed_create(fc, env, out, err, errlen); break;
    default:
        snprintf(err, errlen, "feed \"%s\": this kind is not available in this build", fc->name);
        return ST_ENOTIMPL;
    }
    if (rc) return rc;
    (*out)->name = st_xstrdup(fc->name);
    (*out)->index = index;
    (*out)->clock = env->clock;
    (*out)->on_tick = env->on_tick;
    (*out)->tick_ctx = env->tick_ctx;
    (*out)->on_refused = env->on_refused;
    (*out)->on_subscription = env->on_subscription;
    return 0;
}

static void poll_one(st_poller_t *p, const st_planner_t *plan, st_sym_t sym, bool on, st_dur_t def, st_time_t now)
{
    const st_plan_entry_t *e = plan ? st_planner_entry(plan, sym) : NULL;
    st_poller_set(p, sym, !on ? 0 : e && e->poll > 0 ? e->poll : def, e ? e->prio : ST_PRIO_MEDIUM, now);
}

void st_feed_apply_polls(st_poller_t *p, const st_plan_change_t *ch, size_t n, const st_planner_t *plan,
                         st_dur_t def, const uint8_t *skip, st_time_t now)
{
    for (size_t i = 0; i < n; i++)
        if ((size_t)ch[i].sym < p->nsyms && (ch[i].to_tier == ST_TIER_POLL || ch[i].from_tier == ST_TIER_POLL))
            poll_one(p, plan, ch[i].sym, ch[i].to_tier == ST_TIER_POLL, def, now);
    for (size_t s = 0; plan && s < p->nsyms; s++)
        if (st_poller_has(p, (st_sym_t)s) && !(skip && skip[s])) poll_one(p, plan, (st_sym_t)s, true, def, now);
}

/* Wants or unwants the keys of a tier 1-2 symbol on one connection (NULL: none of this feed's). */
static void want_tier(st_coalescer_t *co, st_sym_t sym, bool index, uint8_t tier, bool on, st_time_t now)
{
    if (!co || (tier != ST_TIER_REALTIME && tier != ST_TIER_SEMI)) return;
    if (index) {
        st_coalescer_want(co, ST_KEY(sym, ST_CH_INDEX), on, now);
        return;
    }
    st_coalescer_want(co, ST_KEY(sym, ST_CH_TRADE), on, now);
    if (tier == ST_TIER_REALTIME) st_coalescer_want(co, ST_KEY(sym, ST_CH_BOOK), on, now);
}

void st_feed_apply_subs(const st_plan_change_t *ch, size_t n, int conn_base, st_coalescer_t *const *co, int nconns,
                        const uint8_t *kinds, size_t nsyms, st_time_t now)
{
    for (size_t i = 0; i < n; i++) {
        const st_plan_change_t *c = &ch[i];
        if ((size_t)c->sym >= nsyms || kinds[c->sym] == ST_FSYM_ABSENT) continue;
        int from = c->from_conn == ST_CONN_NONE ? -1 : c->from_conn - conn_base;
        int to = c->to_conn == ST_CONN_NONE ? -1 : c->to_conn - conn_base;
        st_coalescer_t *f = from >= 0 && from < nconns ? co[from] : NULL, *t = to >= 0 && to < nconns ? co[to] : NULL;
        bool index = kinds[c->sym] == ST_FSYM_INDEX;
        want_tier(f, c->sym, index, c->from_tier, false, now);
        want_tier(t, c->sym, index, c->to_tier, true, now);
        if (c->why == ST_WHY_EMERGENCY) { /* what it brings in and what it evicts leave at once */
            if (f) st_coalescer_urgent(f, now);
            if (t && t != f) st_coalescer_urgent(t, now);
        }
    }
}

st_sym_t st_feed_sym(const st_symtab_t *syms, const uint8_t *map, size_t n, const char *code, size_t len)
{
    st_sym_t s = st_symtab_find(syms, code, len);
    return s != ST_SYM_NONE && (size_t)s < n && map[s] != ST_FSYM_ABSENT ? s : ST_SYM_NONE;
}

void st_feed_limiter_stats(st_feed_stats_t *out, st_limiter_t *lim, st_time_t now)
{
    double pen = st_limiter_penalty(lim, now);
    if (pen < out->penalty) out->penalty = pen;
    out->margin = ST_MAX2(out->margin, st_limiter_margin(lim, now));
    for (int i = 0; i < lim->nwin; i++) {
        int64_t used = st_limiter_used(lim, i, now), limit = lim->win[i].w.limit;
        if (lim->win[i].w.period == ST_SEC) {
            out->msgs_second = ST_MAX2(out->msgs_second, used);
            out->msgs_second_limit = ST_MAX2(out->msgs_second_limit, limit);
        } else if (lim->win[i].w.period == ST_MIN) {
            out->msgs_minute = ST_MAX2(out->msgs_minute, used);
            out->msgs_minute_limit = ST_MAX2(out->msgs_minute_limit, limit);
        }
    }
}

void st_feed_sub_sent(st_feed_t *f, int conn, st_key_t key, bool on)
{
    if (f->on_subscription)
        f->on_subscription(f, conn, ST_KEY_SYM(key), ST_KEY_CH(key), on ? "subscribe" : "unsubscribe", f->tick_ctx);
}

void st_feed_sub_answered(st_feed_t *f, int conn, st_key_t key, st_ack_t ack)
{
    static const char *const names[] = {[ST_ACK_SUBSCRIBED] = "subscribed", [ST_ACK_UNSUBSCRIBED] = "unsubscribed",
                                        [ST_ACK_MAX_OVER] = "max subscribe over", [ST_ACK_INVALID] = "invalid",
                                        [ST_ACK_ERROR] = "error"};
    const char *op = (size_t)ack < ST_ARRAY_SIZE(names) && names[ack] ? names[ack] : "?";
    if (f->on_subscription) f->on_subscription(f, conn, ST_KEY_SYM(key), ST_KEY_CH(key), op, f->tick_ctx);
}

/* st_feed_rec_sym when it is not remembered yet (or the item names no index). */
st_sym_t st_feed_rec_sym_lookup(st_feed_rec_syms_t *c, const st_symtab_t *syms, const uint8_t *map, size_t n,
                                const st_rec_item_t *it)
{
    uint32_t i = it->code_index;
    if (i == UINT32_MAX) return st_feed_sym(syms, map, n, it->code, strlen(it->code));
    if (i >= c->cap) {
        size_t cap = i + 1 > 2 * c->cap ? i + 1 : 2 * c->cap;
        c->dict = st_xrealloc(c->dict, cap * sizeof(*c->dict));
        c->sym = st_xrealloc(c->sym, cap * sizeof(*c->sym));
        memset(c->dict + c->cap, 0, (cap - c->cap) * sizeof(*c->dict));
        c->cap = cap;
    }
    if (c->dict[i] != it->dict) {
        c->dict[i] = it->dict;
        c->sym[i] = st_feed_sym(syms, map, n, it->code, strlen(it->code));
    }
    return c->sym[i];
}

void st_feed_rec_syms_free(st_feed_rec_syms_t *c)
{
    free(c->dict);
    free(c->sym);
}

void st_feed_rest_snapshot(void *feed, const st_tick_t *snap)
{
    st_tick_t t = *snap;
    st_feed_deliver(feed, &t);
}

void st_feed_rest_failure(void *feed, st_sym_t sym)
{
    st_feed_t *f = feed;
    if (f->on_refused) f->on_refused(f, -1, sym, ST_ACK_INVALID, 0, f->tick_ctx);
}

bool st_feed_warn_due(st_time_t *last, st_time_t now)
{
    if (*last && now - *last < ST_MIN) return false;
    *last = now;
    return true;
}

uint8_t *st_feed_index_map(const st_universe_t *u, size_t *n)
{
    *n = u->by_sym_len;
    uint8_t *m = st_xmalloc(*n ? *n : 1);
    memset(m, ST_FSYM_ABSENT, *n ? *n : 1);
    for (size_t i = 0; i < u->n; i++)
        m[u->items[i].sym] = u->items[i].market == ST_MKT_INDEX ? ST_FSYM_INDEX : ST_FSYM_STOCK;
    return m;
}

