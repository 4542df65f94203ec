/* A KIS data-frame encoder for tests and benchmarks (written by field index; strata itself only
 * decodes frames, and strata-exsim has an encoder of its own). */
#ifndef ST_TESTS_KIS_ENCODE_H
#define ST_TESTS_KIS_ENCODE_H

#include "market/tick.h"

/* Encodes ticks (all trades, or one orderbook) of the given codes as one frame into buf.
 * Returns the length, or 0 if buf is too small. */
size_t st_kis_encode_trades(char *buf, size_t len, const st_tick_t *ticks, const char *const *codes,
                            size_t n, int32_t utc_offset);
size_t st_kis_encode_book(char *buf, size_t len, const st_tick_t *book, const char *code,
                          int32_t utc_offset);

#endif
