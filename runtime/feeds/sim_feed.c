/* The embedded simulated market as a feed (kind: sim), behind the real subscription path; and
 * the same venue serving a recorded tape of a whole market (kind: replay, mode: limited).
 *
 * Plan changes become desired keys in each connection's ledger; the coalescer flushes them as
 * KIS-format register/unregister messages, paced by the connection's limiter. The simulated
 * venue receives those messages, enforces its registration cap and checks the message rate with
 * its own windows (anything over either is a counted violation: there must be none), answers
 * after a short delay like KIS does (SUBSCRIBE SUCCESS, ALREADY IN SUBSCRIBE, MAX SUBSCRIBE OVER,
 * UNSUBSCRIBE SUCCESS), and streams what it has registered:
 * - a registered trade (or index) key gets every trade as it happens (one clock timer per
 *   streaming symbol, at its next trade); a registered book key an orderbook after each trade;
 * - tier-3 symbols get a REST-style snapshot every polling interval the planner gives them,
 *   scheduled by the poller a KIS feed uses (subs/poller.c): 30 to a call (KIS's multprice),
 *   each call one API call under the REST limiter;
 * - everything else is advanced silently once a simulated minute, so counters stay real.
 * Its books and snapshots are computed from each symbol's last trade alone (st_simmkt_book_of),
 * so the market can be the generator (st_simmkt) or a tape (st_tape) and a tape of the
 * generator's market gets the answers the live run got. `record: {path, scope: market}` writes
 * that tape: every trade of every symbol in time order, from a second generator of the same
 * market driven in time order (the live one advances symbol by symbol, lazily). */
#include "feed.h"
#include "kis_codec.h"
#include "restpoll.h"
#include "simmkt.h"
#include "tape.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "record/recfile.h"
#include "subs/coalescer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACK_DELAY (2 * ST_MSEC)
#define ACKQ 4096

typedef struct sim_feed sim_feed_t;

typedef struct {
    st_timer_t trade;
    sim_feed_t *owner;
    st_sym_t sym;
    uint8_t streams; /* venue registrations of this symbol: bit per channel */
    uint64_t code_hash;
    st_tick_t last; /* its last trade (before the first: the reference, price 0) */
} sim_sym_t;

typedef struct {
    sim_feed_t *owner;
    int index;
    st_coalescer_t co;
    st_limiter_t lim;
    st_timer_t flush;
    /* the venue's side */
    uint8_t *reg; /* per key */
    int held;
    st_time_t rx[128]; /* the latest message arrival times, for the venue's own rate check */
    size_t nrx;
} sim_conn_t;

typedef struct {
    int conn;
    st_key_t key;
    st_ack_t ack;
    st_time_t at;
} ack_t;

struct sim_feed {
    st_feed_t base;
    st_simmkt_t *mkt; /* the market: the generator, */
    st_tape_t *tape;  /* … or a tape of one */
    st_simmkt_t *tape_mkt;     /* record: the same market, driven in time order for … */
    st_rec_writer_t *tape_out; /* … the tape being written */
    char *tape_path;
    st_timer_t market_timer, ack_timer;
    sim_sym_t *syms; /* by symbol id */
    size_t nsyms;
    st_sym_t *all;
    size_t nall;
    struct code_ent { char code[16]; st_sym_t sym; } *codes; /* sorted, for the venue's lookup */
    sim_conn_t *conns;
    st_coalescer_t **cos; /* conns[k].co, for st_feed_apply_subs */
    uint8_t *kinds;       /* st_feed_index_map */
    int nconns, budget;
    int foreign; /* registrations on every connection held by someone else (the venue counts them) */
    double ws_rate;
    int64_t ws_rate_minute;
    ack_t ackq[ACKQ];
    size_t ack_head, ack_n;
    const st_planner_t *plan;
    uint64_t rest_calls, violations;
    st_limiter_t rest_lim; /* polls never exceed the venue's REST rate: a poll without a token waits */
    st_poller_t poller;    /* tier 3, batched as KIS's multprice calls, as a KIS feed's (restpoll.c) */
    st_timer_t poll_timer; /* the next call: the poller's due time, or the limiter's next token */
    st_time_t call_times[256];
    size_t call_next;
    bool running;
};

