/* The recording file: normalized ticks and the run's own events, in time order, in chunks of
 * at most a second of record time (or 256 KiB raw), each compressed with zstd. Pure of the runtime:
 * the writer appends to a file descriptor; the reader reads a file's chunks one at a time (pread;
 * its header and index through a mapping) or works on bytes in memory, which is how the fuzzer
 * drives it, by the same code. docs/backtest.md describes the format.
 *
 * Crash safety: a chunk is written whole when it closes, so a killed writer loses at most the
 * chunk being filled (and, with a writer thread, the items not yet handed to it); the index written at a clean close is only a shortcut — without it the
 * reader finds the chunks by scanning their headers. Every chunk is self-contained (its own
 * symbol dictionary, codes not strata's ids; times relative to its first record), checked by
 * a CRC-32 of its header, zstd's checksum of its payload and the decoder: a corrupt chunk is
 * reported with its offset and skipped, never trusted. */
#ifndef ST_RECORD_RECFILE_H
#define ST_RECORD_RECFILE_H

#include "core/common.h"
#include "market/tick.h"

#define ST_REC_VERSION 4
#define ST_REC_CHUNK_SPAN ST_SEC        /* a chunk closes at this much record time */
#define ST_REC_CHUNK_BYTES (256 * 1024u)  /* … or this much raw data (a fast run's chunks) */
#define ST_REC_MAX_TEXT 4096            /* an event's text */

typedef enum { ST_REC_TICK = 1, ST_REC_EVENT = 2 } st_rec_type_t;

/* The run's own events (what else happened, besides ticks). */
typedef enum {
    ST_REV_PLAN = 1,  /* a tier move: "from to conn why" */
    ST_REV_SUBSCRIBE, /* a subscription message sent, or its answer */
    ST_REV_EMERGENCY,
    ST_REV_SIGNAL,    /* the signal record (JSON) */
    ST_REV_RELOAD,
    ST_REV_SLOT,      /* a time slot began */
    ST_REV_NOTE,      /* anything else (import, header notes) */
    ST_REV_COUNT
} st_rec_event_t;
extern const char *const st_rec_event_names[ST_REV_COUNT]; /* by st_rec_event_t, [0] = "" */

typedef struct {
    uint8_t type;      /* st_rec_type_t */
    st_time_t time;    /* ticks: when delivered (recv_time); events: when they happened */
    const char *code;  /* the symbol's code, "" for none; valid until the next call */
    uint32_t code_index; /* its place in the chunk's dictionary (UINT32_MAX: none): while `dict`
                          * stays the same, the same index is the same code (a reader's cache) */
    uint32_t dict;
    /* ticks */
    st_tick_t tick;    /* tick.sym is ST_SYM_NONE: the reader knows codes, not ids */
    uint8_t conn;      /* the connection it came on (ST_CONN_NONE: none) */
    /* events */
    uint8_t event;     /* st_rec_event_t */
    const char *text;  /* not NUL-terminated */
    size_t text_len;
} st_rec_item_t;

/* --- writing ------------------------------------------------------------------------------- */

typedef struct st_rec_writer st_rec_writer_t;

/* Creates path (O_EXCL: never overwrites) and writes the file header; NULL with errno set. */
st_rec_writer_t *st_rec_create(const char *path, st_time_t start);
/* Appends a tick as delivered (its recv_time orders it), with its symbol's code. */
int st_rec_tick(st_rec_writer_t *w, const st_tick_t *t, const char *code, uint8_t conn);
/* The same, for a caller whose codes have ids that never name another code (a symbol table's,
 * small and dense): the code's place found by its id, no string looked at after the id's first
 * tick (code may be NULL then). The same bytes as st_rec_tick; an id from ST_REC_MAX_ID up
 * (ST_SYM_NONE) is by code. */
#define ST_REC_MAX_ID (1u << 24)
int st_rec_tick_id(st_rec_writer_t *w, const st_tick_t *t, uint32_t id, const char *code, uint8_t conn);
/* Appends an event at `when` (code "" or NULL when it concerns no symbol). */
int st_rec_event(st_rec_writer_t *w, st_time_t when, st_rec_event_t ev, const char *code, const char *text,
                 size_t len);
