/* The recording file (record/recfile.h): what is written is read back exactly, chunk by chunk
 * (a second of record time each), with and without the index; a killed writer's file reads up
 * to its last whole chunk; a corrupt chunk is reported with its offset and skipped; seeking by
 * time; files that are not recordings are refused with the reason. */
#include "../test.h"
#include "../crc32_ieee.h"

#include "core/res.h"
#include "record/recfile.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

static char dir[] = "/tmp/strata-recfile-XXXXXX";
static char path[512];

static int setup(void **state)
{
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    rmdir(dir);
    return 0;
}

static const st_time_t T0 = (st_time_t)1795392000 * ST_SEC; /* 2026-11-23 09:00 KST */

/* Item i of the test stream: ticks of 50 symbols every 7 ms (books, trades, snapshots), and an
 * event every 100 items; everything derived from i so the reader's view can be checked. */
static void make(int i, st_tick_t *t, char *code, bool *event)
{
    memset(t, 0, sizeof(*t));
    *event = i % 100 == 99;
    snprintf(code, 16, "%06d", (i * 7) % 50);
    t->kind = i % 3 == 0 ? ST_TICK_ORDERBOOK : i % 3 == 1 ? ST_TICK_TRADE : ST_TICK_SNAPSHOT;
    t->flags = (uint8_t)(i % 4);
    t->feed = (uint16_t)(i % 2);
    t->sym = ST_SYM_NONE;
    t->recv_time = T0 + (st_time_t)i * 7 * ST_MSEC;
    t->venue_time = t->recv_time - (i % 5) * ST_MSEC;
    if (t->kind == ST_TICK_ORDERBOOK) {
        for (int k = 0; k < ST_BOOK_DEPTH; k++) {
            t->u.book.ask[k] = 1000 + i + k, t->u.book.bid[k] = 999 + i - k;
            t->u.book.ask_qty[k] = 0.5 * k + i, t->u.book.bid_qty[k] = 0.25 * k + i;
        }
        t->u.book.total_ask_qty = i * 3.5, t->u.book.total_bid_qty = i * 1.5;
    } else {
        st_trade_t *q = &t->u.trade;
        q->price = 70000 + i, q->volume = i % 17, q->open = 69000, q->high = 71000.5, q->low = 68000.25;
        q->prev_close = 69500, q->cum_volume = 1e6 + i, q->cum_value = 7e10 + i * 0.125;
        q->best_bid = q->price - 100, q->best_ask = q->price + 100, q->side = (uint8_t)(i % 2);
    }
}

/* Writes item i (make): 0, or the writer's error. */
static int put_item(st_rec_writer_t *w, int i)
{
    st_tick_t t;
    char code[16], text[64];
    bool ev;
    make(i, &t, code, &ev);
    if (!ev) return st_rec_tick(w, &t, code, (uint8_t)(i % 3));
    int n = snprintf(text, sizeof(text), "{\"i\":%d}", i);
    return st_rec_event(w, t.recv_time, ST_REV_SIGNAL, i % 200 == 199 ? "" : code, text, (size_t)n);
}

static void write_items(st_rec_writer_t *w, int from, int to)
{
    for (int i = from; i < to; i++) assert_int_equal(put_item(w, i), 0);
}

/* Flips the bits of the byte at `at` of the file at path (a corrupt chunk). */
static void flip_byte(off_t at)
{
    int fd = open(path, O_RDWR);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x5A;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

/* A writer of a new file `name` in the test's directory (path), from T0. */
static st_rec_writer_t *new_writer(const char *name)
{
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    st_rec_writer_t *w = st_rec_create(path, T0);
    assert_non_null(w);
    return w;
}

/* Reads every item left and checks each against make(i), i from its time (items come every
 * 7 ms, in order); returns how many. */
static int read_check(st_rec_reader_t *r)
{
    st_rec_item_t it;
    int count = 0, prev = -1;
    while (st_rec_next(r, &it) == 1) {
        int i = (int)((it.time - T0) / (7 * ST_MSEC));
        assert_true(i > prev);
        prev = i;
        st_tick_t t;
        char code[16], text[64];
        bool ev;
        make(i, &t, code, &ev);
        assert_int_equal(it.time, t.recv_time);
        if (ev) {
            assert_int_equal(it.type, ST_REC_EVENT);
            assert_int_equal(it.event, ST_REV_SIGNAL);
            assert_string_equal(it.code, i % 200 == 199 ? "" : code);
            int n = snprintf(text, sizeof(text), "{\"i\":%d}", i);
            assert_int_equal(it.text_len, (size_t)n);
            assert_memory_equal(it.text, text, (size_t)n);
        } else {
            assert_int_equal(it.type, ST_REC_TICK);
            assert_string_equal(it.code, code);
            assert_int_equal(it.conn, i % 3);
            assert_int_equal(it.event, 0); /* nothing left of an event read before it */
            assert_null(it.text);
            assert_int_equal(it.text_len, 0);
            assert_int_equal(it.tick.sym, ST_SYM_NONE);
            t.sym = ST_SYM_NONE;
            assert_memory_equal(&it.tick, &t, sizeof(t)); /* every field, bit for bit */
        }
        count++;
    }
    return count;
}

static st_rec_reader_t *open_ok(void)
{
    char err[256] = "";
    st_rec_reader_t *r = st_rec_open(path, err, sizeof(err));
    if (!r) fail_msg("%s", err);
    return r;
}

static void test_round_trip(void **state)
{
    st_rec_writer_t *w = new_writer("day.strata");
    assert_null(st_rec_create(path, T0)); /* never overwrites */
    assert_int_equal(errno, EEXIST);
    write_items(w, 0, 2000); /* 14 s of record time */
    uint64_t items;
    uint64_t bytes = st_rec_written(w, &items);
    assert_int_equal(items, 2000);
    assert_int_equal(st_rec_close(w), 0);
    st_rec_reader_t *r = open_ok();
    assert_true(st_rec_indexed(r));
    assert_int_equal(st_rec_start(r), T0);
    size_t n;
    const st_rec_chunk_t *ch = st_rec_chunks(r, &n);
    assert_int_equal(n, 14); /* a chunk per second of record time */
    uint32_t total = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(ch[i].last - ch[i].first < ST_SEC);
        if (i) assert_true(ch[i].first >= ch[i - 1].first + ST_SEC);
        total += ch[i].count;
    }
    assert_int_equal(total, 2000);
    assert_int_equal(ch[0].nsyms, 50);
    assert_string_equal(st_rec_chunk_code(r, 0, 1), "000007"); /* the dictionary, in order of use */
    assert_int_equal(read_check(r), 2000);
    assert_int_equal(st_rec_corrupt(r), 0);
    printf("# %d items in %llu bytes: %.1f bytes an item\n", 2000, (unsigned long long)bytes, (double)bytes / 2000);
    /* seeking: to the chunk holding 5.1 s, read from its first item (5.005 s) … */
    st_rec_seek(r, T0 + 5100 * ST_MSEC);
    st_rec_item_t it;
    assert_int_equal(st_rec_next(r, &it), 1);
    assert_int_equal(it.time, T0 + 5005 * ST_MSEC);
    /* … and to a time between two chunks (4.998 s and 5.005 s): the next chunk */
    st_rec_seek(r, T0 + 5003 * ST_MSEC);
    assert_int_equal(st_rec_next(r, &it), 1);
    assert_int_equal(it.time, T0 + 5005 * ST_MSEC);
    st_rec_seek(r, T0 + 60 * ST_SEC);
    assert_int_equal(st_rec_next(r, &it), 0);
    st_rec_free(r);
    unlink(path);
}

