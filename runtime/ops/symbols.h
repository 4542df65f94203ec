/* What `GET /symbols` and `GET /symbols/CODE` say: per symbol its tier, connection, priority per
 * requester, score, since when and why it holds its tier, its latest tick, ticks per minute,
 * poll interval, staleness and exclusion; for one symbol also its recent history. Pure
 * functions from the planner's entries and the symbol view (ops/symview.h) to JSON, the time
 * an argument. */
#ifndef ST_OPS_SYMBOLS_H
#define ST_OPS_SYMBOLS_H

#include "ops/symview.h"
#include "plan/planner.h"

typedef struct {
    st_time_t now;
    const st_universe_t *universe;
    const st_planner_t *planner;
    const st_symview_t *view;
} st_symbols_src_t;

/* Which symbols a listing shows (the query of GET /symbols): tier=0..3 (0: none), strategy=NAME
 * (a requester asks for it: a strategy, or "config"), q=TEXT (in its code or name, ignoring
 * ASCII case). Without tier, the symbols that hold a tier, are asked for, or are excluded. */
typedef struct {
    int tier; /* -1: any */
    char strategy[64];
    char q[64];
} st_symbols_filter_t;

/* Parses a query ("tier=1&q=005", its values already decoded as libwebsockets hands them over;
 * NULL or "": no filter). Returns 0, or -EINVAL with why in err. */
int st_symbols_filter_parse(const char *query, st_symbols_filter_t *f, char *err, size_t errlen);

/* {"time", "count", "symbols": [...]}; malloc'd. */
char *st_symbols_json(const st_symbols_src_t *src, const st_symbols_filter_t *f);
/* The dashboard's view: {"held": the symbols of tiers 1 and 2 and the index streams (each
 * registration's symbol), "polling": the `top` busiest of tier 3 by ticks per minute}. */
char *st_symbols_live_json(const st_symbols_src_t *src, size_t top);
/* One symbol with its "history" (oldest first); malloc'd; NULL when the code is not in the
 * universe. */
char *st_symbols_one_json(const st_symbols_src_t *src, const char *code);

#endif
