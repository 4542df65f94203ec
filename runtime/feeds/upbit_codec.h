/* Upbit WebSocket messages: ticker, trade and orderbook frames in DEFAULT or SIMPLE naming
 * (text or binary frames, both UTF-8 JSON), and the status and error objects. Pure; the JSON
 * is read in one pass without building a tree (both namings matched from one table), and what
 * it accepts and reads is cJSON's (test_upbit_codec and fuzz_upbit compare the two). */
#ifndef ST_FEEDS_UPBIT_CODEC_H
#define ST_FEEDS_UPBIT_CODEC_H

#include "market/tick.h"

typedef enum {
    ST_UPBIT_TICKER,
    ST_UPBIT_TRADE,
    ST_UPBIT_ORDERBOOK,
    ST_UPBIT_STATUS, /* {"status":"UP"}: the answer to PING */
    ST_UPBIT_ERROR,  /* {"error":{"name","message"}} */
    ST_UPBIT_LIST,   /* the LIST_SUBSCRIPTIONS answer */
    ST_UPBIT_OTHER
} st_upbit_kind_t;

typedef struct {
    st_upbit_kind_t kind;
    char code[24];     /* "KRW-BTC" */
    bool snapshot;     /* stream_type SNAPSHOT */
    st_tick_t tick;    /* ticker → ST_TICK_SNAPSHOT, trade → ST_TICK_TRADE, orderbook → ST_TICK_ORDERBOOK;
                        * sym, feed and recv_time are the caller's */
    char error_name[32], error_message[128];
} st_upbit_msg_t;

/* Decodes one message. Returns 0, or -EPROTO when it is not a JSON object or a data message
 * lacks its code, price or time. */
int st_upbit_decode(const char *buf, size_t len, st_upbit_msg_t *out);
/* Whether a WebSocket error object says "too much" rather than "malformed": Upbit documents
 * its validation errors (WRONG_FORMAT, NO_TICKET, NO_TYPE, NO_CODES, INVALID_PARAM,
 * INVALID_AUTH) but not the name of a rate error, so any other name is taken as one. */
bool st_upbit_error_is_rate(const char *name);
/* The WebSocket close code for "policy violation", which Upbit uses for a connection that kept
 * exceeding its limits: a rate signal too. */
#define ST_UPBIT_CLOSE_POLICY 1008

#endif
