#include "simmkt.h"
#include "core/timefmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VI_THRESHOLD 0.10
#define VI_HALT      (2 * ST_MIN)
#define PRICE_LIMIT  0.30
#define SESSION_SECS 23400.0 /* 6.5 h: scale for per-trade volatility */

typedef struct {
    st_simmkt_sym_t pub;
    st_sym_t sym;
    uint8_t market;
    uint64_t rng;
    double fair;      /* latent continuous price; trades print on the tick grid around it */
    double liquidity; /* trades per second at profile 1.0 */
    double lot;       /* median trade size in shares */
    double sigma;     /* daily volatility (fraction) */
    double vi_ref;
    double drift;     /* per-trade drift in units of the per-trade sigma */
    double burst;     /* rate multiplier */
    double shock;     /* today's news-shock jump (fraction), applied once at shock_at */
    st_time_t next, day, regime_end, halt_until, shock_at;
    st_session_t ses; /* the day's session (the calendar's: a special day moves it) */
    bool opened, closed;
    double best_bid;     /* of the last trade: where the book stands */
    uint64_t code_hash;  /* st_simmkt_code_hash of its code: the book's randomness */
} sym_t;

struct st_simmkt {
    st_simmkt_params_t p;
    st_calendar_t cal; /* p.calendar's copy (its names left out); p.calendar points here or is NULL */
    sym_t *syms;
    size_t n;
    int32_t *by_sym; /* sym id → index in syms, -1 if absent (a copy: reloads may free the universe) */
    size_t by_sym_len;
    st_simmkt_stats_t stats;
    uint32_t *heap; /* st_simmkt_pop: indices into syms, ordered by (next, index) */
};

