/* libFuzzer target: arbitrary bytes as a KIS WebSocket frame. The header parser, the record
 * decoder and the control-message parser must never crash or read outside the frame. */
#include "feeds/kis_codec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(const st_kis_record_t *r, void *ctx)
{
    (*(size_t *)ctx) += r->code_len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan flags any read past the frame. */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    st_kis_frame_t f;
    int rc = st_kis_frame_parse(buf, size, &f);
    if (rc == 1) { /* a control message */
        st_kis_msg_t m;
        st_kis_msg_parse(buf, size, &m);
    }
    if (rc == 0) {
        size_t n = 0;
        st_kis_decode(&f, 9 * 3600, (st_time_t)1795392000 * ST_SEC, count, &n);
    }
    free(buf);
    return 0;
}