static uint64_t count_corrupt, last_offset;

static void on_corrupt(void *ctx, uint64_t offset, const char *why)
{
    count_corrupt++;
    last_offset = offset;
    printf("# corrupt at %llu: %s\n", (unsigned long long)offset, why);
}

/* With a writer thread, st_rec_written counts what was handed to it once written: here blocks
 * of books (no flush, fewer than the thread is woken for by itself) — it wakes the thread and
 * waits (planted, no wake: it waited for ever). */
static void test_written_waits_for_the_thread(void **state)
{
    st_rec_writer_t *w = new_writer("written.strata");
    assert_int_equal(st_rec_background(w), 0);
    assert_int_equal(put_item(w, 0), 0); /* a book, flushed and written: the thread waits for */
    assert_int_equal(st_rec_flush(w), 0); /* work when st_rec_written returns (it holds the   */
    st_rec_written(w, NULL);              /* queue's lock until it waits)                    */
    int n = 1;
    for (int i = 1; n < 1200; i++) { /* 1,200 books: 440 KB handed over in 3 blocks */
        st_tick_t t;
        char code[16];
        bool ev;
        make(i, &t, code, &ev);
        if (ev || t.kind != ST_TICK_ORDERBOOK) continue;
        assert_int_equal(st_rec_tick(w, &t, code, 0), 0);
        n++;
    }
    uint64_t items, bytes = st_rec_written(w, &items);
    assert_int_equal(items, 1200);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(bytes, (uint64_t)sb.st_size); /* what it says is on the disk */
    assert_true(bytes > 50000); /* the chunks of the blocks handed over (80 KB: a second each) */
    assert_int_equal(st_rec_close(w), 0);
    st_rec_reader_t *r = open_ok();
    int read = 0;
    while (st_rec_read(r)) read++;
    assert_int_equal(read, 1200);
    st_rec_free(r);
    unlink(path);
}

/* A write that fails (the file size limit: EFBIG) is told at a later call — with or without a
 * writer thread alike — and by st_rec_close; nothing more is written after it, and the chunks
 * written before it read back. In a child process (the limit is the process's). */