/* --- streaming -------------------------------------------------------------------------- */

static bool is_index(const sim_sym_t *s)
{
    return s->owner->kinds[s->sym] == ST_FSYM_INDEX;
}

/* A trade of the market: it is the symbol's state from now on. */
static void keep(const st_tick_t *t, void *ctx)
{
    sim_sym_t *s = ctx;
    s->last = *t;
}

/* … and what the venue streams of it to its registrations. */
static void deliver(const st_tick_t *t, void *ctx)
{
    sim_sym_t *s = ctx;
    sim_feed_t *sf = s->owner;
    st_time_t now = st_clock_now(sf->base.clock);
    s->last = *t;
    if (s->streams & (1u << ST_CH_TRADE | 1u << ST_CH_INDEX)) {
        st_tick_t tick = *t;
        tick.recv_time = now;
        st_feed_deliver(&sf->base, &tick);
    }
    if (s->streams & (1u << ST_CH_BOOK)) {
        st_tick_t book;
        st_simmkt_book_of(&s->last, s->code_hash, is_index(s), t->venue_time, &book);
        book.recv_time = now;
        st_feed_deliver(&sf->base, &book);
    }
}

/* The symbol's trades up to `until`: streamed (live) or only kept. */
static void advance(sim_sym_t *s, st_time_t until, bool live)
{
    sim_feed_t *sf = s->owner;
    if (sf->tape)
        st_tape_advance(sf->tape, s->sym, until, live ? deliver : keep, s);
    else
        st_simmkt_advance(sf->mkt, s->sym, until, live ? deliver : keep, s);
}

static void arm_trade(sim_sym_t *s)
{
    sim_feed_t *sf = s->owner;
    st_time_t next = sf->tape ? st_tape_next_event(sf->tape, s->sym) : st_simmkt_next_event(sf->mkt, s->sym);
    if (next != ST_TIME_NEVER) st_clock_timer_start(sf->base.clock, &s->trade, next, 0);
}

static void on_trade(st_timer_t *t, st_time_t now, void *ctx)
{
    sim_sym_t *s = ctx;
    advance(s, now, true);
    if (s->streams) arm_trade(s);
}

static void set_stream(sim_feed_t *sf, st_sym_t sym, st_channel_t ch, bool on, st_time_t now)
{
    sim_sym_t *s = &sf->syms[sym];
    uint8_t before = s->streams;
    if (on)
        s->streams |= (uint8_t)(1u << ch);
    else
        s->streams &= (uint8_t)~(1u << ch);
    if (!before && s->streams) {
        advance(s, now, false); /* what came before is history */
        if (sf->running) arm_trade(s);
    } else if (before && !s->streams) {
        st_clock_timer_stop(sf->base.clock, &s->trade);
    }
}

/* --- tier 3 ------------------------------------------------------------------------------- */

#define SIM_BATCH 30 /* symbols a quotation call carries: KIS intstock-multprice's 30 (paper: 1) */

/* The next call: when the poller has one due and the limiter a token. */
static void arm_poll(sim_feed_t *sf)
{
    st_clock_t *clk = sf->base.clock;
    st_time_t due = st_poller_next(&sf->poller);
    if (!sf->running || due == ST_TIME_NEVER) {
        st_clock_timer_stop(clk, &sf->poll_timer);
        return;
    }
    st_time_t now = st_clock_now(clk), gate = st_limiter_next(&sf->rest_lim, now > due ? now : due);
    if (gate > due) due = gate;
    if (!st_timer_active(&sf->poll_timer) || sf->poll_timer.at != due) st_clock_timer_start(clk, &sf->poll_timer, due, 0);
}

