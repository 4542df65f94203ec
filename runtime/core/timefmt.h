/* Parsing and formatting of durations, times of day and date-times, and the venue time zone.
 * Pure functions except st_wall_now() and the time-zone calls, which use libc's tz database. */
#ifndef ST_CORE_TIMEFMT_H
#define ST_CORE_TIMEFMT_H

#include "common.h"

#include <time.h>

/* "100ms", "30s", "5m", "1h", "1m30s", "250us", "0". A unit is required unless the value is
 * 0. Returns 0 or -EINVAL (syntax) / -ERANGE (overflow). */
int st_parse_duration(const char *s, st_dur_t *out);
/* "09:00" or "09:00:30" → µs since local midnight, in [0, 24h). */
int st_parse_tod(const char *s, st_dur_t *out);
/* "2026-11-23 08:50", "2026-11-23 08:50:00" or with 'T' → broken-down local time. */
int st_parse_datetime(const char *s, struct tm *out);

/* Shortest exact form: 300000000 → "5m", 1500000 → "1500ms", 5400000000 → "1h30m". */
void st_format_duration(st_dur_t d, char *buf, size_t len);
/* Local date-time "2026-11-23 09:15:32" (with_ms adds ".123"). */
void st_format_datetime(st_time_t t, char *buf, size_t len, bool with_ms);
/* Local time of day "09:15:32". */
void st_format_tod(st_time_t t, char *buf, size_t len);
/* µs since midnight "09:15" or "09:15:30". */
void st_format_tod_dur(st_dur_t tod, char *buf, size_t len);

/* The process-wide venue time zone (IANA name, e.g. "Asia/Seoul"). st_tz_valid checks the
 * tz database without changing anything; st_tz_set makes it the zone of every local-time
 * conversion. */
bool st_tz_valid(const char *name);
int st_tz_set(const char *name);
/* Local broken-down time in zone `tz` (NULL: current zone) → µs since the epoch. */
int st_tz_mktime(const char *tz, const struct tm *tm, st_time_t *out);
/* µs since the epoch → local broken-down time in zone `tz` (NULL: current zone). */
int st_tz_localtime(const char *tz, st_time_t t, struct tm *out);

/* Calendar days as numbers: days since 1970-01-01 in the proleptic Gregorian calendar, so a
 * day after another is one more and a weekday is a remainder. Pure (no zone involved). */
int32_t st_civil_day(int year, int month, int mday);
void st_civil_date(int32_t day, int *year, int *month, int *mday);
int st_weekday(int32_t day); /* 0 Sunday … 6 Saturday */
/* "2026-12-04" → its day; -EINVAL for anything else (2026-02-30 included). */
int st_parse_date(const char *s, int32_t *out);
/* "2026-12-04"; len >= 11. */
void st_format_date(int32_t day, char *buf, size_t len);
/* The local day containing t, and the local midnight that starts a day (whatever the DST). */
int32_t st_local_day(st_time_t t);
st_time_t st_day_start(int32_t day);

/* Local midnight of the day containing t, and the time of day of t. */
st_time_t st_local_midnight(st_time_t t);
st_dur_t st_local_tod(st_time_t t);

/* Real time now, µs since the epoch (CLOCK_REALTIME); and a monotonic reading for
 * measurements. */
st_time_t st_wall_now(void);
st_time_t st_mono_now(void);

#endif
