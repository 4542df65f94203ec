/* A synthetic universe for the planner's tests: nsym stocks S0000.. in 10 sectors (the sector of
 * Sxxxx is xxxx % 10) and nidx indices I01.. (nidx <= 9). */
#ifndef ST_TEST_SYNTH_UNIVERSE_H
#define ST_TEST_SYNTH_UNIVERSE_H

#include "../test.h"

static inline int st_test_synth_universe(int nsym, int nidx, st_universe_t *uni, st_symtab_t *syms, st_arena_t **arena)
{
    char *csv = malloc((size_t)nsym * 40 + 64), *ix = malloc(256);
    size_t off = (size_t)sprintf(csv, "code,name,market,sector\n");
    for (int i = 0; i < nsym; i++) off += (size_t)sprintf(csv + off, "S%04d,n%d,KOSPI,sec%d\n", i, i, i % 10);
    off = (size_t)sprintf(ix, "code,name\n");
    for (int i = 0; i < nidx; i++) off += (size_t)sprintf(ix + off, "I%02d,index%d\n", i + 1, i);
    st_symtab_init(syms);
    *arena = st_arena_create(0);
    int rc = st_test_universe(csv, ix, uni, syms, *arena);
    free(csv), free(ix);
    return rc;
}

#endif