/* One quotation call: the symbols the poller has due, each answered with its snapshot now. */
static void on_poll(st_timer_t *t, st_time_t deadline, void *ctx)
{
    sim_feed_t *sf = ctx;
    st_time_t now = st_clock_now(sf->base.clock); /* the call happens now (see on_flush) */
    st_sym_t syms[SIM_BATCH];
    size_t n = 0;
    if (st_poller_next(&sf->poller) <= now && st_limiter_try(&sf->rest_lim, now))
        n = st_poller_take(&sf->poller, now, syms);
    if (n) {
        sf->rest_calls++;
        sf->call_times[sf->call_next++ % ST_ARRAY_SIZE(sf->call_times)] = now;
    }
    for (size_t i = 0; i < n; i++) {
        sim_sym_t *s = &sf->syms[syms[i]];
        advance(s, now, false);
        st_tick_t snap;
        st_simmkt_snapshot_of(&s->last, is_index(s), now, &snap);
        snap.recv_time = now;
        /* A tape without the symbol's reference (an imported CSV) knows no price for it before
         * its first trade: the call is made, no quote comes back. */
        if (snap.u.trade.price > 0) st_feed_deliver(&sf->base, &snap);
    }
    arm_poll(sf);
}

/* --- the tape (record: {path, scope: market}) ---------------------------------------------- */

static void tape_fail(sim_feed_t *sf, int err)
{
    st_log_error(FEED, "%s: the market tape %s stops here: %s", sf->base.name, sf->tape_path, strerror(err));
    st_rec_close(sf->tape_out);
    sf->tape_out = NULL;
}

/* Every trade of the market up to `until`, in time order. */
static void tape_write(sim_feed_t *sf, st_time_t until)
{
    st_tick_t t;
    while (sf->tape_out && st_simmkt_pop(sf->tape_mkt, until, &t)) {
        t.recv_time = t.venue_time;
        int rc = st_rec_tick_id(sf->tape_out, &t, t.sym, sf->codes[t.sym].code, ST_CONN_NONE);
        if (rc) tape_fail(sf, -rc);
    }
}

/* The tape opens with every symbol's reference (a snapshot before its first trade). */
static void tape_begin(sim_feed_t *sf, st_time_t now)
{
    for (size_t i = 0; i < sf->nall && sf->tape_out; i++) {
        sim_sym_t *s = &sf->syms[sf->all[i]];
        st_tick_t snap;
        st_simmkt_snapshot_of(&s->last, is_index(s), now, &snap);
        snap.recv_time = now;
        int rc = st_rec_tick_id(sf->tape_out, &snap, s->sym, sf->codes[s->sym].code, ST_CONN_NONE);
        if (rc) tape_fail(sf, -rc);
    }
}

static void on_market_timer(st_timer_t *t, st_time_t now, void *ctx)
{
    sim_feed_t *sf = ctx;
    for (size_t i = 0; i < sf->nall; i++)
        if (!sf->syms[sf->all[i]].streams) advance(&sf->syms[sf->all[i]], now, false);
    tape_write(sf, now);
}

/* --- the subscription path ------------------------------------------------------------------ */

static void arm_flush(sim_conn_t *c)
{
    st_clock_t *clk = c->owner->base.clock;
    st_time_t due = st_coalescer_due(&c->co, st_clock_now(clk));
    if (due == ST_TIME_NEVER)
        st_clock_timer_stop(clk, &c->flush);
    else if (!st_timer_active(&c->flush) || c->flush.at != due)
        st_clock_timer_start(clk, &c->flush, due, 0);
}

static void on_flush(st_timer_t *t, st_time_t deadline, void *ctx)
{
    sim_conn_t *c = ctx;
    /* The limiter must see when messages really leave, not when the timer was due: after a
     * stall, overdue flushes would otherwise leave in one burst that the limiter thinks was
     * spread out. */
    st_coalescer_flush(&c->co, st_clock_now(c->owner->base.clock));
    arm_flush(c);
}

static void arm_acks(sim_feed_t *sf)
{
    if (sf->ack_n && sf->running)
        st_clock_timer_start(sf->base.clock, &sf->ack_timer, sf->ackq[sf->ack_head].at, 0);
}

static void on_acks(st_timer_t *t, st_time_t now, void *ctx)
{
    sim_feed_t *sf = ctx;
    while (sf->ack_n && sf->ackq[sf->ack_head].at <= now) {
        ack_t a = sf->ackq[sf->ack_head];
        sf->ack_head = (sf->ack_head + 1) % ACKQ;
        sf->ack_n--;
        st_coalescer_ack(&sf->conns[a.conn].co, a.key, a.ack, now);
        arm_flush(&sf->conns[a.conn]);
    }
    arm_acks(sf);
}

