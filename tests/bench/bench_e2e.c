/* End-to-end CPU per tick (issue 19.2): a fixed stream of venue frames replayed into a whole
 * `strata run` process — WebSocket receive (libwebsockets), decode, the feed, ledger and
 * dispatch, one Lua strategy that counts the ticks — with no simulator in the loop.
 *
 * A frame server of this benchmark (a child process; plain sockets, blocking, nothing of
 * strata's) answers the KIS approval-key call, accepts the WebSocket, answers each
 * registration as KIS does, and when every registration came in tells this process, which reads
 * strata's CPU (/proc/PID/stat), and then writes the whole stream, pre-encoded, as fast as the
 * socket takes it. strata's strategy signals when it has counted the last tick; the CPU is read
 * again. What strata spent between the two readings, over the ticks, is the figure: its start
 * (config, universe, Lua, connecting) is not in it.
 *
 * Two streams: KIS (10 symbols in tier 1: H0STCNT0 trade frames of one record and H0STASP0
 * orderbook frames, alternating) and Upbit (10 markets: 30-level DEFAULT orderbook messages,
 * the message whose CPU is compared with other clients'). `--vs PATH` runs another strata
 * binary (e.g. an earlier commit's build) alternately with this build's, and prints the
 * ratio; `--quick` runs one short round (ctest keeps the benchmark working with it). */
#define _GNU_SOURCE
#include "bench_util.h"
#include "../feeds/kis_encode.h"
#include "../tls_cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSYMS 10
static const char *const codes[NSYMS] = {"005930", "000660", "005380", "035420", "051910",
                                         "006400", "068270", "105560", "055550", "035720"};
static const char *const markets[NSYMS] = {"KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE",
                                           "KRW-ADA", "KRW-TRX", "KRW-AVAX", "KRW-LINK", "KRW-DOT"};

typedef struct {
    bool upbit, tls; /* tls: Upbit over wss:// */
    char *stream; /* WebSocket frames, as the server writes them: one cycle */
    size_t len, cap;
    long ticks;   /* normalized ticks one cycle makes */
    int reps;     /* cycles written */
} stream_t;

/* --- the stream ---------------------------------------------------------------------------- */

static void put(stream_t *s, const void *p, size_t n)
{
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->stream = realloc(s->stream, s->cap);
    }
    memcpy(s->stream + s->len, p, n);
    s->len += n;
}

/* One unmasked server frame (RFC 6455 5.2): FIN, the opcode, the length. */
static void put_frame(stream_t *s, int opcode, const char *payload, size_t n)
{
    uint8_t h[10];
    size_t hl = 2;
    h[0] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        h[1] = (uint8_t)n;
    } else if (n < 65536) {
        h[1] = 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        hl = 10;
    }
    put(s, h, hl);
    put(s, payload, n);
}

/* KIS: per round, for each symbol a one-record trade frame and an orderbook frame, prices
 * walking a tick at a time, timestamps a second apart (10:00 KST onwards). */
static void make_kis(stream_t *s, int rounds)
{
    char buf[4096];
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < NSYMS; i++) {
            double px = 50000 + i * 1000 + (r % 40) * 50;
            st_tick_t t = {.kind = ST_TICK_TRADE, .venue_time = ((st_time_t)1795395600 + r) * ST_SEC};
            t.u.trade = (st_trade_t){.price = px, .volume = 1 + r % 17, .open = 50000 + i * 1000, .high = px + 500,
                                     .low = px - 500, .prev_close = 49500 + i * 1000, .cum_volume = 100000 + r,
                                     .cum_value = 5e9 + r * px, .best_bid = px - 50, .best_ask = px,
                                     .side = (uint8_t)(r % 2 ? ST_SIDE_BUY : ST_SIDE_SELL)};
            const char *code = codes[i];
            size_t n = st_kis_encode_trades(buf, sizeof(buf), &t, &code, 1, 9 * 3600);
            put_frame(s, 1, buf, n);
            st_tick_t b = {.kind = ST_TICK_ORDERBOOK, .venue_time = t.venue_time};
            for (int l = 0; l < ST_BOOK_DEPTH; l++) {
                b.u.book.ask[l] = px + 50 * l;
                b.u.book.bid[l] = px - 50 * (l + 1);
                b.u.book.ask_qty[l] = 100 + l * 7 + r % 13;
                b.u.book.bid_qty[l] = 120 + l * 5 + r % 11;
            }
            b.u.book.total_ask_qty = 5000 + r % 100;
            b.u.book.total_bid_qty = 6000 + r % 90;
            n = st_kis_encode_book(buf, sizeof(buf), &b, code, 9 * 3600);
            put_frame(s, 1, buf, n);
            s->ticks += 2;
        }
    }
}

