/* libFuzzer target: arbitrary bytes as a strata config. The decoder must never crash, leak or
 * read out of bounds, and must either succeed or explain itself with located diagnostics. */
#include "conf/config.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    st_diags_t d;
    st_diags_init(&d);
    st_config_t *cfg = NULL;
    int rc = st_config_parse("fuzz.yaml", text, size, &cfg, &d);
    if (rc == 0) {
        st_config_free(cfg);
    } else if (d.n == 0) {
        abort(); /* a failure must say why */
    }
    for (size_t i = 0; i < d.n; i++) {
        char buf[1400];
        st_diag_format(&d.items[i], buf, sizeof(buf));
    }
    st_diags_free(&d);
    free(text);
    return 0;
}
