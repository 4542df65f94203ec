/* libFuzzer target: arbitrary bytes as what a WebSocket server sends after the handshake
 * (wsframe.c), and as the server's answer to the handshake. The receiver must never crash, read
 * or write outside what it holds, or deliver a message that is not terminated; and it must
 * deliver the same messages and control frames, with the same verdict, whether the bytes come
 * at once or in pieces (the first byte picks the piece size). */
#include "feeds/wsframe.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint64_t hash; /* over every delivery, in order */
    size_t count;
} seen_t;

static void mix(seen_t *s, int kind, const void *p, size_t len)
{
    const uint8_t *b = p;
    s->hash = (s->hash ^ (uint64_t)kind) * 1099511628211ull;
    for (size_t i = 0; i < len; i++) s->hash = (s->hash ^ b[i]) * 1099511628211ull;
    s->hash = (s->hash ^ len) * 1099511628211ull;
    s->count++;
}

static void on_msg(void *ctx, char *data, size_t len, bool binary)
{
    if (data[len] != '\0') abort();
    mix(ctx, binary ? 2 : 1, data, len);
}

static void on_ctl(void *ctx, int op, const uint8_t *p, size_t len)
{
    if (len > 125) abort();
    mix(ctx, 16 + op, p, len);
}

static const st_wsrx_cbs_t cbs = {on_msg, on_ctl};

static int run(const uint8_t *data, size_t size, size_t step, seen_t *s)
{
    st_wsrx_t rx = {.max = 8192};
    const char *why = NULL;
    int rc = 0;
    for (size_t i = 0; i < size && !rc; i += step) {
        size_t n = size - i < step ? size - i : step;
        uint8_t *piece = malloc(n); /* an exact-size copy: ASan flags any read past it */
        memcpy(piece, data + i, n);
        rc = st_wsrx_feed(&rx, piece, n, &cbs, s, &why);
        free(piece);
    }
    if (rc && !why) abort();
    st_wsrx_free(&rx);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t step = (size_t)(data[0] % 16) + 1;
    seen_t whole = {14695981039346656037ull, 0}, pieces = {14695981039346656037ull, 0};
    int a = run(data + 1, size - 1, size, &whole);
    int b = run(data + 1, size - 1, step, &pieces);
    if (a != b || whole.hash != pieces.hash || whole.count != pieces.count) abort();

    char *copy = malloc(size); /* the same bytes as an answer to the handshake */
    memcpy(copy, data, size);
    char why[200];
    long head = st_ws_response(copy, size, "dGhlIHNhbXBsZSBub25jZQ==", why, sizeof(why));
    if (head > (long)size) abort();
    free(copy);
    return 0;
}