static int by_code(const void *a, const void *b)
{
    return strcmp(((const struct code_ent *)a)->code, ((const struct code_ent *)b)->code);
}

static const char *code_of(void *ctx, st_sym_t sym)
{
    sim_conn_t *c = ctx;
    return c->owner->codes[sym].code; /* the first nsyms entries are indexed by symbol id */
}

static void refused(void *ctx, st_key_t key, st_ack_t ack, int cap)
{
    sim_conn_t *c = ctx;
    sim_feed_t *sf = c->owner;
    st_sym_t sym = ST_KEY_SYM(key);
    st_log_warn(FEED, "%s: %s %s refused on connection %d: %s", sf->base.name,
                st_kis_tr_id(ST_KEY_CH(key)), sym < sf->nsyms ? sf->codes[sym].code : "?", c->index,
                ack == ST_ACK_MAX_OVER ? "MAX SUBSCRIBE OVER" : "invalid tr_key");
    if (sf->base.on_refused) sf->base.on_refused(&sf->base, c->index, sym, ack, cap, sf->base.tick_ctx);
}

static void traced_sent(void *ctx, st_key_t key, bool on)
{
    sim_conn_t *c = ctx;
    st_feed_sub_sent(&c->owner->base, c->index, key, on);
}

static void traced_answered(void *ctx, st_key_t key, st_ack_t ack)
{
    sim_conn_t *c = ctx;
    st_feed_sub_answered(&c->owner->base, c->index, key, ack);
}

/* The venue: parses a KIS register/unregister message, keeps its own books, answers later. */
static int venue_receive(void *ctx, const char *msg, size_t len)
{
    sim_conn_t *c = ctx;
    sim_feed_t *sf = c->owner;
    st_time_t now = st_clock_now(sf->base.clock);
    /* Its own rate check: the latest ws_rate messages must span more than a second. */
    size_t lim = (size_t)sf->ws_rate, cap = ST_ARRAY_SIZE(c->rx);
    if (lim < cap && c->nrx >= lim && c->rx[(c->nrx - lim) % cap] > now - ST_SEC) sf->violations++;
    if (sf->ws_rate_minute > 0 && (size_t)sf->ws_rate_minute < cap && c->nrx >= (size_t)sf->ws_rate_minute &&
        c->rx[(c->nrx - (size_t)sf->ws_rate_minute) % cap] > now - ST_MIN)
        sf->violations++;
    c->rx[c->nrx++ % cap] = now;

    st_kis_request_t q;
    st_kis_request_parse(msg, len, &q);
    if (q.pingpong || q.err_cd) return -EPROTO;
    bool on = q.on;
    st_channel_t ch = q.tr == ST_KIS_TR_BOOK ? ST_CH_BOOK : q.tr == ST_KIS_TR_INDEX ? ST_CH_INDEX : ST_CH_TRADE;
    struct code_ent probe = {{0}, 0};
    snprintf(probe.code, sizeof(probe.code), "%.*s", (int)sizeof(probe.code) - 1, q.tr_key);
    struct code_ent *hit = q.tr == ST_KIS_TR_OTHER ? NULL
                           : bsearch(&probe, sf->codes + sf->nsyms, sf->nall, sizeof(probe), by_code);
    st_ack_t ack;
    st_key_t k = 0;
    if (!hit) {
        ack = ST_ACK_INVALID; /* OPSP8992 invalid tr_key */
    } else {
        k = ST_KEY(hit->sym, ch);
        if (on && c->reg[k]) {
            ack = ST_ACK_SUBSCRIBED; /* ALREADY IN SUBSCRIBE */
        } else if (on && c->held + sf->foreign >= sf->budget) {
            ack = ST_ACK_MAX_OVER;
            if (c->held >= sf->budget) sf->violations++; /* strata itself over its budget */
        } else if (on) {
            c->reg[k] = 1;
            c->held++;
            set_stream(sf, hit->sym, ch, true, now);
            ack = ST_ACK_SUBSCRIBED;
        } else {
            if (c->reg[k]) c->reg[k] = 0, c->held--, set_stream(sf, hit->sym, ch, false, now);
            ack = ST_ACK_UNSUBSCRIBED; /* or OPSP0003 for a key it did not hold */
        }
    }
    if (sf->ack_n == ACKQ) return -ENOBUFS;
    sf->ackq[(sf->ack_head + sf->ack_n++) % ACKQ] = (ack_t){c->index, k, ack, now + ACK_DELAY};
    if (sf->ack_n == 1) arm_acks(sf);
    return 0;
}

