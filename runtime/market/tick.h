/* The one normalized tick every feed produces and every strategy sees. Prices and quantities
 * are doubles (KRW prices are whole numbers; Upbit's are not). Fixed size, no pointers, so it
 * can be copied into queues and handed to C plugins as it is. */
#ifndef ST_MARKET_TICK_H
#define ST_MARKET_TICK_H

#include "types.h"

#include <stddef.h>

#define ST_BOOK_DEPTH 10

typedef enum { ST_TICK_TRADE = 1, ST_TICK_ORDERBOOK = 2, ST_TICK_SNAPSHOT = 3 } st_tick_kind_t;
typedef enum { ST_SIDE_NONE = 0, ST_SIDE_BUY = 1, ST_SIDE_SELL = 2 } st_side_t;

/* Trading state flags. */
#define ST_TICK_HALTED 0x1u /* volatility interruption / halt in force */
#define ST_TICK_AUCTION 0x2u /* single-price auction (pre-open, closing) */
#define ST_TICK_REPLAY 0x4u  /* the venue's snapshot of its latest state on subscribing (Upbit
                              * SNAPSHOT): a trade seen before, not a new one */

typedef struct {
    double price, volume;     /* last trade (snapshot: last price; volume 0) */
    double open, high, low, prev_close;
    double cum_volume, cum_value; /* since the session open */
    double best_bid, best_ask;
    uint8_t side; /* st_side_t: aggressor */
} st_trade_t;

typedef struct {
    double ask[ST_BOOK_DEPTH], bid[ST_BOOK_DEPTH];
    double ask_qty[ST_BOOK_DEPTH], bid_qty[ST_BOOK_DEPTH];
    double total_ask_qty, total_bid_qty;
} st_book_t;

typedef struct {
    uint8_t kind;  /* st_tick_kind_t */
    uint8_t flags; /* ST_TICK_* */
    uint16_t feed; /* index of the feed that produced it */
    st_sym_t sym;
    st_time_t venue_time; /* the venue's timestamp */
    st_time_t recv_time;  /* when strata received it */
    union {
        st_trade_t trade; /* ST_TICK_TRADE, ST_TICK_SNAPSHOT */
        st_book_t book;   /* ST_TICK_ORDERBOOK */
    } u;
} st_tick_t;

/* The bytes of a tick of this kind that hold it: its header and the union's member in use (a
 * trade's 112, an orderbook's 360) — what a copy of it needs. */
static inline size_t st_tick_bytes(uint8_t kind)
{
    return offsetof(st_tick_t, u) + (kind == ST_TICK_ORDERBOOK ? sizeof(st_book_t) : sizeof(st_trade_t));
}

/* KRX tick size (호가단위, 2023 unified table) for a price. */
double st_krx_tick_size(double price);

#endif
