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
 * the runtime's hold says the loop has nothing to do, and the signal reaches the loop only at
 * its next iteration: so the signal is the loop's work too, until the reload is done (as a
 * person's SIGHUP would be, a few deadlines later), or a run with few events could serve the
 * rest of the day before the reload. */
typedef struct {
    st_runtime_t *rt;
    bool (*hold)(void *);
    void *hold_ctx;
    uint64_t reloads_before;
    bool raised;
} st_test_hup_t;

static inline st_test_hup_t *st_test_hup(void)
{
    static st_test_hup_t h;
    return &h;
}

static inline bool st_test_hup_hold(void *ctx)
{
    st_test_hup_t *h = ctx;
    if (h->raised && h->rt->reloads_ok + h->rt->reloads_failed == h->reloads_before) return true;
    h->raised = false;
    return h->hold(h->hold_ctx);
}

static inline void st_test_raise_sighup(st_runtime_t *rt)
{
    st_test_hup_t *h = st_test_hup();
    if (rt->clock.hold != st_test_hup_hold) {
        *h = (st_test_hup_t){rt, rt->clock.hold, rt->clock.hold_ctx, 0, false};
        st_clock_set_hold(&rt->clock, st_test_hup_hold, h);
    }
    h->reloads_before = rt->reloads_ok + rt->reloads_failed;
    h->raised = true;
    raise(SIGHUP); /* handled on the loop: the deferred watcher reloads */
}

#endif
