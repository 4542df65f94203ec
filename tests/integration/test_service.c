/* Issue 21.3: strata under systemd. The unit passes `systemd-analyze verify`; the notify
 * protocol is exercised against a fake NOTIFY_SOCKET (a datagram socket this test reads), as
 * systemd would run strata with Type=notify and WatchdogSec=: READY=1 with a STATUS= line,
 * WATCHDOG=1 from the event loop (and none while a plugin blocks the loop for 4 s: the
 * longest silence is at least 2 s, whatever the machine's load), RELOADING=1 then READY=1
 * around a SIGHUP, STOPPING=1 at SIGTERM. */
#include "../test.h"

#include "core/res.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

static char *dir;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
    double at;
    char text[600];
} msg_t;

static msg_t msgs[4096];
static size_t nmsgs;

/* Reads what strata sends until `want` is in a message (or `secs` pass); true when it came. */
static bool read_until(int fd, const char *want, double secs)
{
    double end = now_s() + secs;
    while (now_s() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        char buf[600];
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0 || nmsgs == ST_ARRAY_SIZE(msgs)) continue;
        buf[n] = 0;
        msgs[nmsgs].at = now_s();
        snprintf(msgs[nmsgs].text, sizeof(msgs[0].text), "%s", buf);
        if (want && strstr(msgs[nmsgs++].text, want)) return true;
    }
    return false;
}

static void test_unit_verifies(void **state)
{
    char *text;
    assert_int_equal(st_file_read(st_test_source_path("packaging/strata.service.in"), &text, NULL), 0);
    char unit[8192] = "";
    for (const char *p = text; *p;) { /* the unit as installed, with this build's binary */
        const char *at = strchr(p, '@');
        const char *end = at ? strchr(at + 1, '@') : NULL;
        if (!at || !end) {
            snprintf(unit + strlen(unit), sizeof(unit) - strlen(unit), "%s", p);
            break;
        }
        snprintf(unit + strlen(unit), sizeof(unit) - strlen(unit), "%.*s%s", (int)(at - p), p,
                 !strncmp(at, "@STRATA_UNIT_BIN@", 17) ? STRATA_BIN : "/usr/share/doc/strata");
        p = end + 1;
    }
    free(text);
    assert_null(strchr(unit, '@'));
    assert_non_null(strstr(unit, "Type=notify"));
    assert_non_null(strstr(unit, "WatchdogSec="));
    assert_non_null(strstr(unit, "ExecReload=/bin/kill -HUP $MAINPID"));
    free(st_test_write(dir, "strata.service", unit));
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "cd '%s' && systemd-analyze verify ./strata.service > verify.txt 2>&1", dir);
    int rc = system(cmd);
    snprintf(cmd, sizeof(cmd), "%s/verify.txt", dir);
    char *out = NULL;
    st_file_read(cmd, &out, NULL);
    if (rc) fail_msg("systemd-analyze verify: %s", out ? out : "");
    free(out);
}

static void test_notify_protocol(void **state)
{
    char sock[300];
    snprintf(sock, sizeof(sock), "%s/notify", dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    assert_true(strlen(sock) < sizeof(a.sun_path));
    memcpy(a.sun_path, sock, strlen(sock) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 09:00\", speed: 1}\n"
             "  log: {file: %s/strata.log}\n  session_report: \"\"\n"
             "market: {universe: %s/config/universe.csv, indices: %s/config/indices.csv}\n"
             "feeds: [{name: sim, kind: sim}]\n"
             "strategies: [{name: sleepy, kind: c, path: %s}]\n"
             "status: {enabled: false}\n",
             dir, STRATA_SOURCE_DIR, STRATA_SOURCE_DIR, TEST_PLUGIN("sleepy"));
    char *cfg = st_test_write(dir, "strata.yaml", yaml);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("NOTIFY_SOCKET", sock, 1);
        setenv("WATCHDOG_USEC", "300000", 1); /* a ping every 0.1 s */
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        execl(STRATA_BIN, STRATA_BIN, "run", "-c", cfg, (char *)NULL);
        _exit(127);
    }
    assert_true(read_until(fd, "READY=1", 60));
    assert_non_null(strstr(msgs[nmsgs - 1].text, "STATUS=[")); /* the status line */
    size_t ready = nmsgs - 1;
    /* the pings, through the plugin's 4 s nap a second in and until 10 have come after it */
    double longest = 0, gap_end = 0;
    size_t after = 0, pings = 0;
    for (double end = now_s() + 60; now_s() < end && after < 10;) {
        read_until(fd, "WATCHDOG=1", 1);
        double prev = -1;
        pings = after = 0, longest = 0;
        for (size_t i = ready + 1; i < nmsgs; i++) {
            if (!strstr(msgs[i].text, "WATCHDOG=1")) continue;
            pings++;
            if (prev >= 0 && msgs[i].at - prev > longest) longest = msgs[i].at - prev, gap_end = msgs[i].at;
            prev = msgs[i].at;
            after += longest >= 2 && msgs[i].at > gap_end;
        }
    }
    printf("# %zu watchdog pings; the longest silence %.2f s (the plugin blocked the loop for 4 s)\n", pings, longest);
    assert_true(longest >= 2);   /* no ping while the loop stood still */
    assert_true(after >= 10);    /* and they came again */

    kill(pid, SIGHUP);
    assert_true(read_until(fd, "RELOADING=1", 30));
    assert_non_null(strstr(msgs[nmsgs - 1].text, "MONOTONIC_USEC="));
    assert_true(read_until(fd, "READY=1", 30));
    kill(pid, SIGTERM);
    assert_true(read_until(fd, "STOPPING=1", 30));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd);
    unlink(sock);
    free(cfg);
}

static int setup(void **state)
{
    dir = st_test_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    int rc = st_test_rmtree(dir);
    free(dir);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_verifies),
        cmocka_unit_test(test_notify_protocol),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
