/* The embedded simulated market as a feed (kind: sim). The market evolves for every symbol
 * whether or not anyone watches (as a real exchange does): a one-minute market timer on the
 * strata clock advances it, so its counters are real. Delivering ticks for subscribed symbols
 * arrives with the planner and the subscription ledger. */
#include "feed.h"
#include "simmkt.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    st_feed_t base;
    st_simmkt_t *mkt;
    st_timer_t market_timer;
    int64_t ws_budget;
    bool running;
} sim_feed_t;

static void on_market_timer(st_timer_t *t, st_time_t now, void *ctx)
{
    sim_feed_t *sf = ctx;
    st_simmkt_advance_all(sf->mkt, now);
}

static int sim_start(st_feed_t *f)
{
    sim_feed_t *sf = (sim_feed_t *)f;
    st_time_t now = st_clock_now(f->clock);
    st_time_t first = (now / ST_MIN + 1) * ST_MIN;
    st_clock_timer_start(f->clock, &sf->market_timer, first, ST_MIN);
    sf->running = true;
    st_log_info(FEED, "%s: simulated market started", f->name);
    return 0;
}

static void sim_stop(st_feed_t *f)
{
    sim_feed_t *sf = (sim_feed_t *)f;
    if (!sf->running) return;
    st_clock_timer_stop(f->clock, &sf->market_timer);
    st_simmkt_advance_all(sf->mkt, st_clock_now(f->clock));
    sf->running = false;
}

static void sim_destroy(st_feed_t *f)
{
    sim_feed_t *sf = (sim_feed_t *)f;
    sim_stop(f);
    st_simmkt_destroy(sf->mkt);
    free(f->name);
    free(sf);
}

static void sim_stats(const st_feed_t *f, st_feed_stats_t *out)
{
    const sim_feed_t *sf = (const sim_feed_t *)f;
    st_simmkt_stats_t ms;
    st_simmkt_stats(sf->mkt, &ms);
    memset(out, 0, sizeof(*out));
    out->market_trades = ms.trades;
    out->halts = ms.halts;
    out->bursts = ms.bursts;
    out->shocks = ms.shocks;
    out->ws_budget = sf->ws_budget;
}

static void sim_sync(st_feed_t *f, st_time_t now)
{
    /* Events stamped exactly `now` belong to what starts now (a slot opening at 09:00 owns the
     * 09:00:00 opening prints), so sync stops just short of it. */
    st_simmkt_advance_all(((sim_feed_t *)f)->mkt, now - 1);
}

static const st_feed_vtable_t sim_vtable = {"sim", sim_start, sim_stop, sim_destroy, sim_stats,
                                            sim_sync};

int st_sim_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out,
                       char *err, size_t errlen)
{
    const st_session_cfg_t *ss = &env->cfg->market.session;
    st_time_t now = st_clock_now(env->clock);
    time_t secs = (time_t)(now / ST_SEC);
    struct tm tm;
    localtime_r(&secs, &tm);
    st_simmkt_params_t p = {
        .seed = (uint64_t)fc->seed,
        .activity = fc->activity,
        .volatility = fc->volatility,
        .halt_rate = fc->halt_rate,
        .pre_open = ss->pre_open,
        .open = ss->open,
        .closing_auction = ss->closing_auction,
        .close = ss->close,
        .utc_offset = (int32_t)tm.tm_gmtoff,
    };
    sim_feed_t *sf = st_xcalloc(1, sizeof(*sf));
    sf->base.vt = &sim_vtable;
    sf->mkt = st_simmkt_create(&p, env->universe, now);
    sf->ws_budget = fc->budget * fc->connections;
    st_timer_init(&sf->market_timer, on_market_timer, sf);
    ST_UNUSED(err);
    ST_UNUSED(errlen);
    *out = &sf->base;
    return 0;
}

struct st_simmkt *st_sim_feed_market(st_feed_t *f)
{
    return f->vt == &sim_vtable ? ((sim_feed_t *)f)->mkt : NULL;
}
