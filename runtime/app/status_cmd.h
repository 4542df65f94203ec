/* `strata status`: the status of a running strata, from its GET /status. */
#ifndef ST_APP_STATUS_CMD_H
#define ST_APP_STATUS_CMD_H

#include <stdbool.h>

/* What to ask for besides the status: the symbols (GET /symbols, filtered), or one symbol. */
typedef struct {
    bool symbols;
    int tier;               /* -1: any */
    const char *strategy;   /* NULL: any */
    const char *find;       /* in the code or name; NULL: any */
    const char *symbol;     /* one symbol with its history (GET /symbols/CODE) */
} st_status_query_t;

/* Reads the endpoint at url, or where config's status section says; prints the status block
 * and the tables (q NULL), or the symbols' table, or one symbol and its history. Returns the
 * exit code: 0, or 1 when nothing answers (or not as expected). */
int st_cmd_status(const char *config, const char *url, const st_status_query_t *q);

#endif