/* Upbit: 30-level DEFAULT orderbook messages (prices whole, sizes with 8 decimals) in binary
 * frames, as Upbit sends them, the markets in turn. */
static void make_upbit(stream_t *s, int rounds)
{
    char book[8192];
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < NSYMS; i++) {
            int base = 32287000 + i * 10000 + (r % 40) * 1000;
            int n = snprintf(book, sizeof(book),
                             "{\"type\":\"orderbook\",\"code\":\"%s\",\"timestamp\":%lld,"
                             "\"total_ask_size\":4.%08d,\"total_bid_size\":2.%08d,\"orderbook_units\":[",
                             markets[i], 1795395600000ll + r * 100, 79158413 + r % 1000, 65609625 - r % 1000);
            for (int l = 0; l < 30; l++)
                n += snprintf(book + n, sizeof(book) - (size_t)n,
                              "%s{\"ask_price\":%d.0,\"bid_price\":%d.0,\"ask_size\":0.%08d,\"bid_size\":0.%08d}",
                              l ? "," : "", base + 1000 + l * 1000, base - l * 1000, 1234567 + l * 7919 + r % 97,
                              7654321 - l * 104729 + r % 89);
            n += snprintf(book + n, sizeof(book) - (size_t)n, "],\"stream_type\":\"REALTIME\",\"level\":0}");
            put_frame(s, 2, book, (size_t)n);
            s->ticks++;
        }
    }
}

/* --- the frame server ---------------------------------------------------------------------- */

typedef struct {
    int fd;
    SSL *ssl; /* wss://: the session over fd */
    char buf[65536];
    size_t n, off;
} rd_t;

static bool fill(rd_t *r)
{
    if (r->off) {
        memmove(r->buf, r->buf + r->off, r->n - r->off);
        r->n -= r->off;
        r->off = 0;
    }
    if (r->n == sizeof(r->buf)) return false;
    ssize_t k = r->ssl ? SSL_read(r->ssl, r->buf + r->n, (int)(sizeof(r->buf) - r->n))
                     : read(r->fd, r->buf + r->n, sizeof(r->buf) - r->n);
    if (k <= 0) return false;
    r->n += (size_t)k;
    return true;
}

static bool write_all(rd_t *r, const char *p, size_t n)
{
    while (n) {
        ssize_t k = r->ssl ? SSL_write(r->ssl, p, (int)(n > 1u << 20 ? 1u << 20 : n)) : write(r->fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* The value of a header of the request head (case-insensitive name), into out. */
static bool header(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, name, nl) == 0 && l[2 + nl] == ':') {
            const char *v = l + 3 + nl;
            while (*v == ' ') v++;
            size_t vl = strcspn(v, ",\r");
            snprintf(out, cap, "%.*s", (int)vl, v);
            return true;
        }
    }
    return false;
}

/* A string member's value in a JSON text (the first one of that name; the messages here are
 * strata's own, well formed). */
static void json_str(const char *j, const char *name, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":\"", name);
    const char *p = strstr(j, pat);
    out[0] = '\0';
    if (p) snprintf(out, cap, "%.*s", (int)strcspn(p + strlen(pat), "\""), p + strlen(pat));
}

typedef struct {
    const stream_t *s;
    SSL_CTX *tls; /* wss:// */
    int expected;     /* registrations (KIS) before the stream starts; Upbit: one request */
    int ready_w, go_r; /* to and from the benchmark */
} server_t;

/* One WebSocket session: registrations answered, then the stream, then reading until strata
 * closes. */
