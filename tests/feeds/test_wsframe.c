/* The WebSocket client protocol of wsframe.c: RFC 6455's own examples for the handshake and a
 * masked frame, the server's frames into messages (whole, fragmented, with control frames
 * between the fragments, fed at once or a byte at a time), and every violation a server can
 * commit answered with its close code. */
#include "../test.h"

#include "feeds/wsframe.h"

typedef struct {
    char msgs[16][600];
    size_t lens[16];
    bool binary[16], terminated[16];
    int n;
    int ctl_op[16];
    uint8_t ctl[16][128];
    size_t ctl_len[16];
    int nctl;
    char order[40]; /* 'm' message, 'c' control, in arrival order */
} got_t;

static void on_msg(void *ctx, char *data, size_t len, bool binary)
{
    got_t *g = ctx;
    if (g->n < 16) {
        size_t k = len < sizeof(g->msgs[0]) - 1 ? len : sizeof(g->msgs[0]) - 1;
        memcpy(g->msgs[g->n], data, k);
        g->lens[g->n] = len;
        g->binary[g->n] = binary;
        g->terminated[g->n] = data[len] == '\0';
        g->n++;
    }
    strncat(g->order, "m", sizeof(g->order) - strlen(g->order) - 1);
}

static void on_ctl(void *ctx, int op, const uint8_t *p, size_t len)
{
    got_t *g = ctx;
    g->ctl_op[g->nctl] = op;
    memcpy(g->ctl[g->nctl], p, len);
    g->ctl_len[g->nctl++] = len;
    strncat(g->order, "c", sizeof(g->order) - strlen(g->order) - 1);
}

static const st_wsrx_cbs_t cbs = {on_msg, on_ctl};

/* Feeds bytes whole, or `step` at a time; returns the first non-zero result. */
static int feed(st_wsrx_t *rx, got_t *g, const uint8_t *b, size_t n, size_t step, const char **why)
{
    if (!step) step = n;
    for (size_t i = 0; i < n; i += step) {
        int rc = st_wsrx_feed(rx, b + i, n - i < step ? n - i : step, &cbs, g, why);
        if (rc) return rc;
    }
    return 0;
}

