/* REST answers of the venues into normalized ticks. Pure (time is an argument), cJSON for the
 * parsing; every function takes the bytes as they came off the wire and is fuzzed
 * (tests/fuzz/fuzz_rest.c).
 *
 * KIS: intstock-multprice (an `output` array, rows keyed by `inter_shrn_iscd`), inquire-price
 * (an `output` object), inquire-asking-price-exp-ccn (`output1`: askp1..10, bidp1..10 and their
 * sizes). Values are strings. Errors are `{"rt_cd":"1","msg_cd":…}` with HTTP 200 or 500.
 * Upbit: /v1/ticker and /v1/orderbook answer JSON arrays of numbers. */
#ifndef ST_FEEDS_REST_CODEC_H
#define ST_FEEDS_REST_CODEC_H

#include "market/tick.h"

typedef enum {
    ST_RQ_OK,
    ST_RQ_RATE,          /* EGW00201, HTTP 429 */
    ST_RQ_TOKEN_EXPIRED, /* EGW00123 */
    ST_RQ_TOKEN_INVALID, /* EGW00121 */
    ST_RQ_REFUSED        /* any other error, or a body that is not what was asked for */
} st_rq_status_t;

typedef void (*st_row_cb)(void *ctx, const st_tick_t *t);

/* A quotation answer: for each want[i] (venue code codes[i]) that has a row, row() gets a
 * snapshot tick stamped `now` (quotations carry no time). */
/* Whether a KIS OAuth answer (approval key, access token) refuses the credentials themselves:
 * HTTP 401/403 with EGW00103 (app key), EGW00105 (app secret) and the like. */
bool st_kis_auth_refused(int http_status, const char *body);
st_rq_status_t st_kis_quotes_parse(int http_status, const char *body, size_t len, const char *const *codes,
                                   const st_sym_t *want, size_t n, st_time_t now, st_row_cb row, void *ctx);
/* An orderbook answer into *book (stamped now). */
st_rq_status_t st_kis_book_parse(int http_status, const char *body, size_t len, st_sym_t sym, st_time_t now,
                                 st_tick_t *book);
/* /v1/ticker: a snapshot tick per asked market found (its trade_timestamp, else now). */
st_rq_status_t st_upbit_tickers_parse(int http_status, const char *body, size_t len, const char *const *codes,
                                   const st_sym_t *want, size_t n, st_time_t now, st_row_cb row, void *ctx);
/* /v1/orderbook for one market into *book. */
st_rq_status_t st_upbit_book_parse(int http_status, const char *body, size_t len, st_sym_t sym, st_time_t now,
                                st_tick_t *book);

#endif
