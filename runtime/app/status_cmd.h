/* `strata status`: the status of a running strata, from its GET /status. */
#ifndef ST_APP_STATUS_CMD_H
#define ST_APP_STATUS_CMD_H

/* Reads the endpoint at url, or where config's status section says; prints the status block
 * and the tables. Returns the exit code: 0, or 1 when nothing answers (or not as expected). */
int st_cmd_status(const char *config, const char *url);

#endif
