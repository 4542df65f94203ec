/* strata backtest: a config whose feeds replay recordings is run as fast as possible, every
 * signal its strategies emit is kept, and each is judged by the price move after it, from the
 * recordings' own trades: forward returns at 1, 5 and 30 minutes (a sell's sign inverted),
 * their mean, median and hit rate per strategy. */
#ifndef ST_APP_BACKTEST_H
#define ST_APP_BACKTEST_H

#include <stdio.h>

/* argv[0] is "backtest". Returns the exit status. */
int st_backtest_cmd(int argc, char **argv);

#endif