/* --- randomness: splitmix64 per symbol stream ------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s) /* (0, 1) */
{
    return ((double)(splitmix(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(uint64_t *s)
{
    double u1 = unif(s), u2 = unif(s);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double log_unif(uint64_t *s, double lo, double hi)
{
    return exp(log(lo) + (log(hi) - log(lo)) * unif(s));
}

static uint64_t hash_code(const char *c, uint64_t seed)
{
    uint64_t h = 1469598103934665603ull ^ seed;
    for (; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    return h;
}

/* --- session geometry -------------------------------------------------------------------- */

static st_time_t day_of(const st_simmkt_t *m, st_time_t t)
{
    int64_t off = (int64_t)m->p.utc_offset * ST_SEC;
    int64_t local = t + off;
    int64_t d = local >= 0 ? local / ST_DAY : (local - ST_DAY + 1) / ST_DAY;
    return d * ST_DAY - off;
}

double st_simmkt_profile(const st_session_t *p, st_dur_t tod)
{
    st_dur_t o = p->open, lunch = o + 150 * ST_MIN, lunch_end = o + 240 * ST_MIN,
             afternoon = o + 300 * ST_MIN, ca = p->closing_auction;
    if (tod < o || tod >= ca) return 0;
    if (tod < o + 30 * ST_MIN) return 3.0 - 1.4 * (double)(tod - o) / (double)(30 * ST_MIN);
    if (tod < lunch) return 1.2;
    if (tod < o + 210 * ST_MIN) return 0.45; /* lunch lull */
    if (tod < lunch_end) return 0.7;
    if (tod < afternoon) return 1.0;
    double span = (double)(ca - afternoon);
    return span > 0 ? 1.0 + 1.4 * (double)(tod - afternoon) / span : 1.0; /* closing surge */
}

static double round_price(const sym_t *s, double px, int dir)
{
    if (s->market == ST_MKT_INDEX) return round(px * 100) / 100;
    double t = st_krx_tick_size(px);
    double q = px / t;
    return (dir > 0 ? ceil(q) : dir < 0 ? floor(q) : round(q)) * t;
}

/* --- per-symbol life --------------------------------------------------------------------- */

/* The first trading day at or after `day` (a local midnight), and its session. */
static st_time_t trading_day(const st_simmkt_t *m, st_time_t day, st_session_t *ses)
{
    const st_session_t reg = {m->p.pre_open, m->p.open, m->p.closing_auction, m->p.close};
    int64_t off = (int64_t)m->p.utc_offset * ST_SEC;
    int32_t dn = (int32_t)((day + off) / ST_DAY);
    int32_t next = st_calendar_next_trading(m->p.calendar, dn);
    if (next == INT32_MIN) next = dn; /* a calendar closed for a year: trade as usual */
    st_day_t d;
    st_calendar_day(m->p.calendar, &reg, next, &d);
    *ses = d.s;
    return day + (st_time_t)(next - dn) * ST_DAY;
}

/* The open of the next trading day after the symbol's. */
static st_time_t next_open(const st_simmkt_t *m, const sym_t *s)
{
    st_session_t ses;
    st_time_t day = trading_day(m, s->day + ST_DAY, &ses);
    return day + ses.open;
}

static void new_day(st_simmkt_t *m, sym_t *s, st_time_t day)
{
    st_simmkt_sym_t *p = &s->pub;
    day = trading_day(m, day, &s->ses); /* a closed day has no trades: the next one's session */
    if (p->price > 0) p->prev_close = p->price;
    s->day = day;
    s->opened = s->closed = false;
    p->open = p->high = p->low = p->cum_volume = p->cum_value = 0;
    p->trades_today = p->halts_today = p->bursts_today = 0;
    p->halted = false;
    s->halt_until = 0;
    s->regime_end = 0;
    s->drift = 0;
    s->burst = 1;
    s->vi_ref = p->prev_close;

    /* Opening gap: most symbols within ±1%, about 8% of them gap 3–12% either way. */
    double g = 0.006 * m->p.volatility * gauss(&s->rng);
    if (s->market != ST_MKT_INDEX && unif(&s->rng) < 0.08)
        g = (unif(&s->rng) < 0.55 ? 1 : -1) * (0.03 + 0.09 * unif(&s->rng)) * fmin(m->p.volatility, 1.0);
    p->gap = fmax(-PRICE_LIMIT, fmin(PRICE_LIMIT, g));

    /* A news shock on ~4% of symbol-days, somewhere in the continuous session. */
    s->shock_at = ST_TIME_NEVER;
    s->shock = 0;
    double u = unif(&s->rng), w = unif(&s->rng), sign = unif(&s->rng) < 0.5 ? -1 : 1;
    if (s->market != ST_MKT_INDEX && u < 0.04 * m->p.halt_rate) {
        st_dur_t lo = s->ses.open + 5 * ST_MIN, hi = s->ses.closing_auction - 5 * ST_MIN;
        if (hi > lo) {
            s->shock_at = day + lo + (st_dur_t)(w * (double)(hi - lo));
            s->shock = sign * (0.06 + 0.08 * unif(&s->rng));
        }
    }
    s->next = day + s->ses.open;
}

static void draw_regime(st_simmkt_t *m, sym_t *s, st_time_t t)
{
    st_dur_t tod = t - s->day;
    bool golden = tod < s->ses.open + 30 * ST_MIN;
    double u = unif(&s->rng);
    double mean_min = 12;
    s->drift = 0;
    s->burst = 1;
    if (u < 0.07) {
        s->burst = 4 + 8 * unif(&s->rng);
        s->drift = 0.05 * gauss(&s->rng);
        mean_min = 5;
        s->pub.bursts_today++;
        m->stats.bursts++;
    } else if (u < (golden ? 0.30 : 0.15)) {
        /* Momentum run; in golden time it tends to continue the opening gap. */
        double dir = golden && fabs(s->pub.gap) > 0.02 ? (s->pub.gap > 0 ? 1 : -1) * (unif(&s->rng) < 0.7 ? 1 : -1)
                                                       : (unif(&s->rng) < 0.5 ? 1 : -1);
        s->drift = dir * (0.05 + 0.10 * unif(&s->rng));
        s->burst = 1.5;
        mean_min = 15;
        m->stats.momentum_runs++;
    }
    double mins = -log(unif(&s->rng)) * mean_min;
    mins = fmin(60, fmax(2, mins));
    s->regime_end = t + (st_dur_t)(mins * (double)ST_MIN);
}

static void fill_trade(const sym_t *s, st_time_t t, double px, double vol, int side, uint8_t flags,
                       st_tick_t *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = ST_TICK_TRADE;
    out->flags = flags;
    out->sym = s->sym;
    out->venue_time = t;
    st_trade_t *tr = &out->u.trade;
    tr->price = px;
    tr->volume = vol;
    tr->side = (uint8_t)side;
    tr->open = s->pub.open;
    tr->high = s->pub.high;
    tr->low = s->pub.low;
    tr->prev_close = s->pub.prev_close;
    tr->cum_volume = s->pub.cum_volume;
    tr->cum_value = s->pub.cum_value;
    double tick = s->market == ST_MKT_INDEX ? 0.01 : st_krx_tick_size(px);
    tr->best_bid = side == ST_SIDE_SELL ? px : px - tick;
    tr->best_ask = side == ST_SIDE_SELL ? px + tick : px;
}

static void record(sym_t *s, double px, double vol)
{
    st_simmkt_sym_t *p = &s->pub;
    if (p->open == 0) p->open = px;
    if (px > p->high) p->high = px;
    if (p->low == 0 || px < p->low) p->low = px;
    p->price = px;
    p->cum_volume += vol;
    p->cum_value += px * vol;
    p->trades_today++;
}

static st_time_t next_arrival(st_simmkt_t *m, sym_t *s, st_time_t t)
{
    double rate = s->liquidity * m->p.activity * s->burst * st_simmkt_profile(&s->ses, t - s->day);
    if (rate <= 0) return s->day + s->ses.closing_auction;
    st_dur_t dt = (st_dur_t)(-log(unif(&s->rng)) / rate * 1e6);
    st_time_t next = t + (dt > 0 ? dt : 1);
    st_time_t ca = s->day + s->ses.closing_auction;
    return next < ca ? next : ca;
}

static double trade_size(sym_t *s, double mult)
{
    double v = round(s->lot * exp(0.8 * gauss(&s->rng)) * mult);
    return v < 1 ? 1 : v;
}

/* One continuous-session trade at t. */
static void regular_trade(st_simmkt_t *m, sym_t *s, st_time_t t, st_tick_t *out)
{
    st_simmkt_sym_t *p = &s->pub;
    if (t >= s->regime_end) draw_regime(m, s, t);
    double n_day = fmax(50, s->liquidity * SESSION_SECS);
    double sig = s->sigma * m->p.volatility / sqrt(n_day);
    s->fair *= exp(sig * (gauss(&s->rng) + s->drift));
    if (t >= s->shock_at) {
        s->fair *= 1 + s->shock;
        s->shock_at = ST_TIME_NEVER;
        s->drift = (s->shock > 0 ? 0.15 : -0.15);
        m->stats.shocks++;
    }
    double lo = p->prev_close * (1 - PRICE_LIMIT), hi = p->prev_close * (1 + PRICE_LIMIT);
    s->fair = fmax(lo, fmin(hi, s->fair));
    int side = s->fair >= p->price ? ST_SIDE_BUY : ST_SIDE_SELL;
    if (fabs(s->fair - p->price) < 1e-9) side = unif(&s->rng) < 0.5 ? ST_SIDE_BUY : ST_SIDE_SELL;
    double px = round_price(s, s->fair, side == ST_SIDE_BUY ? 1 : -1);
    px = fmax(round_price(s, lo, 1), fmin(round_price(s, hi, -1), px));
    double vol = trade_size(s, s->burst > 2 ? 1.5 : 1);
    record(s, px, vol);
    uint8_t flags = 0;
    if (s->market != ST_MKT_INDEX && s->vi_ref > 0 && fabs(px / s->vi_ref - 1) >= VI_THRESHOLD) {
        /* Volatility interruption: a 2-minute single-price auction from here. */
        s->halt_until = t + VI_HALT;
        s->vi_ref = px;
        p->halted = true;
        p->halts_today++;
        m->stats.halts++;
        flags = ST_TICK_HALTED;
    }
    fill_trade(s, t, px, vol, side, flags, out);
}

static void auction_print(st_simmkt_t *m, sym_t *s, st_time_t t, double px, double vol_mult, st_tick_t *out)
{
    double pc = s->pub.prev_close;
    px = fmax(round_price(s, pc * (1 - PRICE_LIMIT), 1),
              fmin(round_price(s, pc * (1 + PRICE_LIMIT), -1), round_price(s, px, 0)));
    s->fair = px;
    double vol = trade_size(s, vol_mult);
    record(s, px, vol);
    fill_trade(s, t, px, vol, ST_SIDE_NONE, ST_TICK_AUCTION, out);
}

/* Produces the symbol's next event at s->next. Returns true when it is a trade in *out. */
static bool step(st_simmkt_t *m, sym_t *s, st_tick_t *out)
{
    st_time_t t = s->next;
    if (t >= s->day + ST_DAY) {
        new_day(m, s, day_of(m, t));
        if (s->next > t) return false;
    }
    st_dur_t tod = t - s->day;
    if (!s->opened) {
        if (tod < s->ses.open) {
            s->next = s->day + s->ses.open;
            return false;
        }
        s->opened = true;
        if (tod >= s->ses.closing_auction) { /* started after the session: wait for tomorrow */
            s->closed = true;
            s->next = next_open(m, s);
            return false;
        }
        auction_print(m, s, t, s->pub.prev_close * (1 + s->pub.gap), 20, out);
        s->next = next_arrival(m, s, t);
        return true;
    }
    if (s->halt_until) {
        s->halt_until = 0;
        s->pub.halted = false;
        auction_print(m, s, t, s->fair, 5, out);
        s->next = next_arrival(m, s, t);
        return true;
    }
    if (tod >= s->ses.closing_auction) {
        if (s->closed || tod < s->ses.close) {
            s->next = s->closed ? next_open(m, s) : s->day + s->ses.close;
            return false;
        }
        s->closed = true;
        auction_print(m, s, t, s->fair * exp(0.002 * gauss(&s->rng)), 30, out);
        s->next = next_open(m, s);
        return true;
    }
    regular_trade(m, s, t, out);
    s->next = s->halt_until ? s->halt_until : next_arrival(m, s, t);
    return true;
}

static sym_t *find(const st_simmkt_t *m, st_sym_t sym)
{
    if ((size_t)sym >= m->by_sym_len || m->by_sym[sym] < 0) return NULL;
    return &m->syms[m->by_sym[sym]];
}

st_simmkt_t *st_simmkt_create(const st_simmkt_params_t *p, const st_universe_t *u, st_time_t start)
{
    st_simmkt_t *m = st_xcalloc(1, sizeof(*m));
    m->p = *p;
    if (p->calendar) { /* a copy: a reload may free the config the calendar lives in */
        m->cal = *p->calendar;
        m->cal.name = m->cal.source = NULL;
        m->cal.e = st_xcalloc(m->cal.n ? m->cal.n : 1, sizeof(*m->cal.e));
        for (size_t i = 0; i < m->cal.n; i++) m->cal.e[i] = p->calendar->e[i], m->cal.e[i].name = "";
        m->p.calendar = &m->cal;
    }
    m->n = u->n;
    m->by_sym_len = u->by_sym_len;
    m->by_sym = st_xmalloc((u->by_sym_len ? u->by_sym_len : 1) * sizeof(int32_t));
    if (u->by_sym_len) memcpy(m->by_sym, u->by_sym, u->by_sym_len * sizeof(int32_t));
    m->syms = st_xcalloc(u->n ? u->n : 1, sizeof(sym_t));
    for (size_t i = 0; i < u->n; i++) {
        const st_instrument_t *ins = &u->items[i];
        sym_t *s = &m->syms[i];
        s->sym = ins->sym;
        s->market = ins->market;
        s->code_hash = st_simmkt_code_hash(ins->code);
        s->rng = hash_code(ins->code, p->seed) ^ ((uint64_t)i * 0x9e3779b97f4a7c15ull);
        double px;
        switch (ins->market) {
        case ST_MKT_KOSPI:
            px = log_unif(&s->rng, 2000, 400000);
            s->liquidity = log_unif(&s->rng, 0.01, 1.2);
            s->sigma = 0.012 + 0.018 * unif(&s->rng);
            break;
        case ST_MKT_KOSDAQ:
            px = log_unif(&s->rng, 1000, 150000);
            s->liquidity = log_unif(&s->rng, 0.005, 0.6);
            s->sigma = 0.02 + 0.03 * unif(&s->rng);
            break;
        case ST_MKT_INDEX:
            px = 800 + 2200 * unif(&s->rng);
            s->liquidity = 0.5;
            s->sigma = 0.01;
            break;
        default:
            px = log_unif(&s->rng, 500, 30000);
            s->liquidity = log_unif(&s->rng, 0.001, 0.02);
            s->sigma = 0.02 + 0.04 * unif(&s->rng);
            break;
        }
        s->lot = fmax(1, round(2e6 * exp(0.5 * gauss(&s->rng)) / px));
        s->pub.prev_close = round_price(s, px, 0);
        s->fair = s->pub.prev_close;
        new_day(m, s, day_of(m, start));
        s->next = start > s->next ? start : s->next;
    }
    return m;
}

void st_simmkt_destroy(st_simmkt_t *m)
{
    if (!m) return;
    free(m->syms);
    free(m->by_sym);
    free(m->heap);
    free(m->cal.e);
    free(m);
}

size_t st_simmkt_advance(st_simmkt_t *m, st_sym_t sym, st_time_t until, st_simmkt_emit emit, void *ctx)
{
    sym_t *s = find(m, sym);
    if (!s) return 0;
    size_t n = 0;
    st_tick_t tick;
    while (s->next <= until) {
        if (step(m, s, &tick)) {
            n++;
            s->best_bid = tick.u.trade.best_bid;
            if (emit) emit(&tick, ctx);
        }
    }
    m->stats.trades += n;
    return n;
}

size_t st_simmkt_advance_all(st_simmkt_t *m, st_time_t until)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) n += st_simmkt_advance(m, m->syms[i].sym, until, NULL, NULL);
    return n;
}

st_time_t st_simmkt_next_event(const st_simmkt_t *m, st_sym_t sym)
{
    const sym_t *s = find(m, sym);
    return s ? s->next : ST_TIME_NEVER;
}

const st_simmkt_sym_t *st_simmkt_sym(const st_simmkt_t *m, st_sym_t sym)
{
    const sym_t *s = find(m, sym);
    return s ? &s->pub : NULL;
}

void st_simmkt_stats(const st_simmkt_t *m, st_simmkt_stats_t *out)
{
    *out = m->stats;
}

/* The symbol's state as its last trade (the reference state before the day's first). */
/* Its last trade as a tick, dated its session's day (what snapshot_of needs of the time). */
static void last_of(const sym_t *s, st_tick_t *out)
{
    fill_trade(s, s->day, s->pub.price, 0, ST_SIDE_NONE, s->pub.halted ? ST_TICK_HALTED : 0, out);
    out->u.trade.best_bid = s->pub.price > 0 ? s->best_bid : 0;
}

void st_simmkt_snapshot(st_simmkt_t *m, st_sym_t sym, st_time_t now, st_tick_t *out)
{
    st_simmkt_advance(m, sym, now, NULL, NULL);
    const sym_t *s = find(m, sym);
    memset(out, 0, sizeof(*out));
    if (!s) return;
    st_tick_t last;
    last_of(s, &last);
    st_simmkt_snapshot_of(&last, s->market == ST_MKT_INDEX, now, out);
}

void st_simmkt_book(const st_simmkt_t *m, st_sym_t sym, st_time_t now, st_tick_t *out)
{
    const sym_t *s = find(m, sym);
    memset(out, 0, sizeof(*out));
    out->kind = ST_TICK_ORDERBOOK;
    out->sym = sym;
    out->venue_time = now;
    if (!s) return;
    st_tick_t last;
    last_of(s, &last);
    st_simmkt_book_of(&last, s->code_hash, s->market == ST_MKT_INDEX, now, out);
}

/* --- the venue's answers, from the last trade alone ---------------------------------------- */

uint64_t st_simmkt_code_hash(const char *code)
{
    return hash_code(code, 0x5354524154414bull);
}

static double last_price(const st_trade_t *t)
{
    return t->price > 0 ? t->price : t->prev_close;
}

void st_simmkt_snapshot_of(const st_tick_t *last, bool index, st_time_t now, st_tick_t *out)
{
    const st_trade_t *l = &last->u.trade;
    double px = last_price(l), tick = index ? 0.01 : st_krx_tick_size(px);
    memset(out, 0, sizeof(*out));
    out->kind = ST_TICK_SNAPSHOT;
    out->flags = last->flags & ST_TICK_HALTED;
    out->sym = last->sym;
    out->venue_time = now;
    st_trade_t *t = &out->u.trade;
    t->price = px;
    t->open = l->open, t->high = l->high, t->low = l->low, t->prev_close = l->prev_close;
    t->cum_volume = l->cum_volume, t->cum_value = l->cum_value;
    if (l->price > 0 && st_local_day(last->venue_time) != st_local_day(now)) { /* no trade today yet */
        t->open = t->high = t->low = t->cum_volume = t->cum_value = 0;
        t->prev_close = px;
    }
    t->best_bid = px - tick;
    t->best_ask = px;
}

void st_simmkt_book_of(const st_tick_t *last, uint64_t code_hash, bool index, st_time_t now, st_tick_t *out)
{
    const st_trade_t *l = &last->u.trade;
    memset(out, 0, sizeof(*out));
    out->kind = ST_TICK_ORDERBOOK;
    out->flags = last->flags & ST_TICK_HALTED;
    out->sym = last->sym;
    out->venue_time = now;
    double px = last_price(l), tick = index ? 0.01 : st_krx_tick_size(px);
    if (px <= 0) return;
    /* the median trade size, from the code and the reference price (the same on every replay) */
    uint64_t g = code_hash;
    double ref = l->prev_close > 0 ? l->prev_close : px;
    double lot = fmax(1, round(2e6 * exp(0.5 * gauss(&g)) / ref));
    uint64_t h = (uint64_t)now * 0x9e3779b97f4a7c15ull ^ code_hash;
    double bid = l->price > 0 && l->best_bid > 0 ? l->best_bid : px - tick;
    st_book_t *b = &out->u.book;
    for (int i = 0; i < ST_BOOK_DEPTH; i++) {
        b->bid[i] = bid - i * tick;
        b->ask[i] = bid + (i + 1) * tick;
        b->bid_qty[i] = round(lot * (3 + 2 * i) * (0.3 + unif(&h)));
        b->ask_qty[i] = round(lot * (3 + 2 * i) * (0.3 + unif(&h)));
        b->total_bid_qty += b->bid_qty[i];
        b->total_ask_qty += b->ask_qty[i];
    }
}

/* --- the whole market in time order --------------------------------------------------------- */

static bool heap_before(const st_simmkt_t *m, uint32_t a, uint32_t b)
{
    return m->syms[a].next < m->syms[b].next || (m->syms[a].next == m->syms[b].next && a < b);
}

static void heap_down(st_simmkt_t *m, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m->n) return;
        if (c + 1 < m->n && heap_before(m, m->heap[c + 1], m->heap[c])) c++;
        if (!heap_before(m, m->heap[c], m->heap[i])) return;
        uint32_t t = m->heap[c];
        m->heap[c] = m->heap[i], m->heap[i] = t;
        i = c;
    }
}

bool st_simmkt_pop(st_simmkt_t *m, st_time_t until, st_tick_t *out)
{
    if (!m->n) return false;
    if (!m->heap) {
        m->heap = st_xmalloc(m->n * sizeof(*m->heap));
        for (size_t i = 0; i < m->n; i++) m->heap[i] = (uint32_t)i;
        for (size_t i = m->n / 2; i-- > 0;) heap_down(m, i);
    }
    for (;;) {
        sym_t *s = &m->syms[m->heap[0]];
        if (s->next > until) return false;
        bool trade = step(m, s, out);
        heap_down(m, 0);
        if (trade) {
            s->best_bid = out->u.trade.best_bid;
            m->stats.trades++;
            return true;
        }
    }
}
