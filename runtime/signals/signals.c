#include "signals.h"
#include "core/http.h"
#include "core/log.h"
#include "core/timefmt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKOFF_MIN 0.1 /* seconds, doubling per failed attempt */
#define BACKOFF_MAX 10.0

typedef struct st_signals st_signals_t;

typedef struct {
    st_signals_t *owner;
    char *url;
    st_dur_t timeout;
    int retries;
    st_signal_t *ring; /* waiting, oldest at head */
    size_t cap, head, n;
    int attempt; /* failed attempts of the head */
    bool in_flight;
    ev_timer backoff;
} webhook_t;

typedef struct {
    int kind; /* st_sink_kind_t */
    int fd;   /* jsonl */
    char *path;
    webhook_t *wh;
} sink_t;

typedef struct {
    uint64_t key; /* hash of strategy and symbol; 0 = empty */
    st_time_t last;
} cool_t;

typedef struct {
    char name[48];
    uint64_t count;
} per_strategy_t;

struct st_signals {
    struct ev_loop *loop;
    st_http_t *http;
    sink_t *sinks;
    size_t nsinks;
    st_dur_t cooldown;
    cool_t *cool;
    size_t ncool, cool_cap; /* open addressing, power of two */
    per_strategy_t *strats;
    size_t nstrats;
    st_signals_stats_t st;
    st_signal_t recent[ST_SIGNALS_RECENT]; /* the latest emitted, a ring */
};

/* --- JSON ----------------------------------------------------------------------------------- */

size_t st_signal_json(const st_signal_t *sig, char *buf, size_t len)
{
    char when[40];
    st_format_datetime(sig->time, when, sizeof(when), true);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "time", when);
    cJSON_AddNumberToObject(o, "ts", (double)sig->time / ST_SEC);
    cJSON_AddStringToObject(o, "strategy", sig->strategy);
    cJSON_AddStringToObject(o, "symbol", sig->symbol);
    cJSON_AddStringToObject(o, "side", sig->side);
    cJSON_AddNumberToObject(o, "strength", sig->strength);
    cJSON_AddNumberToObject(o, "price", sig->price);
    cJSON_AddStringToObject(o, "reason", sig->reason);
    cJSON_AddNumberToObject(o, "tier", sig->tier);
    cJSON_AddNumberToObject(o, "generation", (double)sig->generation);
    char fp[24];
    snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)sig->fingerprint);
    cJSON_AddStringToObject(o, "fingerprint", fp);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    size_t n = text ? strlen(text) : 0;
    if (len) snprintf(buf, len, "%s", text ? text : "");
    free(text);
    return n;
}

/* --- webhook -------------------------------------------------------------------------------- */

static void send_head(webhook_t *w);

static void pop(webhook_t *w)
{
    w->head = (w->head + 1) % w->cap;
    w->n--;
    w->attempt = 0;
}

/* "HTTP 500", or libcurl's reason when no answer came. */
static const char *outcome(const st_http_response_t *r, char *buf, size_t len)
{
    if (r->status) snprintf(buf, len, "HTTP %d", r->status);
    else snprintf(buf, len, "%s", r->message && *r->message ? r->message : "no answer");
    return buf;
}

static void on_posted(const st_http_response_t *r, void *ctx)
{
    webhook_t *w = ctx;
    st_signals_t *s = w->owner;
    w->in_flight = false;
    if (r->status >= 200 && r->status < 300) {
        s->st.delivered++;
        pop(w);
        send_head(w);
        return;
    }
    w->attempt++;
    const st_signal_t *sig = &w->ring[w->head];
    char why[256];
    if (w->attempt > w->retries) {
        s->st.dropped++;
        st_log_error(OUT, "webhook %s: dropped the signal %s %s after %d attempts (last: %s)", w->url, sig->strategy,
                     sig->symbol, w->attempt, outcome(r, why, sizeof(why)));
        pop(w);
        send_head(w);
        return;
    }
    s->st.retries++;
    double delay = BACKOFF_MIN;
    for (int i = 1; i < w->attempt && delay < BACKOFF_MAX; i++) delay *= 2;
    if (delay > BACKOFF_MAX) delay = BACKOFF_MAX;
    if (w->attempt == 1)
        st_log_warn(OUT, "webhook %s: %s; retrying with backoff", w->url, outcome(r, why, sizeof(why)));
    ev_timer_set(&w->backoff, delay, 0);
    ev_timer_start(s->loop, &w->backoff);
}

