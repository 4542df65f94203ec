/* The integration tests' runtime: st_runtime_init on a config file, every diagnostic printed
 * (file:line:col) before the test fails on it. */
#ifndef ST_TESTS_RUNTIME_FIXTURE_H
#define ST_TESTS_RUNTIME_FIXTURE_H

#include "../test.h"

#include "app/runtime.h"

static inline void st_test_runtime_init(st_runtime_t *rt, const char *cfg, FILE *out)
{
    st_diags_t d;
    st_diags_init(&d);
    int rc = st_runtime_init(rt, cfg, out, &d);
    for (size_t i = 0; i < d.n; i++)
        printf("# %s:%d:%d: %s\n", d.items[i].file, d.items[i].line, d.items[i].col, d.items[i].msg);
    st_diags_free(&d);
    assert_int_equal(rc, 0);
}

#endif
