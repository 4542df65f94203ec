#define _GNU_SOURCE /* memmem */
#include "recfile.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#if defined(__SSE2__) && !defined(ST_REC_PORTABLE) /* (ST_REC_PORTABLE: test_recfile_portable) */
#include <emmintrin.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zstd.h>

/* Layout (little-endian; docs/backtest.md):
 *   file header  "STRATARC" u16 version u16 header_len u32 flags i64 start i64 reserved   (32 B)
 *   chunk        u32 'SRCK' u32 header_len u32 comp_len u32 raw_len u32 count u32 reserved
 *                i64 first i64 last u16 nsyms {u8 len, code}*nsyms u32 header_crc, payload
 *                (a zstd frame with its content checksum)
 *   index        u32 'SRIX' u32 n {u64 offset i64 first i64 last u32 count u32 nsyms}*n
 *   trailer      u64 index_offset "STRATEND"
 * A payload (version 4) is in columns: u32 length of each of the NCOL columns (COL_* below),
 * then the columns one after the other; an item's parts are the next ones of the columns it has:
 *   every item: TAG u8 type << 4 | tick kind; TIME zigzag time - previous time (the first
 *          from `first`)
 *   tick:  CODE u16 code index; VDELTA zigzag venue - recv time; FLAGS, FEED, CONN u8 each
 *          a trade or snapshot: MASK u8 (MB_* below: which of the price, volume, best bid and
 *          ask differ from their prediction, whether RARE holds a byte of the others, and the
 *          side), then each number that differs from its prediction from the code's previous
 *          trade in the chunk (TM_* below) in the column of its bit; an orderbook: 42 numbers
 *          in BOOK
 *   event: EVENT u8 kind, LEB128 varint code index + 1 (0 none), varint length, text
 *   (integers in prefix varints, pvar_, but in EVENT)
 * Version 3 had 19 columns: META (u8 flags, feed, conn) for FLAGS, FEED and CONN; MASK a u16 of
 *   the TM_* bits, no RARE; the side in SIDE when it differed from the previous (TM_SIDE).
 * Versions 1 and 2 wrote each item whole, one after the other: u8 type, zigzag varint time, then
 *   tick:  u8 kind u8 flags u8 feed u8 conn varint code index, zigzag varint venue - recv time,
 *          a trade (version 2): u16 mask then the numbers it names in bit order, u8 side;
 *          a trade (version 1): 10 numbers + u8 side; an orderbook: 42 numbers
 *   event: as in EVENT */

#ifdef ST_REC_NO_FAST /* (test_recfile_portable: the general paths only) */
#define FAST_PATHS false
#else
#define FAST_PATHS true
#endif
#define GET static inline __attribute__((always_inline)) /* the reader's hot path: in registers */

#define FILE_MAGIC "STRATARC"
#define END_MAGIC "STRATEND"
#define CHUNK_MAGIC 0x4B435253u /* "SRCK" */
#define INDEX_MAGIC 0x58495253u /* "SRIX" */
#define FILE_HEADER 32
#define CHUNK_FIXED 42 /* the chunk header up to its dictionary (nsyms included) */
#define MAX_SYMS 65535
#define INDEX_ENTRY 32
#define MAX_RAW (64u << 20) /* a chunk's payload, uncompressed (a writer's: ST_REC_CHUNK_BYTES and an item) */
#define MAX_CHUNK_HEADER (CHUNK_FIXED + (MAX_SYMS + 1) * 256u + 4) /* its dictionary: codes of < 256 bytes */
#define PAD 32 /* zero bytes after a decompressed payload: a column's reader loads up to 17 past p */

/* The columns of a version 4 payload. A trade's numbers are in bit order from COL_PRICE
 * (COL_PRICE + n holds the number of TM_* bit n). A column of bytes that seldom change is
 * nearly free to zstd when its bytes are alike one after the other: the flags, feed and
 * connection in a column each, not three bytes an item in one (version 3's META, which zstd
 * decoded at 1.7 ns an item of a market tape), and a trade's side in its mask byte. */
enum {
    COL_TAG,
    COL_TIME,
    COL_CODE,
    COL_VDELTA,
    COL_FLAGS, /* version 3: META, u8 flags, feed, conn */
    COL_FEED,
    COL_CONN,
    COL_MASK, /* version 3: u16 of TM_* bits */
    COL_RARE, /* TM_RARE >> 2, when MB_RARE says */
    COL_PRICE, /* 10 columns: price, volume, open, high, low, previous close, cumulative volume and value, bid, ask */
    COL_SIDE = COL_PRICE + 10, /* a side above ST_SIDE_SELL (version 3: every side that changed) */
    COL_BOOK,
    COL_EVENT,
    NCOL
};
#define NCOL_V3 19

const char *const st_rec_event_names[ST_REV_COUNT] = {"", "plan", "subscribe", "emergency", "signal", "reload", "slot", "note"};

/* --- CRC-32 (IEEE), the bytes' integrity -------------------------------------------------- */

/* Eight bytes a step (slicing-by-8: table k is a byte's CRC followed by k zero bytes), not one:
 * a chunk header's dictionary is a few kilobytes, checked at every chunk a replay reads (a byte
 * at a time it was 3-4 % of reading the demo tape). */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT; /* the writer's thread and a reader may both ask first */

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++) crc_table[t][i] = crc_table[0][crc_table[t - 1][i] & 0xFF] ^ (crc_table[t - 1][i] >> 8);
}

static uint32_t crc32_of(const void *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    uint32_t c = 0xFFFFFFFFu;
    const uint8_t *b = p;
    for (; n >= 8; n -= 8, b += 8) { /* little-endian (checked at build) */
        uint32_t lo, hi;
        memcpy(&lo, b, 4);
        memcpy(&hi, b + 4, 4);
        lo ^= c;
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^ crc_table[5][(lo >> 16) & 0xFF] ^
            crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF] ^
            crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
    }
    for (; n; n--) c = crc_table[0][(c ^ *b++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* --- little-endian bytes ------------------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t len, cap;
} buf_t;

static ST_NOINLINE void grow(buf_t *b, size_t n)
{
    b->cap = (b->len + n) * 2;
    b->p = st_xrealloc(b->p, b->cap);
}

/* Room for n more bytes: the test inline (every put makes it), the growing not. */
static inline void need(buf_t *b, size_t n)
{
    if (__builtin_expect(b->len + n > b->cap, 0)) grow(b, n);
}

/* Inline: a put of a constant size is then a store, not a call to memcpy (an item makes four). */
static inline void put(buf_t *b, const void *v, size_t n)
{
    need(b, n);
    memcpy(b->p + b->len, v, n);
    b->len += n;
}

static void put_u8(buf_t *b, uint8_t v) { put(b, &v, 1); }
static void put_u16(buf_t *b, uint16_t v) { uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)}; put(b, x, 2); }
static void put_u32(buf_t *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++) x[i] = (uint8_t)(v >> (8 * i));
    put(b, x, 4);
}
static void put_u64(buf_t *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
    put(b, x, 8);
}
/* Unchecked: the caller made room (need) for it. */
static inline void var_(buf_t *b, uint64_t v)
{
    while (v >= 0x80) b->p[b->len++] = (uint8_t)(v | 0x80), v >>= 7;
    b->p[b->len++] = (uint8_t)v;
}

static void put_var(buf_t *b, uint64_t v)
{
    need(b, 10);
    var_(b, v);
}

#define EXACT_INT 9007199254740992.0 /* 2^53: integers below it are exact doubles */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the recording writer stores doubles in host order: a little-endian host is assumed"
#endif

/* Zigzag: a signed integer as an unsigned one, small magnitudes small (0, -1, 1, -2 -> 0, 1, 2,
 * 3), and back: the writer's and every format's reader's. */
