/* A replay's recordings: one file, or a directory of them (a file per day, *.strata), read as
 * one stream in time order — the files by their start, each file's items in order. Pure of the
 * runtime like recfile.h; the replay feeds read through it, and `strata backtest --from --to`
 * picks the days by where the clock starts and stops. */
#ifndef ST_RECORD_RECSET_H
#define ST_RECORD_RECSET_H

#include "recfile.h"

typedef struct st_recset st_recset_t;

typedef struct {
    char *path;
    st_time_t start, last; /* its header's start; its last item's time (from its chunks) */
} st_recset_file_t;

/* path: a recording, or a directory whose *.strata files are read in order of their start.
 * NULL with a reason in err (unreadable, not a recording, a directory without one). */
st_recset_t *st_recset_open(const char *path, char *err, size_t errlen);
void st_recset_free(st_recset_t *s);
/* Corrupt chunks are reported as "FILE: why" (the file's path) and skipped. */
void st_recset_set_corrupt_cb(st_recset_t *s, st_rec_corrupt_cb cb, void *ctx);
const st_recset_file_t *st_recset_files(const st_recset_t *s, size_t *n);
/* The first file's start. */
st_time_t st_recset_start(const st_recset_t *s);
/* The next item, NULL after the last file's last: the reader's own (st_rec_read), valid until
 * the next read, seek or free. item.dict stays distinct across files. */
st_rec_item_t *st_recset_read(st_recset_t *s);
/* st_rec_pump across the files: take each next item until it returns false (true, *next that
 * item's time: the next pump or read gives it again) or the last file's end (false). */
bool st_recset_pump(st_recset_t *s, st_rec_take_cb take, void *ctx, st_time_t *next);
/* Goes to the file holding t (the last that starts at or before it) and within it to t. */
void st_recset_seek(st_recset_t *s, st_time_t t);

#endif