static void test_write_error_told(void **state)
{
    for (int bg = 0; bg < 2; bg++) {
        snprintf(path, sizeof(path), "%s/efbig%d.strata", dir, bg);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            signal(SIGXFSZ, SIG_IGN);
            struct rlimit rl = {200000, 200000};
            if (setrlimit(RLIMIT_FSIZE, &rl)) _exit(10);
            st_rec_writer_t *w = st_rec_create(path, T0);
            if (!w || (bg && st_rec_background(w))) _exit(11);
            int rc = 0, i;
            for (i = 0; i < 100000 && !rc; i++) {
                rc = put_item(w, i);
                if (!rc && i % 500 == 499) rc = st_rec_flush(w);
            }
            if (rc != -EFBIG) _exit(12);
            if (i > 20000) _exit(13); /* told soon: 200 KB are 2,000-3,000 items */
            if (st_rec_flush(w) != -EFBIG) _exit(14); /* and again */
            if (st_rec_close(w) != -EFBIG) _exit(15);
            _exit(0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        st_rec_reader_t *r = open_ok();
        assert_false(st_rec_indexed(r));
        count_corrupt = 0;
        st_rec_set_corrupt_cb(r, on_corrupt, NULL);
        int n = read_check(r); /* the whole chunks, from the first item on */
        assert_true(n > 1000);
        assert_int_equal(count_corrupt, 1); /* the cut one */
        st_rec_free(r);
        unlink(path);
    }
}

/* The writer thread (st_rec_background) writes the same file, byte for byte: it encodes the
 * items handed to it and seals chunks by the same rules and code as the caller's thread does
 * without it; flushes in between (the runtime's wall-clock flush) and a close right after
 * queue and drain. */
static void test_background_writer_same_bytes(void **state)
{
    char paths[2][512];
    for (int bg = 0; bg < 2; bg++) {
        snprintf(paths[bg], sizeof(paths[bg]), "%s/bg%d.strata", dir, bg);
        st_rec_writer_t *w = st_rec_create(paths[bg], T0);
        assert_non_null(w);
        st_rec_set_span(w, 0); /* by size, as simulated runs do */
        if (bg) assert_int_equal(st_rec_background(w), 0);
        for (int k = 0; k < 6; k++) {
            write_items(w, k * 5000, (k + 1) * 5000);
            assert_int_equal(st_rec_flush(w), 0);
        }
        uint64_t items, bytes = st_rec_written(w, &items);
        assert_int_equal(items, 30000);
        assert_true(bytes > 100000);
        assert_int_equal(st_rec_close(w), 0);
    }
    char *a, *b;
    size_t alen, blen;
    assert_int_equal(st_file_read(paths[0], &a, &alen), 0);
    assert_int_equal(st_file_read(paths[1], &b, &blen), 0);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    free(a), free(b);
    snprintf(path, sizeof(path), "%s", paths[1]);
    st_rec_reader_t *r = open_ok();
    assert_true(st_rec_indexed(r));
    assert_int_equal(read_check(r), 30000);
    st_rec_free(r);
    unlink(paths[0]), unlink(paths[1]);
}

/* A writer killed after five whole chunks and part of the sixth: no index, the five read back
 * exactly, the partial one is reported. (Items come every 7 ms: 143 to a chunk.) */
static void test_killed_writer(void **state)
{
    st_rec_writer_t *w = new_writer("killed.strata");
    write_items(w, 0, 800); /* five chunks closed, the sixth open */
    uint64_t whole = st_rec_written(w, NULL);
    assert_int_equal(st_rec_flush(w), 0); /* the sixth reaches the file … */
    uint64_t all = st_rec_written(w, NULL);
    assert_int_equal(st_rec_close(w), 0);
    assert_int_equal(truncate(path, (off_t)(whole + (all - whole) / 2)), 0); /* … half of it */
    st_rec_reader_t *r = open_ok();
    assert_false(st_rec_indexed(r));
    count_corrupt = 0;
    st_rec_set_corrupt_cb(r, on_corrupt, NULL);
    size_t n;
    st_rec_chunks(r, &n);
    assert_int_equal(n, 5);
    assert_int_equal(count_corrupt, 1);
    assert_int_equal(last_offset, whole);
    assert_int_equal(read_check(r), 5 * 143);
    st_rec_free(r);
    unlink(path);
}

/* One flipped byte in the third chunk's payload: that chunk is reported and skipped, the
 * others read exactly, with or without the index. */
static void test_corrupt_chunk(void **state)
{
    st_rec_writer_t *w = new_writer("corrupt.strata");
    write_items(w, 0, 800);
    assert_int_equal(st_rec_close(w), 0);
    st_rec_reader_t *r = open_ok();
    size_t n;
    const st_rec_chunk_t *ch = st_rec_chunks(r, &n);
    assert_int_equal(n, 6);
    uint64_t third = ch[2].offset, fourth = ch[3].offset;
    st_rec_free(r);
    flip_byte((off_t)(third + (fourth - third) * 3 / 4)); /* inside the payload */
    r = open_ok();
    count_corrupt = 0;
    st_rec_set_corrupt_cb(r, on_corrupt, NULL);
    assert_int_equal(read_check(r), 800 - 143); /* all but the third chunk's */
    assert_int_equal(count_corrupt, 1);
    assert_int_equal(last_offset, third);
    st_rec_free(r);
    unlink(path);
}

/* A recording shortened while it is read (a day removed under a running backtest): the chunks
 * still whole read exactly, the cut one and those past the end are reported, nothing crashes.
 * (The chunks were once touched through the file's mapping, where a page past the end is a
 * SIGBUS; they are read now.) */
static void test_shrunk_while_read(void **state)
{
    st_rec_writer_t *w = new_writer("shrunk.strata");
    write_items(w, 0, 800);
    assert_int_equal(st_rec_close(w), 0);
    st_rec_reader_t *r = open_ok();
    assert_true(st_rec_indexed(r));
    count_corrupt = 0;
    st_rec_set_corrupt_cb(r, on_corrupt, NULL);
    size_t n;
    const st_rec_chunk_t *ch = st_rec_chunks(r, &n);
    assert_int_equal(n, 6);
    for (int i = 0; i < 150; i++) assert_non_null(st_rec_read(r)); /* into the second chunk */
    assert_int_equal(truncate(path, (off_t)(ch[3].offset + (ch[4].offset - ch[3].offset) / 2)), 0);
    int rest = 0;
    while (st_rec_read(r)) rest++;
    assert_int_equal(150 + rest, 3 * 143); /* the first three chunks */
    assert_int_equal(count_corrupt, 3);    /* the fourth, cut, and the two past the end */
    assert_int_equal(last_offset, ch[5].offset);
    st_rec_free(r);
    unlink(path);
}

/* The file's bytes read from memory (st_rec_open_mem, as the fuzzer does) and from the file:
 * the same items and the same reports, for a clean file, a killed writer's and one with a
 * corrupt chunk. */
static uint64_t reads_alike(void)
{
    int fd = open(path, O_RDONLY);
    struct stat sb;
    assert_int_equal(fstat(fd, &sb), 0);
    uint8_t *bytes = malloc((size_t)sb.st_size);
    assert_int_equal(read(fd, bytes, (size_t)sb.st_size), sb.st_size);
    close(fd);
    char err[256];
    st_rec_reader_t *f = open_ok(), *m = st_rec_open_mem(bytes, (size_t)sb.st_size, err, sizeof(err));
    assert_non_null(m);
    count_corrupt = 0;
    st_rec_set_corrupt_cb(f, on_corrupt, NULL);
    int nf = read_check(f);
    uint64_t cf = count_corrupt, of = last_offset;
    count_corrupt = 0;
    st_rec_set_corrupt_cb(m, on_corrupt, NULL);
    assert_int_equal(read_check(m), nf);
    assert_int_equal(count_corrupt, cf);
    if (cf) assert_int_equal(last_offset, of);
    st_rec_free(f);
    st_rec_free(m);
    free(bytes);
    unlink(path);
    return cf;
}

static void test_file_and_memory_alike(void **state)
{
    st_rec_writer_t *w = new_writer("alike.strata");
    write_items(w, 0, 800);
    assert_int_equal(st_rec_close(w), 0);
    assert_int_equal(reads_alike(), 0);
    w = new_writer("alike.strata"); /* a killed writer: no index, the last chunk cut short of */
    write_items(w, 0, 800);         /* a whole chunk header (reported too: it once was not) */
    uint64_t whole = st_rec_written(w, NULL);
    assert_int_equal(st_rec_close(w), 0);
    assert_int_equal(truncate(path, (off_t)whole + 40), 0);
    assert_int_equal(reads_alike(), 1);
    w = new_writer("alike.strata"); /* a byte of the second chunk's payload flipped */
    write_items(w, 0, 800);
    assert_int_equal(st_rec_close(w), 0);
    st_rec_reader_t *r = open_ok();
    size_t n;
    const st_rec_chunk_t *ch = st_rec_chunks(r, &n);
    off_t at = (off_t)(ch[1].offset + (ch[2].offset - ch[1].offset) * 3 / 4);
    st_rec_free(r);
    flip_byte(at);
    assert_int_equal(reads_alike(), 1);
}

/* Closes w, then reads path back: the n ticks sent, bit for bit, and nothing corrupt. */
static void closed_reads_back(st_rec_writer_t *w, const st_tick_t *sent, int n)
{
    assert_int_equal(st_rec_close(w), 0);
    st_rec_reader_t *r = open_ok();
    st_rec_item_t it;
    int i = 0;
    while (st_rec_next(r, &it) == 1) {
        assert_true(i < n);
        assert_memory_equal(&it.tick, &sent[i], sizeof(st_tick_t));
        i++;
    }
    assert_int_equal(i, n);
    assert_int_equal(st_rec_corrupt(r), 0);
    st_rec_free(r);
    unlink(path);
}

/* A trade is written as what differs from its prediction off the code's previous trade in the
 * chunk (format 2): fields drawn at random from values that sit on and off every prediction —
 * repeated, the price above the high or below the low, sums that add up and that do not, -0,
 * NaN, infinities, fractions, integers at 2^53 and products that overflow — come back bit for
 * bit, across chunk boundaries (where the predictions restart from zeros). */
static void test_trade_predictions(void **state)
{
    static const double pool[] = {0.0, -0.0, 1.0, 3.0, 70000.0, 70100.0, 69900.0, 0.5, 1.25, 1e6, 7e10, -5.0,
                                  9007199254740991.0, 9007199254740992.0, 4.5e15, 1e300, NAN, INFINITY,
                                  -INFINITY};
    const size_t npool = sizeof(pool) / sizeof(pool[0]);
    st_rec_writer_t *w = new_writer("trades.strata");
    enum { N = 20000, CODES = 5 };
    static st_tick_t sent[N];
    st_trade_t last[CODES] = {{0}};
    uint64_t seed = 42;
    for (int i = 0; i < N; i++) {
        st_tick_t *t = &sent[i];
        memset(t, 0, sizeof(*t));
        t->kind = i % 7 ? ST_TICK_TRADE : ST_TICK_SNAPSHOT;
        t->sym = ST_SYM_NONE;
        t->recv_time = t->venue_time = T0 + (st_time_t)i * ST_MSEC; /* 20 s: 20 chunks */
        int k = i % CODES;
        st_trade_t *q = &t->u.trade, *s = &last[k];
        double *f[] = {&q->price, &q->volume, &q->open, &q->high, &q->low, &q->prev_close,
                       &q->cum_volume, &q->cum_value, &q->best_bid, &q->best_ask};
        double *p[] = {&s->price, &s->volume, &s->open, &s->high, &s->low, &s->prev_close,
                       &s->cum_volume, &s->cum_value, &s->best_bid, &s->best_ask};
        for (int j = 0; j < 10; j++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            unsigned r = (unsigned)(seed >> 33);
            *f[j] = r % 3 == 0 ? *p[j] : pool[(r / 3) % npool]; /* a third repeat the last */
        }
        if (i % 5 == 1) { /* a trade that follows on: the sums and the extremes as predicted */
            q->cum_volume = s->cum_volume + q->volume;
            q->cum_value = s->cum_value + q->price * q->volume;
            q->high = s->high > q->price ? s->high : q->price;
            q->low = s->low != 0 && s->low < q->price ? s->low : q->price;
        }
        q->side = (uint8_t)(seed >> 60) % 3;
        *s = *q;
        char code[8];
        snprintf(code, sizeof(code), "%06d", k);
        assert_int_equal(st_rec_tick(w, t, code, 0), 0);
    }
    closed_reads_back(w, sent, N);
}

/* A market's trades as a market tape holds them — format 4's common trade: price and volume, now
 * and then the best bid and ask, the sums and extremes as predicted, the side in the mask — and
 * among them what the common trade's own path (trade_fast) leaves to the general one: a price
 * or volume with a fraction, a volume of -0, a sum past 2^53, a product past 2^63, a side above
 * sell, a new open. All come back bit for bit; test_recfile_portable reads them through the
 * general path alone, so the two paths give the same trades. */
static void test_market_trades(void **state)
{
    st_rec_writer_t *w = new_writer("market.strata");
    enum { N = 30000, CODES = 7 };
    static st_tick_t sent[N];
    st_trade_t last[CODES] = {{0}};
    uint64_t seed = 7;
    int odd = 0;
    for (int i = 0; i < N; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        unsigned r = (unsigned)(seed >> 33);
        int k = (int)(r % CODES);
        st_tick_t *t = &sent[i];
        memset(t, 0, sizeof(*t));
        t->kind = ST_TICK_TRADE, t->sym = ST_SYM_NONE;
        t->recv_time = t->venue_time = T0 + (st_time_t)i * (ST_MSEC / 2); /* 15 s: 15 chunks */
        st_trade_t *q = &t->u.trade, *s = &last[k];
        *q = *s;
        if (s->price == 0) /* the code's first: the day's open and the close before */
            q->price = q->open = 50000 + 1000 * k, q->prev_close = 49000 + 1000 * k;
        else
            q->price = round(s->price) + 10 * ((int)(r >> 4) % 5 - 2);
        q->volume = 1 + (r >> 8) % 500;
        q->side = (uint8_t)(1 + (r >> 20) % 2);
        if ((r >> 12) % 5 == 0) q->best_bid = q->price - 10, q->best_ask = q->price + 10;
        switch (i % 89) { /* the odd ones, each now and then */
        case 13: q->price += 0.5, odd++; break;
        case 29: q->volume = 0.25, odd++; break;
        case 41: q->volume = -0.0, odd++; break;
        case 53: q->cum_value = 9007199254740000.0 - q->price * q->volume, odd++; break; /* the next pass 2^53 */
        case 67: q->volume = 1e15, odd++; break; /* price x volume past 2^63 */
        case 79: q->side = 3, odd++; break;
        case 83: q->open = q->price, odd++; break;
        }
        q->high = s->high > q->price ? s->high : q->price;
        q->low = s->low != 0 && s->low < q->price ? s->low : q->price;
        q->cum_volume = s->cum_volume + q->volume;
        if (i % 89 != 53) q->cum_value = s->cum_value + q->price * q->volume;
        *s = *q;
        char code[8];
        snprintf(code, sizeof(code), "%06d", k);
        assert_int_equal(st_rec_tick(w, t, code, 0), 0);
    }
    assert_true(odd > 2000);
    closed_reads_back(w, sent, N);
}

/* Number j of a book's 42: asks, bids, their sizes, the totals. */
static double *book_num(st_book_t *b, int j)
{
    return j < 10 ? &b->ask[j] : j < 20 ? &b->bid[j - 10] : j < 30 ? &b->ask_qty[j - 20] : j < 40 ? &b->bid_qty[j - 30]
           : j == 40 ? &b->total_ask_qty : &b->total_bid_qty;
}

/* Trade i of test_tick_by_id_same_bytes: 700 codes over 40 one-second chunks, codes 600-699
 * silent from the 6th chunk to the 30th (dropped from the dictionary after 16, then back). */
static bool id_trade(int i, st_tick_t *t, uint32_t *id)
{
    int chunk = i / 1000;
    *id = (uint32_t)((i * 13) % 700); /* (13: prime to 700, every code) */
    if (*id >= 600 && chunk >= 5 && chunk < 30) return false;
    *t = (st_tick_t){.kind = ST_TICK_TRADE, .sym = ST_SYM_NONE, .recv_time = T0 + (st_time_t)i * ST_MSEC};
    t->venue_time = t->recv_time;
    t->u.trade.price = 10000 + 10 * (int)(*id % 50) + (i % 7), t->u.trade.volume = 1 + i % 13;
    t->u.trade.side = (uint8_t)(1 + i % 2);
    return true;
}

/* st_rec_tick_id writes the bytes st_rec_tick writes for the same ticks — across chunks, a
 * rehash of the writer's code map (past 512 codes), codes dropped from the dictionary and
 * back, and ticks with no id (UINT32_MAX: by code) — with st_rec_tick's codes in one reused
 * buffer, st_rec_tick_id's by id, its code given on the id's first tick only (NULL after:
 * the writer keeps the code's own string, and a rehash moves the ids' slots with it). And so
 * does each with a writer thread (st_rec_background), by code from the start, by id from the
 * 5,000th tick on (ids given their code before it need none after it), with the chunks' span changed
 * halfway (the thread's from that item on: planted, at once, the bytes differ). */
static void test_tick_by_id_same_bytes(void **state)
{
    static char codes[700][8];
    for (int k = 0; k < 700; k++) snprintf(codes[k], sizeof(codes[k]), "%06d", k);
    char *text[4] = {NULL};
    size_t len[4] = {0};
    for (int v = 0; v < 4; v++) {
        bool by_id = v & 1, bg = v & 2;
        char name[32];
        snprintf(name, sizeof(name), "by_%s%s.strata", by_id ? "id" : "code", bg ? "_bg" : "");
        st_rec_writer_t *w = new_writer(name);
        if (bg && !by_id) assert_int_equal(st_rec_background(w), 0);
        char buf[8];
        bool given[700] = {false};
        for (int i = 0; i < 40000; i++) {
            st_tick_t t;
            uint32_t id;
            if (bg && by_id && i == 5000) assert_int_equal(st_rec_background(w), 0);
            if (i == 20000) st_rec_set_span(w, ST_SEC / 4);
            if (!id_trade(i, &t, &id)) continue;
            if (by_id && i % 1000 == 999) { /* now and then without an id (ST_SYM_NONE): by its code */
                assert_int_equal(st_rec_tick_id(w, &t, UINT32_MAX, codes[id], 0), 0);
            } else if (by_id) {
                assert_int_equal(st_rec_tick_id(w, &t, id, given[id] ? NULL : codes[id], 0), 0);
                given[id] = true;
            } else {
                memcpy(buf, codes[id], sizeof(buf));
                assert_int_equal(st_rec_tick(w, &t, buf, 0), 0);
            }
        }
        assert_int_equal(st_rec_close(w), 0);
        assert_int_equal(st_file_read(path, &text[v], &len[v]), 0);
        unlink(path);
    }
    assert_true(len[0] > 0);
    for (int v = 1; v < 4; v++) {
        assert_int_equal(len[v], len[0]);
        assert_memory_equal(text[v], text[0], len[0]);
    }
    for (int v = 0; v < 4; v++) free(text[v]);
}

/* More codes over a recording than the writer's code map first holds (1,024), never many in
 * one chunk's dictionary: the map grows by what it holds, not by the dictionary (which stays
 * under 16 codes here: the map filled up and the next new code's probe never ended). */
static void test_many_codes_few_at_a_time(void **state)
{
    st_rec_writer_t *w = new_writer("many.strata");
    char code[12];
    for (int i = 0; i < 1500; i++) {
        st_tick_t t = {.kind = ST_TICK_TRADE, .sym = ST_SYM_NONE, .recv_time = T0 + (st_time_t)i * ST_MSEC};
        t.venue_time = t.recv_time, t.u.trade.price = 1000 + i, t.u.trade.volume = 1;
        snprintf(code, sizeof(code), "%06d", i);
        assert_int_equal(st_rec_tick(w, &t, code, 0), 0);
        assert_int_equal(st_rec_flush(w), 0); /* a chunk a code */
    }
    assert_int_equal(st_rec_close(w), 0);
    st_rec_reader_t *r = open_ok();
    st_rec_item_t *it;
    int n = 0;
    while ((it = st_rec_read(r))) {
        snprintf(code, sizeof(code), "%06d", n);
        assert_string_equal(it->code, code);
        assert_true(it->tick.u.trade.price == 1000 + n);
        n++;
    }
    assert_int_equal(n, 1500);
    st_rec_free(r);
    unlink(path);
}

/* An item as written, for test_uniform_chunks. */
typedef struct {
    bool event;
    st_tick_t t;
    uint8_t conn;
    char code[8];
} sent_t;

enum { UNI_CHUNKS = 12, UNI_PER = 40 };

/* Item k of chunk c: a trade (chunk 2: a snapshot) of one of five codes, flags 1, feed 2,
 * connection 0 and the venue's time the receive time (chunk 10: 5 ns before it, a one-byte
 * difference; chunk 11: 1 ms, a longer one) — each chunk's items alike in all of that but,
 * at its last item, the one the chunk is about: 1 the flags, 3 the feed, 4 the connection,
 * 5 the venue's time, 6 the kind (a snapshot), 7 a book, 9 an event. */
static void uni_item(int c, int k, sent_t *o)
{
    memset(o, 0, sizeof(*o));
    st_tick_t *t = &o->t;
    bool last = k == UNI_PER - 1;
    snprintf(o->code, sizeof(o->code), "00000%d", k % 5);
    t->kind = c == 2 || (c == 6 && last) ? ST_TICK_SNAPSHOT : c == 7 && last ? ST_TICK_ORDERBOOK : ST_TICK_TRADE;
    t->flags = c == 1 && last ? 3 : 1;
    t->feed = c == 3 && last ? 0 : 2;
    o->conn = c == 4 && last ? 1 : 0;
    t->sym = ST_SYM_NONE;
    t->recv_time = T0 + c * ST_SEC + k * ST_MSEC;
    t->venue_time = t->recv_time - (c == 5 && last ? ST_MSEC : c == 10 ? 5 : c == 11 ? ST_MSEC : 0);
    o->event = c == 9 && last;
    if (t->kind == ST_TICK_ORDERBOOK) {
        for (int j = 0; j < 42; j++) *book_num(&t->u.book, j) = 100 + j;
    } else {
        st_trade_t *q = &t->u.trade;
        q->price = q->high = q->low = q->open = 70000 + 10 * (k % 5), q->volume = 1 + k / 5;
        q->side = ST_SIDE_BUY, q->prev_close = 69000, q->cum_volume = q->volume;
        q->cum_value = q->price * q->volume;
    }
}

/* A chunk whose items are all ticks of one kind with one feed and connection byte and one
 * one-byte venue time difference (a whole market's tape) is read without those columns
 * (recfile.c's uniform chunks), its flags still a byte a tick (chunk 1: the last one's differ);
 * a chunk that differs from that in one of the others, at its last item only, is read the
 * general way. Each item comes back as written, bit for bit — the trades after a book with no
 * level of it, after an event with nothing of its text — and test_recfile_portable reads them
 * all the general way. */
static void test_uniform_chunks(void **state)
{
    st_rec_writer_t *w = new_writer("uniform.strata");
    static sent_t sent[UNI_CHUNKS * UNI_PER];
    for (int c = 0; c < UNI_CHUNKS; c++) {
        for (int k = 0; k < UNI_PER; k++) {
            sent_t *o = &sent[c * UNI_PER + k];
            uni_item(c, k, o);
            if (o->event)
                assert_int_equal(st_rec_event(w, o->t.recv_time, ST_REV_NOTE, o->code, "{}", 2), 0);
            else
                assert_int_equal(st_rec_tick(w, &o->t, o->code, o->conn), 0);
        }
        assert_int_equal(st_rec_flush(w), 0); /* a chunk each */
    }
    assert_int_equal(st_rec_close(w), 0);
    st_rec_reader_t *r = open_ok();
    size_t nchunks;
    st_rec_chunks(r, &nchunks);
    assert_int_equal(nchunks, UNI_CHUNKS);
    st_rec_item_t *it;
    int i = 0;
    while ((it = st_rec_read(r)) != NULL) {
        assert_true(i < UNI_CHUNKS * UNI_PER);
        const sent_t *o = &sent[i++];
        assert_int_equal(it->time, o->t.recv_time);
        assert_string_equal(it->code, o->code);
        if (o->event) {
            assert_int_equal(it->type, ST_REC_EVENT);
            assert_int_equal(it->text_len, 2);
            continue;
        }
        assert_int_equal(it->type, ST_REC_TICK);
        assert_int_equal(it->conn, o->conn);
        assert_int_equal(it->event, 0);
        assert_null(it->text);
        assert_memory_equal(&it->tick, &o->t, sizeof(st_tick_t));
    }
    assert_int_equal(i, UNI_CHUNKS * UNI_PER);
    assert_int_equal(st_rec_corrupt(r), 0);
    st_rec_free(r);
    unlink(path);
}

/* An orderbook whose 42 numbers are all 32-bit integers is written from its integers in one
 * pass, any other one number by number; either comes back bit for bit: books drawn from integers
 * (most of them: the quick way) and, one book in four, a number from the edges — the ends of 32
 * bits and one past, -0, a fraction, 2^53, NaN, infinities (the number by number way). */
static void test_book_numbers(void **state)
{
    static const double edge[] = {2147483647.0, -2147483648.0, 2147483648.0, -2147483649.0, -0.0, 0.5,
                                  -1.25, 9007199254740992.0, 1e300, NAN, INFINITY, -INFINITY, 0.0, -7.0};
    const size_t nedge = sizeof(edge) / sizeof(edge[0]);
    st_rec_writer_t *w = new_writer("books.strata");
    enum { N = 4000 };
    static st_tick_t sent[N];
    uint64_t seed = 7;
    for (int i = 0; i < N; i++) {
        st_tick_t *t = &sent[i];
        memset(t, 0, sizeof(*t));
        t->kind = ST_TICK_ORDERBOOK;
        t->sym = ST_SYM_NONE;
        t->recv_time = t->venue_time = T0 + (st_time_t)i * ST_MSEC;
        for (int j = 0; j < 42; j++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            int64_t r = (int64_t)(seed >> 33) - (1ll << 30); /* within 32 bits, both signs */
            *book_num(&t->u.book, j) = (double)(j < 20 ? 70000 + r % 5000 : r);
        }
        if (i % 4 == 3) *book_num(&t->u.book, (int)((seed >> 20) % 42)) = edge[(seed >> 8) % nedge];
        assert_int_equal(st_rec_tick(w, t, "005930", 0), 0);
    }
    closed_reads_back(w, sent, N);
}

/* A committed file of an older format reads as it did, value for value: tests/record/v1.strata
 * (format 1, imported from the CSV rows below) and its rows imported again by later strata. */
static void reads_old(const char *file, int version)
{
    char err[256] = "";
    st_rec_reader_t *r = st_rec_open(st_test_source_path(file), err, sizeof(err));
    if (!r) fail_msg("%s", err);
    assert_int_equal(st_rec_version(r), version);
    st_rec_item_t it;
    /* quote,2026-11-23 09:00:00.100,005930,,,,70900,71000,1200,800 */
    assert_int_equal(st_rec_next(r, &it), 1);
    assert_int_equal(it.tick.kind, ST_TICK_ORDERBOOK);
    assert_string_equal(it.code, "005930");
    assert_true(it.tick.u.book.bid[0] == 70900 && it.tick.u.book.ask[0] == 71000);
    assert_true(it.tick.u.book.bid_qty[0] == 1200 && it.tick.u.book.ask_qty[0] == 800);
    /* trade,...00.250,005930,71000,10,buy */
    assert_int_equal(st_rec_next(r, &it), 1);
    assert_int_equal(it.time, T0 + 250 * ST_MSEC);
    assert_true(it.tick.u.trade.price == 71000 && it.tick.u.trade.volume == 10 && it.tick.u.trade.side == ST_SIDE_BUY);
    assert_true(it.tick.u.trade.best_bid == 70900 && it.tick.u.trade.cum_value == 710000);
    /* trade,...00.300,000660,182500,3,sell; trade,...01.700,005930,70900,25,sell */
    assert_int_equal(st_rec_next(r, &it), 1);
    assert_int_equal(st_rec_next(r, &it), 1);
    assert_string_equal(it.code, "005930");
    assert_true(it.tick.u.trade.price == 70900 && it.tick.u.trade.low == 70900 && it.tick.u.trade.high == 71000);
    assert_true(it.tick.u.trade.cum_volume == 35 && it.tick.u.trade.cum_value == 2482500);
    /* trade,...02.000,000660,182600.5,1.25 (not integers: 8 bytes each) */
    assert_int_equal(st_rec_next(r, &it), 1);
    assert_string_equal(it.code, "000660");
    assert_true(it.tick.u.trade.price == 182600.5 && it.tick.u.trade.volume == 1.25);
    assert_true(it.tick.u.trade.cum_value == 775750.625 && it.tick.u.trade.side == ST_SIDE_NONE);
    assert_int_equal(st_rec_next(r, &it), 0);
    assert_int_equal(st_rec_corrupt(r), 0);
    st_rec_free(r);
}

static void test_reads_version_1(void **state)
{
    reads_old("tests/record/v1.strata", 1);
}

/* Format 2, written by `strata record import --csv` from v1.strata's rows exported */
static void test_reads_version_2(void **state)
{
    reads_old("tests/record/v2.strata", 2);
}

/* Format 3 (columns), written the same way */
static void test_reads_version_3(void **state)
{
    reads_old("tests/record/v3.strata", 3);
}

/* Format 4 (the flags, feed and connection in columns of their own, a trade's side in its mask
 * byte), written the same way */
static void test_reads_version_4(void **state)
{
    reads_old("tests/record/v4.strata", 4);
}

/* A chunk's dictionary lists the codes of the chunk before first, in the same order (but those
 * not used for 16 chunks), so a reader keeps its number (`dict`) and a caller's cache by index
 * stays right: over chunks of the same codes, then one code gone for good and one new, every
 * (dict, index) names one code only, and the number changes once: at the chunk whose
 * dictionary no longer lists the code gone. */
static void test_dictionary_kept(void **state)
{
    st_rec_writer_t *w = new_writer("dict.strata");
    for (int i = 0; i < 2500; i++) { /* 25 chunks (a second each); from the 4th, code 9 instead of 2 */
        st_tick_t t = {.kind = ST_TICK_TRADE, .sym = ST_SYM_NONE};
        t.recv_time = t.venue_time = T0 + i * 10 * ST_MSEC;
        t.u.trade.price = 1000 + i;
        char code[8];
        int k = i % 7; /* each chunk begins with another code: first use is no order */
        snprintf(code, sizeof(code), "%06d", i >= 300 && k == 2 ? 9 : k);
        assert_int_equal(st_rec_tick(w, &t, code, 0), 0);
    }
    assert_int_equal(st_rec_close(w), 0);
    st_rec_reader_t *r = open_ok();
    char seen[4][8][8] = {{{0}}}; /* by dict, index: the code */
    uint32_t first = UINT32_MAX, changes = 0, prev = UINT32_MAX;
    int n = 0;
    st_rec_item_t *it;
    while ((it = st_rec_read(r)) != NULL) {
        if (first == UINT32_MAX) first = it->dict;
        if (prev != UINT32_MAX && it->dict != prev) changes++;
        prev = it->dict;
        uint32_t d = it->dict - first;
        assert_true(d < 4 && it->code_index < 8);
        if (!seen[d][it->code_index][0]) snprintf(seen[d][it->code_index], 8, "%s", it->code);
        assert_string_equal(seen[d][it->code_index], it->code);
        assert_true(it->tick.u.trade.price == 1000 + n++);
    }
    assert_int_equal(n, 2500);
    assert_int_equal(changes, 1);
    assert_int_equal(st_rec_corrupt(r), 0);
    size_t nch;
    const st_rec_chunk_t *ch = st_rec_chunks(r, &nch);
    assert_int_equal(nch, 25);
    assert_int_equal(ch[0].nsyms, 7);
    assert_int_equal(ch[3].nsyms, 8);  /* 9 added, 2 kept */
    assert_int_equal(ch[24].nsyms, 7); /* 2 gone */
    st_rec_free(r);
    unlink(path);
}

/* format 4's columns (docs/backtest.md) */
enum { COL_VDELTA = 3, COL_MASK = 7, COL_RARE = 8, COL_SIDE = 19, COL_BOOK = 20, NCOL = 22 };

/* Where column k begins in the payload. */
static uint8_t *column_at(const uint32_t *lens, uint8_t *raw, int k)
{
    uint8_t *at = raw + 4 * NCOL;
    for (int i = 0; i < k; i++) at += lens[i];
    return at;
}

/* The one-chunk file at `path` with its payload changed by edit (the column lengths, the
 * payload's bytes and length), sound again around it — compressed, its zstd checksum, the
 * header's lengths and CRC — and no index (the reader scans): a reader over it, counting what
 * it reports. */
static st_rec_reader_t *reread_edited(void (*edit)(uint32_t *lens, uint8_t *raw, uint32_t *rawlen))
{
    int fd = open(path, O_RDONLY);
    static uint8_t file[1 << 16], raw[1 << 16], comp[1 << 16];
    ssize_t len = read(fd, file, sizeof(file));
    close(fd);
    assert_true(len > 32 + 46);
    uint32_t hl, clen, rawlen;
    memcpy(&hl, file + 32 + 4, 4), memcpy(&clen, file + 32 + 8, 4), memcpy(&rawlen, file + 32 + 12, 4);
    assert_int_equal(ZSTD_decompress(raw, sizeof(raw), file + 32 + hl, clen), rawlen);
    uint32_t lens[NCOL];
    memcpy(lens, raw, sizeof(lens));
    edit(lens, raw, &rawlen);
    memcpy(raw, lens, sizeof(lens));
    ZSTD_CCtx *z = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);
    size_t nclen = ZSTD_compress2(z, comp, sizeof(comp), raw, rawlen);
    ZSTD_freeCCtx(z);
    assert_false(ZSTD_isError(nclen));
    uint8_t *h = file + 32;
    uint32_t c32 = (uint32_t)nclen;
    memcpy(h + 8, &c32, 4), memcpy(h + 12, &rawlen, 4);
    uint32_t crc = crc32_ieee(h, hl - 4);
    memcpy(h + hl - 4, &crc, 4);
    memcpy(h + hl, comp, nclen);
    char err[256];
    st_rec_reader_t *r = st_rec_open_mem(file, 32 + hl + nclen, err, sizeof(err));
    assert_non_null(r);
    count_corrupt = 0;
    st_rec_set_corrupt_cb(r, on_corrupt, NULL);
    return r;
}

