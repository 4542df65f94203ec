/* Errors: negative errno (or a strata code below ST_EBASE) for results, and located
 * diagnostics (file:line:column: message) for configuration and compile errors. */
#ifndef ST_CORE_ERR_H
#define ST_CORE_ERR_H

#include "common.h"

enum {
    ST_EBASE = -1000,
    ST_ECONFIG = ST_EBASE - 1, /* configuration is invalid; diagnostics say where */
    ST_EPARSE = ST_EBASE - 2,  /* malformed input bytes */
    ST_ENOTIMPL = ST_EBASE - 3, /* a feature this build does not provide yet */
    ST_ENOTFILE = ST_EBASE - 4, /* a path that is not a regular file (a FIFO, a device, a socket) */
    ST_EFAULT = ST_EBASE - 5    /* a strategy's code failed: raised, out of budget or memory (its
                                 * own message says how) */
};

/* The one meaning of a return of 1, wherever a request may be answered at once or later (an
 * orderbook: the feeds', the host's, the plugin ABI's STRATA_PENDING): accepted, the answer comes
 * later through the callback. 0: answered now. */
#define ST_PENDING 1

/* Text for a negative errno or a strata code; never NULL. */
const char *st_strerror(int err);

/* One located diagnostic. line/col are 1-based; 0 means "unknown". */
typedef struct {
    char *file;
    int line;
    int col;
    char *msg;
} st_diag_t;

/* A growing list of diagnostics: config loading collects every error instead of stopping
 * at the first one. */
typedef struct {
    st_diag_t *items;
    size_t n, cap;
} st_diags_t;

void st_diags_init(st_diags_t *d);
void st_diags_free(st_diags_t *d);
void st_diags_add(st_diags_t *d, const char *file, int line, int col, const char *fmt, ...)
    ST_PRINTF(5, 6);
/* Stable-sorts items [from, n) by line and column, so a file's errors read top to bottom. */
void st_diags_sort(st_diags_t *d, size_t from);
/* Formats item i as "file:line:col: msg" into buf. */
void st_diag_format(const st_diag_t *g, char *buf, size_t len);

#endif
