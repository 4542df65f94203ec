/* A throwaway self-signed certificate for 127.0.0.1 (DIR/cert.pem, DIR/key.pem) for the tests
 * and benchmarks that serve TLS on loopback: made with the openssl command (scripts/setup.sh
 * installs it), valid two days. */
#ifndef ST_TESTS_TLS_CERT_H
#define ST_TESTS_TLS_CERT_H

#include <stdio.h>
#include <stdlib.h>

/* Makes dir (and its parents) and the pair in it; 0 on success. */
static inline int st_test_make_cert(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1",
             dir, dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
