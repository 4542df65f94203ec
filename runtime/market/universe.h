/* The universe: what strata knows about each symbol (name, market, sector) and the indices,
 * loaded from CSV files (config/universe.csv: code,name,market,sector; config/indices.csv:
 * code,name). Columns are found by header name; quoted fields may contain commas. */
#ifndef ST_MARKET_UNIVERSE_H
#define ST_MARKET_UNIVERSE_H

#include "core/arena.h"
#include "core/err.h"
#include "symtab.h"

typedef struct {
    st_sym_t sym;
    const char *code;
    const char *name;
    uint8_t market; /* st_market_t */
    uint16_t sector; /* index into sectors */
} st_instrument_t;

typedef struct {
    st_instrument_t *items; /* stocks first, then indices */
    size_t n, nstocks;
    const char **sectors; /* sector names; 0 is "" (unknown) */
    size_t nsectors;
    int32_t *by_sym; /* sym id → index in items, -1 if absent; length by_sym_len */
    size_t by_sym_len;
} st_universe_t;

/* Loads both files into `u` (allocated in `arena`), interning codes in `syms`. Errors are
 * reported per line and column; returns 0 or ST_ECONFIG / -errno. indices_path may be "". */
int st_universe_load(st_universe_t *u, const char *stocks_path, const char *indices_path,
                     st_symtab_t *syms, st_arena_t *arena, st_diags_t *diags);
const st_instrument_t *st_universe_get(const st_universe_t *u, st_sym_t sym);

#endif
