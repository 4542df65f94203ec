/* The cJSON-based Upbit decoder, kept as the tests' oracle (upbit_decode_cjson.c). */
#ifndef ST_TESTS_UPBIT_DECODE_CJSON_H
#define ST_TESTS_UPBIT_DECODE_CJSON_H

#include "feeds/upbit_codec.h"

int st_upbit_decode_cjson(const char *buf, size_t len, st_upbit_msg_t *out);

#endif