static inline uint64_t zig(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t unzig(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* Whether |r| < 2^53, so (double)r is exact: one unsigned comparison, not two. */
static inline bool exact(int64_t r)
{
    return (uint64_t)r + ((uint64_t)EXACT_INT - 1) < 2 * (uint64_t)EXACT_INT - 1;
}

/* Whether v is an integer that round-trips exactly (not -0.0, which would come back as 0). */
static inline bool integral(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    return fabs(v) < EXACT_INT && v == (double)(int64_t)v && bits != 1ull << 63; /* (-0.0's bits) */
}

/* The bytes a prefix varint of v takes below its 9-byte form: 1..10, (its bits + 6) / 7 — by a
 * multiply, exact for these. (63 - clz: the highest bit's index, one instruction.) */
static inline unsigned plen(uint64_t v)
{
    return ((unsigned)(63 - __builtin_clzll(v | 1)) + 7) * 147 >> 10;
}

/* The room a prefix varint or a number (pvar_, pnum_) needs past the length: they store 8 bytes
 * at a time, at most 9 past it (the 9-byte form and the escape: 8 bytes, then 8 from the second). */
#define PVAR_ROOM 9

/* A prefix varint (the columns of versions 3 and 4): v in n = 1..8 bytes when below 2^(7n),
 * the first byte's lowest set bit saying n (bit n-1), v above it; else a 0 byte and v's 8
 * bytes. A reader finds the length in one instruction, not byte by byte. Written at a cursor,
 * which the compiler keeps in a register (a buf_t's length it would reload after every byte
 * stored: a byte store may alias it); returns the cursor past it. Unchecked: the caller made
 * room (PVAR_ROOM). */
static inline uint8_t *pvar_n(uint8_t *o, uint64_t v, unsigned n) /* n = plen(v) <= 8 */
{
    uint64_t w = v << n | 1ull << (n - 1); /* fits in n bytes */
    memcpy(o, &w, 8); /* little-endian hosts only (checked at build) */
    return o + n;
}

static inline uint8_t *pvar_(uint8_t *o, uint64_t v)
{
    unsigned n = plen(v);
    if (__builtin_expect(n <= 8, 1)) return pvar_n(o, v, n);
    o[0] = 0; /* the 9-byte form */
    memcpy(o + 1, &v, 8);
    return o + 9;
}

static inline void put_pzig(buf_t *b, int64_t v)
{
    need(b, PVAR_ROOM);
    b->len = (size_t)(pvar_(b->p + b->len, zig(v)) - b->p);
}

/* put_num in a prefix varint at the cursor *o: an integer as its zigzagged difference from ref,
 * shifted left one; anything else as 1 then its 8 bytes. Unchecked (PVAR_ROOM). Returns v as an
 * integer (0 when it is not one: ref_of), what the next number may be relative to. */
static inline int64_t pnum_(uint8_t **o, double v, int64_t ref)
{
    if (integral(v)) {
        int64_t i = (int64_t)v;
        *o = pvar_(*o, zig((int64_t)((uint64_t)i - (uint64_t)ref)) << 1);
        return i;
    }
    *o = pvar_(*o, 1);
    memcpy(*o, &v, 8);
    *o += 8;
    return 0;
}

static inline void put_pnum(buf_t *b, double v, int64_t ref)
{
    need(b, PVAR_ROOM);
    uint8_t *o = b->p + b->len;
    pnum_(&o, v, ref);
    b->len = (size_t)(o - b->p);
}

_Static_assert(sizeof(st_book_t) == 42 * sizeof(double) && offsetof(st_book_t, bid) == 10 * sizeof(double) &&
                   offsetof(st_book_t, ask_qty) == 20 * sizeof(double) &&
                   offsetof(st_book_t, bid_qty) == 30 * sizeof(double) &&
                   offsetof(st_book_t, total_ask_qty) == 40 * sizeof(double),
               "an orderbook is its 42 numbers in this order: book_ints reads them as one array");

/* Whether every one of an orderbook's 42 numbers is an integer of 32 bits (a stock's prices and
 * sizes, nearly always), and them into n then: each converted and back, to the same bits (so
 * not -0.0, NaN, a fraction or anything larger) — with SSE2 two at a time, without a branch. */
#if defined(__SSE2__) && !defined(ST_REC_PORTABLE)
static bool book_ints(const st_book_t *k, int32_t *n)
{
    const char *x = (const char *)k; /* its numbers in order (asserted above) */
    __m128i same = _mm_set1_epi32(-1);
    for (int i = 0; i < 42; i += 2) {
        __m128d v = _mm_loadu_pd((const double *)(const void *)(x + 8 * i));
        __m128i t = _mm_cvttpd_epi32(v); /* out of range: INT32_MIN, which converts back to another number */
        same = _mm_and_si128(same, _mm_cmpeq_epi32(_mm_castpd_si128(_mm_cvtepi32_pd(t)), _mm_castpd_si128(v)));
        _mm_storel_epi64((__m128i *)(void *)(n + i), t);
    }
    return _mm_movemask_epi8(same) == 0xFFFF;
}
#else
static bool book_ints(const st_book_t *k, int32_t *n)
{
    bool whole = true;
    for (int i = 0; i < 42; i++) {
        double v, back;
        memcpy(&v, (const char *)k + 8 * i, 8);
        n[i] = v >= INT32_MIN && v <= INT32_MAX ? (int32_t)v : 0; /* (NaN: 0) */
        back = n[i];
        whole &= memcmp(&back, &v, 8) == 0;
    }
    return whole;
}
#endif

/* pnum_'s integral case for a difference d of two 32-bit integers: under 2^34 zigzagged and
 * shifted, at most 5 bytes — pvar_ without its test for the 9-byte form. */
static inline uint8_t *odiff_(uint8_t *o, int64_t d)
{
    uint64_t v = zig(d) << 1;
    return pvar_n(o, v, plen(v));
}

/* An orderbook's 42 numbers (the books column, formats 3 and 4): ask 1, bid 1 (relative to
 * ask 1), then ask and bid 2-10 each relative to the level before, the sizes interleaved and
 * the totals.
 * From their integers when book_ints says so, else one by one (pnum_): the same bytes. */
static void put_book(buf_t *b, const st_book_t *k)
{
    need(b, 42 * PVAR_ROOM); /* each number advances at most 9 and stores at most 9 past its start */
    uint8_t *o = b->p + b->len;
    int32_t n[42];
    if (book_ints(k, n)) {
        const int32_t *a = n, *d = n + 10, *aq = n + 20, *dq = n + 30; /* differences of two: no overflow */
        o = odiff_(o, a[0]);
        o = odiff_(o, (int64_t)d[0] - a[0]);
        for (int i = 1; i < ST_BOOK_DEPTH; i++) {
            o = odiff_(o, (int64_t)a[i] - a[i - 1]);
            o = odiff_(o, (int64_t)d[i] - d[i - 1]);
        }
        for (int i = 0; i < ST_BOOK_DEPTH; i++) o = odiff_(o, aq[i]), o = odiff_(o, dq[i]);
        o = odiff_(o, n[40]), o = odiff_(o, n[41]);
        b->len = (size_t)(o - b->p);
        return;
    }
    int64_t a = pnum_(&o, k->ask[0], 0), d = pnum_(&o, k->bid[0], a);
    for (int i = 1; i < ST_BOOK_DEPTH; i++) a = pnum_(&o, k->ask[i], a), d = pnum_(&o, k->bid[i], d);
    for (int i = 0; i < ST_BOOK_DEPTH; i++) pnum_(&o, k->ask_qty[i], 0), pnum_(&o, k->bid_qty[i], 0);
    pnum_(&o, k->total_ask_qty, 0), pnum_(&o, k->total_bid_qty, 0);
    b->len = (size_t)(o - b->p);
}

/* The integer a number is relative to (its own value when integral, else 0). */
static int64_t ref_of(double v)
{
    return integral(v) ? (int64_t)v : 0;
}

/* --- a trade's numbers, predicted (version 2) ------------------------------------------------
 * Within a chunk, a code's trade (or snapshot) is written against its previous one: the u16
 * mask says which numbers differ from their prediction, and only those follow, in bit order.
 * Without a previous one in the chunk the prediction is from zeros. Predictions use exact
 * operations only (comparisons, integer sums), so a file reads the same on any machine. */
enum {
    TM_PRICE = 1 << 0,       /* the previous price */
    TM_VOLUME = 1 << 1,      /* the previous volume */
    TM_OPEN = 1 << 2,        /* the previous open */
    TM_HIGH = 1 << 3,        /* the previous high, or the price above it */
    TM_LOW = 1 << 4,         /* the previous low, or the price below it (or with no low yet) */
    TM_PREV_CLOSE = 1 << 5,  /* the previous one */
    TM_CUM_VOLUME = 1 << 6,  /* the previous one + volume */
    TM_CUM_VALUE = 1 << 7,   /* the previous one + price x volume */
    TM_BEST_BID = 1 << 8,    /* the previous one */
    TM_BEST_ASK = 1 << 9,    /* the previous one */
    TM_SIDE = 1 << 10,       /* (version 3) the previous side: a u8 when it differs */
    TM_ALL = (1 << 11) - 1,
    TM_RARE = TM_OPEN | TM_HIGH | TM_LOW | TM_PREV_CLOSE | TM_CUM_VOLUME | TM_CUM_VALUE
};

/* A version 4 trade's mask byte: the bits of the numbers a trade often has, the others (TM_RARE,
 * shifted down 2) in a byte of COL_RARE, and the side, which is not predicted. */
enum {
    MB_PRICE = 1 << 0,  /* TM_PRICE */
    MB_VOLUME = 1 << 1, /* TM_VOLUME */
    MB_BID = 1 << 2,    /* TM_BEST_BID */
    MB_ASK = 1 << 3,    /* TM_BEST_ASK */
    MB_RARE = 1 << 4,   /* a byte in COL_RARE */
    MB_SIDE = 5,        /* bits 5-6: the side, 0-2, or 3: it is the next byte of COL_SIDE; bit 7 is 0 */
    MB_SIDE_BYTE = 3
};

static inline bool same(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    return x == y;
}

static inline double pred_high(const st_trade_t *s, double price) { return s->high > price ? s->high : price; }
static inline double pred_low(const st_trade_t *s, double price)
{
    return s->low != 0 && s->low < price ? s->low : price;
}

/* pred_sum on known integers: prev (whole: an integer, prev_i) + x (x_ok: an integer). */
GET double pred_sum_i(double prev, bool whole, int64_t prev_i, bool x_ok, int64_t x, int64_t *ref,
                      bool *out_whole)
{
    int64_t r;
    if (whole && x_ok && !__builtin_add_overflow(prev_i, x, &r) && exact(r)) {
        *ref = r, *out_whole = true;
        return (double)r;
    }
    *ref = whole ? prev_i : 0, *out_whole = whole;
    return prev;
}

/* prev + x, exactly, when both are integers (x_ok) and the sum stays below 2^53; else prev.
 * *ref: the prediction as an integer (0 when it is not one), what a written value is relative to. */
static inline double pred_sum(double prev, bool x_ok, int64_t x, int64_t *ref)
{
    bool whole = integral(prev), out_whole;
    return pred_sum_i(prev, whole, whole ? (int64_t)prev : 0, x_ok, x, ref, &out_whole);
}

/* The predicted cumulative volume and value of a trade at price (p, when price_ok) for volume:
 * the previous ones plus volume and plus price x volume. */
typedef struct {
    double cum_volume, cum_value;
    int64_t volume_ref, value_ref;
} cum_pred_t;

static inline void pred_cum(const st_trade_t *s, bool price_ok, int64_t p, double volume, cum_pred_t *out)
{
    bool vol_ok = integral(volume);
    int64_t v = vol_ok ? (int64_t)volume : 0, pv;
    bool pv_ok = price_ok && vol_ok && !__builtin_mul_overflow(p, v, &pv);
    out->cum_volume = pred_sum(s->cum_volume, vol_ok, v, &out->volume_ref);
    out->cum_value = pred_sum(s->cum_value, pv_ok, pv_ok ? pv : 0, &out->value_ref);
}

/* A bounded reader: every get fails once past the end, and the caller checks `bad` once. */
typedef struct {
    const uint8_t *p, *end;
    bool bad;
} cur_t;

GET bool take(cur_t *c, size_t n)
{
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = true;
        return false;
    }
    return true;
}
GET uint8_t get_u8(cur_t *c) { return take(c, 1) ? *c->p++ : 0; }
GET uint16_t get_u16(cur_t *c)
{
    if (!take(c, 2)) return 0;
    uint16_t v = (uint16_t)(c->p[0] | c->p[1] << 8);
    c->p += 2;
    return v;
}
GET uint32_t get_u32(cur_t *c)
{
    if (!take(c, 4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)c->p[i] << (8 * i);
    c->p += 4;
    return v;
}
GET uint64_t get_u64(cur_t *c)
{
    if (!take(c, 8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)c->p[i] << (8 * i);
    c->p += 8;
    return v;
}
GET double get_f64(cur_t *c)
{
    uint64_t u = get_u64(c);
    double v;
    memcpy(&v, &u, 8);
    return v;
}
GET uint64_t get_var(cur_t *c)
{
    const uint8_t *p = c->p;
    if (c->end - p >= 10) { /* the common case: no bound to check byte by byte */
        uint64_t v = p[0];
        if (v < 0x80) {
            c->p = p + 1;
            return v;
        }
        v &= 0x7F;
        for (int i = 1; i < 10; i++) {
            uint64_t b = p[i];
            v |= (b & 0x7F) << (7 * i);
            if (b < 0x80) {
                c->p = p + i + 1;
                return v;
            }
        }
        c->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b = get_u8(c);
        if (c->bad) return 0;
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) return v;
    }
    c->bad = true;
    return 0;
}
GET int64_t get_zig(cur_t *c)
{
    return unzig(get_var(c));
}

/* ref plus the zigzagged difference u, wrapping (the bytes may say anything: no UB). */
GET int64_t unzig_add(int64_t ref, uint64_t u)
{
    return (int64_t)((uint64_t)ref + (uint64_t)unzig(u));
}

GET double get_num(cur_t *c, int64_t ref)
{
    uint64_t u = get_var(c);
    if (u & 1) return get_f64(c);
    u >>= 1;
    return (double)unzig_add(ref, u);
}

/* A code's previous trade as the reader keeps it: with the integers its price, volume and sums
 * are (what the predictions need), so reading asks no number whether it is one. All zero is
 * a trade of zeros — integers, as integral() says of +0. */
typedef struct rprev {
    st_trade_t t;
    int64_t price, volume, cum_volume, cum_value; /* each number as an integer, 0 when it is not one */
    uint32_t chunk;                               /* the reader's chunk it is of (any other: none yet) */
    uint8_t frac;                                 /* F_*: which of them are not integers below 2^53 */
} rprev_t;
enum { F_PRICE = 1, F_VOLUME = 2, F_CUM_VOLUME = 4, F_CUM_VALUE = 8 };

/* --- writer -------------------------------------------------------------------------------- */

typedef struct {
    char *code;
    uint32_t index; /* in the chunk's dictionary, or UINT32_MAX when not in this chunk yet */
} wsym_t;

/* With a writer thread (st_rec_background) the caller's items go to it in blocks: each item as
 * the caller gave it, an 8-byte header (u8 op, u8 conn or event kind, u16 code bytes with its
 * NUL or 0, u32 id or text bytes) and what the op carries, padded to 8 bytes; a block is handed
 * over when it holds BLOCK_BYTES, and at a flush (which it ends with OP_FLUSH). The thread
 * encodes the items into the chunk's columns with the code and rules the caller's thread uses
 * without it (the same bytes: test_background_writer_same_bytes), seals, compresses and writes.
 * The caller's cost is a copy an item (a trade's 120 bytes, a book's 368), not its encoding
 * (70-130 ns an item on the demo's ticks). */
enum {
    OP_TICK_ID = 1, /* st_rec_tick_id: the tick's st_tick_bytes, then its code (on the id's first tick) */
    OP_TICK_CODE,   /* st_rec_tick: the same, the code always */
    OP_EVENT,       /* i64 time, then the code (if any), then the text */
    OP_FLUSH,       /* st_rec_flush: the chunk is sealed */
    OP_SPAN         /* st_rec_set_span: i64 span */
};
#define BLOCK_BYTES (128 * 1024u) /* a block is handed over once it holds this much */
#define BLOCK_CAP (BLOCK_BYTES + 8192u) /* … and has room for the largest item past it (an event's) */
#define JOBS 16 /* blocks in flight to the writer thread; the caller waits when all are */
#define KEEP_CHUNKS 16 /* a code stays in the dictionary until this many chunks in a row did not use it */

struct st_rec_writer {
    /* the caller's side: with a writer thread, what it touches alone (the rest is the thread's) */
    bool bg;
    int ferr;        /* the thread's error, as the caller last saw it (bg_err) */
    buf_t blk;       /* the items not yet handed over */
    bool unflushed;  /* items since the last OP_FLUSH */
    uint8_t *fids;   /* by id: whether a tick of it was taken, with its code (st_rec_tick_id) */
    uint32_t nfids;
    uint64_t items;
    /* the encoder's: the caller's without a thread, the thread's with one */
    int fd;
    buf_t col[NCOL]; /* the chunk being filled, by column */
    size_t collen;   /* their bytes */
    buf_t raw, out, dict; /* raw: the sealed payload, its columns one after the other; dict: the
                           * header's codes part (u16 count, then each code as u8 length + bytes) */
    st_time_t first, last, prev;
    uint32_t count;
    /* the chunk's dictionary: the codes of the one before used in its last KEEP_CHUNKS chunks, in
     * its order, then new ones in order of first use (so a reader mostly finds the dictionary it
     * had: see load_codes); a small open-addressing map */
    char **codes;
    uint8_t *idle;     /* by index: chunks since it was last used (0: used in this one) */
    uint32_t *renum;   /* by index: its index in the next chunk's dictionary (at a flush) */
    st_trade_t *prevs; /* by index: the code's previous trade in the chunk (the predictions') */
    uint32_t ncodes, capcodes;
    wsym_t *map;
    uint32_t mapcap, nmap; /* nmap: the codes in it (every code seen, in a dictionary or not) */
    /* the same code pointer again (callers pass interned codes): its map slot, no hashing */
    struct { const char *ptr; uint32_t slot; } seen[1024];
    uint32_t *by_id, nid; /* st_rec_tick_id: by the caller's id, its map slot + 1 (0: not known) */
    st_rec_chunk_t *index;
    size_t nindex, capindex;
    uint64_t offset;
    st_dur_t span;
    ZSTD_CCtx *zc;
    int err;
    /* the writer thread (st_rec_background) and its queue, under mu */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, space;
    buf_t jobs[JOBS], free_blk[JOBS]; /* blocks handed over; and done with, for the caller's next */
    size_t head, njobs, nfree;
    bool stopping;
    int bg_err; /* the writer thread's first error */
};

static uint32_t hash_code(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int write_all(st_rec_writer_t *w, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(w->fd, b, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -errno;
        b += k, n -= (size_t)k;
        w->offset += (uint64_t)k;
    }
    return 0;
}

/* A chunk's header and payload in one system call (partial writes finished one by one). */
static int write_two(st_rec_writer_t *w, const void *a, size_t alen, const void *b, size_t blen)
{
    struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
    ssize_t k;
    do k = writev(w->fd, iov, 2);
    while (k < 0 && errno == EINTR);
    if (k < 0) return -errno;
    w->offset += (uint64_t)k;
    if ((size_t)k >= alen) return write_all(w, (const uint8_t *)b + (k - (ssize_t)alen), blen - ((size_t)k - alen));
    int rc = write_all(w, (const uint8_t *)a + k, alen - (size_t)k);
    return rc ? rc : write_all(w, b, blen);
}

st_rec_writer_t *st_rec_create(const char *path, st_time_t start)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return NULL;
    st_rec_writer_t *w = st_xcalloc(1, sizeof(*w));
    w->fd = fd;
    w->mapcap = 1024;
    w->span = ST_REC_CHUNK_SPAN;
    w->map = st_xcalloc(w->mapcap, sizeof(*w->map));
    w->zc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, -3); /* fast: recording rides the loop */
    ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1);
    buf_t h = {0};
    put(&h, FILE_MAGIC, 8);
    put_u16(&h, ST_REC_VERSION);
    put_u16(&h, FILE_HEADER);
    put_u32(&h, 0);
    put_u64(&h, (uint64_t)start);
    put_u64(&h, 0);
    int rc = write_all(w, h.p, h.len);
    free(h.p);
    if (rc) {
        int e = -rc;
        st_rec_close(w);
        unlink(path);
        errno = e;
        return NULL;
    }
    return w;
}

