/* Signals (runtime/signals/signals.c): the cooldown, the jsonl file across a restart, the webhook
 * queue's bound and its drop count, and a webhook receiver on loopback that fails, is slow, goes
 * away and comes back: every signal is delivered once, in order, or counted as dropped. */
#include "../test.h"

#include "core/log.h"
#include "core/res.h"
#include "signals/signals.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <sys/socket.h>

static st_signal_t sig(const char *strategy, const char *symbol, st_time_t t, int n)
{
    st_signal_t s = {.time = t, .strength = 1.5, .price = 73100, .generation = 3, .fingerprint = 0xc769ded8d98ee007u,
                     .tier = 2};
    snprintf(s.strategy, sizeof(s.strategy), "%s", strategy);
    snprintf(s.symbol, sizeof(s.symbol), "%s", symbol);
    snprintf(s.side, sizeof(s.side), "buy");
    snprintf(s.reason, sizeof(s.reason), "n=%d \"quoted\"", n);
    return s;
}

static st_signals_cfg_t cfg_of(st_sink_cfg_t *sinks, size_t n, int64_t queue, st_dur_t cooldown)
{
    st_signals_cfg_t c = {.queue = queue, .cooldown = cooldown};
    c.sinks.items = sinks;
    c.sinks.n = n;
    return c;
}

/* A new market day ends every cooldown: yesterday's last signal does not hold back today's first
 * (issue 21.2); the counts go on. */
static void test_new_day_ends_cooldowns(void **state)
{
    st_sink_cfg_t sinks[] = {{.kind = ST_SINK_LOG}};
    st_signals_cfg_t c = cfg_of(sinks, 1, 10, 20 * ST_HOUR);
    char err[256];
    st_signals_t *s = st_signals_create(&c, EV_DEFAULT, err, sizeof(err));
    assert_non_null(s);
    st_time_t t = 1795000000LL * ST_SEC;
    st_signal_t a = sig("gap", "005930", t, 1);
    assert_int_equal(st_signals_emit(s, &a), 0);
    a.time = t + 10 * ST_HOUR;
    assert_int_equal(st_signals_emit(s, &a), 1); /* within the cooldown */
    st_signals_new_day(s);
    assert_int_equal(st_signals_emit(s, &a), 0); /* the same moment, a new day */
    assert_int_equal(st_signals_emit(s, &a), 1); /* and its own cooldown from there */
    st_signals_stats_t st;
    st_signals_stats(s, &st);
    assert_int_equal(st.emitted, 2);
    assert_int_equal(st.suppressed, 2);
    st_signals_destroy(s);
}

static void test_cooldown_per_strategy_and_symbol(void **state)
{
    st_sink_cfg_t sinks[] = {{.kind = ST_SINK_LOG}};
    st_signals_cfg_t c = cfg_of(sinks, 1, 10, 60 * ST_SEC);
    char err[256];
    st_signals_t *s = st_signals_create(&c, EV_DEFAULT, err, sizeof(err));
    assert_non_null(s);
    st_time_t t = 1795000000LL * ST_SEC;
    st_signal_t a = sig("gap", "005930", t, 1);
    assert_null(st_signals_recent(s, 0));
    assert_int_equal(st_signals_emit(s, &a), 0);
    a.time = t + 59 * ST_SEC;
    assert_int_equal(st_signals_emit(s, &a), 1); /* the same pair, within the cooldown */
    assert_int_equal(st_signals_recent(s, 0)->time, t); /* the dashboard's list: emitted ones only */
    assert_null(st_signals_recent(s, 1));
    st_signal_t b = sig("gap", "000660", t + ST_SEC, 2);
    assert_int_equal(st_signals_emit(s, &b), 0); /* another symbol */
    st_signal_t other = sig("volume", "005930", t + ST_SEC, 3);
    assert_int_equal(st_signals_emit(s, &other), 0); /* another strategy */
    a.time = t + 60 * ST_SEC;
    assert_int_equal(st_signals_emit(s, &a), 0); /* the cooldown is over */
    for (int i = 0; i < 1000; i++) { /* many pairs: the table grows and keeps them apart */
        char code[16];
        snprintf(code, sizeof(code), "S%04d", i);
        st_signal_t x = sig("flood", code, t, i);
        assert_int_equal(st_signals_emit(s, &x), 0);
        assert_int_equal(st_signals_emit(s, &x), 1);
    }
    st_signals_stats_t st;
    st_signals_stats(s, &st);
    assert_int_equal(st.emitted, 1004);
    assert_int_equal(st.suppressed, 1001);
    assert_int_equal(st.dropped, 0);
    uint64_t gap = 0, n;
    for (size_t i = 0; i < st_signals_strategies(s); i++)
        if (!strcmp(st_signals_strategy(s, i, &n), "gap")) gap = n;
    assert_int_equal(gap, 3);
    for (size_t i = 0; i < ST_SIGNALS_RECENT; i++) { /* the latest, oldest first */
        char code[16];
        snprintf(code, sizeof(code), "S%04zu", 1000 - ST_SIGNALS_RECENT + i);
        assert_string_equal(st_signals_recent(s, i)->symbol, code);
    }
    assert_null(st_signals_recent(s, ST_SIGNALS_RECENT));
    st_signals_destroy(s);
}