static void serve_ws(rd_t *r, const char *head, const server_t *sv)
{
    char key[128] = "", proto[128] = "", in[256];
    header(head, "Sec-WebSocket-Key", key, sizeof(key));
    snprintf(in, sizeof(in), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    unsigned char md[20];
    char accept[64], resp[512];
    lws_SHA1((const unsigned char *)in, strlen(in), md);
    lws_b64_encode_string((const char *)md, 20, accept, sizeof(accept));
    bool has_proto = header(head, "Sec-WebSocket-Protocol", proto, sizeof(proto));
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n%s%s%s\r\n",
                     accept, has_proto ? "Sec-WebSocket-Protocol: " : "", has_proto ? proto : "",
                     has_proto ? "\r\n" : "");
    if (!write_all(r, resp, (size_t)n)) return;
    int registered = 0;
    bool sent = false;
    for (;;) {
        while (r->n - r->off < 2)
            if (!fill(r)) return;
        uint8_t *h = (uint8_t *)r->buf + r->off;
        int op = h[0] & 0x0f;
        bool masked = h[1] & 0x80;
        uint64_t len = h[1] & 0x7f;
        size_t hl = 2;
        if (len == 126) hl = 4;
        else if (len == 127) hl = 10;
        hl += masked ? 4 : 0;
        while (r->n - r->off < hl)
            if (!fill(r)) return;
        h = (uint8_t *)r->buf + r->off;
        if (len == 126) len = (uint64_t)h[2] << 8 | h[3];
        else if (len == 127)
            for (int i = 0; i < 8; i++) len = len << 8 | h[2 + i];
        if (len > sizeof(r->buf) - 16) return;
        while (r->n - r->off < hl + len)
            if (!fill(r)) return;
        h = (uint8_t *)r->buf + r->off;
        char *p = (char *)h + hl;
        if (masked)
            for (uint64_t i = 0; i < len; i++) p[i] ^= (char)h[hl - 4 + i % 4];
        r->off += hl + (size_t)len;
        char msg[4096];
        snprintf(msg, sizeof(msg), "%.*s", (int)(len < sizeof(msg) ? len : sizeof(msg) - 1), p);
        if (getenv("BENCH_E2E_STDERR")) fprintf(stderr, "server: op %d: %.200s\n", op, msg);
        if (op == 8) return; /* close */
        stream_t reply = {0};
        if (op == 9) put_frame(&reply, 10, p, (size_t)len); /* ping: pong */
        if ((op == 1 || op == 2) && !sent) {
            if (!sv->s->upbit && strstr(msg, "\"tr_type\":\"1\"")) {
                char tr_id[32], tr_key[32], ack[512];
                json_str(msg, "tr_id", tr_id, sizeof(tr_id));
                json_str(msg, "tr_key", tr_key, sizeof(tr_key));
                int k = snprintf(ack, sizeof(ack),
                                 "{\"header\":{\"tr_id\":\"%s\",\"tr_key\":\"%s\",\"encrypt\":\"N\"},\"body\":"
                                 "{\"rt_cd\":\"0\",\"msg_cd\":\"OPSP0000\",\"msg1\":\"SUBSCRIBE SUCCESS\",\"output\":"
                                 "{\"iv\":\"55ce3d099479ce11\",\"key\":\"tvldhmfplvgcovaqrspclzhdotfzzequ\"}}}",
                                 tr_id, tr_key);
                put_frame(&reply, 1, ack, (size_t)k);
                registered++;
            } else if (sv->s->upbit && strstr(msg, "\"orderbook\"")) {
                registered = sv->expected;
            }
        }
        if (reply.len && !write_all(r, reply.stream, reply.len)) return;
        free(reply.stream);
        if (!sent && registered >= sv->expected) { /* every registration in: the benchmark reads the CPU */
            char c = 'r';
            if (write(sv->ready_w, &c, 1) != 1 || read(sv->go_r, &c, 1) != 1) return;
            for (int k = 0; k < sv->s->reps; k++)
                if (!write_all(r, sv->s->stream, sv->s->len)) return;
            sent = true;
        }
    }
}

