#include "record_cmd.h"
#include "core/timefmt.h"
#include "record/recfile.h"

#include <stdlib.h>
#include <string.h>

static const char usage_record[] =
    "usage: strata record inspect FILE\n"
    "\n"
    "  inspect FILE  what a recording holds: its header, time span, chunks, items per kind,\n"
    "                symbols, and any corrupt chunk (with its offset); exit 1 if it has one\n";

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
    const st_rec_chunk_t *ch = st_rec_chunks(r, &nchunks);
    uint64_t kinds[4] = {0}, events[8] = {0}, items = 0;
    char **codes = NULL;
    size_t ncodes = 0, cap = 0;
    st_time_t first = 0, last = 0;
    st_rec_item_t it;
    while (st_rec_next(r, &it) == 1) {
        if (!items) first = it.time;
        last = it.time;
        items++;
        if (it.type == ST_REC_TICK && it.tick.kind < 4) kinds[it.tick.kind]++;
        if (it.type == ST_REC_EVENT) events[it.event < 8 ? it.event : 0]++;
        if (!*it.code) continue;
        if (ncodes == cap) {
            cap = cap ? cap * 2 : 256;
            codes = realloc(codes, cap * sizeof(*codes));
        }
        codes[ncodes++] = strdup(it.code);
    }
    qsort(codes, ncodes, sizeof(*codes), by_str);
    size_t distinct = 0;
    for (size_t i = 0; i < ncodes; i++) distinct += i == 0 || strcmp(codes[i], codes[i - 1]) != 0;
    char a[40], b[40], s[40];
    st_format_datetime(st_rec_start(r), s, sizeof(s), false);
    fprintf(out, "%s: strata recording, format %d, started %s UTC\n", path, ST_REC_VERSION, s);
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
    for (int e = 1; e < 8; e++)
        if (events[e]) fprintf(out, ", %llu %s events", (unsigned long long)events[e], st_rec_event_names[e]);
    fprintf(out, "\n  %zu symbols", distinct);
    for (size_t i = 0, shown = 0; i < ncodes && shown < 10; i++)
        if (i == 0 || strcmp(codes[i], codes[i - 1]) != 0) fprintf(out, "%s%s", shown++ ? ", " : ": ", codes[i]);
    fprintf(out, "%s\n", distinct > 10 ? ", …" : "");
    uint64_t bad = st_rec_corrupt(r);
    if (bad) fprintf(out, "  %llu corrupt chunk%s skipped (see above)\n", (unsigned long long)bad, bad == 1 ? "" : "s");
    (void)ch;
    for (size_t i = 0; i < ncodes; i++) free(codes[i]);
    free(codes);
    st_rec_free(r);
    return bad ? 1 : 0;
}

int st_record_cmd(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "inspect") == 0) return st_record_inspect(argv[2], stdout, stderr);
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    fputs(usage_record, help ? stdout : stderr);
    return help ? 0 : 2;
}
