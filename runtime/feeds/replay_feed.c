/* The replay feed (kind: replay, mode: as_recorded): delivers a recording's ticks exactly as the
 * recorded run delivered them, in order, each at its recorded time on the simulated clock; the
 * run's strategies, planner and signals run unchanged. Its codes are looked up in the universe
 * (a code it does not know is counted and skipped); the recording's events are what the recorded
 * run did, not input, and are skipped. No subscriptions: what was delivered is fixed. */
#include "feed.h"
#include "core/log.h"
#include "record/recset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    st_feed_t base;
    st_recset_t *r;
    const st_symtab_t *syms;
    uint8_t *map; /* st_feed_index_map: which symbols are in the universe */
    size_t nmap;
    st_feed_rec_syms_t codes;
    st_timer_t timer;
    bool more;         /* the recording has a next item, at next_time: the reader holds it */
    st_time_t next_time;
    st_time_t now;     /* on_timer's: the clock's time while the reader pumps */
    st_time_t from;    /* rp_start's: items before it are history, skipped */
    bool running;
    uint64_t unknown; /* ticks of codes not in the universe, skipped */
    char *path;
} replay_feed_t;

static void on_corrupt(void *ctx, uint64_t offset, const char *why)
{
    replay_feed_t *rf = ctx;
    st_log_error(FEED, "%s: at byte %llu of %s", rf->base.name, (unsigned long long)offset, why);
}

static void arm(replay_feed_t *rf)
{
    if (rf->running && rf->more) st_clock_timer_start(rf->base.clock, &rf->timer, rf->next_time, 0);
}

/* The pump's take (st_recset_pump), for each next item of the recording: an event is skipped (the
 * recorded run's, not input); a tick at or before the clock's time is delivered, and one after it
 * too when the clock steps to it at once (st_clock_step: at speed 0, nothing due before it) —
 * else it waits for the timer, left where it is. */
static bool take(void *ctx, st_rec_item_t *it)
{
    replay_feed_t *rf = ctx;
    if (it->type != ST_REC_TICK) return true;
    if (!rf->running) return false;
    if (it->time > rf->now) {
        if (!st_clock_step(rf->base.clock, it->time)) return false;
        rf->now = it->time;
    }
    st_sym_t sym = st_feed_rec_sym(&rf->codes, rf->syms, rf->map, rf->nmap, it);
    if (sym == ST_SYM_NONE) {
        rf->unknown++;
    } else {
        it->tick.sym = sym; /* delivered in place: the item is ours until the next read */
        st_feed_deliver(&rf->base, &it->tick);
    }
    return true;
}

static void on_timer(st_timer_t *t, st_time_t now, void *ctx)
{
    (void)t;
    replay_feed_t *rf = ctx;
    rf->now = now;
    rf->more = st_recset_pump(rf->r, take, rf, &rf->next_time);
    if (rf->running && !rf->more)
        st_log_info(FEED, "%s: the recording ends (%llu ticks replayed, %llu of symbols not in the universe)",
                    rf->base.name, (unsigned long long)rf->base.ticks, (unsigned long long)rf->unknown);
    arm(rf);
}

/* rp_start's take: what comes before the clock's start is history. */
static bool skip(void *ctx, st_rec_item_t *it)
{
    const replay_feed_t *rf = ctx;
    return it->type != ST_REC_TICK || it->time < rf->from;
}

static int rp_start(st_feed_t *f)
{
    replay_feed_t *rf = (replay_feed_t *)f;
    rf->running = true;
    rf->from = st_clock_now(f->clock);
    st_recset_seek(rf->r, rf->from); /* the clock's start: what came before is history */
    rf->more = st_recset_pump(rf->r, skip, rf, &rf->next_time);
    st_log_info(FEED, "%s: replaying %s as recorded", f->name, rf->path);
    arm(rf);
    return 0;
}

static void rp_stop(st_feed_t *f)
{
    replay_feed_t *rf = (replay_feed_t *)f;
    rf->running = false;
    st_clock_timer_stop(f->clock, &rf->timer);
}

static void rp_destroy(st_feed_t *f)
{
    replay_feed_t *rf = (replay_feed_t *)f;
    rp_stop(f);
    st_recset_free(rf->r);
    st_feed_rec_syms_free(&rf->codes);
    free(rf->map);
    free(rf->path);
    free(f->name);
    free(rf);
}

static void rp_stats(const st_feed_t *f, st_feed_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->penalty = 1.0;
    out->ticks_delivered = f->ticks;
    out->market_trades = f->trades;
}

/* No sync, no apply: what was delivered is fixed, the plan subscribes nothing here. */
static const st_feed_vtable_t replay_vt = {"replay", rp_start, rp_stop, rp_destroy, rp_stats, NULL, NULL, NULL};

int st_replay_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out, char *err,
                          size_t errlen)
{
    char why[512];
    st_recset_t *r = st_recset_open(fc->path, why, sizeof(why));
    if (!r) {
        snprintf(err, errlen, "feed \"%s\": %s", fc->name, why);
        return ST_ECONFIG;
    }
    replay_feed_t *rf = st_xcalloc(1, sizeof(*rf));
    rf->base.vt = &replay_vt;
    rf->r = r;
    rf->syms = env->syms;
    rf->map = st_feed_index_map(env->universe, &rf->nmap);
    rf->path = st_xstrdup(fc->path);
    st_recset_set_corrupt_cb(r, on_corrupt, rf);
    st_timer_init(&rf->timer, on_timer, rf);
    *out = &rf->base;
    return 0;
}
