/* libFuzzer target: arbitrary bytes as a venue's REST answer (the first byte picks the HTTP
 * status), through every REST parser. None may crash or read outside the body. */
#include "feeds/rest_codec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void row(void *ctx, const st_tick_t *t)
{
    (void)ctx;
    (void)t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int status = data[0] % 3 == 0 ? 200 : data[0] % 3 == 1 ? 500 : 429;
    size_t len = size - 1;
    char *buf = malloc(len ? len : 1);
    memcpy(buf, data + 1, len);
    static const char *const kis[] = {"005930", "000660"}, *const up[] = {"KRW-BTC", "KRW-ETH"};
    static const st_sym_t want[] = {1, 2};
    st_tick_t t;
    st_kis_quotes_parse(status, buf, len, kis, want, 2, 1, row, NULL);
    st_kis_quotes_parse(status, buf, len, kis, want, 1, 1, row, NULL);
    st_kis_book_parse(status, buf, len, 1, 1, &t);
    st_upbit_tickers_parse(status, buf, len, up, want, 2, 1, row, NULL);
    st_upbit_book_parse(status, buf, len, 1, 1, &t);
    free(buf);
    return 0;
}