/* The code's slot in the writer's map, added on first sight (the map keeps every code seen;
 * map[slot].index says whether it is in this chunk's dictionary: enter). */
static uint32_t code_slot(st_rec_writer_t *w, const char *code)
{
    size_t h = ((uintptr_t)code >> 4) & 1023;
    if (w->seen[h].ptr == code && strcmp(w->map[w->seen[h].slot].code, code) == 0) /* (the caller may */
        return w->seen[h].slot;                                                     /* reuse a buffer) */
    if (w->nmap * 2 >= w->mapcap) { /* grow and rehash (by what it holds: a long recording's codes
                                       * outnumber any one dictionary's) */
        memset(w->seen, 0, sizeof(w->seen)); /* slots move: the ids' follow them */
        wsym_t *old = w->map;
        uint32_t oldcap = w->mapcap, *moved = st_xcalloc(oldcap, sizeof(*moved));
        w->mapcap *= 2;
        w->map = st_xcalloc(w->mapcap, sizeof(*w->map));
        for (uint32_t i = 0; i < oldcap; i++) {
            if (!old[i].code) continue;
            uint32_t j = hash_code(old[i].code) & (w->mapcap - 1);
            while (w->map[j].code) j = (j + 1) & (w->mapcap - 1);
            w->map[j] = old[i];
            moved[i] = j;
        }
        for (uint32_t id = 0; id < w->nid; id++)
            if (w->by_id[id]) w->by_id[id] = moved[w->by_id[id] - 1] + 1;
        free(moved);
        free(old);
    }
    uint32_t j = hash_code(code) & (w->mapcap - 1);
    while (w->map[j].code && strcmp(w->map[j].code, code) != 0) j = (j + 1) & (w->mapcap - 1);
    if (!w->map[j].code) w->map[j] = (wsym_t){st_xstrdup(code), UINT32_MAX}, w->nmap++;
    w->seen[h].ptr = code, w->seen[h].slot = j;
    return j;
}

/* The index in this chunk's dictionary of the code in map slot j, added on first use. */
static uint32_t enter(st_rec_writer_t *w, uint32_t j)
{
    if (w->map[j].index == UINT32_MAX) {
        if (w->ncodes == w->capcodes) {
            w->capcodes = w->capcodes ? w->capcodes * 2 : 64;
            w->codes = st_xrealloc(w->codes, w->capcodes * sizeof(char *));
            w->prevs = st_xrealloc(w->prevs, w->capcodes * sizeof(*w->prevs));
            w->idle = st_xrealloc(w->idle, w->capcodes);
            w->renum = st_xrealloc(w->renum, w->capcodes * sizeof(*w->renum));
        }
        memset(&w->prevs[w->ncodes], 0, sizeof(*w->prevs)); /* no previous trade in this chunk */
        w->map[j].index = w->ncodes;
        w->codes[w->ncodes++] = w->map[j].code;
    }
    w->idle[w->map[j].index] = 0;
    return w->map[j].index;
}

/* The code's index by the caller's id (st_rec_tick_id): its map slot remembered by id, so no
 * hashing nor comparing of strings (the id never names another code; the caller's code is
 * looked at on the id's first tick only). */
static uint32_t id_index(st_rec_writer_t *w, uint32_t id, const char *code)
{
    if (id < w->nid && w->by_id[id]) return enter(w, w->by_id[id] - 1);
    uint32_t slot = code_slot(w, code);
    if (id >= w->nid) {
        uint32_t n = id + 1 > 2 * w->nid ? id + 1 : 2 * w->nid;
        w->by_id = st_xrealloc(w->by_id, n * sizeof(*w->by_id));
        memset(w->by_id + w->nid, 0, (n - w->nid) * sizeof(*w->by_id));
        w->nid = n;
    }
    w->by_id[id] = slot + 1;
    return enter(w, slot);
}

/* Compresses the sealed chunk (its columns, and its dictionary in dict) and appends it (header,
 * payload) to the file, and to the index. */
static int write_chunk(st_rec_writer_t *w)
{
    buf_t *raw = &w->raw;
    raw->len = 0;
    need(raw, 4 * NCOL + w->collen);
    for (int k = 0; k < NCOL; k++) put_u32(raw, (uint32_t)w->col[k].len);
    for (int k = 0; k < NCOL; k++)
        if (w->col[k].len) put(raw, w->col[k].p, w->col[k].len); /* an unused one has no buffer */
    size_t bound = ZSTD_compressBound(raw->len);
    buf_t comp = {0};
    need(&comp, bound);
    size_t clen = ZSTD_compress2(w->zc, comp.p, bound, raw->p, raw->len);
    if (ZSTD_isError(clen)) {
        free(comp.p);
        return -EIO;
    }
    buf_t *h = &w->out;
    h->len = 0;
    put_u32(h, CHUNK_MAGIC);
    put_u32(h, 0); /* header length, below */
    put_u32(h, (uint32_t)clen);
    put_u32(h, (uint32_t)raw->len);
    put_u32(h, w->count);
    put_u32(h, 0); /* reserved: the zstd frame carries its own content checksum */
    put_u64(h, (uint64_t)w->first);
    put_u64(h, (uint64_t)w->last);
    put(h, w->dict.p, w->dict.len);
    uint32_t hl = (uint32_t)h->len + 4;
    for (int i = 0; i < 4; i++) h->p[4 + i] = (uint8_t)(hl >> (8 * i));
    put_u32(h, crc32_of(h->p, h->len));
    if (w->nindex == w->capindex) {
        w->capindex = w->capindex ? w->capindex * 2 : 256;
        w->index = st_xrealloc(w->index, w->capindex * sizeof(*w->index));
    }
    w->index[w->nindex++] = (st_rec_chunk_t){w->offset, w->first, w->last, w->count, w->ncodes};
    int rc = write_two(w, h->p, h->len, comp.p, clen);
    free(comp.p);
    return rc;
}

/* Seals the chunk being filled, if any, and writes it; the next one starts empty. The error
 * stays (w->err): nothing more is written after one. */
static int seal(st_rec_writer_t *w)
{
    if (!w->count || w->err) return w->err;
    buf_t *d = &w->dict;
    d->len = 0;
    put_u16(d, (uint16_t)w->ncodes);
    for (uint32_t i = 0; i < w->ncodes; i++) {
        size_t n = strlen(w->codes[i]);
        put_u8(d, (uint8_t)n);
        put(d, w->codes[i], n);
    }
    int rc = write_chunk(w);
    if (rc) w->err = rc;
    for (int k = 0; k < NCOL; k++) w->col[k].len = 0; /* the same buffers for the next chunk */
    w->collen = 0;
    /* the next chunk: no items, no previous trades; its dictionary begins with this one's codes
     * in the same order, but those KEEP_CHUNKS chunks did not use */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < w->ncodes; i++) {
        bool keep = w->idle[i] < KEEP_CHUNKS - 1;
        w->renum[i] = keep ? kept : UINT32_MAX;
        if (keep) w->codes[kept] = w->codes[i], w->idle[kept] = (uint8_t)(w->idle[i] + 1), kept++;
    }
    for (uint32_t i = 0; i < w->mapcap; i++)
        if (w->map[i].index != UINT32_MAX) w->map[i].index = w->renum[w->map[i].index];
    w->ncodes = kept;
    if (kept) memset(w->prevs, 0, kept * sizeof(*w->prevs));
    w->count = 0;
    return rc;
}

/* Starts an item at time t (sealing the chunk first when it is full); tag: its type << 4, and a
 * tick's kind. */
static int begin(st_rec_writer_t *w, uint8_t tag, st_time_t t)
{
    if (w->err) return w->err;
    if (w->count && ((w->span && t - w->first >= w->span) || w->collen >= ST_REC_CHUNK_BYTES ||
                     w->ncodes >= MAX_SYMS - 1)) {
        int rc = seal(w);
        if (rc) return rc;
    }
    if (!w->count) w->first = w->prev = t;
    size_t before = w->col[COL_TAG].len + w->col[COL_TIME].len;
    put_u8(&w->col[COL_TAG], tag);
    put_pzig(&w->col[COL_TIME], t - w->prev);
    w->collen += w->col[COL_TAG].len + w->col[COL_TIME].len - before;
    w->prev = t;
    if (!w->count || t > w->last) w->last = t;
    w->count++;
    return 0;
}

static bool code_ok(const char *code)
{
    return code && strlen(code) < 256;
}

static bool kind_ok(const st_tick_t *t)
{
    return t->kind >= ST_TICK_TRADE && t->kind <= ST_TICK_SNAPSHOT;
}

/* A tick's parts once begun and its code's index found (idx). */
static void tick_at(st_rec_writer_t *w, const st_tick_t *t, uint32_t idx, uint8_t conn)
{
    buf_t *c = w->col;
    size_t before = c[COL_CODE].len + c[COL_VDELTA].len;
    put_u16(&c[COL_CODE], (uint16_t)idx);
    put_pzig(&c[COL_VDELTA], t->venue_time - t->recv_time);
    put_u8(&c[COL_FLAGS], t->flags), put_u8(&c[COL_FEED], (uint8_t)t->feed), put_u8(&c[COL_CONN], conn);
    w->collen += c[COL_CODE].len + c[COL_VDELTA].len - before + 3;
    if (t->kind == ST_TICK_ORDERBOOK) { /* each price relative to the one before it */
        buf_t *b = &c[COL_BOOK];
        before = b->len;
        put_book(b, &t->u.book);
        w->collen += b->len - before;
    } else { /* what differs from the prediction, each in its column; prices relative to the last price */
        const st_trade_t *q = &t->u.trade;
        st_trade_t *s = &w->prevs[idx];
        unsigned m = 0;
        size_t grew = 0;
#define NUM(bit, col, v, pred, ref)                                                                                   \
    if (!same(v, pred)) {                                                                                              \
        buf_t *b = &c[col];                                                                                            \
        size_t at = b->len;                                                                                            \
        put_pnum(b, v, ref);                                                                                           \
        m |= bit, grew += b->len - at;                                                                                 \
    }
        NUM(TM_PRICE, COL_PRICE, q->price, s->price, ref_of(s->price));
        bool price_ok = integral(q->price);
        int64_t p = price_ok ? (int64_t)q->price : 0;
        NUM(TM_VOLUME, COL_PRICE + 1, q->volume, s->volume, 0);
        NUM(TM_OPEN, COL_PRICE + 2, q->open, s->open, p);
        NUM(TM_HIGH, COL_PRICE + 3, q->high, pred_high(s, q->price), p);
        NUM(TM_LOW, COL_PRICE + 4, q->low, pred_low(s, q->price), p);
        NUM(TM_PREV_CLOSE, COL_PRICE + 5, q->prev_close, s->prev_close, p);
        cum_pred_t cp;
        pred_cum(s, price_ok, p, q->volume, &cp);
        NUM(TM_CUM_VOLUME, COL_PRICE + 6, q->cum_volume, cp.cum_volume, cp.volume_ref);
        NUM(TM_CUM_VALUE, COL_PRICE + 7, q->cum_value, cp.cum_value, cp.value_ref);
        NUM(TM_BEST_BID, COL_PRICE + 8, q->best_bid, s->best_bid, p);
        NUM(TM_BEST_ASK, COL_PRICE + 9, q->best_ask, s->best_ask, p);
#undef NUM
        unsigned side = q->side <= ST_SIDE_SELL ? q->side : MB_SIDE_BYTE;
        put_u8(&c[COL_MASK], (uint8_t)((m & (TM_PRICE | TM_VOLUME)) | (m & (TM_BEST_BID | TM_BEST_ASK)) >> 6 |
                                       (m & TM_RARE ? MB_RARE : 0) | side << MB_SIDE));
        if (m & TM_RARE) put_u8(&c[COL_RARE], (uint8_t)((m & TM_RARE) >> 2)), grew++;
        if (side == MB_SIDE_BYTE) put_u8(&c[COL_SIDE], q->side), grew++;
        w->collen += grew + 1;
        *s = *q;
    }
}

