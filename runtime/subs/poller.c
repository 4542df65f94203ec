#include "poller.h"
#include "core/common.h"

#include <stdlib.h>
#include <string.h>

static bool before(const st_poller_t *p, st_sym_t a, st_sym_t b)
{
    const st_poll_item_t *x = &p->items[a], *y = &p->items[b];
    return x->due < y->due || (x->due == y->due && a < b);
}

static void place(st_poller_t *p, size_t i, st_sym_t s)
{
    p->heap[i] = s;
    p->items[s].heap = (int32_t)i;
}

static void sift_up(st_poller_t *p, size_t i)
{
    st_sym_t s = p->heap[i];
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!before(p, s, p->heap[up])) break;
        place(p, i, p->heap[up]);
        i = up;
    }
    place(p, i, s);
}

static void sift_down(st_poller_t *p, size_t i)
{
    st_sym_t s = p->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        st_sym_t best = s;
        if (l < p->n && before(p, p->heap[l], best)) m = l, best = p->heap[l];
        if (r < p->n && before(p, p->heap[r], best)) m = r, best = p->heap[r];
        if (m == i) break;
        place(p, i, best);
        i = m;
    }
    place(p, i, s);
}

static void update_stretch(st_poller_t *p)
{
    double capacity = p->rate * (double)p->batch;
    p->stretch = capacity > 0 && p->demand > capacity ? p->demand / capacity : 1.0;
}

static st_dur_t effective(const st_poller_t *p, const st_poll_item_t *it)
{
    return (st_dur_t)((double)it->interval * p->stretch);
}

void st_poller_init(st_poller_t *p, size_t nsyms, int batch, double rate)
{
    memset(p, 0, sizeof(*p));
    p->nsyms = nsyms;
    p->items = st_xcalloc(nsyms ? nsyms : 1, sizeof(*p->items));
    for (size_t i = 0; i < nsyms; i++) p->items[i].heap = -1;
    p->heap = st_xmalloc((nsyms ? nsyms : 1) * sizeof(*p->heap));
    p->batch = batch < 1 ? 1 : batch;
    p->rate = rate;
    p->stretch = 1.0;
}

void st_poller_free(st_poller_t *p)
{
    free(p->items);
    free(p->heap);
    memset(p, 0, sizeof(*p));
}

void st_poller_set_rate(st_poller_t *p, double rate)
{
    p->rate = rate;
    update_stretch(p);
}

void st_poller_remove(st_poller_t *p, st_sym_t sym)
{
    if (!st_poller_has(p, sym)) return;
    st_poll_item_t *it = &p->items[sym];
    size_t i = (size_t)it->heap;
    p->demand -= 1.0 / ((double)it->interval / ST_SEC);
    if (p->demand < 1e-9) p->demand = 0;
    p->cls[it->cls].symbols--;
    it->heap = -1;
    it->interval = 0;
    p->n--;
    if (i < p->n) { /* the last one fills the hole, then finds its place */
        st_sym_t moved = p->heap[p->n];
        place(p, i, moved);
        sift_up(p, i);
        sift_down(p, (size_t)p->items[moved].heap);
    }
    update_stretch(p);
}

void st_poller_set(st_poller_t *p, st_sym_t sym, st_dur_t interval, int cls, st_time_t now)
{
    if ((size_t)sym >= p->nsyms) return;
    if (interval <= 0) {
        st_poller_remove(p, sym);
        return;
    }
    if (cls < 0 || cls >= ST_POLL_CLASSES) cls = ST_POLL_CLASSES - 1;
    st_poll_item_t *it = &p->items[sym];
    if (st_poller_has(p, sym)) {
        if (it->interval == interval && it->cls == cls) return;
        p->demand -= 1.0 / ((double)it->interval / ST_SEC);
        p->cls[it->cls].symbols--;
        st_dur_t old = effective(p, it);
        it->interval = interval;
        it->cls = (uint8_t)cls;
        p->demand += 1.0 / ((double)interval / ST_SEC);
        p->cls[cls].symbols++;
        update_stretch(p);
        /* The next poll moves by the difference, never into the past. */
        it->due += effective(p, it) - old;
        if (it->due < now) it->due = now;
        sift_up(p, (size_t)it->heap);
        sift_down(p, (size_t)it->heap);
        return;
    }
    it->interval = interval;
    it->cls = (uint8_t)cls;
    p->demand += 1.0 / ((double)interval / ST_SEC);
    p->cls[cls].symbols++;
    update_stretch(p);
    /* Spread over the interval by a hash of the id: calls come evenly, not in a burst. */
    uint64_t ms = (uint64_t)(effective(p, it) / ST_MSEC);
    it->due = now + (st_dur_t)(((uint64_t)sym * 2654435761u) % (ms ? ms : 1)) * ST_MSEC;
    place(p, p->n++, sym);
    sift_up(p, p->n - 1);
}

st_time_t st_poller_next(const st_poller_t *p)
{
    return p->n ? p->items[p->heap[0]].due : ST_TIME_NEVER;
}

static void record_age(st_poller_t *p, st_poll_item_t *it, st_time_t now)
{
    st_poll_class_t *c = &p->cls[it->cls];
    c->polls++;
    if (!it->last) return;
    st_dur_t age = now - it->last;
    if (age > c->age_max) c->age_max = age;
    c->age_sum += age;
    c->ages++;
}

size_t st_poller_take(st_poller_t *p, st_time_t now, st_sym_t *out)
{
    if (!p->n || p->items[p->heap[0]].due > now) return 0;
    size_t k = 0;
    while (k < (size_t)p->batch && p->n) {
        st_sym_t s = p->heap[0];
        st_poll_item_t *it = &p->items[s];
        if (it->due > now && it->due - now > effective(p, it) / 2) break; /* not worth pulling ahead */
        out[k++] = s;
        record_age(p, it, now);
        it->last = now;
        it->due = now + effective(p, it);
        sift_down(p, 0); /* it moves down; the next earliest comes up */
    }
    p->calls++;
    return k;
}

void st_poller_retry(st_poller_t *p, st_sym_t sym, st_time_t now)
{
    if (!st_poller_has(p, sym)) return;
    st_poll_item_t *it = &p->items[sym];
    it->due = now + effective(p, it) / 10;
    sift_up(p, (size_t)it->heap);
    sift_down(p, (size_t)it->heap);
}

st_dur_t st_poller_age_mean(const st_poller_t *p, int cls)
{
    const st_poll_class_t *c = &p->cls[cls];
    return c->ages ? c->age_sum / (st_dur_t)c->ages : 0;
}
