/* A recording of a whole market (a tape: every trade of every symbol, in time order) read as a
 * market the simulated venue can serve, symbol by symbol, like st_simmkt: the replay feed's
 * `mode: limited` puts it behind the venue's limits. Pure of the loop: time is an argument.
 *
 * One cursor reads the file in order; a trade waits in its symbol's queue until that symbol is
 * advanced past it, so asking a symbol for its next trade reads ahead only as far as that trade
 * (memory: the market's trades between now and the furthest next trade asked for). Snapshot
 * items set a symbol's reference (its previous close); orderbooks and events are not market
 * input and are skipped; codes not in the universe are counted and skipped. */
#ifndef ST_FEEDS_TAPE_H
#define ST_FEEDS_TAPE_H

#include "market/symtab.h"
#include "market/tick.h"
#include "market/universe.h"
#include "simmkt.h"

typedef struct st_tape st_tape_t;

typedef struct {
    uint64_t trades, halts; /* handed out by st_tape_advance */
    uint64_t unknown;       /* items of codes not in the universe */
} st_tape_stats_t;

/* Opens the tape at path for the symbols of u (names in syms); NULL with a reason in err.
 * Reads its leading reference snapshots (st_tape_prev_close answers from them). */
st_tape_t *st_tape_open(const char *path, const st_universe_t *u, const st_symtab_t *syms, char *err,
                        size_t errlen);
void st_tape_free(st_tape_t *t);
/* Hands out every trade of sym with venue time <= until, in order (emit may be NULL). */
size_t st_tape_advance(st_tape_t *t, st_sym_t sym, st_time_t until, st_simmkt_emit emit, void *ctx);
/* The venue time of sym's next trade; ST_TIME_NEVER when the tape has no more. */
st_time_t st_tape_next_event(st_tape_t *t, st_sym_t sym);
/* The previous close the tape gives sym (0 when it gives none). */
double st_tape_prev_close(const st_tape_t *t, st_sym_t sym);
void st_tape_stats(const st_tape_t *t, st_tape_stats_t *out);

#endif
