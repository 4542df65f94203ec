#include "restpoll.h"
#include "core/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALL_TIMEOUT (5 * ST_SEC)

typedef struct call {
    struct call *prev, *next; /* in flight: the HTTP layer drops its callbacks on teardown */
    st_restpoll_t *rp;
    size_t n;
    uint8_t got[ST_RESTPOLL_MAX_BATCH];
    st_sym_t syms[ST_RESTPOLL_MAX_BATCH];
} call_t;

struct st_restpoll {
    st_restpoll_cfg_t cfg;
    st_poller_t poller;
    st_limiter_t lim;
    st_timer_t timer;
    uint8_t *misses;
    call_t *inflight;
    call_t *current; /* the call whose answer is being read (st_restpoll_row) */
    st_time_t call_times[64];
    size_t call_next;
    double stretch_logged;
    st_restpoll_stats_t st;
    bool running;
};

static st_time_t now_of(st_restpoll_t *rp)
{
    return st_clock_now(rp->cfg.env.clock);
}

static void arm(st_restpoll_t *rp)
{
    st_clock_t *clk = rp->cfg.env.clock;
    st_time_t due = st_poller_next(&rp->poller);
    if (!rp->running || due == ST_TIME_NEVER || (rp->cfg.ready && !rp->cfg.ready(rp->cfg.ctx))) {
        st_clock_timer_stop(clk, &rp->timer);
        return;
    }
    st_time_t now = st_clock_now(clk), gate = st_limiter_next(&rp->lim, now > due ? now : due);
    /* The budget the schedule plans with follows the limiter's margin and penalty. */
    double rate = st_limiter_rate(&rp->lim, 0, now) * ST_RESTPOLL_SHARE;
    if (fabs(rate - rp->poller.rate) > 0.005 * rp->poller.rate) st_poller_set_rate(&rp->poller, rate);
    if (gate > due) due = gate;
    if (!st_timer_active(&rp->timer) || rp->timer.at != due) st_clock_timer_start(clk, &rp->timer, due, 0);
}

static void retry_all(st_restpoll_t *rp, const call_t *c, st_time_t now)
{
    for (size_t i = 0; i < c->n; i++) st_poller_retry(&rp->poller, c->syms[i], now);
}

/* Every miss is one failure for the planner, which counts them in a row (any data for the
 * symbol is a success there) against risk.failure_threshold; the log says so once. */
static void missed(st_restpoll_t *rp, st_sym_t sym, st_time_t now)
{
    if (++rp->misses[sym] == rp->cfg.failure_threshold) {
        rp->st.failures++;
        st_log_warn(FEED, "%s: %s missing from %d quotation answers in a row", rp->cfg.env.name,
                    st_symtab_code(rp->cfg.env.syms, sym), rp->cfg.failure_threshold);
    }
    if (rp->cfg.on_failure) rp->cfg.on_failure(rp->cfg.ctx, sym);
    st_poller_retry(&rp->poller, sym, now);
}

void st_restpoll_row(st_restpoll_t *rp, const st_tick_t *t)
{
    call_t *c = rp->current;
    for (size_t i = 0; c && i < c->n; i++)
        if (c->syms[i] == t->sym) c->got[i] = 1;
    if ((size_t)t->sym < rp->cfg.env.nsyms) rp->misses[t->sym] = 0;
    if (rp->cfg.on_snapshot) rp->cfg.on_snapshot(rp->cfg.ctx, t);
}

void st_restpoll_ban(st_restpoll_t *rp, st_time_t until)
{
    st_limiter_block(&rp->lim, until);
}

static void unlink_call(st_restpoll_t *rp, call_t *c)
{
    if (c->prev) c->prev->next = c->next; else rp->inflight = c->next;
    if (c->next) c->next->prev = c->prev;
    free(c);
}

static void on_answer(const st_http_response_t *resp, void *ctx)
{
    call_t *c = ctx;
    st_restpoll_t *rp = c->rp;
    st_time_t now = now_of(rp);
    if (rp->running) {
        rp->current = c;
        st_rp_outcome_t o = rp->cfg.answer(rp->cfg.ctx, rp, resp, c->syms, c->n);
        rp->current = NULL;
        if (resp->error) rp->st.timeouts++;
        switch (o) {
        case ST_RP_OK:
            rp->st.ok++;
            for (size_t i = 0; i < c->n; i++)
                if (!c->got[i]) missed(rp, c->syms[i], now);
            break;
        case ST_RP_RATE:
            rp->st.rate_errors++;
            st_limiter_rate_error(&rp->lim, now);
            retry_all(rp, c, now);
            break;
        case ST_RP_BANNED:
            rp->st.bans++;
            retry_all(rp, c, now);
            break;
        case ST_RP_RETRY:
            if (!resp->error) rp->st.malformed++;
            retry_all(rp, c, now);
            break;
        }
    }
    unlink_call(rp, c);
    arm(rp);
}