/* One connection: an HTTP call (the approval key, a token) or the WebSocket. */
static void serve_conn(int fd, const server_t *sv)
{
    rd_t *r = calloc(1, sizeof(*r));
    r->fd = fd;
    if (sv->tls) {
        r->ssl = SSL_new(sv->tls);
        SSL_set_fd(r->ssl, fd);
        if (SSL_accept(r->ssl) != 1) return;
    }
    char *end = NULL;
    while (!(end = memmem(r->buf, r->n, "\r\n\r\n", 4)))
        if (!fill(r)) return;
    size_t hl = (size_t)(end - r->buf) + 4;
    char *head = strndup(r->buf, hl);
    r->off = hl;
    char v[64];
    if (header(head, "Upgrade", v, sizeof(v))) {
        serve_ws(r, head, sv);
    } else {
        size_t body = header(head, "Content-Length", v, sizeof(v)) ? (size_t)atol(v) : 0;
        while (r->n - r->off < body)
            if (!fill(r)) break;
        const char *j = strstr(head, "/oauth2/Approval") ? "{\"approval_key\":\"bench-approval-key\"}"
                        : "{\"access_token\":\"bench-token\",\"token_type\":\"Bearer\",\"expires_in\":86400,"
                          "\"access_token_token_expired\":\"2099-01-01 00:00:00\"}";
        char resp[512];
        int n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n%s",
                         strlen(j), j);
        write_all(r, resp, (size_t)n);
    }
    free(head);
    free(r);
}

/* The server process: accepts until killed; each connection in a child of its own. */
static void serve(int lfd, const server_t *sv)
{
    signal(SIGCHLD, SIG_IGN);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            _exit(1);
        }
        if (fork() == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            serve_conn(fd, sv);
            _exit(0);
        }
        close(fd);
    }
}

/* --- one measured run ---------------------------------------------------------------------- */

static bool file_has(const char *path, const char *what)
{
    char buf[4096];
    FILE *fp = fopen(path, "r");
    if (!fp) return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return strstr(buf, what) != NULL;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0) {
        perror(path);
        exit(1);
    }
}

/* wss://: a throwaway self-signed certificate for 127.0.0.1, made once, and the server's
 * context with it (strata trusts it through tls_ca_file). */
static char tls_dir[64];

static SSL_CTX *tls_ctx(void)
{
    static SSL_CTX *ctx;
    if (ctx) return ctx;
    snprintf(tls_dir, sizeof(tls_dir), "/tmp/strata-e2e-tls-%d", (int)getpid());
    char cert[128], key[128];
    snprintf(cert, sizeof(cert), "%s/cert.pem", tls_dir);
    snprintf(key, sizeof(key), "%s/key.pem", tls_dir);
    ctx = SSL_CTX_new(TLS_server_method());
    /* No session tickets: after a TLS 1.3 handshake the server then sends nothing until asked,
     * so the client's own handshake step must go out unprompted (a client that waited for more
     * from the server before its WebSocket request hung here). */
    SSL_CTX_set_num_tickets(ctx, 0);
    if (st_test_make_cert(tls_dir) != 0 || SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "bench_e2e: cannot make a certificate in %s\n", tls_dir);
        exit(1);
    }
    return ctx;
}

/* The strategy: counts every tick and signals at the last one. */
static const char count_lua[] =
    "local M = {}\n"
    "local n, want = 0, 0\n"
    "function M.init(p) want = tonumber(p.n) end\n"
    "local function count(sym)\n"
    "  n = n + 1\n"
    "  if n == want then strata.signal{symbol = sym, side = \"\", strength = 0, reason = \"counted\"} end\n"
    "end\n"
    "M.on_trade = count\n"
    "M.on_orderbook = count\n"
    "return M\n";

