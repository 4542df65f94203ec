#include "record_cmd.h"
#include "core/err.h"
#include "core/timefmt.h"
#include "record/recfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_record[] =
    "usage: strata record inspect FILE\n"
    "       strata record export FILE [--csv] [--tz ZONE]\n"
    "       strata record import --csv IN OUT [--tz ZONE]\n"
    "\n"
    "  inspect FILE  what a recording holds: its header, time span, chunks, items per kind,\n"
    "                symbols, and any corrupt chunk (with its offset); exit 1 if it has one\n"
    "  export FILE   every item to standard output as JSON lines (ticks with all their fields,\n"
    "                events with their text), or with --csv the ticks in the import layout\n"
    "  import        builds recording OUT from CSV file IN (trades, and optionally quotes):\n"
    "                kind,time,code,price,volume,side,bid,ask,bid_size,ask_size (docs/backtest.md)\n"
    "  --tz ZONE     the zone of the CSV times (default Asia/Seoul)\n";

typedef struct {
    FILE *err;
    const char *path;
} corrupt_ctx_t;

static void on_corrupt(void *ctx, uint64_t offset, const char *why)
{
    corrupt_ctx_t *c = ctx;
    fprintf(c->err, "%s: at byte %llu: %s\n", c->path, (unsigned long long)offset, why);
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int st_record_inspect(const char *path, FILE *out, FILE *err)
{
    char why[512];
    st_rec_reader_t *r = st_rec_open(path, why, sizeof(why));
    if (!r) {
        fprintf(err, "strata: %s\n", why);
        return 1;
    }
    st_tz_set("UTC");
    corrupt_ctx_t cc = {err, path};
    st_rec_set_corrupt_cb(r, on_corrupt, &cc);
    size_t nchunks;
    st_rec_chunks(r, &nchunks);
    uint64_t kinds[4] = {0}, events[ST_REV_COUNT] = {0}, items = 0;
    char **codes = NULL;
    size_t ncodes = 0, cap = 0;
    st_time_t first = 0, last = 0;
    /* a code is kept once per dictionary (by its index there), not once per item: a day's
     * market tape is 3 million items of a few hundred codes */
    uint32_t *seen = NULL;
    size_t nseen = 0;
    const st_rec_item_t *it;
    while ((it = st_rec_read(r)) != NULL) {
        if (!items) first = it->time;
        last = it->time;
        items++;
        if (it->type == ST_REC_TICK && it->tick.kind < 4) kinds[it->tick.kind]++;
        if (it->type == ST_REC_EVENT) events[it->event < ST_REV_COUNT ? it->event : 0]++;
        if (!*it->code) continue;
        uint32_t k = it->code_index;
        if (k != UINT32_MAX) {
            if (k >= nseen) {
                size_t n = (size_t)k + 1 > 2 * nseen ? (size_t)k + 1 : 2 * nseen;
                seen = st_xrealloc(seen, n * sizeof(*seen));
                memset(seen + nseen, 0, (n - nseen) * sizeof(*seen)); /* dictionaries count from 1 */
                nseen = n;
            }
            if (seen[k] == it->dict) continue;
            seen[k] = it->dict;
        }
        if (ncodes == cap) {
            cap = cap ? cap * 2 : 256;
            codes = st_xrealloc(codes, cap * sizeof(*codes));
        }
        codes[ncodes++] = st_xstrdup(it->code);
    }
    free(seen);
    qsort(codes, ncodes, sizeof(*codes), by_str);
    size_t distinct = 0;
    for (size_t i = 0; i < ncodes; i++) distinct += i == 0 || strcmp(codes[i], codes[i - 1]) != 0;
    char a[40], b[40], s[40];
    st_format_datetime(st_rec_start(r), s, sizeof(s), false);
    fprintf(out, "%s: strata recording, format %d, started %s UTC\n", path, st_rec_version(r), s);
    fprintf(out, "  %zu chunks%s\n", nchunks,
            st_rec_indexed(r) ? ", indexed (closed cleanly)" : ", no index (found by scanning: the writer did not close it)");
    if (items) {
        st_format_datetime(first, a, sizeof(a), true);
        st_format_datetime(last, b, sizeof(b), true);
        fprintf(out, "  %s -> %s UTC (%.1f s)\n", a, b, (double)(last - first) / ST_SEC);
    }
    fprintf(out, "  %llu items: %llu trades, %llu orderbooks, %llu snapshots", (unsigned long long)items,
            (unsigned long long)kinds[ST_TICK_TRADE], (unsigned long long)kinds[ST_TICK_ORDERBOOK],
            (unsigned long long)kinds[ST_TICK_SNAPSHOT]);
    for (int e = 1; e < ST_REV_COUNT; e++)
        if (events[e]) fprintf(out, ", %llu %s events", (unsigned long long)events[e], st_rec_event_names[e]);
    fprintf(out, "\n  %zu symbols", distinct);
    for (size_t i = 0, shown = 0; i < ncodes && shown < 10; i++)
        if (i == 0 || strcmp(codes[i], codes[i - 1]) != 0) fprintf(out, "%s%s", shown++ ? ", " : ": ", codes[i]);
    fprintf(out, "%s\n", distinct > 10 ? ", …" : "");
    uint64_t bad = st_rec_corrupt(r);
    if (bad) fprintf(out, "  %llu corrupt chunk%s skipped (see above)\n", (unsigned long long)bad, bad == 1 ? "" : "s");
    for (size_t i = 0; i < ncodes; i++) free(codes[i]);
    free(codes);
    st_rec_free(r);
    return bad ? 1 : 0;
}

/* --- export and import -------------------------------------------------------------------- */

#define CSV_HEADER "kind,time,code,price,volume,side,bid,ask,bid_size,ask_size"

/* A trade's aggressor as the CSV and JSON write it (and import reads it). */
static const char *side_name(uint8_t side)
{
    return side == ST_SIDE_BUY ? "buy" : side == ST_SIDE_SELL ? "sell" : "";
}

/* A number as short as it reads back exactly enough for prices and sizes ("71000", "0.5"). */
static void num(FILE *out, double v)
{
    fprintf(out, "%.15g", v);
}

static void export_csv(const st_rec_item_t *it, FILE *out)
{
    char when[48];
    st_format_datetime(it->time, when, sizeof(when), true);
    const st_tick_t *t = &it->tick;
    if (t->kind == ST_TICK_ORDERBOOK) {
        fprintf(out, "quote,%s,%s,,,,", when, it->code);
        num(out, t->u.book.bid[0]), fputc(',', out), num(out, t->u.book.ask[0]), fputc(',', out);
        num(out, t->u.book.bid_qty[0]), fputc(',', out), num(out, t->u.book.ask_qty[0]), fputc('\n', out);
        return;
    }
    const st_trade_t *q = &t->u.trade;
    fprintf(out, "%s,%s,%s,", t->kind == ST_TICK_SNAPSHOT ? "snapshot" : "trade", when, it->code);
    num(out, q->price), fputc(',', out), num(out, q->volume);
    fprintf(out, ",%s,,,,\n", side_name(q->side));
}

static void json_str(FILE *out, const char *s, size_t n)
{
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

static void export_json(const st_rec_item_t *it, FILE *out)
{
    char when[48];
    st_format_datetime(it->time, when, sizeof(when), true);
    fprintf(out, "{\"time\":\"%s\",\"ts_us\":%lld,\"code\":", when, (long long)it->time);
    json_str(out, it->code, strlen(it->code));
    if (it->type == ST_REC_EVENT) {
        fprintf(out, ",\"type\":\"event\",\"event\":\"%s\",\"text\":",
                it->event < ST_REV_COUNT ? st_rec_event_names[it->event] : "?");
        json_str(out, it->text, it->text_len);
        fputs("}\n", out);
        return;
    }
    const st_tick_t *t = &it->tick;
    static const char *const kinds[] = {"?", "trade", "orderbook", "snapshot"};
    fprintf(out, ",\"type\":\"%s\",\"venue_us\":%lld,\"feed\":%d,\"flags\":%d", kinds[t->kind < 4 ? t->kind : 0],
            (long long)t->venue_time, t->feed, t->flags);
    if (t->kind == ST_TICK_ORDERBOOK) {
        const st_book_t *b = &t->u.book;
        const double *cols[4] = {b->ask, b->bid, b->ask_qty, b->bid_qty};
        const char *names[4] = {"asks", "bids", "ask_sizes", "bid_sizes"};
        for (int k = 0; k < 4; k++) {
            fprintf(out, ",\"%s\":[", names[k]);
            for (int i = 0; i < ST_BOOK_DEPTH; i++) fputs(i ? "," : "", out), num(out, cols[k][i]);
            fputc(']', out);
        }
        fputs(",\"total_ask_size\":", out), num(out, b->total_ask_qty);
        fputs(",\"total_bid_size\":", out), num(out, b->total_bid_qty);
    } else {
        const st_trade_t *q = &t->u.trade;
        const char *names[10] = {"price", "volume", "open", "high", "low", "prev_close", "cum_volume", "cum_value",
                                 "best_bid", "best_ask"};
        double v[10] = {q->price, q->volume, q->open, q->high, q->low, q->prev_close, q->cum_volume, q->cum_value,
                        q->best_bid, q->best_ask};
        for (int i = 0; i < 10; i++) fprintf(out, ",\"%s\":", names[i]), num(out, v[i]);
        fprintf(out, ",\"side\":\"%s\"", side_name(q->side));
    }
    fputs("}\n", out);
}

static int record_export(const char *path, bool csv, FILE *out, FILE *err)
{
    char why[512];
    st_rec_reader_t *r = st_rec_open(path, why, sizeof(why));
    if (!r) {
        fprintf(err, "strata: %s\n", why);
        return 1;
    }
    corrupt_ctx_t cc = {err, path};
    st_rec_set_corrupt_cb(r, on_corrupt, &cc);
    if (csv) fputs(CSV_HEADER "\n", out);
    st_rec_item_t it;
    while (st_rec_next(r, &it) == 1) {
        if (!csv) export_json(&it, out);
        else if (it.type == ST_REC_TICK) export_csv(&it, out);
    }
    int rc = st_rec_corrupt(r) ? 1 : 0;
    st_rec_free(r);
    return rc;
}

/* Splits a CSV line (no quoting: codes and numbers) into at most n fields; returns the count. */
static int split(char *line, char **f, int n)
{
    int k = 0;
    for (char *p = line; k < n;) {
        f[k++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = 0;
        p = c + 1;
    }
    return k;
}

static bool number(const char *s, double *v)
{
    char *end;
    *v = strtod(s, &end);
    return *s && !*end;
}

/* A row's time: "2026-11-23 09:00:01.250" (local in the zone) or epoch milliseconds. */
static bool row_time(const char *s, st_time_t *t)
{
    char *end;
    if (*s && strspn(s, "0123456789") == strlen(s)) {
        *t = (st_time_t)strtoll(s, &end, 10) * ST_MSEC;
        return true;
    }
    char base[32];
    size_t n = strcspn(s, ".");
    if (n >= sizeof(base)) return false;
    memcpy(base, s, n);
    base[n] = 0;
    struct tm tm;
    if (st_parse_datetime(base, &tm) || st_tz_mktime(NULL, &tm, t)) return false;
    if (s[n] == '.') {
        const char *f = s + n + 1;
        size_t digits = strspn(f, "0123456789");
        if (!digits || f[digits] || digits > 6) return false;
        long long us = strtoll(f, NULL, 10);
        for (size_t i = digits; i < 6; i++) us *= 10;
        *t += us;
    }
    return true;
}

typedef struct {
    char code[32];
    double open, high, low, cum_volume, cum_value, bid, ask;
    st_time_t day;
} running_t;

/* Row f (n fields) of the import layout: its time into t and its numbers into v; NULL, or why
 * not with the 1-based column in *col. */
static const char *check_row(char **f, int n, st_tick_t *t, double v[10], int *col)
{
    bool trade = n == 10 && strcmp(f[0], "trade") == 0, quote = n == 10 && strcmp(f[0], "quote") == 0;
    *col = 1;
    if (n != 10) return "expected 10 fields";
    if (!trade && !quote) return "kind must be trade or quote";
    *col = 2;
    if (!row_time(f[1], &t->venue_time)) return "time must be YYYY-MM-DD HH:MM:SS[.ffffff] or epoch milliseconds";
    *col = 3;
    if (!*f[2] || strlen(f[2]) >= sizeof(((running_t *)0)->code)) return "a code is required";
    if (trade && (!number(f[3], &v[3]) || !number(f[4], &v[4]))) {
        *col = number(f[3], &v[3]) ? 5 : 4;
        return "a trade needs a price and a volume";
    }
    *col = 6;
    if (trade && *f[5] && strcmp(f[5], "buy") != 0 && strcmp(f[5], "sell") != 0) return "side must be buy, sell or empty";
    *col = 7;
    if (quote && (!number(f[6], &v[6]) || !number(f[7], &v[7]) || !number(f[8], &v[8]) || !number(f[9], &v[9])))
        return "a quote needs bid, ask, bid_size and ask_size";
    return NULL;
}

/* The running figures of code (a day's open, high, low, sums; the last quote), made on first use. */
static running_t *running_of(running_t **run, size_t *nrun, const char *code)
{
    for (size_t i = 0; i < *nrun; i++)
        if (strcmp((*run)[i].code, code) == 0) return &(*run)[i];
    *run = realloc(*run, (*nrun + 1) * sizeof(**run));
    running_t *r = &(*run)[(*nrun)++];
    memset(r, 0, sizeof(*r));
    snprintf(r->code, sizeof(r->code), "%s", code);
    r->day = -1;
    return r;
}

/* The tick of a checked row: a one-level orderbook for a quote; for a trade, the day's figures so
 * far and the last quote's best bid and ask. */
static void row_tick(st_tick_t *t, running_t *r, bool quote, const char *side, const double v[10])
{
    if (quote) {
        t->kind = ST_TICK_ORDERBOOK;
        t->u.book.bid[0] = r->bid = v[6], t->u.book.ask[0] = r->ask = v[7];
        t->u.book.bid_qty[0] = t->u.book.total_bid_qty = v[8];
        t->u.book.ask_qty[0] = t->u.book.total_ask_qty = v[9];
        return;
    }
    st_time_t day = st_local_midnight(t->venue_time);
    if (day != r->day) r->day = day, r->open = r->high = r->low = v[3], r->cum_volume = r->cum_value = 0;
    r->high = v[3] > r->high ? v[3] : r->high, r->low = v[3] < r->low ? v[3] : r->low;
    r->cum_volume += v[4], r->cum_value += v[3] * v[4];
    t->kind = ST_TICK_TRADE;
    st_trade_t *q = &t->u.trade;
    q->price = v[3], q->volume = v[4], q->open = r->open, q->high = r->high, q->low = r->low;
    q->cum_volume = r->cum_volume, q->cum_value = r->cum_value, q->best_bid = r->bid, q->best_ask = r->ask;
    q->side = !strcmp(side, "buy") ? ST_SIDE_BUY : !strcmp(side, "sell") ? ST_SIDE_SELL : ST_SIDE_NONE;
}

static int record_import(const char *in, const char *outpath, FILE *err)
{
    FILE *fp = fopen(in, "r");
    if (!fp) {
        fprintf(err, "strata: %s: %s\n", in, strerror(errno));
        return 1;
    }
    char line[4096];
    int lineno = 1, errors = 0;
    if (!fgets(line, sizeof(line), fp) || strncmp(line, CSV_HEADER, strlen(CSV_HEADER)) != 0) {
        fprintf(err, "%s:1:1: the first line must be the header " CSV_HEADER "\n", in);
        fclose(fp);
        return 1;
    }
    st_rec_writer_t *w = NULL;
    running_t *run = NULL;
    size_t nrun = 0;
    uint64_t rows = 0;
    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!*line) continue;
        char *f[10];
        int n = split(line, f, 10);
        st_tick_t t;
        memset(&t, 0, sizeof(t));
        t.sym = ST_SYM_NONE;
        int col = 0;
        double v[10] = {0};
        const char *bad = check_row(f, n, &t, v, &col);
        if (bad) {
            fprintf(err, "%s:%d:%d: %s\n", in, lineno, col, bad);
            if (++errors == 20) break;
            continue;
        }
        if (errors) continue; /* keep checking; nothing is written once a row is bad */
        t.recv_time = t.venue_time;
        running_t *r = running_of(&run, &nrun, f[2]);
        if (!w) {
            w = st_rec_create(outpath, t.venue_time);
            if (!w) {
                fprintf(err, "strata: cannot create %s: %s%s\n", outpath, strerror(errno),
                        errno == EEXIST ? " (strata never writes over a recording)" : "");
                fclose(fp);
                free(run);
                return 1;
            }
        }
        row_tick(&t, r, strcmp(f[0], "quote") == 0, f[5], v);
        int rc = st_rec_tick(w, &t, r->code, ST_CONN_NONE);
        if (rc) {
            fprintf(err, "%s:%d: cannot record: %s\n", in, lineno, st_strerror(rc));
            errors++;
            break;
        }
        rows++;
    }
    fclose(fp);
    free(run);
    if (!w && !errors) {
        fprintf(err, "%s: no rows\n", in);
        return 1;
    }
    int rc = w ? st_rec_close(w) : 0;
    if (errors || rc) {
        unlink(outpath); /* a half-imported recording would be mistaken for the data */
        if (rc) fprintf(err, "strata: %s: %s\n", outpath, st_strerror(rc));
        return 1;
    }
    printf("%s: %llu rows recorded\n", outpath, (unsigned long long)rows);
    return 0;
}

int st_record_cmd(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) /* anywhere: `record export --help` asks, it names no file */
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_record, stdout);
            return 0;
        }
    const char *tz = "Asia/Seoul";
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--tz") == 0) {
            tz = argv[i + 1];
            memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof(char *));
            argc -= 2;
            break;
        }
    if (strcmp(tz, "Asia/Seoul") != 0 && !st_tz_valid(tz)) {
        fprintf(stderr, "strata: --tz: unknown time zone \"%s\"\n", tz);
        return 2;
    }
    if (argc == 3 && strcmp(argv[1], "inspect") == 0) return st_record_inspect(argv[2], stdout, stderr);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "export") == 0) {
        bool csv = argc == 4 && strcmp(argv[3], "--csv") == 0;
        if (argc == 4 && !csv) {
            fputs(usage_record, stderr);
            return 2;
        }
        st_tz_set(tz);
        return record_export(argv[2], csv, stdout, stderr);
    }
    if (argc == 5 && strcmp(argv[1], "import") == 0 && strcmp(argv[2], "--csv") == 0) {
        st_tz_set(tz);
        return record_import(argv[3], argv[4], stderr);
    }
    fputs(usage_record, stderr);
    return 2;
}