/* Writes ticks (n, all of one code) to a one-chunk file `name` in the test's directory (path). */
static void write_chunk(const char *name, const st_tick_t *ticks, int n, const char *code)
{
    st_rec_writer_t *w = new_writer(name);
    for (int i = 0; i < n; i++) assert_int_equal(st_rec_tick(w, &ticks[i], code, 0), 0);
    assert_int_equal(st_rec_flush(w), 0); /* one chunk */
    assert_int_equal(st_rec_close(w), 0);
}

/* The end of an edit test: its reader and file gone. */
static void reread_done(st_rec_reader_t *r)
{
    st_rec_free(r);
    unlink(path);
}

static void side_short(uint32_t *lens, uint8_t *raw, uint32_t *rawlen)
{
    (void)raw, (void)rawlen;
    assert_true(lens[COL_SIDE] == 20 && lens[COL_BOOK] == 0);
    lens[COL_SIDE]--, lens[COL_BOOK]++; /* the same bytes, the last side said to be the (unread) books' */
}

/* Format 3 keeps an item's parts in columns whose lengths the payload states: a payload that
 * states one column a byte short (the bytes all there, the zstd checksum and the header CRC
 * right) must stop at the item that would read past that column's end — reported, the rest of
 * the chunk skipped — never read on into the next column or past the payload. */