static void on_backoff(struct ev_loop *loop, ev_timer *t, int revents)
{
    send_head(t->data);
}

static void send_head(webhook_t *w)
{
    if (w->in_flight || w->n == 0 || ev_is_active(&w->backoff)) return;
    char body[1024];
    size_t need = st_signal_json(&w->ring[w->head], body, sizeof(body));
    if (need >= sizeof(body)) body[0] = '\0'; /* cannot happen with the fields' sizes */
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    int rc = st_http_request(w->owner->http, "POST", w->url, headers, body, w->timeout, on_posted, w);
    if (rc == 0) {
        w->in_flight = true;
        return;
    }
    st_http_response_t fail = {.message = st_strerror(rc)};
    on_posted(&fail, w); /* counts as a failed attempt */
}

static void webhook_push(webhook_t *w, const st_signal_t *sig)
{
    if (w->n == w->cap) {
        uint64_t d = ++w->owner->st.dropped;
        if (d == 1 || d % 1000 == 0)
            st_log_warn(OUT, "webhook %s: its queue of %zu is full; the oldest waiting signal is dropped (%llu so far)",
                        w->url, w->cap, (unsigned long long)d);
        if (!w->in_flight) {
            pop(w); /* the oldest waiting one goes */
        } else if (w->n == 1) {
            return; /* the only one is on the wire: the new one is the drop */
        } else { /* the oldest not on the wire goes: the rest move down */
            for (size_t i = 1; i + 1 < w->n; i++) w->ring[(w->head + i) % w->cap] = w->ring[(w->head + i + 1) % w->cap];
            w->n--;
        }
    }
    w->ring[(w->head + w->n) % w->cap] = *sig;
    w->n++;
    send_head(w);
}

/* --- the sinks ------------------------------------------------------------------------------ */

static void log_sink(const st_signal_t *sig)
{
    st_log_info(OUT, "signal %s: %s %s strength %.2f at %.2f%s%s", sig->strategy, sig->symbol, sig->side,
                sig->strength, sig->price, *sig->reason ? ": " : "", sig->reason);
}

static void jsonl_sink(st_signals_t *s, sink_t *k, const st_signal_t *sig)
{
    char line[1100];
    size_t n = st_signal_json(sig, line, sizeof(line) - 1);
    if (n >= sizeof(line) - 1) n = 0;
    line[n++] = '\n';
    ssize_t w = write(k->fd, line, n); /* O_APPEND: one write, one whole line */
    if (w != (ssize_t)n) {
        if (s->st.write_errors++ == 0)
            st_log_error(OUT, "signals: cannot write to %s: %s", k->path, w < 0 ? strerror(errno) : "short write");
    }
}

st_signals_t *st_signals_create(const st_signals_cfg_t *cfg, struct ev_loop *loop, char *err, size_t errlen)
{
    st_signals_t *s = st_xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->cooldown = cfg->cooldown;
    s->nsinks = cfg->sinks.n;
    s->sinks = st_xcalloc(s->nsinks ? s->nsinks : 1, sizeof(*s->sinks));
    for (size_t i = 0; i < s->nsinks; i++) {
        const st_sink_cfg_t *c = ST_LIST_AT(cfg->sinks, st_sink_cfg_t, i);
        sink_t *k = &s->sinks[i];
        k->kind = c->kind;
        k->fd = -1;
        if (c->kind == ST_SINK_JSONL) {
            k->path = st_xstrdup(c->path);
            k->fd = open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
            if (k->fd < 0) {
                snprintf(err, errlen, "signals.sinks[%zu]: cannot open %s: %s", i, c->path, strerror(errno));
                st_signals_destroy(s);
                return NULL;
            }
        } else if (c->kind == ST_SINK_WEBHOOK) {
            if (!s->http) s->http = st_http_create(loop);
            webhook_t *w = k->wh = st_xcalloc(1, sizeof(*w));
            w->owner = s;
            w->url = st_xstrdup(c->url);
            w->timeout = c->timeout;
            w->retries = (int)c->retries;
            w->cap = (size_t)cfg->queue;
            w->ring = st_xcalloc(w->cap, sizeof(*w->ring));
            ev_timer_init(&w->backoff, on_backoff, 0, 0);
            w->backoff.data = w;
        }
    }
    return s;
}

