/* The redis feed (kind: redis, issue 22.2): a strata with no venue connection reads another
 * instance's tick stream (outputs.redis: PREFIX:ticks:FEED) and hands the ticks to its
 * strategies as if they were its own. XREAD BLOCK on the loop through the reconnecting hiredis
 * connection (core/redisconn.c); each entry decoded by the codec that published it
 * (redistick.c). It reads on from the last entry it took: a lost connection costs no tick and
 * repeats none (as long as the stream still holds them). Entries of symbols not in the universe
 * are counted and skipped; malformed ones counted, skipped, and said once a minute. No
 * subscriptions: the publisher's plan decides what is in the stream (this instance's demands go
 * back to it through app/forward.c). A cluster's standby reads its leader's streams with it
 * (app/cluster.c). */
#include "feed.h"
#include "redistick.h"
#include "core/log.h"
#include "core/redisconn.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    st_feed_t base;
    st_redisconn_t conn;
    bool opened;
    const st_symtab_t *syms;
    uint8_t *map; /* st_feed_index_map */
    size_t nmap;
    char *host, *key;
    int port, db;
    double backoff_max;
    char last[64]; /* the last entry taken ("$": resolved to the stream's end first) */
    bool running, reading;
    uint64_t unknown, malformed;
    st_time_t warned; /* the last "malformed" warning (once a minute) */
} redis_feed_t;

static void read_next(redis_feed_t *rf);

/* One entry: a tick to deliver, or counted. */
static void entry(void *ctx, const char *id, const redisReply *kv)
{
    redis_feed_t *rf = ctx;
    snprintf(rf->last, sizeof(rf->last), "%s", id);
    const char *names[64], *values[64];
    size_t lens[64], n = 0;
    for (size_t i = 0; i + 1 < kv->elements && n < 64; i += 2) {
        if (kv->element[i]->type != REDIS_REPLY_STRING || kv->element[i + 1]->type != REDIS_REPLY_STRING) continue;
        names[n] = kv->element[i]->str, values[n] = kv->element[i + 1]->str, lens[n++] = kv->element[i + 1]->len;
    }
    st_tick_t t;
    char code[ST_CODE_MAX + 1];
    const char *why = NULL;
    st_time_t now = st_clock_now(rf->base.clock);
    if (st_redistick_decode(n, names, values, lens, &t, code, sizeof(code), &why) != 0) {
        rf->malformed++;
        if (now - rf->warned >= ST_MIN || rf->warned == 0) {
            st_log_warn(FEED, "%s: entry %s of %s skipped: %s (%llu so far)", rf->base.name, rf->last, rf->key, why,
                        (unsigned long long)rf->malformed);
            rf->warned = now;
        }
        return;
    }
    t.sym = st_feed_sym(rf->syms, rf->map, rf->nmap, code, strlen(code));
    if (t.sym == ST_SYM_NONE) {
        rf->unknown++;
        return;
    }
    t.recv_time = now;
    st_feed_deliver(&rf->base, &t);
}

static void on_read(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_feed_t *rf = priv;
    const redisReply *r = reply;
    if (rf->conn.closing) return;
    rf->reading = false;
    if (!r) return; /* the connection went: on_up reads on from rf->last */
    if (!rf->running) return; /* stopped meanwhile: these are read again from rf->last at a start */
    if (r->type == REDIS_REPLY_ARRAY) rf->malformed += st_redis_xread_each(r, entry, rf);
    else if (r->type == REDIS_REPLY_ERROR) st_log_warn(FEED, "%s: XREAD %s: %s", rf->base.name, rf->key, r->str);
    read_next(rf); /* (nil: BLOCK timed out, nothing new) */
}

