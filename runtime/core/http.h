/* HTTP requests on the one loop: libcurl's multi-socket API driven by libev, no blocking call
 * and no thread. Connections are kept alive and reused (HTTP/1.1) through the multi handle's
 * cache; TLS uses the system CA store. Timeouts are real time (network time does not follow a
 * simulated clock). Never pass secrets to the log: this module logs nothing about requests. */
#ifndef ST_CORE_HTTP_H
#define ST_CORE_HTTP_H

#include "common.h"

#include <ev.h>

typedef struct {
    int status;          /* HTTP status; 0 when the request failed before one arrived */
    int error;           /* 0, or the libcurl error code (CURLE_*) */
    const char *message; /* the libcurl error text, "" on success */
    const char *body;    /* NUL-terminated */
    size_t body_len;
    const char *headers; /* the raw response header block, NUL-terminated */
    st_dur_t elapsed;    /* from the request to its completion */
} st_http_response_t;

/* Called once per request, on the loop. The response's pointers are valid during the call. */
typedef void (*st_http_cb)(const st_http_response_t *r, void *ctx);

typedef struct st_http st_http_t;

st_http_t *st_http_create(struct ev_loop *loop);
/* Cancels what is in flight (their callbacks are not called) and frees everything. */
void st_http_destroy(st_http_t *h);
/* Starts a request. headers is NULL or a NULL-terminated list of "Name: value"; body NULL for
 * none. Returns 0, or a negative errno when it could not be started (no callback then). */
int st_http_request(st_http_t *h, const char *method, const char *url, const char *const *headers,
                    const char *body, st_dur_t timeout, st_http_cb cb, void *ctx);
/* Trust the certificates in ca_file (PEM) instead of the system CA store; NULL or "" = the
 * system store. */
void st_http_set_ca(st_http_t *h, const char *ca_file);
/* Requests in flight. */
int st_http_pending(const st_http_t *h);
/* A header's value in a response header block (case-insensitive name), copied into buf;
 * returns buf, or NULL when absent. */
const char *st_http_header(const char *headers, const char *name, char *buf, size_t len);

#endif
