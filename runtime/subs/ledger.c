#include "ledger.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const st_channel_names[ST_CH_COUNT] = {"trade", "orderbook", "index", "ticker"};

void st_ledger_init(st_ledger_t *l, size_t nsyms, int cap)
{
    memset(l, 0, sizeof(*l));
    l->nkeys = nsyms * ST_CH_COUNT;
    size_t n = l->nkeys ? l->nkeys : 1;
    l->state = st_xcalloc(n, 1);
    l->reason = st_xcalloc(n, 1);
    l->since = st_xcalloc(n, sizeof(st_time_t));
    l->dirty = st_xmalloc(n * sizeof(st_key_t));
    l->cap = cap;
}

void st_ledger_free(st_ledger_t *l)
{
    free(l->state);
    free(l->reason);
    free(l->since);
    free(l->dirty);
    memset(l, 0, sizeof(*l));
}

static void mark_dirty(st_ledger_t *l, st_key_t key)
{
    if (l->state[key] & ST_LK_DIRTY) return;
    l->state[key] |= ST_LK_DIRTY;
    l->dirty[l->ndirty++] = key;
}

int st_ledger_want(st_ledger_t *l, st_key_t key, bool on, st_time_t now)
{
    if (key >= l->nkeys) return -EINVAL;
    uint8_t *s = &l->state[key];
    if (!!(*s & ST_LK_DESIRED) == on) return 0;
    if (on) {
        *s |= ST_LK_DESIRED;
        *s &= (uint8_t)~ST_LK_FAILED; /* wanted anew: worth another try */
        l->desired++;
    } else {
        *s &= (uint8_t)~ST_LK_DESIRED;
        l->desired--;
    }
    if (!l->since[key]) l->since[key] = now + 1; /* +1: 0 means "nothing unsent" */
    mark_dirty(l, key);
    return 1;
}

void st_ledger_sent(st_ledger_t *l, st_key_t key, bool on)
{
    uint8_t *s = &l->state[key];
    if (on) {
        *s |= ST_LK_SUBBING;
        l->subbing++;
    } else {
        *s |= ST_LK_UNSUBBING;
        l->unsubbing++;
    }
    l->since[key] = 0;
}

static void set_confirmed(st_ledger_t *l, st_key_t key, bool on)
{
    uint8_t *s = &l->state[key];
    if (!!(*s & ST_LK_CONFIRMED) == on) return;
    if (on) {
        *s |= ST_LK_CONFIRMED;
        l->confirmed++;
    } else {
        *s &= (uint8_t)~ST_LK_CONFIRMED;
        l->confirmed--;
    }
}

void st_ledger_ack(st_ledger_t *l, st_key_t key, st_ack_t ack)
{
    if (key >= l->nkeys) return;
    uint8_t *s = &l->state[key];
    bool subbing = *s & ST_LK_SUBBING, unsubbing = *s & ST_LK_UNSUBBING;
    switch (ack) {
    case ST_ACK_SUBSCRIBED:
        if (subbing) *s &= (uint8_t)~ST_LK_SUBBING, l->subbing--;
        set_confirmed(l, key, true);
        break;
    case ST_ACK_UNSUBSCRIBED:
        if (unsubbing) *s &= (uint8_t)~ST_LK_UNSUBBING, l->unsubbing--;
        set_confirmed(l, key, false);
        break;
    default:
        if (subbing) *s &= (uint8_t)~ST_LK_SUBBING, l->subbing--;
        if (unsubbing) *s &= (uint8_t)~ST_LK_UNSUBBING, l->unsubbing--;
        l->reason[key] = (uint8_t)ack;
        if (ack == ST_ACK_INVALID) *s |= ST_LK_FAILED;
        break;
    }
    /* Whatever the answer, the key may again differ from what is wanted. */
    bool want = *s & ST_LK_DESIRED, have = *s & ST_LK_CONFIRMED;
    if (want != have && !(*s & ST_LK_FAILED)) mark_dirty(l, key);
}

void st_ledger_replaced(st_ledger_t *l)
{
    for (size_t k = 0; k < l->nkeys; k++) {
        uint8_t *s = &l->state[k];
        if (*s & ST_LK_DESIRED) {
            if (!(*s & ST_LK_CONFIRMED) && !(*s & ST_LK_SUBBING)) *s |= ST_LK_SUBBING, l->subbing++;
        } else {
            set_confirmed(l, (st_key_t)k, false);
            if (*s & ST_LK_SUBBING) *s &= (uint8_t)~ST_LK_SUBBING, l->subbing--;
        }
        l->since[k] = 0;
        *s &= (uint8_t)~ST_LK_DIRTY;
    }
    l->ndirty = 0;
}

void st_ledger_reset(st_ledger_t *l, st_time_t now)
{
    l->ndirty = 0;
    for (size_t k = 0; k < l->nkeys; k++) {
        uint8_t *s = &l->state[k];
        *s &= (uint8_t)(ST_LK_DESIRED | ST_LK_FAILED);
        if (*s & ST_LK_DESIRED) mark_dirty(l, (st_key_t)k);
        if (l->since[k]) l->since[k] = now + 1; /* a request's wait restarts with the connection */
    }
    l->confirmed = l->subbing = l->unsubbing = 0;
}