/* A tick encoded into the chunk (the encoder's side). */
static int enc_tick(st_rec_writer_t *w, const st_tick_t *t, bool by_id, uint32_t id, const char *code, uint8_t conn)
{
    int rc = begin(w, (uint8_t)(ST_REC_TICK << 4 | t->kind), t->recv_time); /* may seal: a new dictionary */
    if (rc) return rc;
    tick_at(w, t, by_id ? id_index(w, id, code) : enter(w, code_slot(w, code)), conn);
    return 0;
}

static int enc_event(st_rec_writer_t *w, st_time_t when, uint8_t ev, const char *code, const char *text, size_t len)
{
    int rc = begin(w, ST_REC_EVENT << 4, when);
    if (rc) return rc;
    uint32_t idx = code && *code ? enter(w, code_slot(w, code)) + 1 : 0;
    buf_t *b = &w->col[COL_EVENT];
    size_t before = b->len;
    put_u8(b, ev);
    put_var(b, idx);
    put_var(b, len);
    put(b, text, len);
    w->collen += b->len - before;
    return 0;
}

/* --- the writer thread: the caller's items in blocks (OP_*) ---------------------------------- */

static inline uint64_t op_header(uint8_t op, uint8_t arg, size_t code_bytes, uint32_t x)
{
    return op | (uint64_t)arg << 8 | (uint64_t)code_bytes << 16 | (uint64_t)x << 32;
}

#define PAD8(n) (((n) + 7) & ~(size_t)7)

/* Hands the block over to the thread (waiting while JOBS are queued) and takes an empty one;
 * returns the thread's error, if it had one. The thread is woken once half the queue is full,
 * or at a flush (the runtime's each second): not at every block — waking an idle thread costs
 * the waker a system call and an interrupt to the other CPU, and a block a wake cost the loop
 * 2-3 % of its time in bench_record (300 a run; 40 now). */
/* The thread's error, once it has one, is the caller's too (under mu). */
static void take_thread_err(st_rec_writer_t *w)
{
    if (w->bg_err && !w->ferr) w->ferr = w->bg_err;
}

static int hand_over(st_rec_writer_t *w, bool flush)
{
    pthread_mutex_lock(&w->mu);
    while (w->njobs == JOBS) pthread_cond_wait(&w->space, &w->mu); /* the disk is behind: wait */
    w->jobs[(w->head + w->njobs++) % JOBS] = w->blk;
    w->blk = w->nfree ? w->free_blk[--w->nfree] : (buf_t){st_xmalloc(BLOCK_CAP), 0, BLOCK_CAP};
    take_thread_err(w);
    if (w->njobs >= JOBS / 2 || flush) pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    return w->ferr;
}

/* Room for an item of n bytes at the block's end: where it goes. */
static inline uint8_t *op_room(st_rec_writer_t *w, size_t n)
{
    need(&w->blk, n);
    return w->blk.p + w->blk.len;
}

/* The item of n bytes just put is in: the block goes once full. */
static inline int op_done(st_rec_writer_t *w, size_t n)
{
    w->blk.len += n;
    w->unflushed = true;
    return w->blk.len >= BLOCK_BYTES ? hand_over(w, false) : w->ferr;
}

/* An op that is no item (OP_FLUSH, OP_SPAN), with its n bytes (a multiple of 8) at arg. */
static void put_op(st_rec_writer_t *w, uint8_t op, const void *arg, size_t n)
{
    uint8_t *p = op_room(w, 8 + n);
    uint64_t h = op_header(op, 0, 0, 0);
    memcpy(p, &h, 8);
    if (n) memcpy(p + 8, arg, n);
    w->blk.len += 8 + n;
}

static int queue_tick(st_rec_writer_t *w, uint8_t op, const st_tick_t *t, uint32_t id, const char *code, uint8_t conn)
{
    if (w->ferr) return w->ferr;
    size_t tl = st_tick_bytes(t->kind), cl = code ? strlen(code) + 1 : 0, n = PAD8(8 + tl + cl);
    uint8_t *p = op_room(w, n);
    uint64_t h = op_header(op, conn, cl, id);
    memcpy(p, &h, 8);
    memcpy(p + 8, t, tl);
    if (cl) memcpy(p + 8 + tl, code, cl);
    return op_done(w, n);
}

static int queue_event(st_rec_writer_t *w, st_time_t when, uint8_t ev, const char *code, const char *text, size_t len)
{
    if (w->ferr) return w->ferr;
    size_t cl = code && *code ? strlen(code) + 1 : 0, n = PAD8(16 + cl + len);
    uint8_t *p = op_room(w, n);
    uint64_t h = op_header(OP_EVENT, ev, cl, (uint32_t)len);
    memcpy(p, &h, 8);
    memcpy(p + 8, &when, 8);
    if (cl) memcpy(p + 16, code, cl);
    if (len) memcpy(p + 16 + cl, text, len);
    return op_done(w, n);
}

/* The thread's side: a block's items encoded, in order, until an error. */
static void run_block(st_rec_writer_t *w, const buf_t *b)
{
    for (size_t off = 0; off < b->len && !w->err;) {
        const uint8_t *p = b->p + off;
        uint64_t h;
        memcpy(&h, p, 8);
        uint8_t op = (uint8_t)h, arg = (uint8_t)(h >> 8);
        size_t cl = (uint16_t)(h >> 16);
        uint32_t x = (uint32_t)(h >> 32);
        switch (op) {
        case OP_TICK_ID:
        case OP_TICK_CODE: {
            st_tick_t t;
            size_t tl = st_tick_bytes(p[8]); /* (kind: the tick's first byte) */
            memcpy(&t, p + 8, tl);
            enc_tick(w, &t, op == OP_TICK_ID, x, cl ? (const char *)p + 8 + tl : NULL, arg);
            off += PAD8(8 + tl + cl);
            break;
        }
        case OP_EVENT: {
            st_time_t when;
            memcpy(&when, p + 8, 8);
            enc_event(w, when, arg, cl ? (const char *)p + 16 : NULL, (const char *)p + 16 + cl, x);
            off += PAD8(16 + cl + x);
            break;
        }
        case OP_FLUSH:
            seal(w);
            off += 8;
            break;
        case OP_SPAN: {
            st_dur_t span;
            memcpy(&span, p + 8, 8);
            w->span = span;
            off += 16;
            break;
        }
        default: /* (only this file writes blocks) */
            abort();
        }
    }
}

static void *writer_main(void *arg)
{
    st_rec_writer_t *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->njobs && !w->stopping) pthread_cond_wait(&w->work, &w->mu);
        if (!w->njobs) break; /* stopping, and everything is written */
        buf_t *j = &w->jobs[w->head];
        pthread_mutex_unlock(&w->mu);
        run_block(w, j); /* after an error nothing more is written */
        pthread_mutex_lock(&w->mu);
        if (w->err && !w->bg_err) w->bg_err = w->err;
        j->len = 0;
        if (w->nfree < JOBS) w->free_blk[w->nfree++] = *j; /* for the caller's next block */
        else free(j->p);
        w->head = (w->head + 1) % JOBS;
        w->njobs--;
        pthread_cond_broadcast(&w->space);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int st_rec_background(st_rec_writer_t *w)
{
    if (w->bg) return 0;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->space, NULL);
    sigset_t all, old; /* the thread inherits a mask of every signal: they are the loop's */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->work);
        pthread_cond_destroy(&w->space);
        return -rc;
    }
    w->bg = true;
    w->ferr = w->err;
    w->blk = (buf_t){st_xmalloc(BLOCK_CAP), 0, BLOCK_CAP};
    return 0;
}

int st_rec_flush(st_rec_writer_t *w)
{
    if (!w->bg) return seal(w);
    if (w->unflushed && !w->ferr) {
        put_op(w, OP_FLUSH, NULL, 0);
        w->unflushed = false;
        return hand_over(w, true);
    }
    pthread_mutex_lock(&w->mu); /* nothing new: the thread's error, if any */
    take_thread_err(w);
    pthread_mutex_unlock(&w->mu);
    return w->ferr;
}

int st_rec_tick(st_rec_writer_t *w, const st_tick_t *t, const char *code, uint8_t conn)
{
    if (!code_ok(code) || !*code || !kind_ok(t)) return -EINVAL;
    int rc = w->bg ? queue_tick(w, OP_TICK_CODE, t, 0, code, conn) : enc_tick(w, t, false, 0, code, conn);
    if (!rc) w->items++;
    return rc;
}

int st_rec_tick_id(st_rec_writer_t *w, const st_tick_t *t, uint32_t id, const char *code, uint8_t conn)
{
    if (id >= ST_REC_MAX_ID) return st_rec_tick(w, t, code, conn); /* (no id: ST_SYM_NONE) */
    bool known = id < w->nfids && w->fids[id]; /* (its code was checked then) */
    if ((!known && (!code_ok(code) || !*code)) || !kind_ok(t)) return -EINVAL;
    const char *first = known ? NULL : code; /* the code goes with the id's first tick only */
    int rc = w->bg ? queue_tick(w, OP_TICK_ID, t, id, first, conn) : enc_tick(w, t, true, id, first, conn);
    if (rc) return rc;
    if (!known) {
        if (id >= w->nfids) {
            uint32_t n = id + 1 > 2 * w->nfids ? id + 1 : 2 * w->nfids;
            w->fids = st_xrealloc(w->fids, n);
            memset(w->fids + w->nfids, 0, n - w->nfids);
            w->nfids = n;
        }
        w->fids[id] = 1;
    }
    w->items++;
    return 0;
}

int st_rec_event(st_rec_writer_t *w, st_time_t when, st_rec_event_t ev, const char *code, const char *text,
                 size_t len)
{
    if ((code && !code_ok(code)) || len > ST_REC_MAX_TEXT) return -EINVAL;
    int rc = w->bg ? queue_event(w, when, (uint8_t)ev, code, text, len) : enc_event(w, when, (uint8_t)ev, code, text, len);
    if (!rc) w->items++;
    return rc;
}

int st_rec_close(st_rec_writer_t *w)
{
    int rc = st_rec_flush(w);
    if (w->bg) { /* everything queued is written before the index */
        pthread_mutex_lock(&w->mu);
        w->stopping = true;
        pthread_cond_signal(&w->work);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        if (w->err && !rc) rc = w->err;
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->work);
        pthread_cond_destroy(&w->space);
        for (size_t i = 0; i < w->nfree; i++) free(w->free_blk[i].p);
        free(w->blk.p);
    }
    if (!rc) {
        buf_t b = {0};
        uint64_t at = w->offset;
        put_u32(&b, INDEX_MAGIC);
        put_u32(&b, (uint32_t)w->nindex);
        for (size_t i = 0; i < w->nindex; i++) {
            put_u64(&b, w->index[i].offset);
            put_u64(&b, (uint64_t)w->index[i].first);
            put_u64(&b, (uint64_t)w->index[i].last);
            put_u32(&b, w->index[i].count);
            put_u32(&b, w->index[i].nsyms);
        }
        put_u64(&b, at);
        put(&b, END_MAGIC, 8);
        rc = write_all(w, b.p, b.len);
        free(b.p);
    }
    if (close(w->fd) && !rc) rc = -errno;
    for (uint32_t i = 0; i < w->mapcap; i++) free(w->map[i].code);
    free(w->map);
    free(w->codes);
    free(w->idle);
    free(w->renum);
    free(w->by_id);
    free(w->fids);
    free(w->prevs);
    free(w->index);
    for (int k = 0; k < NCOL; k++) free(w->col[k].p);
    free(w->raw.p);
    free(w->out.p);
    free(w->dict.p);
    ZSTD_freeCCtx(w->zc);
    free(w);
    return rc;
}

