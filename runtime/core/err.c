#include "err.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *st_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case ST_ECONFIG: return "invalid configuration";
    case ST_EPARSE: return "malformed input";
    case ST_ENOTIMPL: return "not implemented in this build";
    case ST_ENOTFILE: return "not a regular file (a FIFO, a device or a socket)";
    case ST_EFAULT: return "the strategy's code failed";
    default: break;
    }
    if (err < 0 && err > ST_EBASE)
        return strerror(-err);
    return "unknown error";
}

void st_diags_init(st_diags_t *d)
{
    memset(d, 0, sizeof(*d));
}

void st_diags_free(st_diags_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].file);
        free(d->items[i].msg);
    }
    free(d->items);
    memset(d, 0, sizeof(*d));
}

void st_diags_add(st_diags_t *d, const char *file, int line, int col, const char *fmt, ...)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->items = st_xrealloc(d->items, d->cap * sizeof(*d->items));
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    st_diag_t *g = &d->items[d->n++];
    g->file = st_xstrdup(file ? file : "");
    g->line = line;
    g->col = col;
    g->msg = st_xstrdup(buf);
}

void st_diags_sort(st_diags_t *d, size_t from)
{
    for (size_t i = from + 1; i < d->n; i++) { /* insertion sort: stable, and n is small */
        st_diag_t g = d->items[i];
        size_t j = i;
        while (j > from && (d->items[j - 1].line > g.line ||
                            (d->items[j - 1].line == g.line && d->items[j - 1].col > g.col))) {
            d->items[j] = d->items[j - 1];
            j--;
        }
        d->items[j] = g;
    }
}

void st_diag_format(const st_diag_t *g, char *buf, size_t len)
{
    if (g->line > 0)
        snprintf(buf, len, "%s:%d:%d: %s", g->file, g->line, g->col, g->msg);
    else
        snprintf(buf, len, "%s: %s", g->file, g->msg);
}

void st_require_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "strata: invariant broken: %s (%s:%d)\n", expr, file, line);
    abort();
}

bool st_assert_fail(const char *expr, const char *file, int line)
{
    st_log_error(CORE, "assertion failed: %s (%s:%d)", expr, file, line);
#ifndef NDEBUG
    abort();
#endif
    return true;
}

static ST_NORETURN void oom(size_t n)
{
    fprintf(stderr, "strata: out of memory allocating %zu bytes\n", n);
    abort();
}

void *st_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *st_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *st_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *st_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(st_xmalloc(n), s, n);
}
