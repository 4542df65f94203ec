/* A TLS client session over memory (OpenSSL with memory BIOs), for a connection whose bytes
 * somebody else moves: ciphertext received goes in, plaintext comes out; plaintext to send goes
 * in, ciphertext to write comes out. No socket, no clock, no loop.
 *
 * Why: wsconn.c frames WebSocket itself over a raw libwebsockets connection (wsframe.h says
 * why), and libwebsockets 4.1 cannot start TLS on a raw client connection; so wss:// is this
 * module on a plain raw connection. The server is verified as libcurl and browsers do: its chain
 * against the CA store (tls_ca_file, or the system's), its name (or IP address) against the
 * certificate, TLS 1.2 at least; SNI carries the host name. */
#ifndef ST_FEEDS_TLSBIO_H
#define ST_FEEDS_TLSBIO_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ssl_ctx_st st_tls_ctx_t; /* OpenSSL's SSL_CTX */
typedef struct st_tls st_tls_t;

/* A client context trusting ca_file (PEM), or the system's CA store when it is NULL or "".
 * NULL with err on failure. */
st_tls_ctx_t *st_tls_ctx_create(const char *ca_file, char *err, size_t errlen);
void st_tls_ctx_free(st_tls_ctx_t *ctx);

/* A session with the server named host (a DNS name or an IP literal). The client's first
 * handshake message is ready to take at once. */
st_tls_t *st_tls_new(st_tls_ctx_t *ctx, const char *host);
void st_tls_free(st_tls_t *t);

/* Ciphertext from the server. Returns 0, or -1 when the handshake failed (st_tls_error says
 * why: "certificate verify failed: self-signed certificate"). */
int st_tls_input(st_tls_t *t, const void *data, size_t n);
/* Whether the handshake is done (plaintext flows both ways). */
bool st_tls_ready(const st_tls_t *t);
/* Plaintext received, up to cap bytes: its length, 0 when there is none yet, -1 when the
 * server closed the session or broke it (st_tls_error). */
long st_tls_read(st_tls_t *t, void *out, size_t cap);
/* Plaintext to send (after the handshake). Returns 0, or -1. */
int st_tls_write(st_tls_t *t, const void *data, size_t n);
/* Ciphertext waiting to be written: its length; st_tls_take moves up to cap bytes of it out. */
size_t st_tls_pending(const st_tls_t *t);
size_t st_tls_take(st_tls_t *t, void *out, size_t cap);
const char *st_tls_error(const st_tls_t *t);

#endif
