#include "coalescer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kis_tr[ST_CH_COUNT] = {"H0STCNT0", "H0STASP0", "H0UPCNT0", "H0STCNT0"};
static const char *const upbit_type[ST_CH_COUNT] = {"trade", "orderbook", "ticker", "ticker"};

const char *st_kis_tr_id(st_channel_t ch)
{
    return kis_tr[ch];
}

void st_coalescer_init(st_coalescer_t *c, st_venue_t venue, size_t nsyms, int cap,
                       st_limiter_t *limiter, st_dur_t debounce, const st_coalescer_io_t *io)
{
    memset(c, 0, sizeof(*c));
    st_ledger_init(&c->ledger, nsyms, cap);
    c->venue = venue;
    c->limiter = limiter;
    c->debounce = debounce;
    c->io = *io;
    snprintf(c->ticket, sizeof(c->ticket), "strata");
}

void st_coalescer_free(st_coalescer_t *c)
{
    st_ledger_free(&c->ledger);
    free(c->snapshots);
    free(c->buf);
    memset(c, 0, sizeof(*c));
}

static void schedule(st_coalescer_t *c, st_time_t now)
{
    if (c->pending) return;
    c->pending = true;
    c->flush_at = now + c->debounce;
}

int st_coalescer_want(st_coalescer_t *c, st_key_t key, bool on, st_time_t now)
{
    int rc = st_ledger_want(&c->ledger, key, on, now);
    if (rc == 1) {
        c->st.requests++;
        schedule(c, now);
    }
    return rc;
}

void st_coalescer_snapshot(st_coalescer_t *c, st_key_t key, st_time_t now)
{
    if (c->nsnap == c->capsnap) {
        c->capsnap = c->capsnap ? c->capsnap * 2 : 16;
        c->snapshots = st_xrealloc(c->snapshots, c->capsnap * sizeof(st_key_t));
    }
    c->snapshots[c->nsnap++] = key;
    c->st.requests++;
    schedule(c, now);
}

void st_coalescer_urgent(st_coalescer_t *c, st_time_t now)
{
    if (!c->ledger.ndirty && !c->nsnap) return; /* nothing to send */
    if (!c->urgent) c->st.urgent++;
    c->urgent = c->pending = true;
    if (c->flush_at > now) c->flush_at = now;
}

st_time_t st_coalescer_due(st_coalescer_t *c, st_time_t now)
{
    if (!c->pending) return ST_TIME_NEVER;
    st_time_t t = c->flush_at > now ? c->flush_at : now;
    return st_limiter_next_for(c->limiter, t, c->urgent);
}

static void record_latency(st_coalescer_t *c, st_key_t key, st_time_t now)
{
    st_time_t since = c->ledger.since[key];
    if (!since) return;
    st_dur_t d = now - (since - 1);
    if (d > c->st.lat_max) c->st.lat_max = d;
    int b = 0;
    for (st_dur_t v = d; v > 1 && b < ST_LAT_BUCKETS - 1; v >>= 1) b++;
    c->st.lat_hist[b]++;
    c->st.lat_count++;
}

st_dur_t st_coalescer_latency(const st_coalescer_t *c, double p)
{
    if (!c->st.lat_count) return 0;
    uint64_t want = (uint64_t)(p * (double)c->st.lat_count + 0.999999), seen = 0;
    for (int b = 0; b < ST_LAT_BUCKETS; b++) {
        seen += c->st.lat_hist[b];
        if (seen >= want) return ST_MIN2((st_dur_t)1 << b, c->st.lat_max);
    }
    return c->st.lat_max;
}

/* --- message building -------------------------------------------------------------------- */

static void reserve_buf(st_coalescer_t *c, size_t need)
{
    if (need <= c->bufcap) return;
    c->bufcap = need * 2;
    c->buf = st_xrealloc(c->buf, c->bufcap);
}

typedef struct {
    st_coalescer_t *c;
    size_t len;
} out_t;

static void put(out_t *o, const char *fmt, ...) ST_PRINTF(2, 3);
static void put(out_t *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = o->c->bufcap - o->len;
        int n = vsnprintf(o->c->buf + o->len, room, fmt, ap);
        va_end(ap);
        if ((size_t)n < room) {
            o->len += (size_t)n;
            return;
        }
        reserve_buf(o->c, o->len + (size_t)n + 256);
    }
}

