#include "timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int st_parse_duration(const char *s, st_dur_t *out)
{
    static const struct {
        const char *unit;
        st_dur_t mul;
    } units[] = {{"us", ST_USEC}, {"ms", ST_MSEC}, {"s", ST_SEC},
                 {"m", ST_MIN},   {"h", ST_HOUR},  {"d", ST_DAY}};
    const char *p = s;
    st_dur_t total = 0;
    int parts = 0;

    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    while (*p) {
        if (!isdigit((unsigned char)*p)) return -EINVAL;
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (errno) return -ERANGE;
        p = end;
        const char *u = p;
        while (*p && isalpha((unsigned char)*p)) p++;
        size_t ulen = (size_t)(p - u);
        st_dur_t mul = 0;
        for (size_t i = 0; i < ST_ARRAY_SIZE(units); i++) {
            if (strlen(units[i].unit) == ulen && strncmp(u, units[i].unit, ulen) == 0)
                mul = units[i].mul;
        }
        if (mul == 0) return -EINVAL;
        if (v > INT64_MAX / mul || total > INT64_MAX - v * mul) return -ERANGE;
        total += v * mul;
        parts++;
    }
    if (parts == 0) return -EINVAL;
    *out = total;
    return 0;
}

static int parse_hms(const char *s, int *h, int *m, int *sec, const char **rest)
{
    int n = 0;
    *sec = 0;
    if (sscanf(s, "%2d:%2d%n", h, m, &n) != 2 || n < 4) return -EINVAL;
    s += n;
    if (*s == ':') {
        int n2 = 0;
        if (sscanf(s + 1, "%2d%n", sec, &n2) != 1 || n2 != 2) return -EINVAL;
        s += 1 + n2;
    }
    if (*h < 0 || *h > 23 || *m < 0 || *m > 59 || *sec < 0 || *sec > 59) return -ERANGE;
    *rest = s;
    return 0;
}

int st_parse_tod(const char *s, st_dur_t *out)
{
    int h, m, sec;
    const char *rest;
    int rc = parse_hms(s, &h, &m, &sec, &rest);
    if (rc) return rc;
    if (*rest) return -EINVAL;
    *out = (st_dur_t)h * ST_HOUR + (st_dur_t)m * ST_MIN + (st_dur_t)sec * ST_SEC;
    return 0;
}

int st_parse_datetime(const char *s, struct tm *out)
{
    int y, mo, d, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return -EINVAL;
    if (s[10] != ' ' && s[10] != 'T') return -EINVAL;
    int h, m, sec;
    const char *rest;
    int rc = parse_hms(s + 11, &h, &m, &sec, &rest);
    if (rc) return rc;
    if (*rest) return -EINVAL;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31) return -ERANGE;
    memset(out, 0, sizeof(*out));
    out->tm_year = y - 1900;
    out->tm_mon = mo - 1;
    out->tm_mday = d;
    out->tm_hour = h;
    out->tm_min = m;
    out->tm_sec = sec;
    out->tm_isdst = -1;
    return 0;
}

void st_format_duration(st_dur_t d, char *buf, size_t len)
{
    if (d == 0) {
        snprintf(buf, len, "0");
        return;
    }
    if (d % ST_SEC != 0) {
        if (d % ST_MSEC == 0)
            snprintf(buf, len, "%lldms", (long long)(d / ST_MSEC));
        else
            snprintf(buf, len, "%lldus", (long long)d);
        return;
    }
    long long s = d / ST_SEC;
    long long h = s / 3600, m = (s / 60) % 60, sec = s % 60;
    size_t off = 0;
    buf[0] = 0;
    if (h) off += (size_t)snprintf(buf + off, len - off, "%lldh", h);
    if (m && off < len) off += (size_t)snprintf(buf + off, len - off, "%lldm", m);
    if (sec && off < len) snprintf(buf + off, len - off, "%llds", sec);
}

static void local_tm(st_time_t t, struct tm *tm)
{
    time_t secs = (time_t)(t >= 0 ? t / ST_SEC : (t - ST_SEC + 1) / ST_SEC);
    localtime_r(&secs, tm);
}

