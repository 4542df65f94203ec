#include "pool.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a of key, a separator, name; then a 64-bit finalizer (splitmix64's) so that names that
 * differ in one letter weigh apart. */
static uint64_t weight(const char *key, const char *name)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (const char *s = key; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3u;
    h = (h ^ 0xFF) * 0x100000001b3u;
    for (const char *s = name; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3u;
    h ^= h >> 30, h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 27, h *= 0x94d049bb133111ebu;
    return h ^ (h >> 31);
}

int st_pool_owner(const char *key, const char *const *names, const bool *live, size_t n)
{
    int best = -1;
    uint64_t bw = 0;
    for (size_t i = 0; i < n; i++) {
        if (!live[i]) continue;
        uint64_t w = weight(key, names[i]);
        if (best < 0 || w > bw || (w == bw && strcmp(names[i], names[best]) < 0)) best = (int)i, bw = w;
    }
    return best;
}

void st_pool_key_init(st_pool_key_t *k, int conn, size_t nsyms)
{
    k->conn = conn;
    k->nsyms = nsyms;
    k->tier = st_xcalloc(nsyms ? nsyms : 1, 1);
    k->registrations = 0;
}

void st_pool_key_free(st_pool_key_t *k)
{
    free(k->tier);
    k->tier = NULL;
}

static void set(st_pool_key_t *k, st_sym_t sym, uint8_t tier)
{
    if ((size_t)sym >= k->nsyms) return;
    k->registrations += st_plan_cost(tier) - st_plan_cost(k->tier[sym]);
    k->tier[sym] = tier;
}

static bool on_conn(uint8_t tier, uint8_t conn, int k)
{
    return (tier == ST_TIER_REALTIME || tier == ST_TIER_SEMI) && conn == k;
}

void st_pool_key_apply(st_pool_key_t *k, const st_plan_change_t *ch)
{
    if (on_conn(ch->from_tier, ch->from_conn, k->conn)) set(k, ch->sym, 0);
    if (on_conn(ch->to_tier, ch->to_conn, k->conn)) set(k, ch->sym, ch->to_tier);
}

void st_pool_key_resync(st_pool_key_t *k, const st_planner_t *p)
{
    for (size_t s = 0; s < k->nsyms; s++) {
        const st_plan_entry_t *e = st_planner_entry(p, (st_sym_t)s);
        set(k, (st_sym_t)s, e && on_conn(e->tier, e->conn, k->conn) ? e->tier : 0);
    }
}

bool st_pool_key_matches(const st_pool_key_t *k, const st_planner_t *p, st_sym_t *differs)
{
    for (size_t s = 0; s < k->nsyms; s++) {
        const st_plan_entry_t *e = st_planner_entry(p, (st_sym_t)s);
        uint8_t want = e && on_conn(e->tier, e->conn, k->conn) ? e->tier : 0;
        if (k->tier[s] != want) {
            if (differs) *differs = (st_sym_t)s;
            return false;
        }
    }
    return true;
}