static int send_kis(st_coalescer_t *c, st_key_t key, bool on)
{
    reserve_buf(c, 512);
    out_t o = {c, 0};
    put(&o,
        "{\"header\":{\"approval_key\":\"%s\",\"custtype\":\"P\",\"tr_type\":\"%s\","
        "\"content-type\":\"utf-8\"},\"body\":{\"input\":{\"tr_id\":\"%s\",\"tr_key\":\"%s\"}}}",
        c->approval_key, on ? "1" : "2", kis_tr[ST_KEY_CH(key)], c->io.code(c->io.ctx, ST_KEY_SYM(key)));
    return c->io.send(c->io.ctx, c->buf, o.len);
}

/* One type object: {"type":"trade","codes":[…],"is_only_realtime":true}. Keys of channel ch
 * whose state matches (mask, want) are listed; nothing is written when there are none. */
static void upbit_type_obj(st_coalescer_t *c, out_t *o, st_channel_t ch, uint8_t mask, uint8_t want,
                           const char *flag)
{
    bool any = false;
    const st_ledger_t *l = &c->ledger;
    for (st_key_t k = (st_key_t)ch; k < l->nkeys; k += ST_CH_COUNT) {
        if ((l->state[k] & mask) != want) continue;
        const char *code = c->io.code(c->io.ctx, ST_KEY_SYM(k));
        if (any)
            put(o, ",\"%s\"", code);
        else
            put(o, ",{\"type\":\"%s\",\"codes\":[\"%s\"", upbit_type[ch], code);
        any = true;
    }
    if (any) put(o, "]%s}", flag);
}

static int send_upbit(st_coalescer_t *c, st_time_t now)
{
    reserve_buf(c, 4096);
    out_t o = {c, 0};
    put(&o, "[{\"ticket\":\"%s\"}", c->ticket);
    for (int ch = 0; ch < ST_CH_COUNT; ch++) {
        if (ch == ST_CH_INDEX) continue; /* Upbit has no index stream */
        upbit_type_obj(c, &o, (st_channel_t)ch, ST_LK_DESIRED | ST_LK_CONFIRMED,
                       ST_LK_DESIRED | ST_LK_CONFIRMED, ",\"is_only_realtime\":true");
        upbit_type_obj(c, &o, (st_channel_t)ch, ST_LK_DESIRED | ST_LK_CONFIRMED, ST_LK_DESIRED, "");
    }
    /* Snapshot-only requests, grouped by channel, never part of the set. */
    for (int ch = 0; ch < ST_CH_COUNT; ch++) {
        bool any = false;
        for (size_t i = 0; i < c->nsnap; i++) {
            if ((int)ST_KEY_CH(c->snapshots[i]) != ch) continue;
            const char *code = c->io.code(c->io.ctx, ST_KEY_SYM(c->snapshots[i]));
            if (any)
                put(&o, ",\"%s\"", code);
            else
                put(&o, ",{\"type\":\"%s\",\"codes\":[\"%s\"", upbit_type[ch], code);
            any = true;
        }
        if (any) put(&o, "],\"is_only_snapshot\":true}");
    }
    put(&o, ",{\"format\":\"%s\"}]", c->simple_format ? "SIMPLE" : "DEFAULT");
    int rc = c->io.send(c->io.ctx, c->buf, o.len);
    if (rc) return rc;
    for (size_t i = 0; i < c->ledger.ndirty; i++) {
        st_key_t k = c->ledger.dirty[i];
        record_latency(c, k, now);
        c->st.keys_sent++;
        if (c->io.sent) c->io.sent(c->io.ctx, k, (c->ledger.state[k] & ST_LK_DESIRED) != 0);
    }
    c->nsnap = 0;
    st_ledger_replaced(&c->ledger);
    return 0;
}

/* --- the flush ------------------------------------------------------------------------------ */

