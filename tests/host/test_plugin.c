/* C plugins: a good one loads, starts, gets ticks and calls the host; a 1.x plugin, a later ABI
 * major, a short
 * descriptor and a shared object without the symbol are refused with a message naming the
 * plugin and saying to rebuild; two loads of one file are two copies (a reload never gets the
 * loader's cached old code); a plugin may refuse to start. The test plugins are built in
 * tests/host/plugins/ against the public header alone. */
#include "../test.h"

#include "core/log.h"
#include "core/res.h"
#include "host/plugin.h"

#include <signal.h>
#include <sys/wait.h>

typedef struct {
    char calls[16][96];
    int n;
} rec_t;

/* The context a test hands the plugin: its record (strata's own is opaque). */
struct strata_ctx {
    rec_t r;
};

static int h_watch(strata_ctx_t *ctx, const char *code, int prio)
{
    rec_t *r = &ctx->r;
    snprintf(r->calls[r->n++ % 16], 96, "watch %s %d", code, prio);
    return 0;
}

static int h_signal(strata_ctx_t *ctx, const char *code, int side, double strength, const char *reason)
{
    rec_t *r = &ctx->r;
    snprintf(r->calls[r->n++ % 16], 96, "signal %s %d %.1f %s", code, side, strength, reason);
    return 0;
}

static int h_score(strata_ctx_t *ctx, const char *code, double score)
{
    rec_t *r = &ctx->r;
    snprintf(r->calls[r->n++ % 16], 96, "score %s %.0f", code, score);
    return 0;
}

static const strata_host_t host = {.size = sizeof(strata_host_t), .abi_major = STRATA_ABI_MAJOR,
                                   .abi_minor = STRATA_ABI_MINOR, .watch = h_watch,
                                   .update_performance_score = h_score, .signal = h_signal};

static st_tick_t trade(double price)
{
    st_tick_t t;
    memset(&t, 0, sizeof(t));
    t.kind = ST_TICK_TRADE;
    t.u.trade.price = price;
    return t;
}

static void test_good_plugin(void **state)
{
    st_plugin_t *p;
    char err[512] = "";
    assert_int_equal(st_plugin_open(&p, "good", TEST_PLUGIN("good"), err, sizeof(err)), 0);
    assert_string_equal(st_plugin_descriptor(p)->name, "good");
    strata_ctx_t c = {.r = {.n = 0}};
    rec_t *rp = &c.r;
    const char *k[] = {"threshold"}, *v[] = {"1500"};
    assert_int_equal(st_plugin_init(p, &host, &c, k, v, 1), 0);
    st_tick_t a = trade(1000), b = trade(2000);
    assert_int_equal(st_plugin_on_tick(p, "005930", &a), 0);
    assert_int_equal(st_plugin_on_tick(p, "005930", &b), 0);
    st_tick_t book;
    memset(&book, 0, sizeof(book));
    book.kind = ST_TICK_ORDERBOOK;
    assert_int_equal(st_plugin_on_tick(p, "005930", &book), 1); /* no on_orderbook */
    assert_int_equal(st_plugin_on_timer(p, "count"), 0);
    assert_int_equal(st_plugin_on_timeslot(p, "lunch"), 1);
    assert_int_equal(st_plugin_on_day(p, "2026-12-07"), 0);
    assert_int_equal(st_plugin_on_emergency(p, "000270", false, "unknown symbol 000270"), 0);
    assert_int_equal(st_plugin_on_emergency(p, "035420", true, ""), 0);
    assert_int_equal(rp->n, 6);
    assert_string_equal(rp->calls[0], "watch 005930 1");
    assert_string_equal(rp->calls[1], "signal 005930 1 2.0 threshold"); /* STRATA_SIDE_BUY */
    assert_string_equal(rp->calls[2], "score count 2");
    assert_string_equal(rp->calls[3], "signal 005930 0 0.0 2026-12-07"); /* on_day, with the date */
    assert_string_equal(rp->calls[4], "signal 000270 2 0.0 unknown symbol 000270"); /* on_emergency: refused */
    assert_string_equal(rp->calls[5], "signal 035420 1 0.0 "); /* granted */

    /* The same file again is a second copy with its own statics. */
    st_plugin_t *q;
    assert_int_equal(st_plugin_open(&q, "good-again", TEST_PLUGIN("good"), err, sizeof(err)), 0);
    strata_ctx_t c2 = {.r = {.n = 0}};
    assert_int_equal(st_plugin_init(q, &host, &c2, NULL, NULL, 0), 0);
    assert_int_equal(st_plugin_on_timer(q, "count"), 0);
    assert_string_equal(c2.r.calls[1], "score count 0");
    st_plugin_close(q);
    st_plugin_close(p);

    /* A descriptor of an older minor version is read only as far as its size: a 2.2 build has
     * on_day and no on_emergency (what lies past it is never called). */
    assert_int_equal(st_plugin_open(&p, "minor2", TEST_PLUGIN("minor2"), err, sizeof(err)), 0);
    assert_int_equal(st_plugin_init(p, &host, &c, NULL, NULL, 0), 0);
    assert_int_equal(st_plugin_on_day(p, "2026-12-07"), 0);
    assert_int_equal(st_plugin_on_emergency(p, "035420", true, ""), 1);
    st_plugin_close(p);

    /* A plugin may refuse to start. */
    assert_int_equal(st_plugin_open(&p, "good", TEST_PLUGIN("good"), err, sizeof(err)), 0);
    const char *neg[] = {"-1"};
    assert_int_equal(st_plugin_init(p, &host, &c, k, neg, 1), -ECANCELED);
    assert_int_equal(st_plugin_on_tick(p, "005930", &a), 1); /* never started: never called */
    st_plugin_close(p);
}