static void test_column_overrun(void **state)
{
    st_tick_t t[20];
    for (int i = 0; i < 20; i++) { /* one code, every side above sell (a byte in the side column): 20 there */
        t[i] = (st_tick_t){.kind = ST_TICK_TRADE, .sym = ST_SYM_NONE, .recv_time = T0 + i * ST_MSEC};
        t[i].venue_time = t[i].recv_time;
        t[i].u.trade.price = 70000 + 100 * i, t[i].u.trade.volume = 1, t[i].u.trade.side = (uint8_t)(3 + i % 2);
    }
    write_chunk("columns.strata", t, 20, "005930");
    st_rec_reader_t *r = reread_edited(side_short);
    int n = 0;
    st_rec_item_t *it;
    while ((it = st_rec_read(r)) != NULL) {
        assert_true(it->tick.u.trade.price == 70000 + 100 * n && it->tick.u.trade.side == 3 + n % 2);
        n++;
    }
    assert_int_equal(n, 19); /* the last side is past the column's stated end */
    assert_int_equal(count_corrupt, 1);
    assert_int_equal(last_offset, 32);
    reread_done(r);
}

static void mask_short(uint32_t *lens, uint8_t *raw, uint32_t *rawlen)
{
    (void)raw, (void)rawlen;
    assert_true(lens[COL_MASK] == 20 && lens[COL_RARE] == 0);
    lens[COL_MASK]--, lens[COL_RARE]++; /* the last trade's mask byte said to be the (unread) rare column's */
}

