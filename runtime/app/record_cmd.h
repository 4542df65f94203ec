/* `strata record …`: tools for recording files (record/recfile.h). */
#ifndef ST_APP_RECORD_CMD_H
#define ST_APP_RECORD_CMD_H

#include <stdio.h>

/* argv[0] is "record". Returns the exit status. */
int st_record_cmd(int argc, char **argv);
/* Prints what a recording holds: header, time span, chunks, items per kind, symbols, and the
 * corrupt chunks it skipped (with their offsets). Returns 0, 1 when unreadable or corrupt. */
int st_record_inspect(const char *path, FILE *out, FILE *err);

#endif