void st_rec_set_span(st_rec_writer_t *w, st_dur_t span)
{
    span = span > 0 ? span : 0;
    if (!w->bg) {
        w->span = span;
        return;
    }
    put_op(w, OP_SPAN, &span, sizeof(span)); /* the thread's from the next item on */
}

uint64_t st_rec_written(st_rec_writer_t *w, uint64_t *items)
{
    if (items) *items = w->items;
    if (!w->bg) return w->offset;
    pthread_mutex_lock(&w->mu);
    pthread_cond_signal(&w->work);
    while (w->njobs) pthread_cond_wait(&w->space, &w->mu); /* what is queued counts once written */
    uint64_t off = w->offset;
    pthread_mutex_unlock(&w->mu);
    return off;
}

/* --- reader -------------------------------------------------------------------------------- */

/* A column of a version 3 or 4 payload being read: its next byte and its end. A reader of a column
 * may load up to 8 bytes at p as long as p <= end (PAD zero bytes follow the payload): each read
 * that moves p checks it is still <= end, and the item is bad if not. */
typedef struct {
    const uint8_t *p, *end;
} col_t;

struct st_rec_reader {
    const uint8_t *base;
    size_t len;
    bool indexed;
    int fd;           /* a file's (st_rec_open, base its mapping): its chunks are read into cbuf (read_chunk); else -1 */
    uint8_t *cbuf;
    size_t cbufcap;
    st_time_t start;
    st_rec_chunk_t *chunks;
    size_t nchunks;
    /* the chunk being read */
    size_t next_chunk;
    uint8_t *raw;
    size_t rawcap;
    cur_t cur;        /* versions 1 and 2: the payload's next item */
    col_t col[NCOL];  /* versions 3 and 4: each column's next part */
    uint32_t left;
    st_time_t prev;
    char *codebuf;     /* the chunk's codes, NUL-terminated one after the other */
    size_t codecap;
    uint32_t *codeoff; /* by index: offset in codebuf */
    uint32_t dict;     /* bumped with each dictionary loaded unless it began with the one before */
    uint32_t ncodes;
    uint8_t *dictbytes; /* the codes part of that dictionary's header, as it was */
    size_t dictlen, dictcap;
    rprev_t *last;      /* by code index: its previous trade in the chunk (version 2) */
    uint32_t chunk;     /* chunks opened: last[i] is of this chunk when its chunk says so */
    st_rec_item_t item; /* what st_rec_read returns */
    bool item_book;     /* it holds an orderbook: a trade read into it clears the union first */
    bool item_event;    /* it holds an event (formats 3 and 4): a tick read into it clears its event fields */
    bool held;          /* it is the next item still: a pump's take left it */
    /* format 4: the chunk is uniform (uniform()): every item a tick of one kind (uni_kind),
     * with one feed and connection byte and one venue time difference (uni_vdelta) */
    bool uni;
    uint8_t uni_kind, uni_feed, uni_conn;
    int64_t uni_vdelta;
    uint32_t lastcap;
    uint16_t version;
    uint64_t corrupt;
    st_rec_corrupt_cb on_corrupt;
    void *ctx;
    ZSTD_DCtx *zd;
};

static void report(st_rec_reader_t *r, uint64_t offset, const char *why)
{
    r->corrupt++;
    if (r->on_corrupt) r->on_corrupt(r->ctx, offset, why);
}

/* Checks the chunk header at h, the chunk at offset off of the file, of which `avail` bytes
 * from h are there: its size in `total`, false when it is not a whole, sound chunk header (the
 * payload is checked when read). */
static bool chunk_in(const uint8_t *h, size_t avail, uint64_t off, st_rec_chunk_t *out, uint64_t *total)
{
    if (avail < CHUNK_FIXED + 4) return false;
    cur_t c = {h, h + avail, false};
    if (get_u32(&c) != CHUNK_MAGIC) return false;
    uint32_t hl = get_u32(&c), clen = get_u32(&c);
    get_u32(&c); /* raw length */
    uint32_t count = get_u32(&c);
    get_u32(&c); /* reserved */
    st_time_t first = (st_time_t)get_u64(&c), last = (st_time_t)get_u64(&c);
    uint16_t nsyms = get_u16(&c);
    if (c.bad || hl < CHUNK_FIXED + 4 || hl > avail || (uint64_t)clen > avail - hl) return false;
    uint32_t want = (uint32_t)(h[hl - 4] | h[hl - 3] << 8 | h[hl - 2] << 16 | (uint32_t)h[hl - 1] << 24);
    if (crc32_of(h, hl - 4) != want) return false;
    *out = (st_rec_chunk_t){off, first, last, count, nsyms};
    *total = (uint64_t)hl + clen;
    return true;
}

static bool chunk_at(const st_rec_reader_t *r, uint64_t off, st_rec_chunk_t *out, uint64_t *total)
{
    return off <= r->len && chunk_in(r->base + off, r->len - off, off, out, total);
}

static void add_chunk(st_rec_reader_t *r, const st_rec_chunk_t *ch, size_t *cap)
{
    if (r->nchunks == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        r->chunks = st_xrealloc(r->chunks, *cap * sizeof(*r->chunks));
    }
    r->chunks[r->nchunks++] = *ch;
}

/* The index, if a clean close wrote one and its entries can be chunks: in order, one after the
 * other, before the index. Each chunk's header is checked against its entry when it is read
 * (open_chunk): checking them all here touched every chunk of the file before the first item,
 * and a replay opens its file twice. */
static bool load_index(st_rec_reader_t *r)
{
    if (r->len < FILE_HEADER + 16 || memcmp(r->base + r->len - 8, END_MAGIC, 8) != 0) return false;
    cur_t t = {r->base + r->len - 16, r->base + r->len, false};
    uint64_t at = get_u64(&t);
    if (at < FILE_HEADER || at > r->len - 16 - 8) return false;
    cur_t c = {r->base + at, r->base + r->len - 16, false};
    if (get_u32(&c) != INDEX_MAGIC) return false;
    uint32_t n = get_u32(&c);
    if (c.bad || (uint64_t)n * INDEX_ENTRY != (uint64_t)(c.end - c.p)) return false;
    size_t cap = 0;
    uint64_t next = FILE_HEADER; /* where the next chunk may start */
    for (uint32_t i = 0; i < n; i++) {
        st_rec_chunk_t e;
        e.offset = get_u64(&c);
        e.first = (st_time_t)get_u64(&c);
        e.last = (st_time_t)get_u64(&c);
        e.count = get_u32(&c);
        e.nsyms = get_u32(&c);
        if (e.offset < next || at < CHUNK_FIXED + 4 || e.offset > at - CHUNK_FIXED - 4 || e.nsyms > MAX_SYMS) { /* no trust: rescan */
            free(r->chunks);
            r->chunks = NULL;
            r->nchunks = 0;
            return false;
        }
        next = e.offset + CHUNK_FIXED + 4;
        add_chunk(r, &e, &cap);
    }
    return true;
}

/* No index: walk the chunks from the header; a bad one is reported and the walk resyncs on the
 * next chunk magic. */
static void scan(st_rec_reader_t *r)
{
    size_t cap = 0;
    uint64_t off = FILE_HEADER;
    while (off < r->len) { /* (a tail shorter than a chunk header is one cut short too) */
        st_rec_chunk_t ch;
        uint64_t total;
        if (chunk_at(r, off, &ch, &total)) {
            add_chunk(r, &ch, &cap);
            off += total;
            continue;
        }
        cur_t at = {r->base + off, r->base + r->len, false};
        if (get_u32(&at) == INDEX_MAGIC && !at.bad) break; /* the index of a clean close */
        report(r, off, "not a whole chunk: truncated or corrupt; looking for the next one");
        const uint8_t *m = memmem(r->base + off + 1, r->len - off - 1, "SRCK", 4); /* CHUNK_MAGIC's bytes */
        if (!m) break;
        off = (uint64_t)(m - r->base);
    }
}

st_rec_reader_t *st_rec_open_mem(const void *buf, size_t len, char *err, size_t errlen)
{
    const uint8_t *b = buf;
    if (len < FILE_HEADER || memcmp(b, FILE_MAGIC, 8) != 0) {
        snprintf(err, errlen, "not a strata recording (no STRATARC header)");
        return NULL;
    }
    cur_t c = {b + 8, b + len, false};
    uint16_t version = get_u16(&c), hl = get_u16(&c);
    get_u32(&c);
    st_time_t start = (st_time_t)get_u64(&c);
    if (version < 1 || version > ST_REC_VERSION || hl != FILE_HEADER) {
        snprintf(err, errlen, "recording format version %u, this strata reads versions 1 to %d", version,
                 ST_REC_VERSION);
        return NULL;
    }
    st_rec_reader_t *r = st_xcalloc(1, sizeof(*r));
    r->base = b;
    r->len = len;
    r->fd = -1;
    r->start = start;
    r->version = version;
    r->codeoff = st_xcalloc(MAX_SYMS, sizeof(*r->codeoff));
    r->zd = ZSTD_createDCtx();
    r->indexed = load_index(r);
    return r;
}

st_rec_reader_t *st_rec_open(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
        snprintf(err, errlen, "%s: %s", path, sb.st_size == 0 ? "empty" : "not a regular file");
        close(fd);
        return NULL;
    }
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    char why[256];
    st_rec_reader_t *r = st_rec_open_mem(p, (size_t)sb.st_size, why, sizeof(why));
    if (!r) {
        snprintf(err, errlen, "%s: %s", path, why);
        munmap(p, (size_t)sb.st_size);
        close(fd);
        return NULL;
    }
    r->fd = fd; /* the chunks by read_chunk; the mapping for the header, the index and a scan */
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return r;
}

void st_rec_set_corrupt_cb(st_rec_reader_t *r, st_rec_corrupt_cb cb, void *ctx)
{
    r->on_corrupt = cb;
    r->ctx = ctx;
}

static void chunks_ready(st_rec_reader_t *r)
{
    if (!r->indexed && !r->chunks) {
        scan(r);
        if (!r->chunks) r->chunks = st_xcalloc(1, sizeof(*r->chunks));
    }
}

void st_rec_free(st_rec_reader_t *r)
{
    if (!r) return;
    if (r->fd >= 0) munmap((void *)r->base, r->len), close(r->fd);
    free(r->cbuf);
    free(r->chunks);
    free(r->raw);
    free(r->codebuf);
    free(r->dictbytes);
    free(r->codeoff);
    free(r->last);
    ZSTD_freeDCtx(r->zd);
    free(r);
}

st_time_t st_rec_start(const st_rec_reader_t *r)
{
    return r->start;
}

const st_rec_chunk_t *st_rec_chunks(const st_rec_reader_t *r, size_t *n)
{
    chunks_ready((st_rec_reader_t *)r);
    *n = r->nchunks;
    return r->chunks;
}

int st_rec_version(const st_rec_reader_t *r)
{
    return r->version;
}

bool st_rec_indexed(const st_rec_reader_t *r)
{
    return r->indexed;
}

uint64_t st_rec_corrupt(const st_rec_reader_t *r)
{
    return r->corrupt;
}

/* The dictionary of the chunk at off into codebuf/codeoff; false when malformed. A dictionary
 * that begins with the one before (a writer lists the codes the chunk before used first, in
 * its order) keeps its number (`dict`): what a caller cached by index still holds. */
static bool load_codes(st_rec_reader_t *r, const uint8_t *h, size_t avail)
{
    cur_t c = {h + CHUNK_FIXED - 2, h + avail, false};
    uint16_t n = get_u16(&c);
    const uint8_t *codes = c.p;
    uint32_t i = 0;
    size_t used = 0;
    if (r->ncodes && r->ncodes <= n && r->dictlen <= (size_t)(c.end - c.p) && memcmp(codes, r->dictbytes, r->dictlen) == 0) {
        i = r->ncodes; /* the same codes first: only what follows is new */
        c.p += r->dictlen;
        used = r->codeoff[i - 1] + strlen(r->codebuf + r->codeoff[i - 1]) + 1;
    } else {
        r->dict++;
    }
    for (; i < n; i++) {
        uint8_t len = get_u8(&c);
        if (!take(&c, len)) {
            r->ncodes = 0, r->dictlen = 0;
            return false;
        }
        if (used + len + 1 > r->codecap) {
            r->codecap = (used + len + 1) * 2 + 4096;
            r->codebuf = st_xrealloc(r->codebuf, r->codecap);
        }
        memcpy(r->codebuf + used, c.p, len);
        r->codebuf[used + len] = 0;
        r->codeoff[i] = (uint32_t)used;
        used += len + 1u;
        c.p += len;
    }
    r->ncodes = n;
    r->dictlen = (size_t)(c.p - codes);
    if (r->dictlen > r->dictcap) r->dictbytes = st_xrealloc(r->dictbytes, r->dictcap = r->dictlen * 2);
    memcpy(r->dictbytes, codes, r->dictlen);
    return true;
}