/* Writes the run's files into dir for a stream on `port`; returns the config's path. */
static const char *write_run(const char *dir, const stream_t *s, int port)
{
    static char cfg[256];
    char path[256], text[8192];
    int n = 0;
    snprintf(path, sizeof(path), "%s/universe.csv", dir);
    n = snprintf(text, sizeof(text), "code,name,market,sector\n");
    for (int i = 0; i < NSYMS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "%s,bench %d,%s,sector %d\n", s->upbit ? markets[i] : codes[i], i,
                      s->upbit ? "OTHER" : "KOSPI", i);
    write_file(path, text);
    snprintf(path, sizeof(path), "%s/count.lua", dir);
    write_file(path, count_lua);
    n = snprintf(text, sizeof(text),
                 "runtime:\n  clock: {mode: simulated, start: \"2026-11-23 10:00\", speed: 1}\n"
                 "  log: {level: %s}\n  report_interval: 0\n"
                 "market:\n  universe: %s/universe.csv\n  indices: \"\"\n  watch:\n",
                 getenv("BENCH_E2E_STDERR") ? "info" : "warn", dir);
    for (int i = 0; i < NSYMS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "    - {symbol: \"%s\", priority: critical, pinned: true}\n",
                      s->upbit ? markets[i] : codes[i]);
    n += snprintf(text + n, sizeof(text) - (size_t)n,
                  "schedule:\n  - {name: all, start: \"00:00\", realtime: %d}\nrebalance: {max_swaps: 100}\n"
                  "feeds:\n  - name: %s\n    kind: %s\n    ws_url: %s://127.0.0.1:%d/\n    rest_url: http://127.0.0.1:%d\n",
                  NSYMS, s->upbit ? "upbit" : "kis", s->upbit ? "upbit" : "kis", s->tls ? "wss" : "ws", port, port);
    if (s->tls) n += snprintf(text + n, sizeof(text) - (size_t)n, "    tls_ca_file: %s/cert.pem\n", tls_dir);
    if (!s->upbit)
        n += snprintf(text + n, sizeof(text) - (size_t)n,
                      "    keys: [{app_key_env: BENCH_KIS_KEY, app_secret_env: BENCH_KIS_SECRET}]\n"
                      "    token_dir: %s\n",
                      dir);
    snprintf(text + n, sizeof(text) - (size_t)n,
             "strategies:\n  - {name: count, kind: lua, path: %s/count.lua, all_symbols: true, params: {n: %ld}}\n"
             "signals:\n  sinks: [{kind: jsonl, path: %s/signals.jsonl}]\n"
             "status: {enabled: false}\n",
             dir, s->ticks * s->reps, dir);
    snprintf(cfg, sizeof(cfg), "%s/strata.yaml", dir);
    write_file(cfg, text);
    return cfg;
}

/* One run of `bin` on the stream: strata's CPU from the last registration to the last tick
 * counted, in seconds (negative: the run failed, said on stderr). */
static double run_once(const char *bin, const stream_t *s)
{
    char dir[] = "/tmp/strata-e2e-XXXXXX";
    if (!mkdtemp(dir)) return -1;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) != 0) {
        perror("bench_e2e: listen");
        return -1;
    }
    int ready[2], go[2];
    if (pipe(ready) != 0 || pipe(go) != 0) return -1;
    server_t sv = {s, s->tls ? tls_ctx() : NULL, s->upbit ? 1 : 2 * NSYMS, ready[1], go[0]};
    pid_t server = fork();
    if (server == 0) {
        close(ready[0]);
        close(go[1]);
        serve(lfd, &sv);
    }
    close(lfd);
    close(ready[1]);
    close(go[0]);
    const char *cfg = write_run(dir, s, ntohs(a.sin_port));
    setenv("BENCH_KIS_KEY", "bench-app-key", 1);
    setenv("BENCH_KIS_SECRET", "bench-app-secret", 1);
    pid_t strata = fork();
    if (strata == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        if (!getenv("BENCH_E2E_STDERR")) dup2(devnull, 2);
        execl(bin, "strata", "run", "-c", cfg, (char *)NULL);
        _exit(127);
    }
    double cpu = -1;
    struct pollfd pf = {ready[0], POLLIN, 0};
    char c;
    if (poll(&pf, 1, 30000) != 1 || read(ready[0], &c, 1) != 1) {
        fprintf(stderr, "bench_e2e: %s never registered its %s symbols\n", bin, s->upbit ? "Upbit" : "KIS");
    } else {
        double c0 = (double)bench_proc_cpu_ns(strata) / 1e9;
        if (write(go[1], "g", 1) != 1) return -1;
        char sig[300];
        snprintf(sig, sizeof(sig), "%s/signals.jsonl", dir);
        uint64_t t0 = bench_ns();
        bool done = false;
        while (!(done = file_has(sig, "counted")) && bench_ns() - t0 < 120 * 1000000000ull) usleep(2000);
        if (done) cpu = (double)bench_proc_cpu_ns(strata) / 1e9 - c0;
        else fprintf(stderr, "bench_e2e: %s did not count the %ld ticks within 120 s\n", bin, s->ticks * s->reps);
    }
    kill(strata, SIGTERM);
    waitpid(strata, NULL, 0);
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    close(ready[0]);
    close(go[1]);
    char rm[300];
    snprintf(rm, sizeof(rm), "rm -rf %s", dir);
    if (system(rm) != 0) fprintf(stderr, "bench_e2e: could not remove %s\n", dir);
    return cpu;
}

