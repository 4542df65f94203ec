/* Symbols interned to small dense integer ids at the edge: feeds look a venue code up once
 * per frame, and everything behind them indexes arrays by id. Ids are never reused and survive
 * reloads (the table lives as long as the process). */
#ifndef ST_MARKET_SYMTAB_H
#define ST_MARKET_SYMTAB_H

#include "types.h"

#define ST_CODE_MAX 16 /* longest code + NUL ("KRW-BTC", "005930", "0001") */

typedef struct {
    char (*codes)[ST_CODE_MAX];
    uint32_t n, cap;
    uint32_t *slots; /* open addressing: id + 1, 0 = empty */
    uint32_t nslots;
} st_symtab_t;

void st_symtab_init(st_symtab_t *t);
void st_symtab_free(st_symtab_t *t);
/* The id of code (len bytes), adding it if new. ST_SYM_NONE if the code is empty or too long. */
st_sym_t st_symtab_intern(st_symtab_t *t, const char *code, size_t len);
/* The id of code, or ST_SYM_NONE. */
st_sym_t st_symtab_find(const st_symtab_t *t, const char *code, size_t len);
static inline const char *st_symtab_code(const st_symtab_t *t, st_sym_t id)
{
    return id < t->n ? t->codes[id] : "?";
}

#endif