void st_signals_destroy(st_signals_t *s)
{
    if (!s) return;
    st_http_destroy(s->http); /* what is in flight is cancelled: counted below with the rest */
    for (size_t i = 0; i < s->nsinks; i++) {
        sink_t *k = &s->sinks[i];
        if (k->fd >= 0) close(k->fd);
        free(k->path);
        if (!k->wh) continue;
        if (k->wh->n) {
            s->st.dropped += k->wh->n;
            st_log_error(OUT, "webhook %s: %zu signals were not delivered before the stop", k->wh->url, k->wh->n);
        }
        ev_timer_stop(s->loop, &k->wh->backoff);
        free(k->wh->ring);
        free(k->wh->url);
        free(k->wh);
    }
    free(s->sinks);
    free(s->cool);
    free(s->strats);
    free(s);
}

/* --- cooldown ------------------------------------------------------------------------------- */

static uint64_t pair_key(const char *strategy, const char *symbol)
{
    uint64_t h = 14695981039346656037ull;
    for (const char *p = strategy; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull; /* a separator no name contains */
    for (const char *p = symbol; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h ? h : 1;
}

static cool_t *cool_slot(st_signals_t *s, uint64_t key)
{
    if ((s->ncool + 1) * 2 > s->cool_cap) {
        size_t cap = s->cool_cap ? s->cool_cap * 2 : 256;
        cool_t *old = s->cool;
        size_t oldcap = s->cool_cap;
        s->cool = st_xcalloc(cap, sizeof(*s->cool));
        s->cool_cap = cap;
        for (size_t i = 0; i < oldcap; i++) {
            if (!old[i].key) continue;
            size_t j = old[i].key & (cap - 1);
            while (s->cool[j].key) j = (j + 1) & (cap - 1);
            s->cool[j] = old[i];
        }
        free(old);
    }
    size_t j = key & (s->cool_cap - 1);
    while (s->cool[j].key && s->cool[j].key != key) j = (j + 1) & (s->cool_cap - 1);
    if (!s->cool[j].key) {
        s->cool[j].key = key;
        s->cool[j].last = INT64_MIN;
        s->ncool++;
    }
    return &s->cool[j];
}

void st_signals_new_day(st_signals_t *s)
{
    if (s->cool) memset(s->cool, 0, s->cool_cap * sizeof(*s->cool));
    s->ncool = 0;
}

static void count_strategy(st_signals_t *s, const char *name)
{
    for (size_t i = 0; i < s->nstrats; i++)
        if (!strcmp(s->strats[i].name, name)) {
            s->strats[i].count++;
            return;
        }
    s->strats = st_xrealloc(s->strats, (s->nstrats + 1) * sizeof(*s->strats));
    snprintf(s->strats[s->nstrats].name, sizeof(s->strats[0].name), "%s", name);
    s->strats[s->nstrats++].count = 1;
}

int st_signals_emit(st_signals_t *s, const st_signal_t *sig)
{
    if (s->cooldown > 0) {
        cool_t *c = cool_slot(s, pair_key(sig->strategy, sig->symbol));
        if (c->last != INT64_MIN && sig->time - c->last < s->cooldown) {
            s->st.suppressed++;
            return 1;
        }
        c->last = sig->time;
    }
    s->recent[s->st.emitted % ST_SIGNALS_RECENT] = *sig;
    s->st.emitted++;
    st_dur_t tod = sig->time - st_local_midnight(sig->time);
    s->st.per_hour[(tod / ST_HOUR) % 24]++;
    count_strategy(s, sig->strategy);
    for (size_t i = 0; i < s->nsinks; i++) {
        sink_t *k = &s->sinks[i];
        if (k->kind == ST_SINK_LOG) log_sink(sig);
        else if (k->kind == ST_SINK_JSONL) jsonl_sink(s, k, sig);
        else webhook_push(k->wh, sig);
    }
    return 0;
}

const st_signal_t *st_signals_recent(const st_signals_t *s, size_t i)
{
    size_t n = s->st.emitted < ST_SIGNALS_RECENT ? (size_t)s->st.emitted : ST_SIGNALS_RECENT;
    return i < n ? &s->recent[(s->st.emitted - n + i) % ST_SIGNALS_RECENT] : NULL;
}

void st_signals_stats(const st_signals_t *s, st_signals_stats_t *out)
{
    *out = s->st;
    out->queued = 0;
    for (size_t i = 0; i < s->nsinks; i++)
        if (s->sinks[i].wh) out->queued += s->sinks[i].wh->n;
}

size_t st_signals_strategies(const st_signals_t *s)
{
    return s->nstrats;
}

const char *st_signals_strategy(const st_signals_t *s, size_t i, uint64_t *count)
{
    *count = s->strats[i].count;
    return s->strats[i].name;
}
