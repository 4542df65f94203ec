/* Starting and stopping strata-exsim from tests and benchmarks. */
#ifndef ST_TEST_SPAWN_H
#define ST_TEST_SPAWN_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../build_path.h"

/* The simulator: $STRATA_EXSIM (ctest sets it), or strata-exsim at the top of the build tree
 * this executable is in (tests/build_path.h finds it at any depth). Never a path compiled in: a
 * copied build tree runs its own simulator, not the one of the tree it was built in. */
static inline const char *exsim_path(void)
{
    const char *env = getenv("STRATA_EXSIM");
    return env && *env ? env : st_test_build_path("strata-exsim");
}

/* Starts the simulator at `speed` x real time from `start` (KST), with an extra option pair
 * (or NULLs); returns its port, 0 on failure. stderr goes to /dev/null unless EXSIM_STDERR is
 * set. */
static inline int exsim_spawn_with2(const char *speed, const char *start, const char *opt, const char *val,
                                    const char *opt2, const char *val2, pid_t *out)
{
    int fds[2];
    if (pipe(fds) != 0) return 0;
    pid_t p = fork();
    if (p == 0) {
        dup2(fds[1], 1);
        if (!getenv("EXSIM_STDERR")) { /* set it to see the simulator's complaints */
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 2);
        }
        close(fds[0]);
        execlp(exsim_path(), "strata-exsim", "--port", "0", "--duration", "120s", "--start", start, "--speed", speed,
              "--ping-idle", "3s", "--seed", "7", opt, val, opt2, val2, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[256] = "";
    size_t n = 0;
    while (n < sizeof(line) - 1 && read(fds[0], line + n, 1) == 1 && line[n] != '\n') n++;
    close(fds[0]);
    *out = p;
    const char *at = strstr(line, "listening on 127.0.0.1:"); /* the rest of the line names the time */
    return at ? atoi(at + strlen("listening on 127.0.0.1:")) : 0;
}

static inline int exsim_spawn_with(const char *speed, const char *start, const char *opt, const char *val,
                                   pid_t *out)
{
    return exsim_spawn_with2(speed, start, opt, val, NULL, NULL, out);
}

static inline int exsim_spawn(const char *speed, const char *start, pid_t *out)
{
    return exsim_spawn_with(speed, start, NULL, NULL, out);
}

/* Stops it; 0 when it exited cleanly. */
static inline int exsim_reap(pid_t p)
{
    kill(p, SIGTERM);
    int status = 0;
    if (waitpid(p, &status, 0) != p) {
        printf("# waitpid(strata-exsim): %s\n", strerror(errno));
        return -1;
    }
    if (WIFSIGNALED(status)) printf("# strata-exsim died of signal %d\n", WTERMSIG(status));
    else if (WEXITSTATUS(status)) printf("# strata-exsim exited %d\n", WEXITSTATUS(status));
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

#endif
