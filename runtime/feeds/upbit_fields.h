/* The members of an Upbit message strata reads, by their DEFAULT or SIMPLE name (protocols.md
 * 2.3): the decoder's table (upbit_codec.c), which the tests' cJSON oracle reads through too,
 * so the two decoders differ only in how they parse. Internal to the codec and its tests. */
#ifndef ST_FEEDS_UPBIT_FIELDS_H
#define ST_FEEDS_UPBIT_FIELDS_H

#include <stddef.h>

enum {
    F_TYPE, F_CODE, F_OPEN, F_HIGH, F_LOW, F_PRICE, F_PREV, F_VOLUME, F_ACC_VOL, F_ACC_PRICE,
    F_ASK_BID, F_TRADE_TS, F_TS, F_STREAM, F_BAP, F_BBP, F_TAS, F_TBS, F_UNITS, F_COUNT
};

/* The field a member name (NUL-terminated) stands for, or -1. */
int st_upbit_field(const char *key);

#endif