/* The runs of one stream, alternating the binaries; the median ns per tick of each. */
static int measure(const char *label, const stream_t *s, const char *bins[2], int runs, double med[2])
{
    double *v[2] = {calloc((size_t)runs, sizeof(double)), calloc((size_t)runs, sizeof(double))};
    for (int r = 0; r < runs; r++)
        for (int b = 0; b < 2 && bins[b]; b++) {
            double cpu = run_once(bins[b], s);
            if (cpu < 0) {
                free(v[0]);
                free(v[1]);
                return -1;
            }
            v[b][r] = cpu * 1e9 / (double)(s->ticks * s->reps);
        }
    for (int b = 0; b < 2 && bins[b]; b++) {
        uint64_t ns[64];
        for (int r = 0; r < runs; r++) ns[r] = (uint64_t)(v[b][r] * 1000); /* ps */
        char extra[64];
        snprintf(extra, sizeof(extra), "   (%s)", b ? "--vs" : "this build");
        med[b] = (double)bench_ps_row(label, ns, runs, extra) / 1000;
    }
    free(v[0]);
    free(v[1]);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    bool quick = false;
    int runs = 0;
    const char *bins[2] = {STRATA_BIN, NULL};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = true;
        else if (!strcmp(argv[i], "--vs") && i + 1 < argc) bins[1] = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_e2e [--quick] [--runs N] [--vs OTHER_STRATA]\n");
            return 2;
        }
    }
    bench_cpu_line();
    if (runs < 1 || runs > 64) runs = quick ? 1 : 5;
    stream_t kis = {.upbit = false, .reps = quick ? 1 : 10}, upbit = {.upbit = true, .reps = quick ? 1 : 10};
    make_kis(&kis, quick ? 500 : 2000);
    make_upbit(&upbit, quick ? 200 : 500);
    printf("streams: KIS %ld ticks (%d symbols, trade and orderbook frames; %.1f MB written %d times); "
           "Upbit %ld orderbook messages (30 levels; %.1f MB written %d times)\n",
           kis.ticks * kis.reps, NSYMS, (double)kis.len / 1e6, kis.reps, upbit.ticks * upbit.reps,
           (double)upbit.len / 1e6, upbit.reps);
    printf("strata's CPU per tick, from the last registration to the last tick counted by a Lua strategy\n\n");
    printf(BENCH_PS_HEADER);
    stream_t upbit_tls = upbit;
    upbit_tls.tls = true;
    double k[2] = {0}, u[2] = {0}, t[2] = {0};
    if (measure("KIS frames -> Lua strategy, per tick", &kis, bins, runs, k) != 0) return 1;
    if (measure("Upbit 30-level orderbook -> Lua, per message", &upbit, bins, runs, u) != 0) return 1;
    if (measure("the same over wss:// (TLS), per message", &upbit_tls, bins, runs, t) != 0) return 1;
    printf("\nKIS: %.2f us of CPU per tick; Upbit: %.2f us per 30-level orderbook message, %.2f us over wss://\n",
           k[0] / 1000, u[0] / 1000, t[0] / 1000);
    if (bins[1])
        printf("this build / --vs: KIS %.2fx, Upbit %.2fx, over wss:// %.2fx (goal for KIS: at most 0.5x the commit "
               "before issue 19)\n",
               k[0] / k[1], u[0] / u[1], t[0] / t[1]);
    if (tls_dir[0]) {
        char rm[128];
        snprintf(rm, sizeof(rm), "rm -rf %s", tls_dir);
        if (system(rm) != 0) fprintf(stderr, "bench_e2e: could not remove %s\n", tls_dir);
    }
    free(kis.stream);
    free(upbit.stream);
    return 0;
}