/* "$" becomes the stream's last entry now, so that nothing added between two reads is missed. */
static void on_end(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_feed_t *rf = priv;
    const redisReply *r = reply;
    if (rf->conn.closing) return;
    rf->reading = false;
    if (!r) return;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2 && r->element[0]->element[0]->type == REDIS_REPLY_STRING)
        snprintf(rf->last, sizeof(rf->last), "%s", r->element[0]->element[0]->str);
    else if (r->type == REDIS_REPLY_ARRAY)
        snprintf(rf->last, sizeof(rf->last), "0-0"); /* empty (or not there yet): from its first entry */
    read_next(rf);
}

static void read_next(redis_feed_t *rf)
{
    if (!rf->running || rf->reading || !rf->conn.ac || !rf->conn.connected) return;
    rf->reading = true;
    if (!strcmp(rf->last, "$"))
        redisAsyncCommand(rf->conn.ac, on_end, rf, "XREVRANGE %s + - COUNT 1", rf->key);
    else
        redisAsyncCommand(rf->conn.ac, on_read, rf, "XREAD COUNT 1024 BLOCK 1000 STREAMS %s %s", rf->key, rf->last);
}

static void on_up(st_redisconn_t *c, double down_for, void *ctx)
{
    redis_feed_t *rf = ctx;
    rf->reading = false; /* a read on the lost connection is gone */
    st_log_info(FEED, "%s: reading %s on redis %s:%d from %s", rf->base.name, rf->key, c->host, c->port, rf->last);
    read_next(rf);
}

static int rd_start(st_feed_t *f)
{
    redis_feed_t *rf = (redis_feed_t *)f;
    rf->running = true;
    if (!rf->opened) {
        rf->opened = true;
        rf->conn.on_up = on_up, rf->conn.ctx = rf;
        st_redisconn_open(&rf->conn, f->clock->loop, rf->host, rf->port, rf->db, rf->backoff_max, "tick stream");
    } else {
        read_next(rf);
    }
    return 0;
}

void st_redis_feed_rewind(st_feed_t *f, const char *from)
{
    snprintf(((redis_feed_t *)f)->last, sizeof(((redis_feed_t *)f)->last), "%s", from);
}

static void rd_stop(st_feed_t *f)
{
    ((redis_feed_t *)f)->running = false;
}

static void rd_destroy(st_feed_t *f)
{
    redis_feed_t *rf = (redis_feed_t *)f;
    rd_stop(f);
    if (rf->opened) st_redisconn_close(&rf->conn);
    free(rf->map);
    free(rf->host);
    free(rf->key);
    free(f->name);
    free(rf);
}

static void rd_stats(const st_feed_t *f, st_feed_stats_t *out)
{
    const redis_feed_t *rf = (const redis_feed_t *)f;
    memset(out, 0, sizeof(*out));
    out->penalty = 1.0;
    out->ticks_delivered = f->ticks;
    out->market_trades = f->trades;
    out->malformed = rf->malformed;
    out->sessions = 1;
    out->sessions_open = rf->conn.connected;
    out->reconnects = rf->conn.outages;
}

/* No sync, no apply: the publisher's plan decides what the stream carries. */
static const st_feed_vtable_t redis_vt = {"redis", rd_start, rd_stop, rd_destroy, rd_stats, NULL, NULL, NULL};

int st_redis_feed_create(const st_feed_cfg_t *fc, const st_feed_env_t *env, st_feed_t **out, char *err,
                         size_t errlen)
{
    (void)err, (void)errlen;
    redis_feed_t *rf = st_xcalloc(1, sizeof(*rf));
    rf->base.vt = &redis_vt;
    rf->syms = env->syms;
    rf->map = st_feed_index_map(env->universe, &rf->nmap);
    rf->host = st_xstrdup(fc->stream_host);
    rf->port = (int)fc->stream_port, rf->db = (int)fc->stream_db;
    rf->key = st_xstrdup(fc->stream);
    rf->backoff_max = (double)fc->reconnect_max / ST_SEC;
    snprintf(rf->last, sizeof(rf->last), "%s", fc->from);
    *out = &rf->base;
    return 0;
}
