/* TLS over memory (tlsbio.c) against an OpenSSL server in the same process, the bytes moved by
 * hand: the handshake and data both ways with the server's certificate trusted; refused, with
 * OpenSSL's verdict, when the certificate is not trusted or names another host; no handshake
 * with a server that is not TLS. The certificate is a throwaway self-signed one for 127.0.0.1. */
#include "../test.h"

#include "../tls_cert.h"
#include "feeds/tlsbio.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

static char dir[64], cert[128], key[128];

typedef struct {
    SSL *ssl;
    BIO *in, *out;
} server_t;

static server_t server_new(SSL_CTX *ctx)
{
    server_t s = {SSL_new(ctx), BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem())};
    BIO_set_mem_eof_return(s.in, -1);
    SSL_set_bio(s.ssl, s.in, s.out);
    SSL_set_accept_state(s.ssl);
    return s;
}

/* Moves bytes both ways until neither side has any; returns the client's last verdict. */
static int pump(st_tls_t *c, server_t *s)
{
    char buf[32768];
    int rc = 0;
    for (int round = 0; round < 20; round++) {
        size_t n = st_tls_take(c, buf, sizeof(buf));
        if (n) BIO_write(s->in, buf, (int)n);
        SSL_do_handshake(s->ssl);
        ERR_clear_error();
        int m = BIO_read(s->out, buf, sizeof(buf));
        if (m > 0) rc = st_tls_input(c, buf, (size_t)m);
        if (rc) return rc;
        if (!n && m <= 0) break;
    }
    return rc;
}

static SSL_CTX *server_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
    return ctx;
}

static void test_trusted_server(void **state)
{
    char err[256];
    st_tls_ctx_t *cctx = st_tls_ctx_create(cert, err, sizeof(err));
    assert_non_null(cctx);
    SSL_CTX *sctx = server_ctx();
    server_t s = server_new(sctx);
    st_tls_t *c = st_tls_new(cctx, "127.0.0.1");
    assert_true(st_tls_pending(c) > 0); /* the ClientHello, at once */
    assert_int_equal(pump(c, &s), 0);
    assert_true(st_tls_ready(c));
    /* client -> server */
    assert_int_equal(st_tls_write(c, "GET / HTTP/1.1\r\n\r\n", 18), 0);
    pump(c, &s);
    char got[64] = "";
    assert_int_equal(SSL_read(s.ssl, got, sizeof(got) - 1), 18);
    assert_memory_equal(got, "GET / HTTP/1.1\r\n\r\n", 18);
    /* server -> client, in two records */
    assert_int_equal(SSL_write(s.ssl, "HTTP/1.1 101 ", 13), 13);
    assert_int_equal(SSL_write(s.ssl, "Switching", 9), 9);
    char buf[32768];
    int m = BIO_read(s.out, buf, sizeof(buf));
    assert_true(m > 0);
    assert_int_equal(st_tls_input(c, buf, (size_t)m), 0);
    char plain[64];
    size_t have = 0;
    for (long n; (n = st_tls_read(c, plain + have, sizeof(plain) - have)) > 0;) have += (size_t)n;
    assert_int_equal(have, 22);
    assert_memory_equal(plain, "HTTP/1.1 101 Switching", 22);
    assert_int_equal(st_tls_read(c, plain, sizeof(plain)), 0); /* nothing more yet */
    /* the server ends the session */
    SSL_shutdown(s.ssl);
    m = BIO_read(s.out, buf, sizeof(buf));
    assert_int_equal(st_tls_input(c, buf, (size_t)m), 0);
    assert_int_equal(st_tls_read(c, plain, sizeof(plain)), -1);
    assert_string_equal(st_tls_error(c), "the server ended the TLS session");
    st_tls_free(c);
    SSL_free(s.ssl);
    SSL_CTX_free(sctx);
    st_tls_ctx_free(cctx);
}

static void test_untrusted_or_misnamed_server(void **state)
{
    char err[256];
    SSL_CTX *sctx = server_ctx();
    /* the system store does not vouch for a self-signed certificate */
    st_tls_ctx_t *system = st_tls_ctx_create(NULL, err, sizeof(err));
    assert_non_null(system);
    server_t s = server_new(sctx);
    st_tls_t *c = st_tls_new(system, "127.0.0.1");
    assert_int_equal(pump(c, &s), -1);
    assert_false(st_tls_ready(c));
    printf("# %s\n", st_tls_error(c));
    assert_non_null(strstr(st_tls_error(c), "certificate verify failed: self-signed certificate"));
    st_tls_free(c);
    SSL_free(s.ssl);
    /* trusted, but issued to 127.0.0.1, not to the name asked for */
    st_tls_ctx_t *trusting = st_tls_ctx_create(cert, err, sizeof(err));
    s = server_new(sctx);
    c = st_tls_new(trusting, "api.upbit.com");
    assert_int_equal(pump(c, &s), -1);
    printf("# %s\n", st_tls_error(c));
    assert_non_null(strstr(st_tls_error(c), "certificate verify failed: hostname mismatch"));
    st_tls_free(c);
    SSL_free(s.ssl);
    /* and an address it does not carry */
    s = server_new(sctx);
    c = st_tls_new(trusting, "127.0.0.2");
    assert_int_equal(pump(c, &s), -1);
    printf("# %s\n", st_tls_error(c));
    assert_non_null(strstr(st_tls_error(c), "certificate verify failed: IP address mismatch"));
    st_tls_free(c);
    SSL_free(s.ssl);
    st_tls_ctx_free(trusting);
    st_tls_ctx_free(system);
    SSL_CTX_free(sctx);
}

static void test_not_tls_and_bad_ca_file(void **state)
{
    char err[256];
    st_tls_ctx_t *cctx = st_tls_ctx_create(cert, err, sizeof(err));
    st_tls_t *c = st_tls_new(cctx, "127.0.0.1");
    const char http[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(st_tls_input(c, http, sizeof(http) - 1), -1);
    printf("# %s\n", st_tls_error(c));
    assert_non_null(strstr(st_tls_error(c), "TLS handshake failed"));
    st_tls_free(c);
    st_tls_ctx_free(cctx);
    assert_null(st_tls_ctx_create("/nonexistent/ca.pem", err, sizeof(err)));
    assert_non_null(strstr(err, "cannot load the CA certificates of /nonexistent/ca.pem"));
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/strata-tlsbio-%d", (int)getpid());
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    return st_test_make_cert(dir);
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trusted_server),
        cmocka_unit_test(test_untrusted_or_misnamed_server),
        cmocka_unit_test(test_not_tls_and_bad_ca_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
