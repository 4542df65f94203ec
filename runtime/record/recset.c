#include "recset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct st_recset {
    st_recset_file_t *f;
    size_t n, cur;
    st_rec_reader_t *r; /* of f[cur] */
    uint32_t dict_base; /* the dictionaries of the files before (each file's count from 1) */
    st_rec_corrupt_cb cb;
    void *ctx;
};

static void on_corrupt(void *ctx, uint64_t offset, const char *why)
{
    st_recset_t *s = ctx;
    if (!s->cb) return;
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s: %s", s->f[s->cur].path, why);
    s->cb(s->ctx, offset, msg);
}

/* Reads a file's start and last time; false (err set) when it is no recording. */
static bool probe(const char *path, st_recset_file_t *out, char *err, size_t errlen)
{
    st_rec_reader_t *r = st_rec_open(path, err, errlen);
    if (!r) return false;
    size_t nch;
    const st_rec_chunk_t *ch = st_rec_chunks(r, &nch);
    out->path = st_xstrdup(path);
    out->start = st_rec_start(r);
    out->last = nch ? ch[nch - 1].last : out->start;
    st_rec_free(r);
    return true;
}

static int by_start(const void *a, const void *b)
{
    const st_recset_file_t *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : strcmp(x->path, y->path);
}

st_recset_t *st_recset_open(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    st_recset_t *s = st_xcalloc(1, sizeof(*s));
    if (!S_ISDIR(sb.st_mode)) {
        s->f = st_xcalloc(1, sizeof(*s->f));
        if (!probe(path, &s->f[0], err, errlen)) {
            st_recset_free(s);
            return NULL;
        }
        s->n = 1;
    } else {
        DIR *d = opendir(path);
        if (!d) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            st_recset_free(s);
            return NULL;
        }
        size_t cap = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < 8 || strcmp(e->d_name + len - 7, ".strata") != 0 || e->d_name[0] == '.') continue;
            char file[4096], why[512];
            snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
            if (s->n == cap) s->f = st_xrealloc(s->f, (cap = cap ? 2 * cap : 16) * sizeof(*s->f));
            if (!probe(file, &s->f[s->n], why, sizeof(why))) {
                snprintf(err, errlen, "%s", why);
                closedir(d);
                st_recset_free(s);
                return NULL;
            }
            s->n++;
        }
        closedir(d);
        if (!s->n) {
            snprintf(err, errlen, "%s: no recording (*.strata) in this directory", path);
            st_recset_free(s);
            return NULL;
        }
        qsort(s->f, s->n, sizeof(*s->f), by_start);
    }
    return s;
}

void st_recset_free(st_recset_t *s)
{
    if (!s) return;
    st_rec_free(s->r);
    for (size_t i = 0; i < s->n; i++) free(s->f[i].path);
    free(s->f);
    free(s);
}

void st_recset_set_corrupt_cb(st_recset_t *s, st_rec_corrupt_cb cb, void *ctx)
{
    s->cb = cb;
    s->ctx = ctx;
}

const st_recset_file_t *st_recset_files(const st_recset_t *s, size_t *n)
{
    *n = s->n;
    return s->f;
}

st_time_t st_recset_start(const st_recset_t *s)
{
    return s->f[0].start;
}

/* Closes the file being read, if any: the next one's dictionaries count on past the last it
 * reached (st_rec_dict: at least its last item's). */
static void close_file(st_recset_t *s)
{
    if (!s->r) return;
    s->dict_base += st_rec_dict(s->r);
    st_rec_free(s->r);
    s->r = NULL;
}

/* Opens file i (closing the one before); false when it cannot be read any more. */
static bool open_file(st_recset_t *s, size_t i)
{
    close_file(s);
    s->cur = i;
    char err[512];
    s->r = st_rec_open(s->f[i].path, err, sizeof(err));
    if (!s->r) {
        if (s->cb) s->cb(s->ctx, 0, err); /* it changed since it was listed */
        return false;
    }
    st_rec_set_corrupt_cb(s->r, on_corrupt, s);
    return true;
}

/* The current file's reader, opened if need be (a file that cannot be read is passed over);
 * NULL after the last file. */
static st_rec_reader_t *reader(st_recset_t *s)
{
    while (!s->r && s->cur < s->n && !open_file(s, s->cur)) s->cur++;
    return s->r;
}

st_rec_item_t *st_recset_read(st_recset_t *s)
{
    for (st_rec_reader_t *r; (r = reader(s)) != NULL; close_file(s), s->cur++) {
        st_rec_item_t *it = st_rec_read(r);
        if (it) {
            it->dict += s->dict_base; /* the next file's dictionaries count on from here */
            return it;
        }
    }
    return NULL;
}

bool st_recset_pump(st_recset_t *s, st_rec_take_cb take, void *ctx, st_time_t *next)
{
    for (st_rec_reader_t *r; (r = reader(s)) != NULL; close_file(s), s->cur++)
        if (st_rec_pump(r, s->dict_base, take, ctx, next)) return true;
    return false;
}

void st_recset_seek(st_recset_t *s, st_time_t t)
{
    size_t i = 0;
    while (i + 1 < s->n && s->f[i + 1].start <= t) i++;
    if (!s->r || s->cur != i) {
        if (!open_file(s, i)) return;
    }
    st_rec_seek(s->r, t);
}
