#include "hist.h"

#include <math.h>

uint64_t st_hist_at_most(const st_hist_t *h, int b)
{
    uint64_t n = 0;
    for (int i = 0; i <= b && i < ST_HIST_BUCKETS; i++) n += h->n[i];
    return n;
}

uint64_t st_hist_quantile(const st_hist_t *h, double p)
{
    if (!h->count) return 0;
    uint64_t want = (uint64_t)ceil(p * (double)h->count), seen = 0;
    if (want < 1) want = 1;
    for (int b = 0; b < ST_HIST_BUCKETS; b++) {
        seen += h->n[b];
        if (seen >= want) return (uint64_t)1 << (b < ST_HIST_BUCKETS - 1 ? b : b - 1);
    }
    return (uint64_t)1 << (ST_HIST_BUCKETS - 2);
}
