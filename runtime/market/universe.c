#include "universe.h"
#include "core/res.h"

#include <stdlib.h>
#include <string.h>

const char *const st_market_names[] = {"KOSPI", "KOSDAQ", "KONEX", "INDEX", "OTHER", NULL};

#define MAX_COLS 16

typedef struct {
    const char *start[MAX_COLS];
    size_t len[MAX_COLS];
    int col[MAX_COLS]; /* 1-based column of each field */
    int n;
} row_t;

/* Splits one CSV record in place (RFC 4180 quoting, "" for a quote). Returns the pointer past
 * the record, or NULL with *bad_col set on a malformed quote. */
static char *split_row(char *p, row_t *r, int *bad_col)
{
    char *line = p;
    r->n = 0;
    for (;;) {
        if (r->n == MAX_COLS) {
            *bad_col = (int)(p - line) + 1;
            return NULL;
        }
        int i = r->n++;
        r->col[i] = (int)(p - line) + 1;
        if (*p == '"') {
            char *w = ++p;
            r->start[i] = w;
            for (;;) {
                if (*p == 0) {
                    *bad_col = r->col[i];
                    return NULL;
                }
                if (*p == '"') {
                    if (p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            r->len[i] = (size_t)(w - r->start[i]);
            if (*p != ',' && *p != '\n' && *p != '\r' && *p != 0) {
                *bad_col = (int)(p - line) + 1;
                return NULL;
            }
        } else {
            r->start[i] = p;
            while (*p && *p != ',' && *p != '\n' && *p != '\r') p++;
            r->len[i] = (size_t)(p - r->start[i]);
        }
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\r') p++;
        if (*p == '\n') p++;
        return p;
    }
}

static uint16_t intern_sector(st_universe_t *u, const char *s, size_t len, size_t *cap, st_arena_t *a)
{
    if (len == 0) return 0;
    for (size_t i = 1; i < u->nsectors; i++)
        if (strncmp(u->sectors[i], s, len) == 0 && u->sectors[i][len] == 0) return (uint16_t)i;
    if (u->nsectors == *cap) {
        *cap *= 2;
        const char **n = st_arena_alloc(a, *cap * sizeof(char *));
        memcpy(n, u->sectors, u->nsectors * sizeof(char *));
        u->sectors = n;
    }
    u->sectors[u->nsectors] = st_arena_strndup(a, s, len);
    return (uint16_t)u->nsectors++;
}

static int market_of(const char *s, size_t len)
{
    for (int i = 0; st_market_names[i]; i++)
        if (strlen(st_market_names[i]) == len && strncmp(st_market_names[i], s, len) == 0) return i;
    return -1;
}

/* The header row's column of each field (-1: absent). */
static void read_header(const row_t *r, int *icode, int *iname, int *imarket, int *isector)
{
    for (int i = 0; i < r->n; i++) {
        const char *h = r->start[i];
        size_t l = r->len[i];
#define IS(name) (l == strlen(name) && strncmp(h, name, l) == 0)
        if (IS("code")) *icode = i;
        else if (IS("name")) *iname = i;
        else if (IS("market")) *imarket = i;
        else if (IS("sector")) *isector = i;
#undef IS
    }
}

/* Room for one more instrument, and for symbol id `sym` in the by-symbol index. */
static void make_room(st_universe_t *u, st_sym_t sym, size_t *cap, st_arena_t *arena)
{
    if (u->n == *cap) {
        *cap *= 2;
        st_instrument_t *n = st_arena_alloc(arena, *cap * sizeof(*n));
        memcpy(n, u->items, u->n * sizeof(*n));
        u->items = n;
    }
    if ((size_t)sym >= u->by_sym_len) {
        size_t len = ST_MAX2((size_t)sym + 1, u->by_sym_len * 2);
        int32_t *n = st_arena_alloc(arena, len * sizeof(int32_t));
        if (u->by_sym_len) memcpy(n, u->by_sym, u->by_sym_len * sizeof(int32_t));
        for (size_t i = u->by_sym_len; i < len; i++) n[i] = -1;
        u->by_sym = n;
        u->by_sym_len = len;
    }
}

static int load_file(st_universe_t *u, const char *path, bool indices, size_t *cap, size_t *scap,
                     st_symtab_t *syms, st_arena_t *arena, st_diags_t *diags)
{
    char *text;
    int rc = st_file_read(path, &text, NULL);
    if (rc) {
        st_diags_add(diags, path, 0, 0, "cannot read: %s", st_strerror(rc));
        return rc;
    }
    size_t before = diags->n;
    int icode = -1, iname = -1, imarket = -1, isector = -1;
    int bad = 0;
    row_t r;
    char *p = split_row(text, &r, &bad);
    if (p) read_header(&r, &icode, &iname, &imarket, &isector);
    if (!p || icode < 0 || iname < 0 || (!indices && imarket < 0)) {
        st_diags_add(diags, path, 1, 1, "expected a header line naming the columns %s",
                     indices ? "code,name" : "code,name,market[,sector]");
        free(text);
        return ST_ECONFIG;
    }
    for (int line = 2; *p; line++) {
        if (*p == '\n' || *p == '\r') {
            p += (*p == '\r' && p[1] == '\n') ? 2 : 1;
            continue;
        }
        p = split_row(p, &r, &bad);
        if (!p) {
            st_diags_add(diags, path, line, bad, "malformed CSV field");
            break;
        }
        int need = ST_MAX2(icode, ST_MAX2(iname, imarket)); /* sector may be missing */
        if (r.n <= need) {
            st_diags_add(diags, path, line, 1, "expected %d columns, found %d", need + 1, r.n);
            continue;
        }
        st_sym_t sym = st_symtab_intern(syms, r.start[icode], r.len[icode]);
        if (sym == ST_SYM_NONE) {
            st_diags_add(diags, path, line, r.col[icode], "code must be 1 to %d characters",
                         ST_CODE_MAX - 1);
            continue;
        }
        int market = ST_MKT_INDEX;
        if (!indices) {
            market = market_of(r.start[imarket], r.len[imarket]);
            if (market < 0 || market == ST_MKT_INDEX) {
                st_diags_add(diags, path, line, r.col[imarket],
                             "market must be KOSPI, KOSDAQ, KONEX or OTHER, got \"%.*s\"",
                             (int)r.len[imarket], r.start[imarket]);
                continue;
            }
        }
        if ((size_t)sym < u->by_sym_len && u->by_sym[sym] >= 0) {
            st_diags_add(diags, path, line, r.col[icode], "duplicate code %s",
                         st_symtab_code(syms, sym));
            continue;
        }
        make_room(u, sym, cap, arena);
        st_instrument_t *ins = &u->items[u->n];
        ins->sym = sym;
        ins->code = st_arena_strndup(arena, r.start[icode], r.len[icode]);
        ins->name = st_arena_strndup(arena, r.start[iname], r.len[iname]);
        ins->market = (uint8_t)market;
        ins->sector = (isector >= 0 && isector < r.n)
                          ? intern_sector(u, r.start[isector], r.len[isector], scap, arena)
                          : 0;
        u->by_sym[sym] = (int32_t)u->n++;
    }
    free(text);
    return diags->n > before ? ST_ECONFIG : 0;
}

int st_universe_load(st_universe_t *u, const char *stocks_path, const char *indices_path,
                     st_symtab_t *syms, st_arena_t *arena, st_diags_t *diags)
{
    memset(u, 0, sizeof(*u));
    size_t cap = 512, scap = 64;
    u->items = st_arena_alloc(arena, cap * sizeof(*u->items));
    u->sectors = st_arena_alloc(arena, scap * sizeof(char *));
    u->sectors[u->nsectors++] = "";
    int rc = load_file(u, stocks_path, false, &cap, &scap, syms, arena, diags);
    u->nstocks = u->n;
    if (indices_path && *indices_path) {
        int rc2 = load_file(u, indices_path, true, &cap, &scap, syms, arena, diags);
        if (!rc) rc = rc2;
    }
    if (!rc && u->nstocks == 0) {
        st_diags_add(diags, stocks_path, 0, 0, "the universe has no symbols");
        rc = ST_ECONFIG;
    }
    return rc;
}

const st_instrument_t *st_universe_get(const st_universe_t *u, st_sym_t sym)
{
    if ((size_t)sym >= u->by_sym_len || u->by_sym[sym] < 0) return NULL;
    return &u->items[u->by_sym[sym]];
}