static void poll_now(st_restpoll_t *rp, st_time_t now)
{
    call_t *c = st_xcalloc(1, sizeof(*c));
    c->rp = rp;
    c->n = st_poller_take(&rp->poller, now, c->syms);
    if (!c->n) {
        free(c);
        return;
    }
    char url[8192];
    const char *hdr[8] = {NULL};
    rp->cfg.request(rp->cfg.ctx, c->syms, c->n, url, sizeof(url), hdr);
    rp->st.calls++;
    rp->call_times[rp->call_next++ % ST_ARRAY_SIZE(rp->call_times)] = now;
    c->next = rp->inflight;
    if (c->next) c->next->prev = c;
    rp->inflight = c;
    if (st_http_request(rp->cfg.env.http, "GET", url, hdr, NULL, CALL_TIMEOUT, on_answer, c) != 0) {
        rp->st.timeouts++;
        retry_all(rp, c, now);
        unlink_call(rp, c);
    }
}

/* Demand over the budget is said out loud, once per 10 % change of the stretch. */
static void check_stretch(st_restpoll_t *rp)
{
    double s = rp->poller.stretch;
    if (s <= 1.0 && rp->stretch_logged <= 1.0) return;
    if (s > rp->stretch_logged * 0.9 && s < rp->stretch_logged * 1.1) return;
    rp->stretch_logged = s;
    if (s > 1.0)
        st_log_warn(FEED, "%s: tier-3 demand (%zu symbols, %.0f refreshes a second) exceeds the REST budget "
                    "(%.1f calls a second x %d symbols): every polling interval stretched x%.2f",
                    rp->cfg.env.name, rp->poller.n, rp->poller.demand, rp->poller.rate, rp->poller.batch, s);
    else
        st_log_info(FEED, "%s: tier-3 polling back within the REST budget", rp->cfg.env.name);
}

static void on_timer(st_timer_t *t, st_time_t deadline, void *ctx)
{
    st_restpoll_t *rp = ctx;
    st_time_t now = now_of(rp); /* the call leaves now */
    check_stretch(rp);
    if ((!rp->cfg.ready || rp->cfg.ready(rp->cfg.ctx)) && st_poller_next(&rp->poller) <= now &&
        st_limiter_try(&rp->lim, now))
        poll_now(rp, now);
    arm(rp);
}

st_restpoll_t *st_restpoll_create(const st_restpoll_cfg_t *cfg)
{
    st_restpoll_t *rp = st_xcalloc(1, sizeof(*rp));
    rp->cfg = *cfg;
    rp->cfg.env.name = st_xstrdup(cfg->env.name);
    if (rp->cfg.failure_threshold < 1) rp->cfg.failure_threshold = 3;
    if (rp->cfg.batch < 1) rp->cfg.batch = 1;
    if (rp->cfg.batch > ST_RESTPOLL_MAX_BATCH) rp->cfg.batch = ST_RESTPOLL_MAX_BATCH;
    st_limiter_init_calls(&rp->lim, (int)cfg->rate, (st_limiter_mode_t)cfg->limiter_mode);
    st_poller_init(&rp->poller, cfg->env.nsyms, rp->cfg.batch, st_limiter_rate(&rp->lim, 0, 0) * ST_RESTPOLL_SHARE);
    rp->misses = st_xcalloc(cfg->env.nsyms ? cfg->env.nsyms : 1, 1);
    st_timer_init(&rp->timer, on_timer, rp);
    return rp;
}

void st_restpoll_destroy(st_restpoll_t *rp)
{
    if (!rp) return;
    st_restpoll_stop(rp);
    while (rp->inflight) unlink_call(rp, rp->inflight); /* their answers will never come */
    st_poller_free(&rp->poller);
    st_limiter_free(&rp->lim);
    free(rp->misses);
    free((char *)rp->cfg.env.name);
    free(rp);
}

void st_restpoll_start(st_restpoll_t *rp)
{
    rp->running = true;
    arm(rp);
}

void st_restpoll_stop(st_restpoll_t *rp)
{
    rp->running = false;
    st_clock_timer_stop(rp->cfg.env.clock, &rp->timer);
}

void st_restpoll_set(st_restpoll_t *rp, st_sym_t sym, st_dur_t interval, int cls)
{
    st_poller_set(&rp->poller, sym, interval, cls, now_of(rp));
    arm(rp);
}

st_poller_t *st_restpoll_schedule(st_restpoll_t *rp)
{
    return &rp->poller;
}

void st_restpoll_kick(st_restpoll_t *rp)
{
    arm(rp);
}

st_limiter_t *st_restpoll_limiter(st_restpoll_t *rp)
{
    return &rp->lim;
}

void st_restpoll_stats(st_restpoll_t *rp, st_restpoll_stats_t *out)
{
    *out = rp->st;
    st_time_t now = now_of(rp);
    out->calls_last_second = 0;
    for (size_t i = 0; i < ST_ARRAY_SIZE(rp->call_times) && i < rp->call_next; i++)
        out->calls_last_second += rp->call_times[i] > now - ST_SEC;
    out->penalty = st_limiter_penalty(&rp->lim, now);
    out->margin = st_limiter_margin(&rp->lim, now);
    out->poller = &rp->poller;
}