static void test_handshake_rfc_example(void **state)
{
    char key[32], why[200];
    st_ws_key((const uint8_t *)"the sample nonce", key); /* RFC 6455 4.1 */
    assert_string_equal(key, "dGhlIHNhbXBsZSBub25jZQ==");
    char req[512];
    size_t n = st_ws_request(req, sizeof(req), "127.0.0.1", 21000, false, "/tryitout/H0STCNT0", key);
    assert_true(n > 0);
    assert_non_null(strstr(req, "GET /tryitout/H0STCNT0 HTTP/1.1\r\nHost: 127.0.0.1:21000\r\n"));
    assert_non_null(strstr(req, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
    assert_null(strstr(req, "Origin")); /* Upbit limits handshakes carrying one */
    assert_int_equal(st_ws_request(req, sizeof(req), "api.upbit.com", 443, true, "/websocket/v1", key) > 0, 1);
    assert_non_null(strstr(req, "Host: api.upbit.com\r\n"));

    const char ok[] = "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
                      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x02hi";
    assert_int_equal(st_ws_response(ok, sizeof(ok) - 1, key, why, sizeof(why)), (long)(sizeof(ok) - 1 - 4));
    for (size_t cut = 0; cut < sizeof(ok) - 1 - 4; cut++) /* any prefix of the head: more, not wrong */
        assert_int_equal(st_ws_response(ok, cut, key, why, sizeof(why)), 0);
    char *exact = malloc(sizeof(ok) - 1); /* not terminated, as received: nothing may look past it (ASan) */
    memcpy(exact, ok, sizeof(ok) - 1);
    assert_int_equal(st_ws_response(exact, sizeof(ok) - 1, key, why, sizeof(why)), (long)(sizeof(ok) - 1 - 4));
    free(exact);

    const char bad_accept[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n";
    assert_int_equal(st_ws_response(bad_accept, sizeof(bad_accept) - 1, key, why, sizeof(why)), -1);
    assert_string_equal(why, "a 101 answer with a wrong Sec-WebSocket-Accept");
    const char no_upgrade[] = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    assert_int_equal(st_ws_response(no_upgrade, sizeof(no_upgrade) - 1, key, why, sizeof(why)), -1);
    assert_string_equal(why, "a 101 answer without \"Upgrade: websocket\"");
    const char refused[] = "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(st_ws_response(refused, sizeof(refused) - 1, key, why, sizeof(why)), -1);
    assert_string_equal(why, "the WebSocket handshake was answered HTTP 429 Too Many Requests");
    const char junk[] = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
    assert_int_equal(st_ws_response(junk, sizeof(junk) - 1, key, why, sizeof(why)), -1);
    char *endless = malloc(20000);
    memset(endless, 'x', 20000);
    assert_int_equal(st_ws_response(endless, 20000, key, why, sizeof(why)), -1);
    free(endless);
}

static void test_client_frames(void **state)
{
    uint8_t out[70000 + ST_WS_MAX_HEADER];
    /* RFC 6455 5.7: "Hello" masked with 37 fa 21 3d */
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    size_t n = st_ws_frame(out, ST_WS_OP_TEXT, "Hello", 5, 0x37fa213d);
    assert_int_equal(n, sizeof(hello));
    assert_memory_equal(out, hello, sizeof(hello));
    char *big = calloc(1, 70000);
    n = st_ws_frame(out, ST_WS_OP_BINARY, big, 300, 0);
    assert_int_equal(n, 4 + 4 + 300);
    assert_int_equal(out[1], 0x80 | 126);
    assert_int_equal(out[2] << 8 | out[3], 300);
    n = st_ws_frame(out, ST_WS_OP_BINARY, big, 70000, 1);
    assert_int_equal(n, 10 + 4 + 70000);
    assert_int_equal(out[1], 0x80 | 127);
    assert_int_equal((size_t)out[7] << 16 | (size_t)out[8] << 8 | out[9], 70000);
    free(big);
}

/* Server frames: text "Hello" whole; "Hel" + ping + "lo"; binary of 300 bytes; a pong. */
static size_t server_stream(uint8_t *b)
{
    size_t n = 0;
    memcpy(b + n, "\x81\x05Hello", 7), n += 7;
    memcpy(b + n, "\x01\x03Hel", 5), n += 5;
    memcpy(b + n, "\x89\x02pp", 4), n += 4;
    memcpy(b + n, "\x80\x02lo", 4), n += 4;
    b[n++] = 0x82, b[n++] = 126, b[n++] = 300 >> 8, b[n++] = 300 & 0xff;
    for (int i = 0; i < 300; i++) b[n++] = (uint8_t)('a' + i % 26);
    memcpy(b + n, "\x8a\x00", 2), n += 2;
    return n;
}

static void test_server_frames_into_messages(void **state)
{
    uint8_t b[1024];
    size_t n = server_stream(b);
    for (size_t step = 0; step <= 3; step++) { /* whole, then 1, 2 and 3 bytes at a time */
        st_wsrx_t rx = {0};
        got_t g = {0};
        const char *why = NULL;
        assert_int_equal(feed(&rx, &g, b, n, step, &why), 0);
        assert_int_equal(g.n, 3);
        assert_string_equal(g.order, "mcmmc"); /* the ping between the fragments comes first */
        assert_int_equal(g.lens[0], 5);
        assert_memory_equal(g.msgs[0], "Hello", 5);
        assert_int_equal(g.lens[1], 5);
        assert_memory_equal(g.msgs[1], "Hello", 5);
        assert_false(g.binary[1]);
        assert_int_equal(g.lens[2], 300);
        assert_true(g.binary[2]);
        assert_int_equal(g.msgs[2][299], 'a' + 299 % 26);
        for (int i = 0; i < 3; i++) assert_true(g.terminated[i]); /* data[len] == '\0' */
        assert_int_equal(g.ctl_op[0], ST_WS_OP_PING);
        assert_memory_equal(g.ctl[0], "pp", 2);
        assert_int_equal(g.ctl_op[1], ST_WS_OP_PONG);
        assert_int_equal(rx.len, 0);
        st_wsrx_free(&rx);
    }
}

static void test_terminating_does_not_change_the_next_frame(void **state)
{
    /* The '\0' after "ab" is written over the next frame's first byte, and put back. */
    static const uint8_t b[] = {0x81, 0x02, 'a', 'b', 0x81, 0x01, 'c'};
    st_wsrx_t rx = {0};
    got_t g = {0};
    const char *why = NULL;
    assert_int_equal(feed(&rx, &g, b, sizeof(b), 0, &why), 0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.msgs[0], "ab");
    assert_string_equal(g.msgs[1], "c");
    st_wsrx_free(&rx);
}

static void test_close_ends_the_stream(void **state)
{
    static const uint8_t b[] = {0x88, 0x04, 0x03, 0xe8, 'b', 'y', 0x81, 0x01, 'x'};
    st_wsrx_t rx = {0};
    got_t g = {0};
    const char *why = NULL;
    assert_int_equal(feed(&rx, &g, b, sizeof(b), 0, &why), 0);
    assert_int_equal(g.nctl, 1);
    assert_int_equal(g.ctl_op[0], ST_WS_OP_CLOSE);
    assert_int_equal(g.ctl[0][0] << 8 | g.ctl[0][1], 1000);
    assert_int_equal(g.n, 0); /* nothing after the close */
    assert_int_equal(st_wsrx_feed(&rx, "\x81\x01y", 3, &cbs, &g, &why), 0);
    assert_int_equal(g.n, 0);
    st_wsrx_reset(&rx); /* a new connection */
    assert_int_equal(st_wsrx_feed(&rx, "\x81\x01y", 3, &cbs, &g, &why), 0);
    assert_int_equal(g.n, 1);
    st_wsrx_free(&rx);
}

static void test_violations(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
        int code;
        const char *why;
    } cases[] = {
        {"\x81\x85\x01\x02\x03\x04Hello", 11, ST_WS_PROTOCOL_ERROR, "a masked frame from the server"},
        {"\xc1\x01x", 3, ST_WS_PROTOCOL_ERROR, "a frame with reserved bits set"},
        {"\x83\x01x", 3, ST_WS_PROTOCOL_ERROR, "a frame with an unknown data opcode"},
        {"\x8b\x00", 2, ST_WS_PROTOCOL_ERROR, "a frame with an unknown control opcode"},
        {"\x09\x01p", 3, ST_WS_PROTOCOL_ERROR, "a fragmented or over-long control frame"},
        {"\x89\x7e\x00\x80", 4, ST_WS_PROTOCOL_ERROR, "a fragmented or over-long control frame"},
        {"\x80\x01x", 3, ST_WS_PROTOCOL_ERROR, "a continuation frame with no message to continue"},
        {"\x01\x01x\x81\x01y", 6, ST_WS_PROTOCOL_ERROR, "a new message before the fragmented one ended"},
        {"\x82\x7f\x00\x00\x00\x00\x00\x00\x10\x00", 10, ST_WS_TOO_BIG,
         "a frame larger than the largest message accepted"},
        {"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10, ST_WS_TOO_BIG,
         "a frame larger than the largest message accepted"},
        {"\x01\x03" "abc" "\x00\x03" "def", 10, ST_WS_TOO_BIG, "a message larger than the largest accepted"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        st_wsrx_t rx = {.max = 5}; /* the last case: 6 bytes in two fragments of a 5-byte limit */
        if (i < 8) rx.max = 0;
        if (i == 8) rx.max = 4095;
        got_t g = {0};
        const char *why = NULL;
        int rc = st_wsrx_feed(&rx, cases[i].bytes, cases[i].len, &cbs, &g, &why);
        printf("# case %zu: %d %s\n", i, rc, why ? why : "-");
        assert_int_equal(rc, cases[i].code);
        assert_string_equal(why, cases[i].why);
        assert_int_equal(g.n, 0);
        st_wsrx_free(&rx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_rfc_example),
        cmocka_unit_test(test_client_frames),
        cmocka_unit_test(test_server_frames_into_messages),
        cmocka_unit_test(test_terminating_does_not_change_the_next_frame),
        cmocka_unit_test(test_close_ends_the_stream),
        cmocka_unit_test(test_violations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