/* Sends what the limiter allows; returns the messages sent and sets c->pending. */
static int flush_kis(st_coalescer_t *c, st_time_t now)
{
    st_ledger_t *l = &c->ledger;
    int sent = 0;
    size_t keep = 0;
    bool blocked = false;
    /* Two passes over the dirty keys: every unregister, then the registers. Keys left over (no
     * token, or the cap) stay dirty for the next flush. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < l->ndirty; i++) {
            st_key_t k = l->dirty[i];
            uint8_t s = l->state[k];
            if (!(s & ST_LK_DIRTY)) continue; /* handled in the first pass */
            bool want = s & ST_LK_DESIRED;
            bool have = (s & ST_LK_CONFIRMED) || (s & ST_LK_SUBBING);
            bool going = s & ST_LK_UNSUBBING;
            bool unreg = !want && have && !going && !(s & ST_LK_SUBBING);
            bool reg = want && !have && !(s & ST_LK_FAILED);
            if (!unreg && !reg) {
                /* Nothing to send now: cancelled before the flush, or waiting for an answer
                 * (the answer re-marks it if needed). */
                if (pass == 1) {
                    if (l->since[k] && !(s & (ST_LK_SUBBING | ST_LK_UNSUBBING))) c->st.cancelled++;
                    l->since[k] = 0;
                    l->state[k] &= (uint8_t)~ST_LK_DIRTY;
                }
                continue;
            }
            if ((pass == 0) != unreg) continue;
            if (blocked) continue;
            if (reg && st_ledger_held(l) >= l->cap) continue; /* waits for an unregister's ack */
            if (!st_limiter_try_for(c->limiter, now, c->urgent)) {
                blocked = true; /* no token: the rest waits for the next flush */
                continue;
            }
            if (send_kis(c, k, reg) != 0) {
                blocked = true;
                continue;
            }
            record_latency(c, k, now);
            if (c->io.sent) c->io.sent(c->io.ctx, k, reg);
            st_ledger_sent(l, k, reg);
            l->state[k] &= (uint8_t)~ST_LK_DIRTY;
            c->st.keys_sent++;
            c->st.messages++;
            sent++;
        }
    }
    /* Keep the keys left over; the flush stays pending if one of them can go next time, i.e.
     * is not waiting for an answer, after a refusal, or for room under the cap. */
    c->pending = false;
    bool full = st_ledger_held(l) >= l->cap;
    for (size_t i = 0; i < l->ndirty; i++) {
        uint8_t s = l->state[l->dirty[i]];
        if (!(s & ST_LK_DIRTY)) continue;
        l->dirty[keep++] = l->dirty[i];
        if (!(s & (ST_LK_SUBBING | ST_LK_UNSUBBING | ST_LK_FAILED)) && !((s & ST_LK_DESIRED) && full))
            c->pending = true;
    }
    l->ndirty = keep;
    return sent;
}

int st_coalescer_flush(st_coalescer_t *c, st_time_t now)
{
    if (!c->pending || now < c->flush_at) return 0;
    c->st.flushes++;
    int sent = 0;
    if (c->venue == ST_VENUE_UPBIT) {
        if (st_limiter_try_for(c->limiter, now, c->urgent) && send_upbit(c, now) == 0) {
            sent = 1;
            c->st.messages++;
        }
        c->pending = c->ledger.ndirty > 0 || c->nsnap > 0;
    } else {
        sent = flush_kis(c, now);
    }
    c->flush_at = now;
    if (sent > 0 || !c->pending) c->urgent = false; /* the emergency went (or nothing is left) */
    return sent;
}

void st_coalescer_ack(st_coalescer_t *c, st_key_t key, st_ack_t ack, st_time_t now)
{
    if (c->io.answered) c->io.answered(c->io.ctx, key, ack);
    st_ledger_ack(&c->ledger, key, ack);
    if (ack == ST_ACK_MAX_OVER) {
        /* The venue counts more than we hold: believe it, and send no more registers than it
         * allows until something is released. */
        c->ledger.cap = ST_MAX2(0, st_ledger_held(&c->ledger));
    }
    if ((ack == ST_ACK_MAX_OVER || ack == ST_ACK_INVALID) && c->io.refused)
        c->io.refused(c->io.ctx, key, ack, c->ledger.cap);
    if (c->ledger.ndirty && !c->pending) {
        c->pending = true;
        c->flush_at = now; /* the debounce already passed for these keys */
    }
}

void st_coalescer_reset(st_coalescer_t *c, st_time_t now)
{
    st_ledger_reset(&c->ledger, now);
    if (c->ledger.ndirty) schedule(c, now);
}
