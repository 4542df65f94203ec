/* libFuzzer target: arbitrary bytes as an Upbit WebSocket message. The decoder must never
 * crash or read outside the message. */
#include "feeds/upbit_codec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    st_upbit_msg_t m;
    st_upbit_decode(buf, size, &m);
    free(buf);
    return 0;
}
