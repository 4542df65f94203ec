/* A normalized tick as the fields of a Redis stream entry, both ways (docs/operations.md,
 * "Redis streams"): ops/redisout.c publishes with st_redistick_encode; a reader of the streams
 * (the `kind: redis` feed to come, issue 22.2) decodes with st_redistick_decode. The entries come
 * from other programs: decoding checks every field it reads (fuzz_redistick). Numbers are written
 * with 15 significant digits, book sides as "p1,p2,…" (best first, at most 10). */
#ifndef ST_FEEDS_REDISTICK_H
#define ST_FEEDS_REDISTICK_H

#include "market/tick.h"

#define ST_REDISTICK_MAX_FIELDS 24

typedef struct {
    const char *name[ST_REDISTICK_MAX_FIELDS];
    const char *value[ST_REDISTICK_MAX_FIELDS]; /* into buf, or constants */
    size_t len[ST_REDISTICK_MAX_FIELDS];
    size_t n;
    char buf[1536];
    size_t used;
} st_redistick_t;

/* The fields of t, whose symbol's code is `code`, into out (which the values point into). */
void st_redistick_encode(const st_tick_t *t, const char *code, st_redistick_t *out);

/* An entry's fields (names and values of lens bytes, in any order; unknown ones, such as
 * `term`, skipped) into a tick (feed, sym and recv_time left 0) and its code. Returns 0, or -1
 * with why: a field missing, malformed, or a code longer than codecap - 1. */
int st_redistick_decode(size_t n, const char *const *names, const char *const *values, const size_t *lens,
                        st_tick_t *out, char *code, size_t codecap, const char **why);

#endif
