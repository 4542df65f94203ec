#include "log.h"
#include "timefmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>
#include <time.h>

st_log_level_t st_log_min_level = ST_LL_INFO;

static struct {
    FILE *fp; /* NULL: stderr */
    st_log_format_t fmt;
    st_time_t (*now)(void *);
    void *now_ctx;
    bool journal; /* stderr is systemd's journal stream */
    char tmpl[1024]; /* the path as configured: with '%', strftime'd with the local date */
    char name[1024]; /* the file open now */
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

/* Whether stderr is the journal's stream (systemd sets JOURNAL_STREAM to its device:inode). */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
           (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* The file for `tmpl` on the local date of t. */
static int dated_name(const char *tmpl, st_time_t t, char *buf, size_t len)
{
    if (!strchr(tmpl, '%')) {
        snprintf(buf, len, "%s", tmpl);
        return 0;
    }
    struct tm tm;
    st_tz_localtime(NULL, t, &tm);
    return strftime(buf, len, tmpl, &tm) ? 0 : -ENAMETOOLONG;
}

int st_log_open(st_log_level_t level, st_log_format_t fmt, const char *path)
{
    FILE *fp = NULL;
    char name[sizeof(L.name)] = "";
    if (path && *path) {
        int rc = dated_name(path, L.now ? L.now(L.now_ctx) : st_wall_now(), name, sizeof(name));
        if (rc) return rc;
        fp = fopen(name, "a");
        if (!fp) return -errno;
        setvbuf(fp, NULL, _IOLBF, 0);
    }
    st_log_close();
    L.fp = fp;
    snprintf(L.tmpl, sizeof(L.tmpl), "%s", path ? path : "");
    snprintf(L.name, sizeof(L.name), "%s", name);
    L.fmt = fmt;
    L.journal = !fp && fmt == ST_LOG_TEXT && stderr_is_journal();
    st_log_min_level = level;
    return 0;
}

static bool decade(uint64_t n)
{
    if (n < 10) return false;
    while (n % 10 == 0) n /= 10;
    return n == 1;
}

uint64_t st_repeats_flush(st_repeats_t *r)
{
    uint64_t n = r->repeats && !decade(r->repeats) ? r->repeats : 0;
    r->repeats = 0;
    return n;
}

bool st_repeats_note(st_repeats_t *r, const char *line, uint64_t *count)
{
    if (!strcmp(line, r->last)) {
        r->repeats++;
        *count = decade(r->repeats) ? r->repeats : 0;
        return false;
    }
    *count = st_repeats_flush(r);
    memcpy(r->prev, r->last, sizeof(r->prev));
    snprintf(r->last, sizeof(r->last), "%s", line);
    return true;
}

/* libwebsockets logs process-wide, with no word of which context (a feed's, the status
 * endpoint's) speaks: its lines go under "lws", each repeated line once. */
void st_log_lws_line(int level, const char *line)
{
    static st_repeats_t rep;
    char text[256];
    size_t n = strlen(line);
    snprintf(text, sizeof(text), "%.*s", (int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
    uint64_t count;
    if (!st_repeats_note(&rep, text, &count)) {
        if (count) st_log_warn(LWS, "%s (repeated %llu times)", text, (unsigned long long)count);
        return;
    }
    if (count) st_log_warn(LWS, "%s (repeated %llu time%s)", rep.prev, (unsigned long long)count, count == 1 ? "" : "s");
    st_log_warn(LWS, "%s", text);
}

int st_log_fd(void)
{
    return L.fp ? fileno(L.fp) : 2;
}

void st_log_close(void)
{
    if (L.fp) fclose(L.fp);
    L.fp = NULL;
    L.tmpl[0] = L.name[0] = '\0';
}

int st_log_reopen_dated(st_time_t now)
{
    char name[sizeof(L.name)];
    if (!L.fp || !strchr(L.tmpl, '%') || dated_name(L.tmpl, now, name, sizeof(name)) || !strcmp(name, L.name))
        return 0;
    FILE *fp = fopen(name, "a");
    if (!fp) return -errno; /* the day's lines go on to the previous file */
    setvbuf(fp, NULL, _IOLBF, 0);
    fclose(L.fp);
    L.fp = fp;
    snprintf(L.name, sizeof(L.name), "%s", name);
    return 0;
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

    if (L.journal) { /* the journal stamps and ranks each line: a priority prefix, no time */
        static const int prio[] = {7, 6, 4, 3, 1}; /* debug, info, warning, err, alert (sd-daemon.h) */
        fprintf(fp, "<%d>%s: %s\n", prio[lvl], sys, msg);
    } else if (L.fmt == ST_LOG_JSON) {
        fprintf(fp, "{\"ts\":\"%s\",\"level\":\"%s\",\"sys\":\"%s\",\"msg\":\"", ts,
                st_log_level_name(lvl), sys);
        json_escape(fp, msg);
        fputs("\"}\n", fp);
    } else {
        fprintf(fp, "%s [%s] %s: %s\n", ts, st_log_level_name(lvl), sys, msg);
    }
    fflush(fp);
}