/* The same for the mask column, which the common trade's path (trade_fast) reads: twenty common
 * trades (price, volume, the side in the mask, the rest as predicted) whose mask column is
 * stated a byte short give nineteen and a malformed item, not a twentieth read from the next
 * column's byte. */
static void test_mask_column_overrun(void **state)
{
    st_tick_t t[20];
    double sum = 0;
    for (int i = 0; i < 20; i++) {
        t[i] = (st_tick_t){.kind = ST_TICK_TRADE, .sym = ST_SYM_NONE, .recv_time = T0 + i * ST_MSEC};
        t[i].venue_time = t[i].recv_time;
        st_trade_t *q = &t[i].u.trade;
        q->price = q->high = 70000 + 100 * i, q->low = 70000, q->volume = 1, q->side = (uint8_t)(1 + i % 2);
        q->cum_volume = i + 1, q->cum_value = sum += q->price;
    }
    write_chunk("mask.strata", t, 20, "005930");
    st_rec_reader_t *r = reread_edited(mask_short);
    int n = 0;
    st_rec_item_t *it;
    while ((it = st_rec_read(r)) != NULL) {
        assert_memory_equal(&it->tick, &t[n], sizeof(st_tick_t));
        n++;
    }
    assert_int_equal(n, 19);
    assert_int_equal(count_corrupt, 1);
    reread_done(r);
}