static int sim_apply(st_feed_t *f, const st_plan_change_t *ch, size_t n, int conn_base,
                     const st_planner_t *plan)
{
    sim_feed_t *sf = (sim_feed_t *)f;
    st_time_t now = st_clock_now(f->clock);
    sf->plan = plan;
    st_feed_apply_subs(ch, n, conn_base, sf->cos, sf->nconns, sf->kinds, sf->nsyms, now);
    st_feed_apply_polls(&sf->poller, ch, n, plan, ST_MIN, NULL, now); /* tier 3: snapshots at the poll times */
    arm_poll(sf);
    for (int k = 0; k < sf->nconns; k++) arm_flush(&sf->conns[k]);
    return 0;
}

/* --- life cycle ------------------------------------------------------------------------------ */

static int sim_start(st_feed_t *f)
{
    sim_feed_t *sf = (sim_feed_t *)f;
    st_time_t now = st_clock_now(f->clock);
    st_clock_timer_start(f->clock, &sf->market_timer, (now / ST_MIN + 1) * ST_MIN, ST_MIN);
    sf->running = true;
    arm_poll(sf); /* a plan applied before the start */
    for (int k = 0; k < sf->nconns; k++) arm_flush(&sf->conns[k]);
    if (sf->tape)
        st_log_info(FEED, "%s: replaying the market tape %s through the venue's limits (%d connection%s x %d "
                    "registrations)", f->name, sf->tape_path, sf->nconns, sf->nconns == 1 ? "" : "s", sf->budget);
    else
        st_log_info(FEED, "%s: simulated market started (%d connection%s x %d registrations)%s%s", f->name,
                    sf->nconns, sf->nconns == 1 ? "" : "s", sf->budget, sf->tape_out ? "; its tape to " : "",
                    sf->tape_out ? sf->tape_path : "");
    return 0;
}

static void sim_stop(st_feed_t *f)
{
    sim_feed_t *sf = (sim_feed_t *)f;
    if (!sf->running) return;
    st_clock_timer_stop(f->clock, &sf->market_timer);
    st_clock_timer_stop(f->clock, &sf->ack_timer);
    st_clock_timer_stop(f->clock, &sf->poll_timer);
    for (size_t i = 0; i < sf->nsyms; i++) st_clock_timer_stop(f->clock, &sf->syms[i].trade);
    for (int k = 0; k < sf->nconns; k++) st_clock_timer_stop(f->clock, &sf->conns[k].flush);
    st_time_t now = st_clock_now(f->clock);
    for (size_t i = 0; i < sf->nall; i++) advance(&sf->syms[sf->all[i]], now, false);
    tape_write(sf, now);
    sf->running = false;
}

static void sim_destroy(st_feed_t *f)
{
    sim_feed_t *sf = (sim_feed_t *)f;
    sim_stop(f);
    for (int k = 0; k < sf->nconns; k++) {
        st_coalescer_free(&sf->conns[k].co);
        st_limiter_free(&sf->conns[k].lim);
        free(sf->conns[k].reg);
    }
    free(sf->conns);
    free(sf->cos);
    free(sf->kinds);
    st_limiter_free(&sf->rest_lim);
    st_poller_free(&sf->poller);
    if (sf->tape_out) {
        int rc = st_rec_close(sf->tape_out);
        if (rc) st_log_error(FEED, "%s: closing the market tape %s: %s", f->name, sf->tape_path, strerror(-rc));
        else st_log_info(FEED, "%s: the market tape %s is complete", f->name, sf->tape_path);
    }
    st_simmkt_destroy(sf->tape_mkt);
    st_simmkt_destroy(sf->mkt);
    st_tape_free(sf->tape);
    free(sf->tape_path);
    free(sf->syms);
    free(sf->all);
    free(sf->codes);
    free(f->name);
    free(sf);
}

