/* libFuzzer target: arbitrary bytes as the query of GET /symbols (what libwebsockets hands over
 * from a client). The parser must accept or refuse it with a message, never crash or read past
 * it; what it accepts must be within its bounds. */
#include "ops/symbols.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = malloc(size + 1);
    memcpy(q, data, size);
    q[size] = '\0';
    st_symbols_filter_t f;
    char err[160] = "";
    int rc = st_symbols_filter_parse(q, &f, err, sizeof(err));
    if (rc == 0 && (f.tier < -1 || f.tier > 3 || strlen(f.strategy) >= sizeof(f.strategy) || strlen(f.q) >= sizeof(f.q)))
        abort();
    if (rc != 0 && !*err) abort(); /* a refusal says why */
    free(q);
    return 0;
}