const char *st_rec_chunk_code(const st_rec_reader_t *r, size_t i, size_t k)
{
    st_rec_chunk_t *ch = &r->chunks[i];
    cur_t c = {r->base + ch->offset + CHUNK_FIXED, r->base + r->len, false};
    static char code[256];
    for (size_t j = 0; j <= k && j < ch->nsyms; j++) {
        uint8_t len = get_u8(&c);
        if (!take(&c, len)) return "";
        if (j == k) {
            memcpy(code, c.p, len);
            code[len] = 0;
            return code;
        }
        c.p += len;
    }
    return "";
}

/* A version 3 or 4 payload's columns; false when their lengths do not add up to it, the tags'
 * column does not hold one byte an item, or (version 4) the flags, feed and connection columns
 * are not one length (one byte a tick: a tick checks the last of them only). Version 3's are
 * put where version 4 has them (its META in COL_FLAGS); those it did not have are empty. */
static bool columns(st_rec_reader_t *r, size_t rawlen, uint32_t count)
{
    static const uint8_t v3[NCOL_V3] = {COL_TAG, COL_TIME, COL_CODE, COL_VDELTA, COL_FLAGS, COL_MASK,
                                        COL_PRICE, COL_PRICE + 1, COL_PRICE + 2, COL_PRICE + 3, COL_PRICE + 4,
                                        COL_PRICE + 5, COL_PRICE + 6, COL_PRICE + 7, COL_PRICE + 8, COL_PRICE + 9,
                                        COL_SIDE, COL_BOOK, COL_EVENT};
    int n = r->version >= 4 ? NCOL : NCOL_V3;
    if (rawlen < 4 * (size_t)n) return false;
    cur_t c = {r->raw, r->raw + rawlen, false};
    const uint8_t *at = r->raw + 4 * n;
    for (int k = 0; k < NCOL; k++) r->col[k] = (col_t){r->raw + rawlen, r->raw + rawlen};
    for (int k = 0; k < n; k++) {
        uint32_t len = get_u32(&c);
        if ((size_t)(r->raw + rawlen - at) < len) return false;
        r->col[n == NCOL ? k : v3[k]] = (col_t){at, at + len};
        at += len;
    }
    const col_t *col = r->col;
    return at == r->raw + rawlen && col[COL_TAG].end - col[COL_TAG].p == (ptrdiff_t)count &&
           (n == NCOL_V3 || (col[COL_FEED].end - col[COL_FEED].p == col[COL_FLAGS].end - col[COL_FLAGS].p &&
                             col[COL_CONN].end - col[COL_CONN].p == col[COL_FLAGS].end - col[COL_FLAGS].p));
}

/* A tick read into the item after an event: the event's fields cleared (formats 3 and 4). */
GET void no_event(st_rec_reader_t *r, st_rec_item_t *out)
{
    if (r->item_event) out->event = 0, out->text = NULL, out->text_len = 0, r->item_event = false;
}

/* Whether column c holds `n` bytes, all the same. */
static bool one_byte(const col_t *c, size_t n)
{
    return (size_t)(c->end - c->p) == n && (n < 2 || memcmp(c->p, c->p + 1, n - 1) == 0);
}

/* Whether a format 4 chunk of `count` items is uniform: every item a trade or a snapshot, its
 * tag, feed and connection bytes the same throughout, and its venue time difference one and
 * the same one-byte number (a whole market's tape: the sim feed's, an import's). Its items are
 * read without those columns (item_uni), which hold nothing the general path would read
 * differently: the same values, and no column it would find overrun. (Not the flags: a halt
 * or an auction now and then in a chunk of thousands of trades; their column, of the feed's
 * length, holds a byte an item.) */
static bool uniform(st_rec_reader_t *r, uint32_t count)
{
    const col_t *c = r->col;
    if (!count || !one_byte(&c[COL_TAG], count) || !one_byte(&c[COL_FEED], count) ||
        !one_byte(&c[COL_CONN], count) || !one_byte(&c[COL_VDELTA], count))
        return false;
    uint8_t tag = c[COL_TAG].p[0], vd = c[COL_VDELTA].p[0];
    if (tag >> 4 != ST_REC_TICK || ((tag & 15) != ST_TICK_TRADE && (tag & 15) != ST_TICK_SNAPSHOT) || !(vd & 1))
        return false; /* (vd & 1: a prefix varint one byte long) */
    r->uni_kind = tag & 15, r->uni_feed = c[COL_FEED].p[0];
    r->uni_conn = c[COL_CONN].p[0], r->uni_vdelta = unzig(vd >> 1);
    st_rec_item_t *out = &r->item; /* what item_uni does not write an item: cleared once */
    no_event(r, out);
    if (r->item_book) memset(&out->tick.u, 0, sizeof(out->tick.u)), r->item_book = false;
    return true;
}

/* n bytes of the file at off into p; how many there were (fewer at its end, or on an error). */
static size_t pread_all(int fd, uint8_t *p, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, p + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    return got;
}

/* A file's chunk at off, read into cbuf: its bytes at *h, *avail of them (fewer than its header
 * says when the file ends first: chunk_in finds that). Read, not touched through the mapping:
 * a reading from start to end costs the kernel a copy this way, and a page fault every few
 * pages that way (a 30 MB day: ~3 ms against ~15 ms on a paravirtualised machine); and a file
 * shortened while it is read is a short read, where a page of the mapping past its end is a
 * SIGBUS. False when the file has fewer bytes than it had when opened. */
static bool read_chunk(st_rec_reader_t *r, uint64_t off, const uint8_t **h, size_t *avail)
{
    size_t left = off < r->len ? r->len - off : 0, total = left < 12 ? left : 12;
    uint8_t fixed[12]; /* the magic, the header's length and the payload's */
    if (pread_all(r->fd, fixed, total, off) == 12) {
        cur_t c = {fixed + 4, fixed + 12, false};
        uint32_t hl = get_u32(&c), clen = get_u32(&c);
        /* no more than a sound chunk can be (a damaged header fails chunk_in on what is read) */
        uint64_t want = hl <= MAX_CHUNK_HEADER && clen <= ZSTD_COMPRESSBOUND(MAX_RAW) ? (uint64_t)hl + clen : 12;
        total = want < left ? (size_t)want : left;
    }
    if (total > r->cbufcap) r->cbuf = st_xrealloc(r->cbuf, r->cbufcap = total);
    *h = r->cbuf;
    *avail = pread_all(r->fd, r->cbuf, total, off);
    return *avail == total;
}

/* Opens the next chunk that decodes; false at the end. */
static bool open_chunk(st_rec_reader_t *r)
{
    chunks_ready(r);
    while (r->next_chunk < r->nchunks) {
        const st_rec_chunk_t *ch = &r->chunks[r->next_chunk++];
        st_rec_chunk_t seen;
        uint64_t total;
        const uint8_t *h = r->base + ch->offset; /* (a chunk's offset is within the file) */
        size_t avail = r->len - ch->offset;
        if (r->fd >= 0 && !read_chunk(r, ch->offset, &h, &avail)) {
            report(r, ch->offset, "the file ends before the chunk does (shortened since it was opened?): chunk skipped");
            continue;
        }
        /* a scan checked it where it found it; what an index names, or what is read now, is
         * checked here */
        if ((r->indexed || r->fd >= 0) &&
            (!chunk_in(h, avail, ch->offset, &seen, &total) ||
             (r->indexed && (seen.count != ch->count || seen.first != ch->first || seen.last != ch->last ||
                             seen.nsyms != ch->nsyms)))) {
            report(r, ch->offset, "chunk header damaged, or not the one the index names: chunk skipped");
            continue;
        }
        cur_t c = {h + 4, h + avail, false};
        uint32_t hl = get_u32(&c), clen = get_u32(&c), rawlen = get_u32(&c);
        get_u32(&c);
        get_u32(&c); /* reserved */
        const uint8_t *payload = h + hl;
        if (rawlen > MAX_RAW || !load_codes(r, h, avail)) {
            report(r, ch->offset, "malformed chunk header: chunk skipped");
            continue;
        }
        if (rawlen + PAD > r->rawcap) {
            r->rawcap = rawlen + PAD;
            r->raw = st_xrealloc(r->raw, r->rawcap);
        }
        size_t got = ZSTD_decompressDCtx(r->zd, r->raw, rawlen, payload, clen);
        if (ZSTD_isError(got) || got != rawlen) {
            report(r, ch->offset, "payload does not decompress or fails its checksum: chunk skipped");
            continue;
        }
        memset(r->raw + rawlen, 0, PAD);
        if (r->version >= 3 && !columns(r, rawlen, ch->count)) {
            report(r, ch->offset, "malformed columns: chunk skipped");
            continue;
        }
        r->uni = FAST_PATHS && r->version >= 4 && uniform(r, ch->count);
        if (r->ncodes > r->lastcap) {
            r->lastcap = r->ncodes;
            r->last = st_xrealloc(r->last, r->lastcap * sizeof(*r->last));
            memset(r->last, 0, r->lastcap * sizeof(*r->last)); /* of chunk 0: of none */
        }
        /* no previous trades: each code's is cleared when the chunk first uses it (prev_of), not
         * all of them here (a market's: 350 KB written a chunk, the cache's every time) */
        if (++r->chunk == 0) memset(r->last, 0, r->lastcap * sizeof(*r->last)), r->chunk = 1;
        r->cur = (cur_t){r->raw, r->raw + rawlen, false};
        r->left = ch->count;
        r->prev = ch->first;
        return true;
    }
    return false;
}

/* The previous trade of the chunk's code idx (< ncodes): all zero when the chunk has had none. */
GET rprev_t *prev_of(st_rec_reader_t *r, uint32_t idx)
{
    rprev_t *s = &r->last[idx];
    if (__builtin_expect(s->chunk != r->chunk, 0)) *s = (rprev_t){.chunk = r->chunk};
    return s;
}

/* A trade decoded (n): the caller's, and its code's previous one for the next (s) with its
 * price, volume and sums as integers (p, v, cv, cval) and whether each is one (*_ok). Into
 * locals first: s is the predictions' source, overwritten only here; q and s each by stores of
 * their own (a copy of q would wait on them). */
GET void keep_trade(st_trade_t *q, rprev_t *s, const st_trade_t *n, int64_t p, int64_t v, int64_t cv, int64_t cval,
                    bool p_ok, bool v_ok, bool cv_ok, bool cval_ok)
{
    /* field by field, not `*q = *n`: that may copy n's padding, which is no one's (the reader
     * hands out the same bytes for the same item) */
#define KEEP(f) q->f = s->t.f = n->f
    KEEP(price), KEEP(volume), KEEP(open), KEEP(high), KEEP(low), KEEP(prev_close);
    KEEP(cum_volume), KEEP(cum_value), KEEP(best_bid), KEEP(best_ask), KEEP(side);
#undef KEEP
    s->price = p, s->volume = v, s->cum_volume = cv, s->cum_value = cval;
    s->frac = (uint8_t)((p_ok ? 0 : F_PRICE) | (v_ok ? 0 : F_VOLUME) | (cv_ok ? 0 : F_CUM_VOLUME) |
                        (cval_ok ? 0 : F_CUM_VALUE));
}

/* A version 2 trade: what its mask names, the rest predicted from s, its code's previous one. */

/* get_num, and whether the number is an integer below 2^53 (*iv: it) — as integral() would say. */
GET double get_numi(cur_t *c, int64_t ref, int64_t *iv, bool *whole)
{
    uint64_t u = get_var(c);
    if (u & 1) {
        double v = get_f64(c);
        *whole = integral(v);
        *iv = *whole ? (int64_t)v : 0;
        return v;
    }
    u >>= 1;
    int64_t r = unzig_add(ref, u);
    *whole = exact(r); /* then (double)r is exact */
    *iv = *whole ? r : 0;
    return (double)r;
}


/* A version 2 trade: what its mask names, the rest predicted from s, its code's previous one —
 * the same predictions as the writer's (pred_high, pred_low, pred_cum), on s's integers. */
