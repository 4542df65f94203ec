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

#include "core/timefmt.h"

/* Writes text to a fresh file in a private temp directory; returns the path (static buffer
 * per call site is not safe: the caller owns the returned malloc'd string). */
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

#endif
