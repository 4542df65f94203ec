#include "tlsbio.h"
#include "core/common.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct st_tls {
    SSL *ssl;
    BIO *rbio, *wbio; /* ciphertext in, ciphertext out; owned by ssl */
    bool ready;
    char err[256];
};

/* OpenSSL's reason for the last failure into err: a certificate's verdict first. */
static void failed(st_tls_t *t, const char *what)
{
    long v = SSL_get_verify_result(t->ssl);
    unsigned long e = ERR_peek_last_error();
    char reason[160] = "";
    if (e) ERR_error_string_n(e, reason, sizeof(reason));
    if (v != X509_V_OK)
        snprintf(t->err, sizeof(t->err), "certificate verify failed: %s", X509_verify_cert_error_string(v));
    else if (reason[0])
        snprintf(t->err, sizeof(t->err), "%s: %s", what, reason);
    else
        snprintf(t->err, sizeof(t->err), "%s", what);
    ERR_clear_error();
}

st_tls_ctx_t *st_tls_ctx_create(const char *ca_file, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    int ok = ca_file && *ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                                 : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        unsigned long e = ERR_get_error();
        char reason[160] = "";
        if (e) ERR_error_string_n(e, reason, sizeof(reason));
        snprintf(err, errlen, "cannot load the CA certificates%s%s%s%s", ca_file && *ca_file ? " of " : "",
                 ca_file && *ca_file ? ca_file : "", reason[0] ? ": " : "", reason);
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

void st_tls_ctx_free(st_tls_ctx_t *ctx)
{
    SSL_CTX_free(ctx);
}

st_tls_t *st_tls_new(st_tls_ctx_t *ctx, const char *host)
{
    st_tls_t *t = st_xcalloc(1, sizeof(*t));
    t->ssl = SSL_new(ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    st_require(t->ssl && t->rbio && t->wbio); /* (only memory can fail here) */
    BIO_set_mem_eof_return(t->rbio, -1); /* empty is "more later", not the end */
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_connect_state(t->ssl);
    unsigned char addr[16];
    if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host); /* no SNI for an address */
    } else {
        SSL_set_tlsext_host_name(t->ssl, host);
        SSL_set1_host(t->ssl, host);
    }
    SSL_do_handshake(t->ssl); /* the ClientHello, into wbio */
    ERR_clear_error();
    return t;
}

void st_tls_free(st_tls_t *t)
{
    if (!t) return;
    SSL_free(t->ssl); /* and its BIOs */
    free(t);
}

int st_tls_input(st_tls_t *t, const void *data, size_t n)
{
    if (n && BIO_write(t->rbio, data, (int)n) != (int)n) {
        snprintf(t->err, sizeof(t->err), "cannot buffer %zu bytes", n);
        return -1;
    }
    if (t->ready) return 0;
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->ready = true;
        return 0;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    failed(t, "TLS handshake failed");
    return -1;
}

bool st_tls_ready(const st_tls_t *t)
{
    return t->ready;
}

long st_tls_read(st_tls_t *t, void *out, size_t cap)
{
    if (!t->ready) return 0;
    int r = SSL_read(t->ssl, out, (int)(cap > 1u << 30 ? 1u << 30 : cap));
    if (r > 0) return r;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    if (e == SSL_ERROR_ZERO_RETURN) snprintf(t->err, sizeof(t->err), "the server ended the TLS session");
    else failed(t, "TLS error");
    return -1;
}

int st_tls_write(st_tls_t *t, const void *data, size_t n)
{
    if (!t->ready) {
        snprintf(t->err, sizeof(t->err), "TLS write before the handshake");
        return -1;
    }
    while (n) { /* into memory: it all goes, record by record */
        int r = SSL_write(t->ssl, data, (int)(n > 1u << 30 ? 1u << 30 : n));
        if (r <= 0) {
            failed(t, "TLS write failed");
            return -1;
        }
        data = (const char *)data + r;
        n -= (size_t)r;
    }
    return 0;
}

size_t st_tls_pending(const st_tls_t *t)
{
    return (size_t)BIO_ctrl_pending(t->wbio);
}

size_t st_tls_take(st_tls_t *t, void *out, size_t cap)
{
    int r = BIO_read(t->wbio, out, (int)(cap > 1u << 30 ? 1u << 30 : cap));
    return r > 0 ? (size_t)r : 0;
}

const char *st_tls_error(const st_tls_t *t)
{
    return t->err;
}
