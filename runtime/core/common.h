/* Common definitions shared by every strata module. */
#ifndef ST_CORE_COMMON_H
#define ST_CORE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Time is microseconds since the Unix epoch (UTC); durations are microseconds too. Pure modules
 * take "now" as an argument of this type and never read a clock themselves. */
typedef int64_t st_time_t;
typedef int64_t st_dur_t;

#define ST_USEC  ((st_dur_t)1)
#define ST_MSEC  ((st_dur_t)1000)
#define ST_SEC   ((st_dur_t)1000000)
#define ST_MIN   (60 * ST_SEC)
#define ST_HOUR  (60 * ST_MIN)
#define ST_DAY   (24 * ST_HOUR)
#define ST_TIME_NEVER INT64_MAX

#define ST_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ST_MIN2(a, b)    ((a) < (b) ? (a) : (b))
#define ST_MAX2(a, b)    ((a) > (b) ? (a) : (b))
#define ST_UNUSED(x)     ((void)(x))
#define ST_PRINTF(f, a)  __attribute__((format(printf, f, a)))
#define ST_NORETURN      _Noreturn
#define ST_NOINLINE      __attribute__((noinline))

/* Two kinds of assertion (Knot): st_require aborts on a broken invariant in every build;
 * st_fails_assert logs and lets the caller recover on the hot path (debug builds abort). */
ST_NORETURN void st_require_fail(const char *expr, const char *file, int line);
bool st_assert_fail(const char *expr, const char *file, int line);

#define st_require(x) ((x) ? (void)0 : st_require_fail(#x, __FILE__, __LINE__))
#define st_fails_assert(x) (!(x) && st_assert_fail(#x, __FILE__, __LINE__))

/* Allocation that cannot fail: out of memory aborts with a message (like Redis zmalloc). */
void *st_xmalloc(size_t n);
void *st_xcalloc(size_t n, size_t size);
void *st_xrealloc(void *p, size_t n);
char *st_xstrdup(const char *s);

#endif
