/* libFuzzer target: arbitrary bytes as an Upbit WebSocket message. The decoder must never
 * crash or read outside the message, and must say what cJSON's tree says of it (the oracle,
 * tests/feeds/upbit_decode_cjson.c): the same return and the same bytes out. */
#include "feeds/upbit_codec.h"
#include "../feeds/upbit_decode_cjson.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    static st_upbit_msg_t a, b;
    int ra = st_upbit_decode(buf, size, &a), rb = st_upbit_decode_cjson(buf, size, &b);
    if (ra != rb || memcmp(&a, &b, sizeof(a)) != 0) abort();
    free(buf);
    return 0;
}