static void vdelta_even(uint32_t *lens, uint8_t *raw, uint32_t *rawlen)
{
    (void)rawlen;
    assert_true(lens[COL_VDELTA] == 20);
    memset(column_at(lens, raw, COL_VDELTA), 0x02, 20); /* each byte a two-byte number's first */
}

/* A chunk whose venue time differences are twenty bytes alike, one a tick, but each the first
 * of a two-byte number (the rest of it uniform: one code's trades) is not uniform: read the
 * general way, ten ticks take the column's twenty bytes and the eleventh is malformed, not
 * twenty ticks with a difference made up of one byte. */
static void test_uniform_needs_one_byte(void **state)
{
    st_tick_t t[20];
    for (int i = 0; i < 20; i++) {
        t[i] = (st_tick_t){.kind = ST_TICK_TRADE, .sym = ST_SYM_NONE, .recv_time = T0 + i * ST_MSEC};
        t[i].venue_time = t[i].recv_time;
        t[i].u.trade.price = t[i].u.trade.high = t[i].u.trade.low = t[i].u.trade.open = 70000;
        t[i].u.trade.volume = t[i].u.trade.cum_volume = 1, t[i].u.trade.side = ST_SIDE_BUY;
    }
    write_chunk("vdelta.strata", t, 20, "005930");
    st_rec_reader_t *r = reread_edited(vdelta_even);
    int n = 0;
    st_rec_item_t *it;
    while ((it = st_rec_read(r)) != NULL) {
        assert_int_equal(it->tick.venue_time - it->tick.recv_time, 64); /* 0x0202: 128, zigzagged */
        n++;
    }
    assert_int_equal(n, 10);
    assert_int_equal(count_corrupt, 1);
    reread_done(r);
}

