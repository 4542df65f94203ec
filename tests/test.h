/* Shared test helpers: cmocka plus small utilities. */
#ifndef ST_TEST_H
#define ST_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "build_path.h"

#include "core/timefmt.h"
#include "market/universe.h"


/* Writes text to dir/name (replacing it); returns the path, malloc'd: the caller frees it. */
static inline char *st_test_write(const char *dir, const char *name, const char *text)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    if (!fp) {
        perror(path);
        abort();
    }
    fputs(text, fp);
    fclose(fp);
    return path;
}

/* Removes a test's temporary directory and everything in it; returns system()'s result. */
static inline int st_test_rmtree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static inline char *st_test_tmpdir(void)
{
    char tmpl[] = "/tmp/strata-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d) abort();
    return strdup(d);
}

/* A universe from CSV texts (stocks, indices), written to a scratch directory that is gone when
 * it returns: st_universe_load's result (0, or an error). */
static inline int st_test_universe(const char *stocks, const char *indices, st_universe_t *u, st_symtab_t *syms,
                                   st_arena_t *arena)
{
    char *dir = st_test_tmpdir();
    char *a = st_test_write(dir, "u.csv", stocks), *b = st_test_write(dir, "i.csv", indices);
    st_diags_t d;
    st_diags_init(&d);
    int rc = st_universe_load(u, a, b, syms, arena, &d);
    st_diags_free(&d);
    unlink(a), unlink(b), rmdir(dir);
    free(a), free(b), free(dir);
    return rc;
}

/* The integration tests' day: 2026-11-23 at hh:mm in the time zone in force (st_tz_set). */
static inline st_time_t st_test_at(const char *hhmm)
{
    struct tm tm;
    char buf[32];
    st_time_t t = 0;
    snprintf(buf, sizeof(buf), "2026-11-23 %s", hhmm);
    if (st_parse_datetime(buf, &tm) == 0) st_tz_mktime(NULL, &tm, &t);
    return t;
}

/* A TCP connection to addr:port (an IPv4 or IPv6 literal of the given family): the socket (the
 * caller closes it), or -errno. Tests only ever knock on loopback addresses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
/* A TCP port on 127.0.0.1 that was free a moment ago (for a child process to listen on). */
static inline int st_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static inline int st_test_tcp_connect(int family, const char *addr, int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t sl;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET, a->sin_port = htons((uint16_t)port), sl = sizeof(*a);
        inet_pton(AF_INET, addr, &a->sin_addr);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6, a->sin6_port = htons((uint16_t)port), sl = sizeof(*a);
        inet_pton(AF_INET6, addr, &a->sin6_addr);
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

#endif
