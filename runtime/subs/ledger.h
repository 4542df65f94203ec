/* The subscription ledger of one venue connection: what strata wants (desired), what it has
 * sent and awaits (in flight), and what the venue has acknowledged (confirmed), per key, with
 * the reason of any failure. Subscriptions are state, not commands: callers change the desired
 * set; a flush (coalescer.h) sends what separates it from the confirmed set. Pure. */
#ifndef ST_SUBS_LEDGER_H
#define ST_SUBS_LEDGER_H

#include "market/types.h"

/* A channel of one symbol. KIS: trade H0STCNT0, book H0STASP0, index H0UPCNT0. Upbit: trade
 * "trade", book "orderbook", ticker "ticker". */
typedef enum { ST_CH_TRADE, ST_CH_BOOK, ST_CH_INDEX, ST_CH_TICKER, ST_CH_COUNT } st_channel_t;
extern const char *const st_channel_names[ST_CH_COUNT]; /* "trade", "orderbook", "index", "ticker" */
typedef uint32_t st_key_t;
#define ST_KEY(sym, ch)  ((st_key_t)(sym) * ST_CH_COUNT + (st_key_t)(ch))
#define ST_KEY_SYM(k)    ((st_sym_t)((k) / ST_CH_COUNT))
#define ST_KEY_CH(k)     ((st_channel_t)((k) % ST_CH_COUNT))

/* Key state bits. */
#define ST_LK_DESIRED   0x01u
#define ST_LK_CONFIRMED 0x02u
#define ST_LK_SUBBING   0x04u /* register sent, no answer yet */
#define ST_LK_UNSUBBING 0x08u /* unregister sent, no answer yet */
#define ST_LK_FAILED    0x10u /* the venue refused it; not retried until wanted anew */
#define ST_LK_DIRTY     0x20u /* on the dirty list */

/* What a venue said about a key. */
typedef enum {
    ST_ACK_SUBSCRIBED,    /* KIS SUBSCRIBE SUCCESS / ALREADY IN SUBSCRIBE; Upbit first data */
    ST_ACK_UNSUBSCRIBED,  /* KIS UNSUBSCRIBE SUCCESS, or unregister of an unknown key */
    ST_ACK_MAX_OVER,      /* KIS MAX SUBSCRIBE OVER: the venue counts more than we do */
    ST_ACK_INVALID,       /* invalid tr_id / tr_key / code: the key cannot be subscribed */
    ST_ACK_ERROR          /* any other refusal; the key is retried at the next flush */
} st_ack_t;

typedef struct st_ledger_s {
    uint8_t *state;   /* per key, ST_LK_* */
    uint8_t *reason;  /* per key: the st_ack_t of the latest failure */
    st_time_t *since; /* per key: 1 + when the unsent change was first requested, 0 = none */
    size_t nkeys;
    st_key_t *dirty;  /* keys whose desired state differs from what was sent */
    size_t ndirty;
    int desired, confirmed, subbing, unsubbing;
    int cap; /* registrations the venue allows on this connection */
} st_ledger_t;

void st_ledger_init(st_ledger_t *l, size_t nsyms, int cap);
void st_ledger_free(st_ledger_t *l);
/* Wants key on or off. Returns 1 if the desired set changed, 0 if not, -EINVAL if out of range. */
int st_ledger_want(st_ledger_t *l, st_key_t key, bool on, st_time_t now);
/* Registrations held as the venue counts them: confirmed (unregisters in flight still count)
 * plus registers in flight. Never above cap. */
static inline int st_ledger_held(const st_ledger_t *l)
{
    return l->confirmed + l->subbing;
}
/* Records that a register (on) or unregister (!on) was sent for key. */
void st_ledger_sent(st_ledger_t *l, st_key_t key, bool on);
/* Applies the venue's answer for key. */
void st_ledger_ack(st_ledger_t *l, st_key_t key, st_ack_t ack);
/* A new Upbit message replaced the whole set: what is no longer desired stops streaming now,
 * what is desired is in flight until its first data. */
void st_ledger_replaced(st_ledger_t *l);
/* The connection was lost (or is new): nothing is confirmed or in flight; every desired key is
 * dirty; a request still waiting counts its wait from now (request-to-send latency measures
 * strata's pacing, not the outage). */
void st_ledger_reset(st_ledger_t *l, st_time_t now);
static inline uint8_t st_ledger_state(const st_ledger_t *l, st_key_t key)
{
    return key < l->nkeys ? l->state[key] : 0;
}

#endif
