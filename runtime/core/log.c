#include "log.h"
#include "timefmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

st_log_level_t st_log_min_level = ST_LL_INFO;

static struct {
    FILE *fp; /* NULL: stderr */
    st_log_format_t fmt;
    st_time_t (*now)(void *);
    void *now_ctx;
} L;

static const char *const level_names[] = {"debug", "info", "warn", "error", "alert"};

const char *st_log_level_name(st_log_level_t l)
{
    return (unsigned)l < ST_ARRAY_SIZE(level_names) ? level_names[l] : "?";
}

int st_log_level_parse(const char *s, st_log_level_t *out)
{
    for (size_t i = 0; i < ST_ARRAY_SIZE(level_names); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (st_log_level_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

int st_log_open(st_log_level_t level, st_log_format_t fmt, const char *path)
{
    FILE *fp = NULL;
    if (path && *path) {
        fp = fopen(path, "a");
        if (!fp) return -errno;
        setvbuf(fp, NULL, _IOLBF, 0);
    }
    st_log_close();
    L.fp = fp;
    L.fmt = fmt;
    st_log_min_level = level;
    return 0;
}

/* libwebsockets logs process-wide, with no word of which context (a feed's, the status
 * endpoint's) speaks: its lines go under "lws", each repeated line once, then "repeated N
 * times" at 10, 100, 1000, ... and when another line comes. */
void st_log_lws_line(int level, const char *line)
{
    static char last[256];
    static uint64_t repeats;
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n') n--;
    if (n < sizeof(last) && !strncmp(last, line, n) && last[n] == '\0') {
        uint64_t r = ++repeats;
        while (r % 10 == 0) r /= 10;
        if (r == 1 && repeats >= 10) st_log_warn(LWS, "%s (repeated %llu times)", last, (unsigned long long)repeats);
        return;
    }
    uint64_t r = repeats;
    while (r && r % 10 == 0) r /= 10;
    if (repeats && !(r == 1 && repeats >= 10))
        st_log_warn(LWS, "%s (repeated %llu time%s)", last, (unsigned long long)repeats, repeats == 1 ? "" : "s");
    repeats = 0;
    snprintf(last, sizeof(last), "%.*s", (int)n, line);
    st_log_warn(LWS, "%s", last);
}

int st_log_fd(void)
{
    return L.fp ? fileno(L.fp) : 2;
}

void st_log_close(void)
{
    if (L.fp) fclose(L.fp);
    L.fp = NULL;
}

void st_log_set_time_source(st_time_t (*now)(void *), void *ctx)
{
    L.now = now;
    L.now_ctx = ctx;
}

static void json_escape(FILE *fp, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(fp, "\\%c", c);
        else if (c < 0x20)
            fprintf(fp, "\\u%04x", c);
        else
            fputc(c, fp);
    }
}

void st_log_(st_log_level_t lvl, const char *sys, const char *fmt, ...)
{
    FILE *fp = L.fp ? L.fp : stderr;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    st_time_t now = L.now ? L.now(L.now_ctx) : st_wall_now();
    char ts[40];
    st_format_datetime(now, ts, sizeof(ts), true);

    if (L.fmt == ST_LOG_JSON) {
        fprintf(fp, "{\"ts\":\"%s\",\"level\":\"%s\",\"sys\":\"%s\",\"msg\":\"", ts,
                st_log_level_name(lvl), sys);
        json_escape(fp, msg);
        fputs("\"}\n", fp);
    } else {
        fprintf(fp, "%s [%s] %s: %s\n", ts, st_log_level_name(lvl), sys, msg);
    }
    fflush(fp);
}