GET void decode_trade(cur_t *c, st_trade_t *q, rprev_t *s)
{
    unsigned m = get_u16(c);
    if (m & ~(unsigned)TM_ALL) c->bad = true;
    int64_t p, v, cv_i, cval_i;
    bool p_ok, v_ok, cv_ok, cval_ok;
    double price, volume;
    if (m & TM_PRICE) price = get_numi(c, s->price, &p, &p_ok);
    else price = s->t.price, p = s->price, p_ok = !(s->frac & F_PRICE);
    if (m & TM_VOLUME) volume = get_numi(c, 0, &v, &v_ok);
    else volume = s->t.volume, v = s->volume, v_ok = !(s->frac & F_VOLUME);
    double open = m & TM_OPEN ? get_num(c, p) : s->t.open;
    double high = m & TM_HIGH ? get_num(c, p) : pred_high(&s->t, price);
    double low = m & TM_LOW ? get_num(c, p) : pred_low(&s->t, price);
    double prev_close = m & TM_PREV_CLOSE ? get_num(c, p) : s->t.prev_close;
    int64_t pv, ref;
    bool pv_ok = p_ok && v_ok && !__builtin_mul_overflow(p, v, &pv);
    double cum_volume = pred_sum_i(s->t.cum_volume, !(s->frac & F_CUM_VOLUME), s->cum_volume, v_ok, v, &ref, &cv_ok);
    cv_i = cv_ok ? ref : 0;
    if (m & TM_CUM_VOLUME) cum_volume = get_numi(c, ref, &cv_i, &cv_ok);
    double cum_value = pred_sum_i(s->t.cum_value, !(s->frac & F_CUM_VALUE), s->cum_value, pv_ok, pv_ok ? pv : 0, &ref,
                                  &cval_ok);
    cval_i = cval_ok ? ref : 0;
    if (m & TM_CUM_VALUE) cum_value = get_numi(c, ref, &cval_i, &cval_ok);
    double best_bid = m & TM_BEST_BID ? get_num(c, p) : s->t.best_bid;
    double best_ask = m & TM_BEST_ASK ? get_num(c, p) : s->t.best_ask;
    uint8_t side = m & TM_SIDE ? get_u8(c) : s->t.side;
    st_trade_t n = {.price = price, .volume = volume, .open = open, .high = high, .low = low,
                    .prev_close = prev_close, .cum_volume = cum_volume, .cum_value = cum_value,
                    .best_bid = best_bid, .best_ask = best_ask, .side = side};
    keep_trade(q, s, &n, p, v, cv_i, cval_i, p_ok, v_ok, cv_ok, cval_ok);
}

/* --- versions 3 and 4: the columns -------------------------------------------------------- */

/* A time plus a difference read from the file: wrapping, as the bytes may say anything. */
GET st_time_t add_wrap(st_time_t t, int64_t d)
{
    return (st_time_t)((uint64_t)t + (uint64_t)d);
}

GET uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8); /* little-endian hosts only (checked at build) */
    return w;
}

/* A column's next prefix varint (pvar_): its length from the first byte's lowest set bit, no
 * loop; at most 9 bytes, all within the padding while p <= end. */
GET uint64_t col_var(col_t *c, bool *bad)
{
    uint64_t w = load64(c->p), v;
    if (__builtin_expect((w & 0xFF) != 0, 1)) {
        static const uint64_t low7[9] = {0, 0x7F, 0x3FFF, 0x1FFFFF, 0xFFFFFFF, 0x7FFFFFFFFull, 0x3FFFFFFFFFFull,
                                         0x1FFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFull}; /* 7n ones */
        unsigned n = (unsigned)__builtin_ctzll(w) + 1;
        v = (w >> n) & low7[n]; /* the bits above the length's, of its n bytes */
        c->p += n;
    } else {
        v = load64(c->p + 1);
        c->p += 9;
    }
    *bad |= c->p > c->end;
    return v;
}

GET int64_t col_zig(col_t *c, bool *bad)
{
    return unzig(col_var(c, bad));
}

/* A column's next number (pnum_), relative to ref; *iv and *whole as get_numi says. */
GET double col_get(col_t *c, int64_t ref, int64_t *iv, bool *whole, bool *bad)
{
    uint64_t u = col_var(c, bad);
    if (__builtin_expect(!(u & 1), 1)) {
        int64_t r = unzig_add(ref, u >> 1);
        *whole = exact(r);
        *iv = *whole ? r : 0;
        return (double)r;
    }
    double v; /* the escape: 1, then the number's 8 bytes */
    memcpy(&v, c->p, 8); /* within the padding: p <= end + 1 */
    c->p += 8;
    *bad |= c->p > c->end || u != 1;
    *whole = integral(v);
    *iv = *whole ? (int64_t)v : 0;
    return v;
}

/* A trade's number from its column when the mask has it (`has`), relative to ref; else the
 * prediction (pred; pred_i and pred_whole: as an integer). *iv and *whole as get_numi says.
 * Behind a branch, which the processor predicts: a trade nearly always has its price and volume
 * and seldom the rest; the best bid and ask (a fifth of the demo tape's trades) were read and
 * kept without one, which cost more than the branches they spared (that, and col_get for every
 * present number: a reading loop x0.91). */
GET double col_maybe(col_t *c, bool has, int64_t ref, double pred, int64_t pred_i, bool pred_whole, int64_t *iv,
                      bool *whole, bool *bad)
{
    if (!has) {
        *iv = pred_i, *whole = pred_whole;
        return pred;
    }
    return col_get(c, ref, iv, whole, bad);
}

/* The common trade of format 4 on a path of its own: no seldom numbers, its side in the mask,
 * and every number of it and of its code's trade before an integer below 2^53, so none of the
 * general path's bookkeeping of which numbers are integers (95 % of the demo's market tape:
 * reading it -45 instructions an item, about -2.3 ns). The same numbers as trade_nums would
 * give. False, with nothing consumed and *bad as it was, when the trade turns out not to be one
 * (a number written as a double, a product or sum past 2^63 or 2^53): trade_nums reads it. */
GET bool trade_fast(col_t *c, st_trade_t *q, rprev_t *s, unsigned b, bool *bad)
{
    col_t *cp = &c[COL_PRICE], *cvol = &c[COL_PRICE + 1], *cb = &c[COL_PRICE + 8], *ca = &c[COL_PRICE + 9];
    const uint8_t *p0 = cp->p, *v0 = cvol->p, *b0 = cb->p, *a0 = ca->p;
    bool was = *bad;
    uint64_t up = b & MB_PRICE ? col_var(cp, bad) : 0, uv = b & MB_VOLUME ? col_var(cvol, bad) : 0;
    uint64_t ub = b & MB_BID ? col_var(cb, bad) : 0, ua = b & MB_ASK ? col_var(ca, bad) : 0;
    int64_t p = b & MB_PRICE ? unzig_add(s->price, up >> 1) : s->price;
    int64_t v = b & MB_VOLUME ? unzig_add(0, uv >> 1) : s->volume, pv, cv, cval;
    if (__builtin_expect(((up | uv | ub | ua) & 1) || !exact(p) || !exact(v) || __builtin_mul_overflow(p, v, &pv) ||
                             __builtin_add_overflow(s->cum_volume, v, &cv) ||
                             __builtin_add_overflow(s->cum_value, pv, &cval) || !exact(cv) || !exact(cval),
                         0)) {
        cp->p = p0, cvol->p = v0, cb->p = b0, ca->p = a0, *bad = was;
        return false;
    }
    double price = (double)p;
    st_trade_t n = {.price = price, .volume = (double)v, .open = s->t.open, .high = pred_high(&s->t, price),
                    .low = pred_low(&s->t, price), .prev_close = s->t.prev_close, .cum_volume = (double)cv,
                    .cum_value = (double)cval,
                    .best_bid = b & MB_BID ? (double)unzig_add(p, ub >> 1) : s->t.best_bid,
                    .best_ask = b & MB_ASK ? (double)unzig_add(p, ua >> 1) : s->t.best_ask,
                    .side = (uint8_t)(b >> MB_SIDE & 3)};
    keep_trade(q, s, &n, p, v, cv, cval, true, true, true, true);
    return true;
}

/* A trade's numbers once its mask (m: TM_* bits) and side are known (formats 3 and 4):
 * decode_trade's predictions, each number from its own column. */
GET void trade_nums(col_t *c, st_trade_t *q, rprev_t *s, bool *bad, unsigned m, uint8_t side)
{
    int64_t p, v, cv_i, cval_i, ignored;
    bool p_ok, v_ok, cv_ok, cval_ok, ignored_ok;
    double price = col_maybe(&c[COL_PRICE], m & TM_PRICE, s->price, s->t.price, s->price, !(s->frac & F_PRICE), &p,
                           &p_ok, bad);
    double volume = col_maybe(&c[COL_PRICE + 1], m & TM_VOLUME, 0, s->t.volume, s->volume, !(s->frac & F_VOLUME),
                              &v, &v_ok, bad);
#define OTHER(bit, pred, ref) col_maybe(&c[COL_PRICE + bit], m & (1u << bit), ref, pred, 0, false, &ignored, &ignored_ok, bad)
    /* the numbers a trade seldom has (the day's first, or a high or low unlike the price's) in
     * one test on the common path, not one each */
    double open = s->t.open, high = pred_high(&s->t, price), low = pred_low(&s->t, price), prev_close = s->t.prev_close;
    if (m & (TM_OPEN | TM_HIGH | TM_LOW | TM_PREV_CLOSE)) {
        open = OTHER(2, open, p);
        high = OTHER(3, high, p);
        low = OTHER(4, low, p);
        prev_close = OTHER(5, prev_close, p);
    }
    double best_bid = OTHER(8, s->t.best_bid, p);
    double best_ask = OTHER(9, s->t.best_ask, p);
#undef OTHER
    int64_t pv, vref, cref;
    bool pv_ok = p_ok && v_ok && !__builtin_mul_overflow(p, v, &pv);
    double cum_volume = pred_sum_i(s->t.cum_volume, !(s->frac & F_CUM_VOLUME), s->cum_volume, v_ok, v, &vref, &cv_ok);
    double cum_value = pred_sum_i(s->t.cum_value, !(s->frac & F_CUM_VALUE), s->cum_value, pv_ok, pv_ok ? pv : 0, &cref,
                                  &cval_ok);
    cv_i = cv_ok ? vref : 0;
    cval_i = cval_ok ? cref : 0;
    if (m & (TM_CUM_VOLUME | TM_CUM_VALUE)) {
        cum_volume = col_maybe(&c[COL_PRICE + 6], m & TM_CUM_VOLUME, vref, cum_volume, cv_i, cv_ok, &cv_i, &cv_ok, bad);
        cum_value = col_maybe(&c[COL_PRICE + 7], m & TM_CUM_VALUE, cref, cum_value, cval_i, cval_ok, &cval_i, &cval_ok,
                              bad);
    }
    st_trade_t n = {.price = price, .volume = volume, .open = open, .high = high, .low = low,
                    .prev_close = prev_close, .cum_volume = cum_volume, .cum_value = cum_value,
                    .best_bid = best_bid, .best_ask = best_ask, .side = side};
    keep_trade(q, s, &n, p, v, cv_i, cval_i, p_ok, v_ok, cv_ok, cval_ok);
}

/* A format 4 trade that trade_fast does not take (seldom numbers, a side byte, a number not an
 * integer): out of line, so that the common one's path keeps its registers. */
static ST_NOINLINE void trade_slow4(col_t *c, st_trade_t *q, rprev_t *s, bool *bad, unsigned b)
{
    unsigned m = (b & (MB_PRICE | MB_VOLUME)) | (b & (MB_BID | MB_ASK)) << 6;
    if (b & MB_RARE) {
        unsigned x = *c[COL_RARE].p++;
        m |= x << 2;
        *bad |= x > TM_RARE >> 2 || c[COL_RARE].p > c[COL_RARE].end;
    }
    uint8_t side = b >> MB_SIDE & 3;
    if (side == MB_SIDE_BYTE) {
        side = *c[COL_SIDE].p++;
        *bad |= c[COL_SIDE].p > c[COL_SIDE].end;
    }
    *bad |= b > 127;
    trade_nums(c, q, s, bad, m, side);
}

/* A version 3 or 4 (ver) trade. */
GET void trade_cols(col_t *c, st_trade_t *q, rprev_t *s, bool *bad, const int ver)
{
    if (ver >= 4) { /* the mask byte: MB_* */
        unsigned b = *c[COL_MASK].p++;
        *bad |= c[COL_MASK].p > c[COL_MASK].end;
        if (FAST_PATHS && __builtin_expect(!(b & (MB_RARE | 0x80)) && (b >> MB_SIDE & 3) != MB_SIDE_BYTE && !s->frac, 1) &&
            trade_fast(c, q, s, b, bad))
            return;
        trade_slow4(c, q, s, bad, b);
        return;
    }
    /* a u16 of TM_* bits; the side when it changed */
    unsigned m = (unsigned)c[COL_MASK].p[0] | (unsigned)c[COL_MASK].p[1] << 8;
    c[COL_MASK].p += 2;
    *bad |= (m & ~(unsigned)TM_ALL) != 0 || c[COL_MASK].p > c[COL_MASK].end;
    bool has_side = m & TM_SIDE;
    uint8_t side = has_side ? c[COL_SIDE].p[0] : s->t.side;
    c[COL_SIDE].p += has_side;
    *bad |= c[COL_SIDE].p > c[COL_SIDE].end;
    trade_nums(c, q, s, bad, m, side);
}

/* An orderbook's 42 numbers (every version). */
GET void get_book(cur_t *c, st_book_t *k)
{
    k->ask[0] = get_num(c, 0);
    k->bid[0] = get_num(c, ref_of(k->ask[0]));
    for (int i = 1; i < ST_BOOK_DEPTH; i++)
        k->ask[i] = get_num(c, ref_of(k->ask[i - 1])), k->bid[i] = get_num(c, ref_of(k->bid[i - 1]));
    for (int i = 0; i < ST_BOOK_DEPTH; i++) k->ask_qty[i] = get_num(c, 0), k->bid_qty[i] = get_num(c, 0);
    k->total_ask_qty = get_num(c, 0), k->total_bid_qty = get_num(c, 0);
}