static char **read_lines(const char *path, size_t *n)
{
    char *text;
    assert_int_equal(st_file_read(path, &text, NULL), 0);
    char **lines = NULL;
    *n = 0;
    for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lines = realloc(lines, (*n + 1) * sizeof(char *));
        lines[(*n)++] = strdup(l);
    }
    free(text);
    return lines;
}

/* Appended, one JSON object per line, and still there after a restart: never truncated. */
static void test_jsonl_survives_restart(void **state)
{
    char *dir = st_test_tmpdir();
    char path[256];
    snprintf(path, sizeof(path), "%s/signals.jsonl", dir);
    st_sink_cfg_t sinks[] = {{.kind = ST_SINK_JSONL, .path = path}};
    st_signals_cfg_t c = cfg_of(sinks, 1, 10, 0);
    char err[256];
    st_time_t t = 1795000000LL * ST_SEC;
    for (int run = 0; run < 2; run++) {
        st_signals_t *s = st_signals_create(&c, EV_DEFAULT, err, sizeof(err));
        assert_non_null(s);
        for (int i = 0; i < 3; i++) {
            st_signal_t x = sig("gap", "005930", t + (run * 3 + i) * ST_SEC, run * 3 + i);
            assert_int_equal(st_signals_emit(s, &x), 0);
        }
        st_signals_destroy(s);
    }
    size_t n;
    char **lines = read_lines(path, &n);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_Parse(lines[i]);
        assert_non_null(o);
        char want[32];
        snprintf(want, sizeof(want), "n=%zu \"quoted\"", i);
        assert_string_equal(cJSON_GetObjectItem(o, "reason")->valuestring, want);
        assert_string_equal(cJSON_GetObjectItem(o, "strategy")->valuestring, "gap");
        assert_string_equal(cJSON_GetObjectItem(o, "symbol")->valuestring, "005930");
        assert_string_equal(cJSON_GetObjectItem(o, "side")->valuestring, "buy");
        assert_true(cJSON_GetObjectItem(o, "strength")->valuedouble == 1.5);
        assert_true(cJSON_GetObjectItem(o, "price")->valuedouble == 73100);
        assert_true(cJSON_GetObjectItem(o, "tier")->valuedouble == 2); /* where it came from */
        assert_true(cJSON_GetObjectItem(o, "generation")->valuedouble == 3);
        assert_string_equal(cJSON_GetObjectItem(o, "fingerprint")->valuestring, "c769ded8d98ee007");
        assert_true(cJSON_GetObjectItem(o, "ts")->valuedouble == (double)(t + (st_time_t)i * ST_SEC) / ST_SEC);
        cJSON_Delete(o);
        free(lines[i]);
    }
    free(lines);
    /* a file that cannot be opened is an error that names it */
    st_sink_cfg_t bad[] = {{.kind = ST_SINK_JSONL, .path = "/nonexistent/dir/x.jsonl"}};
    c = cfg_of(bad, 1, 10, 0);
    assert_null(st_signals_create(&c, EV_DEFAULT, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/dir/x.jsonl"));
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

/* --- a webhook receiver on loopback --------------------------------------------------------- */

typedef enum { RX_OK, RX_FAIL, RX_SLOW, RX_SILENT } rmode_t;

typedef struct {
    int fd;
    ev_io io;
    ev_timer slow;
    char buf[8192];
    size_t len;
} rconn_t;

static struct {
    int lfd, port;
    ev_io accept;
    rmode_t mode;
    int fail_left; /* RX_FAIL: this many 500s, then RX_OK */
    int requests;
    char *bodies[256]; /* accepted (200), in order */
    int nbodies;
    rconn_t *conns[64];
    int nconns;
} R;

static void rconn_close(rconn_t *c)
{
    ev_io_stop(EV_DEFAULT, &c->io);
    ev_timer_stop(EV_DEFAULT, &c->slow);
    close(c->fd);
    for (int i = 0; i < R.nconns; i++)
        if (R.conns[i] == c) R.conns[i] = R.conns[--R.nconns];
    free(c);
}

static void reply(rconn_t *c, int status)
{
    char resp[128];
    int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", status);
    if (write(c->fd, resp, (size_t)n) != n) rconn_close(c);
}

static void on_slow(struct ev_loop *loop, ev_timer *t, int revents)
{
    reply(t->data, 200);
}

/* One whole request in c->buf: record and answer it by the mode. */
static void on_request(rconn_t *c, const char *body, size_t blen)
{
    R.requests++;
    rmode_t m = R.mode;
    if (m == RX_FAIL && R.fail_left-- <= 0) m = R.mode = RX_OK;
    if (m == RX_FAIL) {
        reply(c, 500);
        return;
    }
    if (m == RX_SILENT) return;
    if (R.nbodies < 256) R.bodies[R.nbodies++] = strndup(body, blen);
    if (m == RX_SLOW) {
        ev_timer_set(&c->slow, 0.2, 0);
        ev_timer_start(EV_DEFAULT, &c->slow);
    } else {
        reply(c, 200);
    }
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
    rconn_t *c = w->data;
    ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len - 1);
    if (n <= 0) {
        rconn_close(c);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = 0;
    for (;;) { /* keep-alive: one or more requests in the buffer */
        char *end = strstr(c->buf, "\r\n\r\n");
        if (!end) return;
        const char *cl = strstr(c->buf, "Content-Length:");
        size_t blen = cl && cl < end ? (size_t)atoi(cl + 15) : 0;
        size_t hlen = (size_t)(end + 4 - c->buf);
        if (c->len < hlen + blen) return;
        on_request(c, c->buf + hlen, blen);
        memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
        c->len -= hlen + blen;
        c->buf[c->len] = 0;
    }
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    int fd = accept(R.lfd, NULL, NULL);
    if (fd < 0) return;
    rconn_t *c = calloc(1, sizeof(*c));
    c->fd = fd;
    ev_io_init(&c->io, on_read, fd, EV_READ);
    c->io.data = c;
    ev_timer_init(&c->slow, on_slow, 0, 0);
    c->slow.data = c;
    ev_io_start(EV_DEFAULT, &c->io);
    R.conns[R.nconns++] = c;
}

static void receiver_listen(void)
{
    R.lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(R.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)R.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(R.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(R.lfd, 16), 0);
    socklen_t al = sizeof(a);
    getsockname(R.lfd, (struct sockaddr *)&a, &al);
    R.port = ntohs(a.sin_port);
    ev_io_init(&R.accept, on_accept, R.lfd, EV_READ);
    ev_io_start(EV_DEFAULT, &R.accept);
}

/* The receiver goes away: no listener, every connection closed (requests are refused). */
static void receiver_down(void)
{
    ev_io_stop(EV_DEFAULT, &R.accept);
    close(R.lfd);
    while (R.nconns) rconn_close(R.conns[0]);
}

static bool settled(st_signals_t *s)
{
    st_signals_stats_t st;
    st_signals_stats(s, &st);
    return st.queued == 0;
}

/* Runs the loop until the webhook queue is empty (a safety bound of 30 s, not an assertion on
 * speed). */
static void run_until_settled(st_signals_t *s)
{
    ev_tstamp t0 = ev_time();
    while (!settled(s) && ev_time() - t0 < 30) ev_run(EV_DEFAULT, EVRUN_ONCE);
    assert_true(settled(s));
}

static void test_webhook_fails_slow_gone_healthy(void **state)
{
    memset(&R, 0, sizeof(R));
    signal(SIGPIPE, SIG_IGN);
    receiver_listen();
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", R.port);
    st_sink_cfg_t sinks[] = {{.kind = ST_SINK_WEBHOOK, .url = url, .timeout = 5 * ST_SEC, .retries = 4}};
    st_signals_cfg_t c = cfg_of(sinks, 1, 100, 0);
    char err[256];
    st_signals_t *s = st_signals_create(&c, EV_DEFAULT, err, sizeof(err));
    assert_non_null(s);
    st_time_t t = 1795000000LL * ST_SEC;
    int n = 0;

    /* failing: three 500s, then healthy; the retries carry the first signal through */
    R.mode = RX_FAIL, R.fail_left = 3;
    for (; n < 5; n++) {
        st_signal_t x = sig("gap", "005930", t + n, n);
        st_signals_emit(s, &x);
    }
    run_until_settled(s);
    /* slow (200 ms per answer, within the timeout) */
    R.mode = RX_SLOW;
    for (; n < 8; n++) {
        st_signal_t x = sig("gap", "005930", t + n, n);
        st_signals_emit(s, &x);
    }
    run_until_settled(s);
    /* gone: each signal is tried 1 + 4 times, then dropped and counted */
    receiver_down();
    for (; n < 10; n++) {
        st_signal_t x = sig("gap", "005930", t + n, n);
        st_signals_emit(s, &x);
    }
    run_until_settled(s);
    /* back on the same port, healthy */
    receiver_listen();
    R.mode = RX_OK;
    for (; n < 14; n++) {
        st_signal_t x = sig("gap", "005930", t + n, n);
        st_signals_emit(s, &x);
    }
    run_until_settled(s);

    st_signals_stats_t st;
    st_signals_stats(s, &st);
    printf("# %d signals: %llu delivered, %llu dropped, %llu retries, %d requests seen\n", n,
           (unsigned long long)st.delivered, (unsigned long long)st.dropped, (unsigned long long)st.retries,
           R.requests);
    assert_int_equal(st.emitted, 14);
    assert_int_equal(st.dropped, 2);                 /* the two sent while it was gone */
    assert_int_equal(st.delivered + st.dropped, 14); /* nothing lost beyond the counted drops */
    assert_int_equal(st.retries, 3 + 2 * 4);
    /* the receiver saw each delivered signal once, in order */
    assert_int_equal(R.nbodies, 12);
    int want[] = {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13};
    for (int i = 0; i < 12; i++) {
        cJSON *o = cJSON_Parse(R.bodies[i]);
        assert_non_null(o);
        char reason[32];
        snprintf(reason, sizeof(reason), "n=%d \"quoted\"", want[i]);
        assert_string_equal(cJSON_GetObjectItem(o, "reason")->valuestring, reason);
        cJSON_Delete(o);
        free(R.bodies[i]);
    }
    st_signals_destroy(s);
    receiver_down();
}

/* A receiver that never answers: one signal on the wire, the queue full behind it, and each
 * further signal pushes the oldest waiting one out, counted; the stop counts what was left. */
static void test_webhook_queue_bound(void **state)
{
    memset(&R, 0, sizeof(R));
    receiver_listen();
    R.mode = RX_SILENT;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", R.port);
    st_sink_cfg_t sinks[] = {{.kind = ST_SINK_WEBHOOK, .url = url, .timeout = 60 * ST_SEC, .retries = 0}};
    st_signals_cfg_t c = cfg_of(sinks, 1, 3, 0);
    char err[256];
    st_signals_t *s = st_signals_create(&c, EV_DEFAULT, err, sizeof(err));
    assert_non_null(s);
    for (int i = 0; i < 10; i++) {
        st_signal_t x = sig("gap", "005930", i, i);
        st_signals_emit(s, &x);
    }
    ev_tstamp t0 = ev_time();
    while (R.requests == 0 && ev_time() - t0 < 30) ev_run(EV_DEFAULT, EVRUN_ONCE);
    assert_int_equal(R.requests, 1);
    st_signals_stats_t st;
    st_signals_stats(s, &st);
    assert_int_equal(st.emitted, 10);
    assert_int_equal(st.queued, 3);
    assert_int_equal(st.dropped, 7);
    assert_int_equal(st.delivered, 0);
    st_signals_destroy(s); /* 3 never delivered */
    receiver_down();
}

int main(void)
{
    st_log_open(ST_LL_ERROR, ST_LOG_TEXT, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cooldown_per_strategy_and_symbol),
        cmocka_unit_test(test_new_day_ends_cooldowns),
        cmocka_unit_test(test_jsonl_survives_restart),
        cmocka_unit_test(test_webhook_queue_bound),
        cmocka_unit_test(test_webhook_fails_slow_gone_healthy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