static void sim_stats(const st_feed_t *f, st_feed_stats_t *out)
{
    const sim_feed_t *sf = (const sim_feed_t *)f;
    memset(out, 0, sizeof(*out));
    if (sf->tape) {
        st_tape_stats_t ts;
        st_tape_stats(sf->tape, &ts);
        out->market_trades = ts.trades;
        out->halts = ts.halts;
    } else {
        st_simmkt_stats_t ms;
        st_simmkt_stats(sf->mkt, &ms);
        out->market_trades = ms.trades;
        out->halts = ms.halts;
        out->bursts = ms.bursts;
        out->shocks = ms.shocks;
    }
    out->ticks_delivered = sf->base.ticks;
    out->ws_budget = (int64_t)sf->budget * sf->nconns;
    out->rest_calls = out->rest_ok = sf->rest_calls;
    out->violations = sf->violations;
    st_time_t now = st_clock_now(f->clock);
    for (size_t i = 0; i < ST_ARRAY_SIZE(sf->call_times) && i < sf->call_next; i++)
        out->rest_last_second += sf->call_times[i] > now - ST_SEC;
    out->penalty = 1.0;
    out->poll_symbols = (int64_t)sf->poller.n;
    out->poll_stretch = sf->poller.stretch;
    for (int k = 0; k < ST_POLL_CLASSES && k < (int)ST_ARRAY_SIZE(out->poll_age); k++)
        out->poll_age[k] = st_poller_age_mean(&sf->poller, k);
    for (int k = 0; k < sf->nconns; k++) {
        sim_conn_t *c = &sf->conns[k];
        out->ws_used += c->held;
        if (out->nconns < ST_PLAN_MAX_CONNS) out->conn_held[out->nconns] = c->held, out->conn_open[out->nconns++] = true;
        out->ws_desired += c->co.ledger.desired;
        out->subs_requests += c->co.st.requests;
        out->subs_messages += c->co.st.messages;
        if (c->co.st.lat_max > out->subs_latency_max) out->subs_latency_max = c->co.st.lat_max;
        st_dur_t p99 = st_coalescer_latency(&c->co, 0.99);
        if (p99 > out->subs_latency_p99) out->subs_latency_p99 = p99;
        st_feed_limiter_stats(out, &c->lim, now);
    }
}

static void sim_sync(st_feed_t *f, st_time_t now)
{
    /* Events stamped exactly `now` belong to what starts now (a slot opening at 09:00 owns the
     * 09:00:00 opening prints), so sync stops just short of it. Streaming symbols are kept
     * current by their own timers. */
    sim_feed_t *sf = (sim_feed_t *)f;
    for (size_t i = 0; i < sf->nall; i++)
        if (!sf->syms[sf->all[i]].streams) advance(&sf->syms[sf->all[i]], now - 1, false);
}

/* An orderbook on demand: the simulated venue answers at once, from the symbol's state now. */
static int sim_orderbook(st_feed_t *f, st_sym_t sym, st_book_cb cb, void *ctx)
{
    sim_feed_t *sf = (sim_feed_t *)f;
    if ((size_t)sym >= sf->nsyms || sf->kinds[sym] == ST_FSYM_ABSENT) return -ENOENT;
    st_time_t now = st_clock_now(sf->base.clock);
    sim_sym_t *s = &sf->syms[sym];
    if (!s->streams) advance(s, now - 1, false);
    st_tick_t book;
    st_simmkt_book_of(&s->last, s->code_hash, is_index(s), now, &book);
    book.feed = sf->base.index;
    book.recv_time = now;
    cb(&book, NULL, ctx);
    return 0; /* answered now */
}

static const st_feed_vtable_t sim_vtable = {"sim", sim_start, sim_stop, sim_destroy, sim_stats,
                                            sim_sync, sim_apply, sim_orderbook};

