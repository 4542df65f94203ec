/* A `strata run` of the build tree as a child process, one of several instances of a config:
 * named by STRATA_INSTANCE, its stderr (the log) in DIR/NAME.err, stdout dropped. */
#ifndef ST_TEST_INSTANCE_H
#define ST_TEST_INSTANCE_H

#include "../test.h"
#include "core/res.h"

#include <fcntl.h>

/* The runtime part of an instance's config: a simulated clock from `start` at x1, the log at
 * info (to stderr), no status line, no session report. */
#define ST_TEST_INSTANCE_RUNTIME(start)                                                            \
    "runtime:\n  clock: {mode: simulated, start: \"" start "\", speed: 1}\n"                       \
    "  log: {level: info}\n  report_interval: 0\n  session_report: \"\"\n"

static inline pid_t st_test_instance(const char *dir, const char *name, const char *cfg)
{
    pid_t p = fork();
    if (p == 0) {
        char err[256];
        snprintf(err, sizeof(err), "%s/%s.err", dir, name);
        int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        setenv("STRATA_INSTANCE", name, 1);
        execl(STRATA_BIN, STRATA_BIN, "run", "-c", cfg, (char *)NULL);
        _exit(127);
    }
    return p;
}

/* Whether the instance's log says `what`. */
static inline bool st_test_instance_said(const char *dir, const char *name, const char *what)
{
    char path[256], *text = NULL;
    size_t len;
    snprintf(path, sizeof(path), "%s/%s.err", dir, name);
    if (st_file_read(path, &text, &len) != 0) return false;
    bool yes = strstr(text, what) != NULL;
    free(text);
    return yes;
}

#endif