/* A chunk closes by itself after `span` of record time (ST_REC_CHUNK_SPAN by default; 0: by
 * size only, for runs faster than real time, whose writer flushes by the wall clock). */
void st_rec_set_span(st_rec_writer_t *w, st_dur_t span);
/* Writes the chunk being filled, if any (it also closes by itself, by time and size). */
int st_rec_flush(st_rec_writer_t *w);
/* Flushes, writes the index and the trailer, closes. Returns 0 or -errno (w is freed anyway). */
int st_rec_close(st_rec_writer_t *w);
/* Bytes written so far, and items (with a background writer: once what is queued is written). */
uint64_t st_rec_written(st_rec_writer_t *w, uint64_t *items);
/* From now on items are encoded, chunks sealed, compressed and written by a thread of their own:
 * the caller only copies each item into a block, which goes to the thread once full and at a
 * flush (the caller waits only when 16 blocks, 2 MiB, are queued). The file is the same, byte
 * for byte. Errors surface at a later call; st_rec_close writes everything queued, then the
 * index. Returns 0 or -errno. */
int st_rec_background(st_rec_writer_t *w);

/* --- reading ------------------------------------------------------------------------------- */

typedef struct {
    uint64_t offset;       /* of the chunk header in the file */
    st_time_t first, last; /* record times */
    uint32_t count;        /* items */
    uint32_t nsyms;        /* codes in its dictionary */
} st_rec_chunk_t;

typedef struct st_rec_reader st_rec_reader_t;

/* A corrupt or truncated chunk: where, and why. The reader goes on after it. */
typedef void (*st_rec_corrupt_cb)(void *ctx, uint64_t offset, const char *why);

/* Maps path; NULL with a reason in err (not a recording, unreadable, another version). */
st_rec_reader_t *st_rec_open(const char *path, char *err, size_t errlen);
/* Reads from bytes the caller keeps alive (tests, the fuzzer). */
st_rec_reader_t *st_rec_open_mem(const void *buf, size_t len, char *err, size_t errlen);
void st_rec_set_corrupt_cb(st_rec_reader_t *r, st_rec_corrupt_cb cb, void *ctx);
void st_rec_free(st_rec_reader_t *r);
st_time_t st_rec_start(const st_rec_reader_t *r);
/* The file's format version (this strata writes ST_REC_VERSION and reads every one before it). */
int st_rec_version(const st_rec_reader_t *r);
/* The chunks found (from the index, or by scanning when there is none), in file order. */
const st_rec_chunk_t *st_rec_chunks(const st_rec_reader_t *r, size_t *n);
/* Whether a clean close wrote the index (false: the writer was killed, or the tail is cut). */
bool st_rec_indexed(const st_rec_reader_t *r);
/* The codes of chunk i (its dictionary, without decompressing it). */
const char *st_rec_chunk_code(const st_rec_reader_t *r, size_t i, size_t k);
/* The next item: the reader's own, valid (and the caller's to change) until the next read, seek
 * or free; NULL at the end. Corrupt chunks are reported and skipped. Every byte of it is set,
 * the same bytes for the same item whatever was read before. */
st_rec_item_t *st_rec_read(st_rec_reader_t *r);
/* The same, copied into out: 1, or 0 at the end. */
int st_rec_next(st_rec_reader_t *r, st_rec_item_t *out);
/* A pump: take(ctx, item) for each next item (st_rec_read's, dict_add added to its dict first),
 * called from within the reader's loop — a replay's fastest way through a file — until take
 * returns false: that item, which take must leave as it was, stays the next one (the next pump
 * or read gives it again); true then, with *next its time. False at the end. */
typedef bool (*st_rec_take_cb)(void *ctx, st_rec_item_t *it);
bool st_rec_pump(st_rec_reader_t *r, uint32_t dict_add, st_rec_take_cb take, void *ctx, st_time_t *next);
/* The dictionary the reader is at (an item's dict is at most this). */
uint32_t st_rec_dict(const st_rec_reader_t *r);
/* Goes to the first chunk that may hold items at or after t (items before t in it are read). */
void st_rec_seek(st_rec_reader_t *r, st_time_t t);
/* Chunks skipped as corrupt so far. */
uint64_t st_rec_corrupt(const st_rec_reader_t *r);

#endif
