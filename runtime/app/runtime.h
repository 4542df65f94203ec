/* The I/O shell: one libev loop that owns all state, the clock, the running world, the feeds,
 * signals (SIGINT/SIGTERM stop gracefully, SIGHUP reloads) and the status output. */
#ifndef ST_APP_RUNTIME_H
#define ST_APP_RUNTIME_H

#include <stdio.h>

#include "core/clock.h"
#include "conf/world.h"
#include "feeds/feed.h"
#include "host/strategies.h"
#include "ops/report.h"
#include "ops/session.h"
#include "signals/signals.h"
#include "ops/status.h"
#include "ops/redisout.h"
#include "ops/status_server.h"
#include "ops/symbols.h"
#include "plan/planner.h"
#include "plan/schedule.h"

typedef struct st_runtime {
    struct ev_loop *loop;
    st_clock_t clock;
    st_symtab_t syms;
    st_world_t *world;
    char *config_path;
    st_feed_t **feeds;
    size_t nfeeds;
    int *conn_base; /* per feed: the planner's index of its first connection */
    int *conn_count;
    st_planner_t *planner;
    int req_config; /* the planner requester for the config's watch list */
    st_planner_cfg_t conns; /* connections and budgets of the running feeds (a reload does not
                             * change feeds), lowered by what venues have said */
    st_strats_t *strats;
    st_signals_t *signals;
    st_status_server_t *status; /* GET /status, /metrics; NULL when off */
    ev_timer live_timer;        /* the dashboard's frames, while a client watches */
    ev_timer service_timer;     /* systemd: WATCHDOG=1 and STATUS= (app/service.c) */
    struct st_redisout *redis;  /* outputs.redis; NULL when off */
    struct st_remote *remote;   /* outputs.redis.demands: remote strategies' demands; NULL when off */
    struct st_cluster *cluster; /* cluster: the lease that gates the feeds; NULL when off */
    struct st_forward *forward; /* feeds[].forward_demands: the strategies' demands to the publisher */
    ev_timer redis_timer;       /* the status hash, every outputs.redis.status_every */
    bool watchdog;              /* the unit set WatchdogSec= */
    ev_tstamp started;          /* wall time of the start */
    uint64_t promotions, demotions; /* plan changes into tier 1-2 from a worse tier / out of one */
    uint64_t failures; /* data failures told the planner (on_refused): until one, no run to break */
    st_symview_t view; /* by symbol id: its latest tick (signals carry its price), its history */
    ev_prepare replan;
    st_plan_change_t *feed_changes; /* scratch for routing changes to feeds */
    size_t feed_changes_cap;

    ev_signal sigint, sigterm, sighup;
    ev_timer deferred; /* runs reload/stop requested by signal watchers, on the next loop turn
                        * (an ev_idle would starve while the as-fast-as-possible clock keeps a
                        * timer always pending) */

    st_timer_t report_timer, slot_timer, stop_timer, rebalance_timer, close_timer;
    st_day_t day;               /* the market day the clock is in (the calendar's) */
    st_session_base_t day_base; /* the counters when it began: its session report's zero */
    bool calendar_warned;       /* said once that the calendar ends */
    char closed_text[160];      /* "closed: holiday NAME until …" on a closed day, else "" */
    struct st_rec_writer *rec; /* runtime.record: what is delivered, and what the run does */
    ev_timer rec_timer;        /* writes the chunk being filled every second of wall time */
    char rec_path[4096];
    st_time_t session_reported; /* when the day's session report was made (0: not yet) */
    st_slot_at_t slot;
    char slot_name[64]; /* the slot in force ("" before the first) */
    st_report_t report;
    FILE *out; /* status blocks and the summary (stdout) */

    /* Optional: every signal emitted (past the cooldown), for strata backtest. */
    void (*signal_hook)(void *ctx, const st_signal_t *sig);
    void *signal_hook_ctx;

    uint64_t generation, reloads_ok, reloads_failed;
    unsigned flags;    /* ST_RT_* */
    st_time_t stop_at; /* st_runtime_opts_t.to: when the run stops (0: runtime.clock.stop) */
    /* What the loop must do before the clock's next deadline: while any of it is to do, the
     * clock holds (ends its batch, steps no replay: st_clock_set_hold) — one load a replayed
     * tick. Each flag 0 or 1; characters, written one at a time and read as one word (any). */
    union {
        struct {
            unsigned char plan_dirty;       /* strategies changed the planner's inputs: replan before the loop waits */
            unsigned char reload_requested; /* SIGHUP: the deferred watcher reloads */
            unsigned char stop_requested;   /* a signal or the stop time: the deferred watcher stops */
            unsigned char stopped;          /* not running (before st_runtime_run, after it ends) */
        };
        uint32_t any;
    } work;
    bool mismatch_logged, violation_logged;
} st_runtime_t;

