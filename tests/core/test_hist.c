/* The log2 histogram: bucket bounds, cumulative counts, quantiles as upper bounds. */
#include "../test.h"

#include "core/hist.h"

static void test_buckets(void **state)
{
    static const struct {
        uint64_t v;
        int b;
    } cases[] = {{0, 0}, {1, 0}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {8, 3}, {9, 4}, {1024, 10}, {1025, 11},
                 {(uint64_t)1 << 38, 38}, {((uint64_t)1 << 38) + 1, 39}, {UINT64_MAX, 39}};
    for (size_t i = 0; i < ST_ARRAY_SIZE(cases); i++)
        if (st_hist_bucket(cases[i].v) != cases[i].b)
            fail_msg("%llu: bucket %d, want %d", (unsigned long long)cases[i].v, st_hist_bucket(cases[i].v), cases[i].b);
}

static void test_counts_and_quantiles(void **state)
{
    st_hist_t h = {0};
    assert_int_equal(st_hist_quantile(&h, 0.99), 0);
    for (uint64_t v = 1; v <= 100; v++) st_hist_add(&h, v * 10); /* 10 .. 1000 ns */
    assert_int_equal(h.count, 100);
    assert_int_equal(h.sum, 50500);
    assert_int_equal(st_hist_at_most(&h, 4), 1);    /* 10 */
    assert_int_equal(st_hist_at_most(&h, 6), 6);    /* 10 .. 60 */
    assert_int_equal(st_hist_at_most(&h, 10), 100); /* all, up to 1024 */
    assert_int_equal(st_hist_quantile(&h, 0.51), 512);  /* the 51st, 510, is in (256, 512] */
    assert_int_equal(st_hist_quantile(&h, 0.52), 1024); /* the 52nd, 520: (512, 1024] */
    assert_int_equal(st_hist_quantile(&h, 0.01), 16);
    assert_int_equal(st_hist_quantile(&h, 1), 1024);
    st_hist_add(&h, UINT64_MAX); /* the last bucket: read as its lower bound */
    assert_int_equal(st_hist_quantile(&h, 1), (uint64_t)1 << 38);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_counts_and_quantiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
