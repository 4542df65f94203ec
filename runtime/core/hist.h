/* A log2 histogram of non-negative integers (durations in ns): bucket 0 counts values up to 1,
 * bucket b values in (2^(b-1), 2^b], the last everything above. A quantile is read as its
 * bucket's upper bound: within a factor 2, in constant memory, and cheap enough for a hot
 * path (a count of leading zeros and three adds). */
#ifndef ST_CORE_HIST_H
#define ST_CORE_HIST_H

#include "common.h"

#define ST_HIST_BUCKETS 40 /* 2^39 ns: about 9 minutes */

typedef struct {
    uint64_t n[ST_HIST_BUCKETS];
    uint64_t count, sum;
} st_hist_t;

static inline int st_hist_bucket(uint64_t v)
{
    int b = v <= 1 ? 0 : 64 - __builtin_clzll(v - 1);
    return b < ST_HIST_BUCKETS ? b : ST_HIST_BUCKETS - 1;
}

static inline void st_hist_add(st_hist_t *h, uint64_t v)
{
    h->n[st_hist_bucket(v)]++;
    h->count++;
    h->sum += v;
}

/* Values at most 2^b (b < ST_HIST_BUCKETS - 1). */
uint64_t st_hist_at_most(const st_hist_t *h, int b);
/* The upper bound of the bucket that holds the p quantile, p in (0, 1]; 0 when empty (the
 * last bucket reads as its lower bound). */
uint64_t st_hist_quantile(const st_hist_t *h, double p);

#endif