/* Where the market comes from: a recorded tape (replay, mode: limited) or the simulated market,
 * whose whole tape is also recorded when record.path says so. */
static int open_market(sim_feed_t *sf, const st_feed_cfg_t *fc, const st_feed_env_t *env, st_time_t now,
                       char *err, size_t errlen)
{
    const st_session_cfg_t *ss = &env->cfg->market.session;
    time_t secs = (time_t)(now / ST_SEC);
    struct tm tm;
    localtime_r(&secs, &tm);
    st_simmkt_params_t p = {
        .seed = (uint64_t)fc->seed, .activity = fc->activity, .volatility = fc->volatility,
        .halt_rate = fc->halt_rate, .pre_open = ss->pre_open, .open = ss->open,
        .closing_auction = ss->closing_auction, .close = ss->close, .utc_offset = (int32_t)tm.tm_gmtoff,
        .calendar = env->calendar,
    };
    if (fc->kind == ST_FEED_REPLAY) { /* mode: limited */
        char why[512];
        sf->tape = st_tape_open(fc->path, env->universe, env->syms, why, sizeof(why));
        if (!sf->tape) {
            snprintf(err, errlen, "feed \"%s\": %s", fc->name, why);
            return ST_ECONFIG;
        }
        sf->tape_path = st_xstrdup(fc->path);
        return 0;
    }
    sf->mkt = st_simmkt_create(&p, env->universe, now);
    if (!*fc->record.path) return 0;
    struct tm ltm;
    char path[1024];
    st_tz_localtime(NULL, now, &ltm);
    if (strftime(path, sizeof(path), fc->record.path, &ltm) == 0) {
        snprintf(err, errlen, "feed \"%s\": record.path \"%s\" is empty or too long once formatted", fc->name,
                 fc->record.path);
        return ST_ECONFIG;
    }
    sf->tape_out = st_rec_create(path, now);
    if (!sf->tape_out) {
        snprintf(err, errlen, "feed \"%s\": record: cannot create %s: %s%s", fc->name, path, strerror(errno),
                 errno == EEXIST ? " (strata never writes over a recording)" : "");
        return ST_ECONFIG;
    }
    st_rec_set_span(sf->tape_out, 0); /* chunks by size: a tape is big */
    if (st_rec_background(sf->tape_out)) /* compressed and written off the loop, or on it */
        st_log_warn(FEED, "%s: the market tape has no writer thread: the loop writes it", fc->name);
    sf->tape_path = st_xstrdup(path);
    sf->tape_mkt = st_simmkt_create(&p, env->universe, now);
    return 0;
}

/* Each symbol's timers and reference trade, and the codes by id and sorted (for the venue). */
static void init_symbols(sim_feed_t *sf, const st_universe_t *u)
{
    sf->nsyms = u->by_sym_len;
    sf->syms = st_xcalloc(sf->nsyms ? sf->nsyms : 1, sizeof(*sf->syms));
    sf->nall = u->n;
    sf->all = st_xmalloc((sf->nall ? sf->nall : 1) * sizeof(st_sym_t));
    /* codes: [0, nsyms) by symbol id (for messages), then a sorted copy (for the venue). */
    sf->codes = st_xcalloc(sf->nsyms + sf->nall + 1, sizeof(*sf->codes));
    for (size_t i = 0; i < sf->nsyms; i++) {
        sim_sym_t *s = &sf->syms[i];
        s->owner = sf;
        s->sym = (st_sym_t)i;
        st_timer_init(&s->trade, on_trade, s);
    }
    for (size_t i = 0; i < sf->nall; i++) {
        const st_instrument_t *ins = &u->items[i];
        sim_sym_t *s = &sf->syms[ins->sym];
        sf->all[i] = ins->sym;
        s->code_hash = st_simmkt_code_hash(ins->code);
        s->last.kind = ST_TICK_TRADE; /* the reference: no trade yet today */
        s->last.sym = ins->sym;
        s->last.u.trade.prev_close = sf->tape ? st_tape_prev_close(sf->tape, ins->sym)
                                              : st_simmkt_sym(sf->mkt, ins->sym)->prev_close;
        snprintf(sf->codes[ins->sym].code, sizeof(sf->codes[0].code), "%s", ins->code);
        sf->codes[ins->sym].sym = ins->sym;
        sf->codes[sf->nsyms + i] = sf->codes[ins->sym];
    }
    qsort(sf->codes + sf->nsyms, sf->nall, sizeof(*sf->codes), by_code);
}

