/* A replay's recordings as one stream (record/recset.c): a directory's files in order of their
 * start whatever their names, each file's items in order, dictionaries that stay distinct
 * across files (replays cache code lookups by them), seeking into the file that holds a time,
 * and clear refusals: no such path, a directory without recordings, a file that is none. */
#include "../test.h"

#include "record/recset.h"

#include <sys/stat.h>

#define DAY1 ((st_time_t)1795359600 * ST_SEC + 9 * ST_HOUR) /* 2026-11-23 09:00 KST */

static char *dir;

/* A recording of `n` trades of `code` (and one of "000660"), a second apart from `start`. */
static void write_day(const char *name, st_time_t start, const char *code, int n)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    st_rec_writer_t *w = st_rec_create(path, start);
    assert_non_null(w);
    for (int i = 0; i < n; i++) {
        st_tick_t t = {.kind = ST_TICK_TRADE, .venue_time = start + i * ST_SEC, .recv_time = start + i * ST_SEC};
        t.u.trade.price = 1000 + i;
        assert_int_equal(st_rec_tick(w, &t, i == 1 ? "000660" : code, ST_CONN_NONE), 0);
    }
    assert_int_equal(st_rec_close(w), 0);
}

static void test_days_in_order_of_their_start(void **state)
{
    dir = st_test_tmpdir();
    /* the names sort the other way round */
    write_day("b-first.strata", DAY1, "005930", 5);
    write_day("a-second.strata", DAY1 + ST_DAY, "035420", 4);
    write_day("notes.txt.bak", DAY1, "000000", 1); /* not *.strata: not read */
    char err[256];
    st_recset_t *s = st_recset_open(dir, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    size_t n;
    const st_recset_file_t *f = st_recset_files(s, &n);
    assert_int_equal(n, 2);
    assert_non_null(strstr(f[0].path, "b-first.strata"));
    assert_true(f[0].start == DAY1 && f[0].last == DAY1 + 4 * ST_SEC && f[1].start == DAY1 + ST_DAY);
    assert_true(st_recset_start(s) == DAY1);
    const st_rec_item_t *it;
    int k = 0;
    st_time_t prev = 0;
    uint32_t dict_005930 = 0, dict_035420 = 0;
    while ((it = st_recset_read(s))) {
        assert_true(it->time >= prev);
        prev = it->time;
        if (strcmp(it->code, "005930") == 0) dict_005930 = it->dict;
        if (strcmp(it->code, "035420") == 0) dict_035420 = it->dict;
        k++;
    }
    assert_int_equal(k, 9);
    assert_true(dict_005930 != 0 && dict_035420 != dict_005930); /* same code index, other dictionary */
    assert_null(st_recset_read(s));
    /* seeking to the second day's second trade goes into the second file */
    st_recset_seek(s, DAY1 + ST_DAY + 2 * ST_SEC);
    assert_non_null(it = st_recset_read(s));
    while (it->time < DAY1 + ST_DAY + 2 * ST_SEC) assert_non_null(it = st_recset_read(s));
    assert_true(it->tick.u.trade.price == 1002);
    st_recset_free(s);
    /* one file is a set of one */
    char one[600];
    snprintf(one, sizeof(one), "%s/a-second.strata", dir);
    s = st_recset_open(one, err, sizeof(err));
    assert_non_null(s);
    for (k = 0; st_recset_read(s); k++) {}
    assert_int_equal(k, 4);
    st_recset_free(s);
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

/* What a replay's pump (st_recset_pump) hands its take, and what it leaves: an item take declines
 * stays the next one, for the next pump or read. */
typedef struct {
    char seen[64][80]; /* "time code index dict price" of each item taken or read */
    int n, calls;
    st_time_t declined; /* the time of the item declined last */
} pump_log_t;

static void log_item(pump_log_t *l, const st_rec_item_t *it)
{
    assert_true(l->n < 64);
    snprintf(l->seen[l->n++], sizeof(l->seen[0]), "%lld %s %u %u %g", (long long)(it->time / ST_SEC), it->code,
             it->code_index, it->dict, it->tick.u.trade.price);
}

static bool take_most(void *ctx, st_rec_item_t *it)
{
    pump_log_t *l = ctx;
    if (++l->calls % 3 == 0) { /* every third: not now */
        l->declined = it->time;
        return false;
    }
    log_item(l, it);
    return true;
}

/* Reading two days through the pump, each third item declined and then read by the next pump
 * or, every other time, by st_recset_read, gives the items, codes, indices and dictionaries
 * that reading alone gives, in order; *next is the declined item's time. */
static void test_pump_gives_what_read_gives(void **state)
{
    dir = st_test_tmpdir();
    write_day("one.strata", DAY1, "005930", 5);
    write_day("two.strata", DAY1 + ST_DAY, "035420", 4);
    char err[256];
    st_recset_t *a = st_recset_open(dir, err, sizeof(err)), *b = st_recset_open(dir, err, sizeof(err));
    assert_non_null(a), assert_non_null(b);
    static pump_log_t want, got;
    memset(&want, 0, sizeof(want)), memset(&got, 0, sizeof(got));
    const st_rec_item_t *it;
    while ((it = st_recset_read(a))) log_item(&want, it);
    assert_int_equal(want.n, 9);
    st_time_t next = 0;
    int stops = 0;
    while (st_recset_pump(b, take_most, &got, &next)) {
        assert_true(next == got.declined);
        if (++stops % 2 == 0) {
            it = st_recset_read(b); /* the item the pump left */
            assert_non_null(it);
            assert_true(it->time == next);
            log_item(&got, it);
        }
    }
    assert_true(stops >= 3);
    assert_int_equal(got.n, want.n);
    for (int i = 0; i < want.n; i++) assert_string_equal(got.seen[i], want.seen[i]);
    assert_null(st_recset_read(b));
    st_recset_free(a), st_recset_free(b);
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

static void test_refusals_say_why(void **state)
{
    dir = st_test_tmpdir();
    char err[512], path[600];
    assert_null(st_recset_open("/nonexistent/days", err, sizeof(err)));
    assert_string_equal(err, "/nonexistent/days: No such file or directory");
    assert_null(st_recset_open(dir, err, sizeof(err)));
    assert_non_null(strstr(err, "no recording (*.strata) in this directory"));
    snprintf(path, sizeof(path), "%s/fake.strata", dir);
    FILE *fp = fopen(path, "w");
    fputs("not a recording\n", fp);
    fclose(fp);
    assert_null(st_recset_open(dir, err, sizeof(err)));
    assert_non_null(strstr(err, "fake.strata: not a strata recording"));
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_in_order_of_their_start),
        cmocka_unit_test(test_pump_gives_what_read_gives),
        cmocka_unit_test(test_refusals_say_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