/* How a run departs from its config (strata backtest). */
#define ST_RT_UNLIMITED 0x1u /* replays with mode: limited deliver their whole tape as recorded */
#define ST_RT_NO_RECORD 0x2u /* runtime.record is not written */
typedef struct {
    unsigned flags;  /* ST_RT_* */
    /* "YYYY-MM-DD" (NULL: the config's): a simulated run from the day `from` at the time of day
     * of runtime.clock.start, to the day `to` at runtime.clock.stop (or that day's end). */
    const char *from, *to;
} st_runtime_opts_t;

/* Builds the first world from config_path and prepares everything. Returns 0, or ST_ECONFIG
 * with diagnostics, or another negative error. */
int st_runtime_init(st_runtime_t *rt, const char *config_path, FILE *out, st_diags_t *diags);
int st_runtime_init_with(st_runtime_t *rt, const char *config_path, FILE *out, const st_runtime_opts_t *opts,
                         st_diags_t *diags);
/* st_runtime_init_with for a command: every diagnostic printed to stderr as file:line:col (or
 * why it cannot start), rt freed on failure. Returns 0 or 1. */
int st_runtime_open(st_runtime_t *rt, const char *config_path, FILE *out, const st_runtime_opts_t *opts);
/* Runs the loop until a stop (signal, clock.stop). Returns the process exit code. */
int st_runtime_run(st_runtime_t *rt);
void st_runtime_free(st_runtime_t *rt);

/* Re-reads the config and swaps it in if it is valid; otherwise logs every error and keeps
 * the running world. Returns 0 when the new world was committed. */
int st_runtime_reload(st_runtime_t *rt);
void st_runtime_collect(st_runtime_t *rt, st_counters_t *c);
/* A snapshot for /status and /metrics; strategies' rows go to strats (room for
 * st_strats_count of them). */
void st_runtime_status(st_runtime_t *rt, st_status_t *out, st_strat_info_t *strats);
/* The session report of the market day: to the log, and to runtime.session_report's file
 * (named by the day's date) when set. */
void st_runtime_session_report(st_runtime_t *rt);
/* The day's zero: the counters as the market day begins. */
void st_runtime_day_base(st_runtime_t *rt);
/* What GET /symbols reads, now. */
void st_runtime_symbols_src(st_runtime_t *rt, st_symbols_src_t *out);
/* Starts the status endpoint of the config (status.enabled); a port it cannot listen on is
 * logged as an error and strata runs on without it. */
void st_runtime_status_start(st_runtime_t *rt);
/* outputs.redis: publishing starts (connecting on the loop), and stops waiting at most `seconds`
 * for what was sent to be answered. */
void st_runtime_redis_start(st_runtime_t *rt);
void st_runtime_redis_stop(st_runtime_t *rt, double seconds);

/* emergency_subscribe: tier 1 for sym at once on behalf of requester req (evicting the
 * lowest-value holder if needed), and the feeds told. Returns 0, or -ENOSPC / -EINVAL with the
 * planner's reason in why. */
int st_runtime_emergency(st_runtime_t *rt, int req, st_sym_t sym, double score, char *why, size_t whylen);
/* What the runtime's feeds are created with (its clock, universe, tick path); a cluster's
 * standby creates its readers of the leader's streams with it. */
void st_runtime_feed_env(st_runtime_t *rt, st_feed_env_t *env);

#endif