/* The simulated sessions: each with its registrations, limiter and coalescer. */
static void init_conns(sim_feed_t *sf, const st_feed_cfg_t *fc)
{
    sf->conns = st_xcalloc((size_t)sf->nconns, sizeof(*sf->conns));
    sf->cos = st_xcalloc((size_t)sf->nconns, sizeof(*sf->cos));
    for (int k = 0; k < sf->nconns; k++) {
        sim_conn_t *c = &sf->conns[k];
        c->owner = sf;
        c->index = k;
        c->reg = st_xcalloc(sf->nsyms * ST_CH_COUNT + 1, 1);
        st_limiter_init_messages(&c->lim, (int)fc->ws_rate, (int)fc->ws_rate_minute, (st_limiter_mode_t)fc->limiter);
        st_coalescer_io_t io = {venue_receive, code_of, refused, traced_sent, traced_answered, c};
        st_coalescer_init(&c->co, ST_VENUE_KIS, sf->nsyms, sf->budget, &c->lim, fc->debounce, &io);
        sf->cos[k] = &c->co;
        snprintf(c->co.approval_key, sizeof(c->co.approval_key), "sim-approval-key-%d", k);
        st_timer_init(&c->flush, on_flush, c);
    }
}

/* The simulated venue (and a replay through it, or planned as it) is a KIS real account's. */
void st_sim_conf_merge(st_config_t *cfg, st_feed_cfg_t *f, size_t i, st_diags_t *d)
{
    (void)cfg, (void)i, (void)d;
    st_feed_limits_default(f, &st_kis_limits);
}

int st_sim_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out,
                       char *err, size_t errlen)
{
    st_time_t now = st_clock_now(env->clock);
    if (fc->connections > ST_PLAN_MAX_CONNS) {
        snprintf(err, errlen, "feed \"%s\": at most %d connections", fc->name, ST_PLAN_MAX_CONNS);
        return -EINVAL;
    }
    sim_feed_t *sf = st_xcalloc(1, sizeof(*sf));
    sf->base.vt = &sim_vtable;
    int rc = open_market(sf, fc, env, now, err, errlen);
    if (rc) {
        st_simmkt_destroy(sf->mkt);
        free(sf);
        return rc;
    }
    sf->nconns = (int)fc->connections;
    sf->budget = (int)fc->budget;
    sf->foreign = (int)fc->foreign;
    sf->ws_rate = fc->ws_rate;
    sf->ws_rate_minute = fc->ws_rate_minute;
    init_symbols(sf, env->universe);
    st_limiter_init_calls(&sf->rest_lim, (int)fc->rest_rate, (st_limiter_mode_t)fc->limiter);
    st_poller_init(&sf->poller, sf->nsyms, fc->paper ? 1 : SIM_BATCH,
                   st_limiter_rate(&sf->rest_lim, 0, now) * ST_RESTPOLL_SHARE);
    st_timer_init(&sf->poll_timer, on_poll, sf);
    size_t nkinds;
    sf->kinds = st_feed_index_map(env->universe, &nkinds);
    init_conns(sf, fc);
    st_timer_init(&sf->market_timer, on_market_timer, sf);
    st_timer_init(&sf->ack_timer, on_acks, sf);
    tape_begin(sf, now);
    *out = &sf->base;
    return 0;
}

struct st_simmkt *st_sim_feed_market(st_feed_t *f)
{
    return f->vt == &sim_vtable ? ((sim_feed_t *)f)->mkt : NULL;
}

const struct st_ledger_s *st_sim_feed_ledger(st_feed_t *f, int conn)
{
    if (f->vt != &sim_vtable) return NULL;
    sim_feed_t *sf = (sim_feed_t *)f;
    return conn >= 0 && conn < sf->nconns ? &sf->conns[conn].co.ledger : NULL;
}