static void book_cut(uint32_t *lens, uint8_t *raw, uint32_t *rawlen)
{
    (void)raw;
    assert_true(lens[COL_BOOK] == 42 * 9); /* fractions: 9 bytes each */
    for (int k = COL_BOOK + 1; k < NCOL; k++) assert_int_equal(lens[k], 0);
    *rawlen -= lens[COL_BOOK] - 9, lens[COL_BOOK] = 9; /* its first number, and the payload ends */
}

/* A book reads 42 numbers from one column: a books column cut after its first number, at the
 * payload's end, stops the book there — never read past the payload (the 9-byte numbers would
 * take the reads far past its padding: under ASan this read out of bounds before the fix). */
static void test_book_column_cut(void **state)
{
    st_tick_t t = {.kind = ST_TICK_ORDERBOOK, .sym = ST_SYM_NONE, .recv_time = T0, .venue_time = T0};
    for (int k = 0; k < ST_BOOK_DEPTH; k++) {
        t.u.book.ask[k] = 100.5 + k, t.u.book.bid[k] = 99.5 - k;
        t.u.book.ask_qty[k] = 0.25 + k, t.u.book.bid_qty[k] = 0.75 + k;
    }
    t.u.book.total_ask_qty = 10.5, t.u.book.total_bid_qty = 11.5;
    write_chunk("book.strata", &t, 1, "KRW-BTC");
    st_rec_reader_t *r = reread_edited(book_cut);
    assert_null(st_rec_read(r));
    assert_int_equal(count_corrupt, 1);
    reread_done(r);
}

static void time_huge(uint32_t *lens, uint8_t *raw, uint32_t *rawlen)
{
    uint8_t *at = column_at(lens, raw, 1); /* the time column: one entry, 0 (a byte: 0x01) */
    assert_true(lens[1] == 1 && at[0] == 0x01);
    memmove(at + 9, at + 1, *rawlen - (size_t)(at + 1 - raw));
    uint64_t zig = UINT64_MAX - 1; /* INT64_MAX, zigzagged, in the 9-byte form */
    at[0] = 0;
    memcpy(at + 1, &zig, 8);
    lens[1] = 9, *rawlen += 8;
}

static int mask_edit; /* 0: the mask byte's bit 7; 1: the rare byte's bit 6 */

static void mask_reserved(uint32_t *lens, uint8_t *raw, uint32_t *rawlen)
{
    (void)rawlen;
    assert_true(lens[COL_MASK] == 2 && lens[COL_RARE] == 1); /* two trades; the first's open in RARE */
    if (mask_edit == 0) column_at(lens, raw, COL_MASK)[1] |= 0x80;
    else column_at(lens, raw, COL_RARE)[0] |= 0x40; /* TM_* bit 8, the bid's: never in RARE */
}

/* A format 4 trade's mask byte has bit 7 zero, and its byte of the seldom numbers (RARE) bits 6
 * and 7: either set is a malformed item — reported, the rest of the chunk skipped — not bits
 * read as something else (the rare byte's bit 6 would name the bid, which the mask names). */
static void test_mask_reserved_bits(void **state)
{
    for (mask_edit = 0; mask_edit < 2; mask_edit++) {
        st_tick_t t[2];
        for (int i = 0; i < 2; i++) {
            t[i] = (st_tick_t){.kind = ST_TICK_TRADE, .sym = ST_SYM_NONE, .recv_time = T0 + i, .venue_time = T0 + i};
            t[i].u.trade.price = t[i].u.trade.high = 70000 + i, t[i].u.trade.open = t[i].u.trade.low = 70000;
            t[i].u.trade.best_bid = 69900;
        }
        write_chunk("mask.strata", t, 2, "005930");
        st_rec_reader_t *r = reread_edited(mask_reserved);
        int n = 0;
        while (st_rec_read(r)) n++;
        assert_int_equal(n, mask_edit == 0 ? 1 : 0); /* the second trade's mask; the first's rare byte */
        assert_int_equal(count_corrupt, 1);
        reread_done(r);
    }
}

/* A time difference the file may state is any 64-bit number: added to the chunk's time it
 * wraps (under UBSan this was a signed overflow), the item read, nothing undefined. */
static void test_time_wraps(void **state)
{
    st_tick_t t = {.kind = ST_TICK_TRADE, .sym = ST_SYM_NONE, .recv_time = T0, .venue_time = T0};
    t.u.trade.price = 70000;
    write_chunk("time.strata", &t, 1, "005930");
    st_rec_reader_t *r = reread_edited(time_huge);
    st_rec_item_t *it = st_rec_read(r);
    assert_non_null(it);
    assert_true(it->time == (st_time_t)((uint64_t)T0 + (uint64_t)INT64_MAX));
    assert_true(it->tick.u.trade.price == 70000);
    assert_null(st_rec_read(r));
    reread_done(r);
}

static void test_not_a_recording(void **state)
{
    char err[256];
    assert_null(st_rec_open_mem("hello", 5, err, sizeof(err)));
    assert_non_null(strstr(err, "not a strata recording"));
    uint8_t h[32] = "STRATARC";
    h[8] = 9, h[10] = 32;
    assert_null(st_rec_open_mem(h, sizeof(h), err, sizeof(err)));
    assert_non_null(strstr(err, "version 9"));
    snprintf(path, sizeof(path), "%s/nothing.strata", dir);
    assert_null(st_rec_open(path, err, sizeof(err)));
    assert_non_null(strstr(err, "No such file"));
    /* an empty recording: a header and an index, no chunk */
    st_rec_writer_t *w = st_rec_create(path, T0);
    assert_int_equal(st_rec_close(w), 0);
    st_rec_reader_t *r = open_ok();
    st_rec_item_t it;
    assert_int_equal(st_rec_next(r, &it), 0);
    st_rec_free(r);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_background_writer_same_bytes),
        cmocka_unit_test(test_written_waits_for_the_thread),
        cmocka_unit_test(test_write_error_told),
        cmocka_unit_test(test_killed_writer),
        cmocka_unit_test(test_corrupt_chunk),
        cmocka_unit_test(test_shrunk_while_read),
        cmocka_unit_test(test_file_and_memory_alike),
        cmocka_unit_test(test_not_a_recording),
        cmocka_unit_test(test_trade_predictions),
        cmocka_unit_test(test_market_trades),
        cmocka_unit_test(test_uniform_chunks),
        cmocka_unit_test(test_tick_by_id_same_bytes),
        cmocka_unit_test(test_many_codes_few_at_a_time),
        cmocka_unit_test(test_book_numbers),
        cmocka_unit_test(test_reads_version_1),
        cmocka_unit_test(test_reads_version_2),
        cmocka_unit_test(test_reads_version_3),
        cmocka_unit_test(test_reads_version_4),
        cmocka_unit_test(test_column_overrun),
        cmocka_unit_test(test_mask_column_overrun),
        cmocka_unit_test(test_uniform_needs_one_byte),
        cmocka_unit_test(test_book_column_cut),
        cmocka_unit_test(test_mask_reserved_bits),
        cmocka_unit_test(test_time_wraps),
        cmocka_unit_test(test_dictionary_kept),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