void st_format_datetime(st_time_t t, char *buf, size_t len, bool with_ms)
{
    struct tm tm;
    local_tm(t, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
    if (with_ms && n < len) {
        long ms = (long)(((t % ST_SEC) + ST_SEC) % ST_SEC / ST_MSEC);
        snprintf(buf + n, len - n, ".%03ld", ms);
    }
}

void st_format_tod(st_time_t t, char *buf, size_t len)
{
    struct tm tm;
    local_tm(t, &tm);
    strftime(buf, len, "%H:%M:%S", &tm);
}

void st_format_tod_dur(st_dur_t tod, char *buf, size_t len)
{
    long long s = tod / ST_SEC;
    if (s % 60)
        snprintf(buf, len, "%02lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(buf, len, "%02lld:%02lld", s / 3600, (s / 60) % 60);
}

bool st_tz_valid(const char *name)
{
    if (!name || !*name || name[0] == '/' || strstr(name, "..")) return false;
    if (strcmp(name, "UTC") == 0) return true;
    char path[512];
    const char *dir = getenv("TZDIR");
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    return access(path, R_OK) == 0;
}

int st_tz_set(const char *name)
{
    if (!st_tz_valid(name)) return -ENOENT;
    if (setenv("TZ", name, 1) != 0) return -errno;
    tzset();
    return 0;
}

/* Temporarily switch the process zone (single-threaded; restored before returning). */
static char *tz_push(const char *tz)
{
    const char *cur = getenv("TZ");
    char *saved = st_xstrdup(cur ? cur : "");
    if (!cur) saved[0] = 1; /* marks "TZ was unset" */
    setenv("TZ", tz, 1);
    tzset();
    return saved;
}

static void tz_pop(char *saved)
{
    if (saved[0] == 1)
        unsetenv("TZ");
    else
        setenv("TZ", saved, 1);
    tzset();
    free(saved);
}

int st_tz_mktime(const char *tz, const struct tm *tm, st_time_t *out)
{
    if (tz && !st_tz_valid(tz)) return -ENOENT;
    char *saved = tz ? tz_push(tz) : NULL;
    struct tm copy = *tm;
    time_t secs = mktime(&copy);
    if (saved) tz_pop(saved);
    if (secs == (time_t)-1) return -ERANGE;
    *out = (st_time_t)secs * ST_SEC;
    return 0;
}

int st_tz_localtime(const char *tz, st_time_t t, struct tm *out)
{
    if (tz && !st_tz_valid(tz)) return -ENOENT;
    char *saved = tz ? tz_push(tz) : NULL;
    local_tm(t, out);
    if (saved) tz_pop(saved);
    return 0;
}

st_time_t st_local_midnight(st_time_t t)
{
    struct tm tm;
    local_tm(t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return (st_time_t)mktime(&tm) * ST_SEC;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int32_t st_civil_day(int year, int month, int mday)
{
    int y = year - (month <= 2);
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + mday - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void st_civil_date(int32_t day, int *year, int *month, int *mday)
{
    int32_t z = day + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)yoe + era * 400 + (*month <= 2);
}

int st_weekday(int32_t day)
{
    return (int)((day % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
}

int st_parse_date(const char *s, int32_t *out)
{
    int y, m, d, n = 0;
    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || s[4] != '-' ||
        s[7] != '-' || m < 1 || m > 12 || d < 1)
        return -EINVAL;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return -EINVAL;
    int32_t day = st_civil_day(y, m, d);
    int yy, mm, dd;
    st_civil_date(day, &yy, &mm, &dd);
    if (mm != m || dd != d) return -EINVAL; /* 02-30 */
    *out = day;
    return 0;
}

void st_format_date(int32_t day, char *buf, size_t len)
{
    int y, m, d;
    st_civil_date(day, &y, &m, &d);
    snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
}

int32_t st_local_day(st_time_t t)
{
    struct tm tm;
    local_tm(t, &tm);
    return st_civil_day(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

st_time_t st_day_start(int32_t day)
{
    int y, m, d;
    st_civil_date(day, &y, &m, &d);
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12, .tm_isdst = -1};
    return st_local_midnight((st_time_t)mktime(&tm) * ST_SEC); /* from noon: a DST change at midnight */
}

st_dur_t st_local_tod(st_time_t t)
{
    return t - st_local_midnight(t);
}

st_time_t st_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (st_time_t)ts.tv_sec * ST_SEC + ts.tv_nsec / 1000;
}

st_time_t st_mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (st_time_t)ts.tv_sec * ST_SEC + ts.tv_nsec / 1000;
}
