/* The trading calendar of a market: which days trade, and when. Pure: days are numbers
 * (core/timefmt.h: st_civil_day), times of day are durations since local midnight, and the
 * regular session comes from the caller (market.session).
 *
 * A day trades unless it is a weekend (for a market that closes on weekends) or a closure of
 * the calendar; a special session moves the open and/or the close (the pre-open moves with the
 * open, the closing auction with the close). Outside the span a calendar vouches for
 * (from..to), weekdays are taken as regular trading days: st_day_t.covered says so. */
#ifndef ST_MARKET_CALENDAR_H
#define ST_MARKET_CALENDAR_H

#include "core/common.h"

/* The four times of a session, µs since local midnight. */
typedef struct {
    st_dur_t pre_open, open, closing_auction, close;
} st_session_t;

typedef struct {
    int32_t day;
    bool closed;    /* a closure; otherwise a special session */
    const char *name;
    st_dur_t open, close; /* a special session's; -1 = the regular time */
} st_cal_entry_t;

typedef struct st_calendar {
    const char *name;   /* "KRX", "24/7" */
    const char *source; /* where its dates come from, as the file says */
    bool weekends;      /* trades on Saturdays and Sundays */
    bool all_day;       /* trades around the clock: a day's session is its 24 hours (Upbit) */
    int32_t from, to;   /* the span the dates are vouched for (inclusive) */
    st_cal_entry_t *e;  /* sorted by day, at most one per day */
    size_t n;
} st_calendar_t;

typedef struct {
    int32_t day;
    bool trading;
    bool special;       /* a special session (its times differ from the regular ones) */
    bool covered;       /* within the calendar's span */
    const char *name;   /* a closure's or special session's name, "Saturday"/"Sunday", or "" */
    st_session_t s;     /* the day's session (trading days) */
} st_day_t;

/* The day `day` of calendar c (NULL: every day trades the regular session). */
void st_calendar_day(const st_calendar_t *c, const st_session_t *regular, int32_t day, st_day_t *out);
/* The first trading day on or after `day`, looking at most a year ahead (a calendar that
 * closes longer than that has no next day: INT32_MIN). */
int32_t st_calendar_next_trading(const st_calendar_t *c, int32_t day);
/* The entry for `day`, or NULL. */
const st_cal_entry_t *st_calendar_entry(const st_calendar_t *c, int32_t day);

#endif
