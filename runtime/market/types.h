/* Domain vocabulary shared by the planner, feeds and strategies. */
#ifndef ST_MARKET_TYPES_H
#define ST_MARKET_TYPES_H

#include "core/common.h"

/* A symbol interned to a small integer at the edge (see symtab.h). */
typedef uint32_t st_sym_t;
#define ST_SYM_NONE UINT32_MAX
#define ST_CONN_NONE 0xFF /* a plan entry, plan change or recorded tick on no connection */

/* Demand priorities, strongest first. CRITICAL → tier 1, HIGH → tier 2, the rest → tier 3
 * polling at their own interval. */
typedef enum {
    ST_PRIO_CRITICAL,
    ST_PRIO_HIGH,
    ST_PRIO_MEDIUM,
    ST_PRIO_LOW,
    ST_PRIO_BACKGROUND,
    ST_PRIO_COUNT
} st_priority_t;

extern const char *const st_priority_names[]; /* "critical", …; NULL-terminated */

typedef enum { ST_MKT_KOSPI, ST_MKT_KOSDAQ, ST_MKT_KONEX, ST_MKT_INDEX, ST_MKT_OTHER } st_market_t;
extern const char *const st_market_names[];

#endif
