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

/* A SIGHUP raised from a timer of a simulated run. The clock serves deadlines in batches while
 * the runtime has no work (its hold), and the signal reaches the loop only at its next
 * iteration: so the reload is the loop's work from the moment it is raised, until it is done
 * (as a person's SIGHUP would be, a few deadlines later), or a run with few events could serve
 * the rest of the day before the reload. The flag alone holds the clock and runs nothing: the
 * signal's watcher asks for the reload and the deferred watcher does it, or none is done. */
static inline void st_test_raise_sighup(st_runtime_t *rt)
{
    rt->work.reload_requested = 1;
    raise(SIGHUP); /* handled on the loop: the deferred watcher reloads */
}

#endif
