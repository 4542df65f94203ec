#include "../test.h"

#include "core/res.h"
#include "market/universe.h"

static void load(const char *stocks, const char *indices, st_universe_t *u, st_symtab_t *syms,
                 st_arena_t *a, st_diags_t *d, int want_rc)
{
    st_diags_init(d);
    int rc = st_universe_load(u, stocks, indices, syms, a, d);
    for (size_t i = 0; rc != want_rc && i < d->n; i++) printf("# %s:%d:%d: %s\n", d->items[i].file, d->items[i].line, d->items[i].col, d->items[i].msg);
    assert_int_equal(rc, want_rc);
}

static void test_full_krx_list(void **state)
{
    st_symtab_t syms;
    st_symtab_init(&syms);
    st_arena_t *a = st_arena_create(0);
    st_universe_t u;
    st_diags_t d;
    load(st_test_source_path("config/krx_universe.csv"), st_test_source_path("config/krx_indices.csv"),
         &u, &syms, a, &d, 0);
    assert_int_equal(u.nstocks, 2777);
    assert_int_equal(u.n, 2777 + 66);
    size_t per_market[5] = {0};
    for (size_t i = 0; i < u.n; i++) per_market[u.items[i].market]++;
    assert_int_equal(per_market[ST_MKT_KOSPI], 834);
    assert_int_equal(per_market[ST_MKT_KOSDAQ], 1833);
    assert_int_equal(per_market[ST_MKT_KONEX], 110);
    assert_int_equal(per_market[ST_MKT_INDEX], 66);
    st_sym_t samsung = st_symtab_find(&syms, "005930", 6);
    const st_instrument_t *ins = st_universe_get(&u, samsung);
    assert_non_null(ins);
    assert_string_equal(ins->name, "삼성전자");
    assert_string_equal(ins->code, "005930");
    assert_int_equal(ins->market, ST_MKT_KOSPI);
    assert_true(u.nsectors > 100);
    assert_string_equal(st_symtab_code(&syms, samsung), "005930");
    st_sym_t kospi = st_symtab_find(&syms, "0001", 4);
    assert_int_equal(st_universe_get(&u, kospi)->market, ST_MKT_INDEX);
    st_arena_destroy(a);
    st_diags_free(&d);
    st_symtab_free(&syms);
}

static void test_embedded_demo_universe(void **state)
{
    st_symtab_t syms;
    st_symtab_init(&syms);
    st_arena_t *a = st_arena_create(0);
    st_universe_t u;
    st_diags_t d;
    load("embedded:universe.csv", "embedded:indices.csv", &u, &syms, a, &d, 0);
    assert_true(u.nstocks >= 300);
    assert_int_equal(u.n - u.nstocks, 5);
    st_arena_destroy(a);
    st_diags_free(&d);
    st_symtab_free(&syms);
}

static void test_quoting_and_column_order(void **state)
{
    char *dir = st_test_tmpdir();
    char *p = st_test_write(dir, "u.csv",
                            "sector,market,name,code\r\n"
                            "\"기계, 장비\",KOSPI,\"A \"\"quoted\"\" name\",000001\r\n"
                            ",KOSDAQ,NoSector,000002\r\n"
                            "\n");
    st_symtab_t syms;
    st_symtab_init(&syms);
    st_arena_t *a = st_arena_create(0);
    st_universe_t u;
    st_diags_t d;
    load(p, "", &u, &syms, a, &d, 0);
    assert_int_equal(u.n, 2);
    assert_string_equal(u.items[0].name, "A \"quoted\" name");
    assert_string_equal(u.sectors[u.items[0].sector], "기계, 장비");
    assert_int_equal(u.items[1].sector, 0);
    assert_int_equal(u.items[1].market, ST_MKT_KOSDAQ);
    st_arena_destroy(a);
    st_diags_free(&d);
    st_symtab_free(&syms);
    unlink(p);
    rmdir(dir);
    free(p);
    free(dir);
}

static void test_errors_are_located(void **state)
{
    char *dir = st_test_tmpdir();
    char *p = st_test_write(dir, "u.csv",
                            "code,name,market,sector\n"
                            "000001,Good,KOSPI,x\n"
                            "000002,BadMarket,NYSE,x\n"
                            "000001,Dup,KOSPI,x\n"
                            "000003\n"
                            "000004,\"unterminated,KOSPI,x\n");
    st_symtab_t syms;
    st_symtab_init(&syms);
    st_arena_t *a = st_arena_create(0);
    st_universe_t u;
    st_diags_t d;
    load(p, "", &u, &syms, a, &d, ST_ECONFIG);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.items[0].line, 3);
    assert_int_equal(d.items[0].col, 18);
    assert_non_null(strstr(d.items[0].msg, "market must be KOSPI, KOSDAQ, KONEX or OTHER, got \"NYSE\""));
    assert_int_equal(d.items[1].line, 4);
    assert_int_equal(d.items[1].col, 1);
    assert_non_null(strstr(d.items[1].msg, "duplicate code 000001"));
    assert_int_equal(d.items[2].line, 5);
    assert_non_null(strstr(d.items[2].msg, "expected 3 columns, found 1"));
    assert_int_equal(d.items[3].line, 6);
    assert_int_equal(d.items[3].col, 8);
    assert_non_null(strstr(d.items[3].msg, "malformed CSV field"));
    st_diags_free(&d);

    char *h = st_test_write(dir, "h.csv", "symbol,title\n1,2\n");
    load(h, "", &u, &syms, a, &d, ST_ECONFIG);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.items[0].line, 1);
    assert_non_null(strstr(d.items[0].msg, "header line"));
    st_diags_free(&d);
    load("/nonexistent.csv", "", &u, &syms, a, &d, -ENOENT);
    st_diags_free(&d);

    st_arena_destroy(a);
    st_symtab_free(&syms);
    unlink(p);
    unlink(h);
    rmdir(dir);
    free(p);
    free(h);
    free(dir);
}

static void test_symtab_ids_are_stable(void **state)
{
    st_symtab_t t;
    st_symtab_init(&t);
    char code[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(code, sizeof(code), "%06d", i);
        assert_int_equal(st_symtab_intern(&t, code, 6), (st_sym_t)i);
    }
    for (int i = 0; i < 5000; i += 7) {
        snprintf(code, sizeof(code), "%06d", i);
        assert_int_equal(st_symtab_find(&t, code, 6), (st_sym_t)i);
        assert_int_equal(st_symtab_intern(&t, code, 6), (st_sym_t)i);
    }
    assert_int_equal(st_symtab_find(&t, "KRW-BTC", 7), ST_SYM_NONE);
    assert_int_equal(st_symtab_intern(&t, "", 0), ST_SYM_NONE);
    assert_int_equal(st_symtab_intern(&t, "0123456789ABCDEFG", 17), ST_SYM_NONE);
    /* Lookup by prefix length: "00001" is not "000012". */
    assert_int_equal(st_symtab_find(&t, "000012", 5), ST_SYM_NONE);
    st_symtab_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_krx_list),
        cmocka_unit_test(test_embedded_demo_universe),
        cmocka_unit_test(test_quoting_and_column_order),
        cmocka_unit_test(test_errors_are_located),
        cmocka_unit_test(test_symtab_ids_are_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