static void refused(const char *path, const char *name, const char *what)
{
    st_plugin_t *p = NULL;
    char err[512] = "";
    assert_true(st_plugin_open(&p, name, path, err, sizeof(err)) < 0);
    assert_null(p);
    if (!strstr(err, what)) printf("# %s\n", err);
    assert_non_null(strstr(err, what));
    assert_non_null(strstr(err, name));
}

static void test_bad_plugins_refused(void **state)
{
    refused(TEST_PLUGIN("old_abi"), "old", "was built for strata plugin ABI 1.1; this strata speaks 2.3: rebuild it");
    refused(TEST_PLUGIN("future_abi"), "future", "was built for strata plugin ABI 3.0; this strata speaks 2.3: rebuild it");
    refused(TEST_PLUGIN("short"), "short", "its descriptor is 24 bytes, this strata needs");
    refused(TEST_PLUGIN("nosym"), "nosym", "no strata_plugin_v2 symbol; build it with STRATA_PLUGIN_EXPORT");
    refused("/nonexistent/plugin.so", "ghost", "cannot read /nonexistent/plugin.so");
}

/* Issue 15.10: a fatal signal in a plugin's callback is logged with the plugin and the callback,
 * then the process dies of that signal (its default action; under ASan the sanitizer's report
 * follows). Each crash runs in a child process. */
static void crash_child(const char *how, int sig)
{
    char *dir = st_test_tmpdir(), log[300];
    snprintf(log, sizeof(log), "%s/crash.log", dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL); /* cmocka's own handlers out of the way: strata's run first */
        signal(SIGFPE, SIG_DFL);
        signal(SIGABRT, SIG_DFL);
        st_log_open(ST_LL_WARN, ST_LOG_TEXT, log);
        st_plugin_t *p;
        char err[512];
        if (st_plugin_open(&p, "crashy", TEST_PLUGIN("crash"), err, sizeof(err)) != 0) _exit(3);
        const char *k[] = {"how"}, *v[] = {how};
        strata_ctx_t c = {.r = {.n = 0}};
        if (st_plugin_init(p, &host, &c, k, v, 1) != 0) _exit(4);
        st_tick_t t = trade(100);
        st_plugin_on_tick(p, "005930", &t);
        _exit(0); /* not reached */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    char *text = NULL;
    assert_int_equal(st_file_read(log, &text, NULL), 0);
    printf("# %s: %s", how, text);
    char want[128];
    snprintf(want, sizeof(want), "strata: fatal signal %s in plugin 'crashy' (on_trade)",
             sig == SIGSEGV ? "SIGSEGV" : sig == SIGFPE ? "SIGFPE" : "SIGABRT");
    assert_non_null(strstr(text, want));
#if !defined(__SANITIZE_ADDRESS__)
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), sig);
#else
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif
    free(text);
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

static void test_fatal_signal_names_the_plugin(void **state)
{
    crash_child("segv", SIGSEGV);
    crash_child("fpe", SIGFPE);
    crash_child("abort", SIGABRT);
}

int main(void)
{
    st_log_open(ST_LL_ALERT, ST_LOG_TEXT, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_plugin),
        cmocka_unit_test(test_bad_plugins_refused),
        cmocka_unit_test(test_fatal_signal_names_the_plugin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