/* A version 3 or 4 orderbook: put_book's numbers. Its 42 reads are from one column: each only
 * while the one before stayed within it (p <= end: the padding covers a read), or they would
 * walk past the payload. */
GET void book_cols(col_t *c, st_book_t *k, bool *bad)
{
    int64_t a, d, ignored; /* a level's price as an integer (ref_of), the next one's reference */
    bool whole;
#define NUM(dst, ref, iv)                                                                                              \
    do {                                                                                                               \
        if (*bad) return;                                                                                              \
        dst = col_get(c, ref, iv, &whole, bad);                                                                        \
    } while (0)
    NUM(k->ask[0], 0, &a);
    NUM(k->bid[0], a, &d);
    for (int i = 1; i < ST_BOOK_DEPTH; i++) {
        NUM(k->ask[i], a, &a);
        NUM(k->bid[i], d, &d);
    }
    for (int i = 0; i < ST_BOOK_DEPTH; i++) {
        NUM(k->ask_qty[i], 0, &ignored);
        NUM(k->bid_qty[i], 0, &ignored);
    }
    NUM(k->total_ask_qty, 0, &ignored);
    NUM(k->total_bid_qty, 0, &ignored);
#undef NUM
}

/* An event's kind, code and text (every version); false when malformed. */
GET bool get_event(st_rec_reader_t *r, cur_t *c, st_rec_item_t *out)
{
    memset(&out->tick, 0, sizeof(out->tick)); /* (rare) */
    r->item_book = false;
    out->event = get_u8(c);
    uint64_t idx = get_var(c), len = get_var(c);
    if (idx > r->ncodes || len > ST_REC_MAX_TEXT || !take(c, len)) return false;
    if (idx) out->code = r->codebuf + r->codeoff[idx - 1], out->code_index = (uint32_t)idx - 1;
    out->text = (const char *)c->p;
    out->text_len = len;
    c->p += len;
    return true;
}

/* A tick's code (versions 3 and 4): its index from the code column into out, with the code; the
 * index, or 0 with *bad when the column ends or the dictionary has no such code. */
GET uint32_t col_code(st_rec_reader_t *r, st_rec_item_t *out, bool *bad)
{
    col_t *c = &r->col[COL_CODE];
    uint32_t idx = (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8;
    c->p += 2;
    *bad |= c->p > c->end;
    if (idx < r->ncodes) out->code = r->codebuf + r->codeoff[idx], out->code_index = idx;
    else *bad = true, idx = 0;
    return idx;
}

/* An item of a version 3 or 4 (ver: a constant) payload into out; false when it is malformed. */
GET bool item_cols(st_rec_reader_t *r, st_rec_item_t *out, const int ver)
{
    col_t *c = r->col;
    bool bad = false;
    uint8_t tag = *c[COL_TAG].p++; /* one an item: never past its end */
    out->type = tag >> 4;
    out->time = add_wrap(r->prev, col_zig(&c[COL_TIME], &bad));
    out->dict = r->dict;
    if (out->type == ST_REC_TICK) { /* its code, index and connection set below */
        st_tick_t *t = &out->tick;
        no_event(r, out);
        t->kind = tag & 15;
        uint32_t idx = col_code(r, out, &bad);
        if (ver >= 4) { /* (columns(): the three of one length, so the last one's end says) */
            t->flags = *c[COL_FLAGS].p++, t->feed = *c[COL_FEED].p++, out->conn = *c[COL_CONN].p++;
            bad |= c[COL_CONN].p > c[COL_CONN].end;
        } else { /* META */
            t->flags = c[COL_FLAGS].p[0], t->feed = c[COL_FLAGS].p[1], out->conn = c[COL_FLAGS].p[2];
            c[COL_FLAGS].p += 3;
            bad |= c[COL_FLAGS].p > c[COL_FLAGS].end;
        }
        t->sym = ST_SYM_NONE;
        t->recv_time = out->time;
        t->venue_time = add_wrap(out->time, col_zig(&c[COL_VDELTA], &bad));
        if (r->item_book && t->kind != ST_TICK_ORDERBOOK) memset(&t->u, 0, sizeof(t->u)); /* no stale levels */
        r->item_book = t->kind == ST_TICK_ORDERBOOK;
        if (t->kind == ST_TICK_ORDERBOOK) {
            book_cols(&c[COL_BOOK], &t->u.book, &bad);
        } else if (t->kind == ST_TICK_TRADE || t->kind == ST_TICK_SNAPSHOT) {
            if (!bad) trade_cols(c, &t->u.trade, prev_of(r, idx), &bad, ver);
        } else {
            bad = true;
        }
    } else if (out->type == ST_REC_EVENT) {
        out->code = "", out->code_index = UINT32_MAX, out->conn = ST_CONN_NONE; /* (get_event: a code it has) */
        r->item_event = true;
        cur_t k = {c[COL_EVENT].p, c[COL_EVENT].end, false};
        bad |= !get_event(r, &k, out) || k.bad;
        c[COL_EVENT].p = k.p;
    } else {
        bad = true;
    }
    return !bad;
}

/* An item of a uniform chunk (uniform(): a trade or snapshot, its tag, feed, connection and
 * venue time difference the chunk's) into out: item_cols' stores, without the columns that
 * hold those, nor the branches on them. Each stored again an item: the item is its taker's
 * until the next read (the replay feed stamps its feed and symbol into it). */
GET bool item_uni(st_rec_reader_t *r, st_rec_item_t *out)
{
    col_t *c = r->col;
    bool bad = false;
    st_tick_t *t = &out->tick;
    out->type = ST_REC_TICK;
    out->time = add_wrap(r->prev, col_zig(&c[COL_TIME], &bad));
    out->dict = r->dict;
    t->kind = r->uni_kind, t->feed = r->uni_feed, out->conn = r->uni_conn;
    t->flags = *c[COL_FLAGS].p++; /* (as long as the feed's column: a byte an item, none past it) */
    uint32_t idx = col_code(r, out, &bad);
    t->sym = ST_SYM_NONE;
    t->recv_time = out->time;
    t->venue_time = add_wrap(out->time, r->uni_vdelta);
    if (!bad) trade_cols(c, &t->u.trade, prev_of(r, idx), &bad, 4);
    return !bad;
}

/* The next item of a version 3 or 4 (ver: a constant, one copy of this for each) payload. */
GET st_rec_item_t *read_cols(st_rec_reader_t *r, const int ver)
{
    st_rec_item_t *out = &r->item;
    for (;;) {
        if (!r->left && !open_chunk(r)) return NULL;
        if (ver >= 4 && r->uni ? item_uni(r, out) : item_cols(r, out, ver)) {
            r->prev = out->time;
            r->left--;
            return out;
        }
        /* the rest of the chunk cannot be trusted */
        report(r, r->chunks[r->next_chunk - 1].offset, "malformed item: rest of the chunk skipped");
        r->left = 0;
    }
}

/* The next item of a version 1 or 2 payload. */
static st_rec_item_t *read_items(st_rec_reader_t *r)
{
    st_rec_item_t *out = &r->item;
    for (;;) {
        if (!r->left && !open_chunk(r)) return NULL;
        cur_t cur = r->cur, *c = &cur; /* a local copy the compiler can keep in registers */
        out->type = get_u8(c);
        out->time = add_wrap(r->prev, get_zig(c));
        out->code = "";
        out->code_index = UINT32_MAX;
        out->conn = ST_CONN_NONE;
        out->event = 0, out->text = NULL, out->text_len = 0;
        if (out->type == ST_REC_TICK) {
            st_tick_t *t = &out->tick;
            t->kind = get_u8(c);
            t->flags = get_u8(c);
            t->feed = get_u8(c);
            out->conn = get_u8(c);
            uint64_t idx = get_var(c);
            t->sym = ST_SYM_NONE;
            t->recv_time = out->time;
            t->venue_time = add_wrap(out->time, get_zig(c));
            if (idx < r->ncodes) out->code = r->codebuf + r->codeoff[idx], out->code_index = (uint32_t)idx;
            else c->bad = true;
            out->dict = r->dict;
            if (r->item_book && t->kind != ST_TICK_ORDERBOOK) memset(&t->u, 0, sizeof(t->u)); /* no stale levels */
            r->item_book = t->kind == ST_TICK_ORDERBOOK;
            if (t->kind == ST_TICK_ORDERBOOK) { /* every number of it written */
                get_book(c, &t->u.book);
            } else if ((t->kind == ST_TICK_TRADE || t->kind == ST_TICK_SNAPSHOT) && r->version >= 2) {
                if (!c->bad) decode_trade(c, &t->u.trade, prev_of(r, (uint32_t)idx));
            } else if (t->kind == ST_TICK_TRADE || t->kind == ST_TICK_SNAPSHOT) { /* version 1 */
                st_trade_t *q = &t->u.trade;
                q->price = get_num(c, 0);
                int64_t p = ref_of(q->price);
                q->volume = get_num(c, 0);
                q->open = get_num(c, p), q->high = get_num(c, p), q->low = get_num(c, p);
                q->prev_close = get_num(c, p);
                q->cum_volume = get_num(c, 0), q->cum_value = get_num(c, 0);
                q->best_bid = get_num(c, p), q->best_ask = get_num(c, p);
                q->side = get_u8(c);
            } else {
                c->bad = true;
            }
        } else if (out->type == ST_REC_EVENT) {
            out->dict = r->dict;
            if (!get_event(r, c, out)) c->bad = true;
        } else {
            c->bad = true;
        }
        if (c->bad) { /* the rest of the chunk cannot be trusted */
            report(r, r->chunks[r->next_chunk - 1].offset, "malformed item: rest of the chunk skipped");
            r->left = 0;
            continue;
        }
        r->cur = cur;
        r->prev = out->time;
        r->left--;
        return out;
    }
}

st_rec_item_t *st_rec_read(st_rec_reader_t *r)
{
    if (r->held) {
        r->held = false;
        return &r->item;
    }
    if (r->version >= 4) return read_cols(r, 4);
    if (r->version == 3) return read_cols(r, 3);
    return read_items(r);
}

/* Hands take (fn) the item, its dict offset by dict_add; true when it is taken. When not, the
 * item is as it was and stays the next one (held), *next its time. */
GET bool offer(st_rec_reader_t *r, st_rec_item_t *it, uint32_t dict_add, st_rec_take_cb fn, void *ctx,
               st_time_t *next)
{
    it->dict += dict_add;
    if (fn(ctx, it)) return true;
    it->dict -= dict_add; /* as st_rec_read will give it */
    r->held = true;
    *next = it->time;
    return false;
}

/* st_rec_pump's loop for a version (ver: a constant, one copy of this for each), the reading
 * inlined into it: no call and no saved registers an item, only fn's (the take). */
GET bool pump_loop(st_rec_reader_t *r, uint32_t dict_add, st_rec_take_cb fn, void *ctx, st_time_t *next,
                   const int ver)
{
    for (;;) {
        st_rec_item_t *it = ver >= 3 ? read_cols(r, ver) : read_items(r);
        if (!it) return false;
        if (!offer(r, it, dict_add, fn, ctx, next)) return true;
    }
}

static ST_NOINLINE bool pump_v4(st_rec_reader_t *r, uint32_t add, st_rec_take_cb fn, void *ctx, st_time_t *next)
{
    return pump_loop(r, add, fn, ctx, next, 4);
}

static ST_NOINLINE bool pump_v3(st_rec_reader_t *r, uint32_t add, st_rec_take_cb fn, void *ctx, st_time_t *next)
{
    return pump_loop(r, add, fn, ctx, next, 3);
}

static ST_NOINLINE bool pump_v2(st_rec_reader_t *r, uint32_t add, st_rec_take_cb fn, void *ctx, st_time_t *next)
{
    return pump_loop(r, add, fn, ctx, next, 2);
}

bool st_rec_pump(st_rec_reader_t *r, uint32_t dict_add, st_rec_take_cb fn, void *ctx, st_time_t *next)
{
    if (r->held) { /* the item a take left last time */
        r->held = false;
        if (!offer(r, &r->item, dict_add, fn, ctx, next)) return true;
    }
    if (r->version >= 4) return pump_v4(r, dict_add, fn, ctx, next);
    if (r->version == 3) return pump_v3(r, dict_add, fn, ctx, next);
    return pump_v2(r, dict_add, fn, ctx, next);
}

uint32_t st_rec_dict(const st_rec_reader_t *r)
{
    return r->dict;
}

int st_rec_next(st_rec_reader_t *r, st_rec_item_t *out)
{
    const st_rec_item_t *it = st_rec_read(r);
    if (!it) return 0;
    *out = *it;
    return 1;
}

void st_rec_seek(st_rec_reader_t *r, st_time_t t)
{
    chunks_ready(r);
    size_t i = 0;
    while (i < r->nchunks && r->chunks[i].last < t) i++;
    r->next_chunk = i;
    r->left = 0;
    r->held = false;
}
