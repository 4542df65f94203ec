/* A subscription connection of a network feed: one WebSocket session (wsconn.h) with the
 * ledger, coalescer and limiter that decide what it carries, and the timer that flushes the
 * coalescer when it is due. The venue's feed embeds it first in its own connection struct, so
 * callbacks given this struct can reach the rest. */
#ifndef ST_FEEDS_SUBCONN_H
#define ST_FEEDS_SUBCONN_H

#include "wsconn.h"
#include "conf/config.h"
#include "market/symtab.h"
#include "subs/coalescer.h"

typedef struct st_subconn_s {
    st_wsconn_t ws;
    st_coalescer_t co;
    st_limiter_t lim;
    st_timer_t flush;
    const st_symtab_t *syms;
    struct st_feed *feed; /* set by the feed: subscriptions are traced to it */
} st_subconn_t;

/* Ledger, coalescer (messages go to the session as text) and limiter from the feed's config;
 * refused may be NULL. The session itself is set up by the caller (st_feed_wsconn_setup). */
void st_subconn_init(st_subconn_t *c, st_venue_t venue, const st_feed_cfg_t *fc, const st_symtab_t *syms,
                     size_t nsyms, void (*refused)(void *ctx, st_key_t key, st_ack_t ack, int cap));
void st_subconn_free(st_subconn_t *c);
/* Runs the flush timer at the coalescer's next due time while the session is open. */
void st_subconn_arm(st_subconn_t *c);
/* The session is (re)open: everything desired is sent again, paced. */
void st_subconn_opened(st_subconn_t *c);
/* The session is gone: nothing is held any more. */
void st_subconn_closed(st_subconn_t *c);

#endif
