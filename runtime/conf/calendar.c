#include "calendar.h"
#include "core/res.h"
#include "core/timefmt.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define CERR ST_CONF_ERR

void st_session_of(const st_config_t *cfg, st_session_t *out)
{
    const st_session_cfg_t *s = &cfg->market.session;
    *out = (st_session_t){s->pre_open, s->open, s->closing_auction, s->close};
}

/* One list's days into e[*n…]: a closure has no times, a special session at least one; a date
 * appears once in a list. */
static void add_days(const st_list_t *l, bool closed, const char *where, st_cal_entry_t *e, size_t *n,
                     const st_session_t *reg, st_diags_t *d)
{
    size_t first = *n;
    for (size_t i = 0; i < l->n; i++) {
        const st_day_cfg_t *c = ST_LIST_AT(*l, st_day_cfg_t, i);
        if (c->mark.bad) continue;
        st_cal_entry_t x = {.closed = closed, .name = c->name, .open = -1, .close = -1};
        if (st_parse_date(c->date, &x.day)) {
            CERR(d, &c->mark, "%s[%zu].date: expected a date as YYYY-MM-DD, got \"%s\"", where, i, c->date);
            continue;
        }
        if (closed && (*c->open || *c->close)) {
            CERR(d, &c->mark, "%s[%zu] (%s): a closed day has no open or close (a moved session goes under special)",
                 where, i, c->date);
            continue;
        }
        if (!closed && !*c->open && !*c->close) {
            CERR(d, &c->mark, "%s[%zu] (%s): a special session needs open, close or both", where, i, c->date);
            continue;
        }
        if ((*c->open && st_parse_tod(c->open, &x.open)) || (*c->close && st_parse_tod(c->close, &x.close))) {
            CERR(d, &c->mark, "%s[%zu] (%s): open and close are times of day such as 10:00", where, i, c->date);
            continue;
        }
        if ((x.open >= 0 ? x.open : reg->open) >= (x.close >= 0 ? x.close : reg->close)) {
            CERR(d, &c->mark, "%s[%zu] (%s): the session would close before it opens", where, i, c->date);
            continue;
        }
        bool dup = false;
        for (size_t k = first; k < *n && !dup; k++) dup = e[k].day == x.day;
        if (dup) {
            CERR(d, &c->mark, "%s[%zu]: %s is listed twice", where, i, c->date);
            continue;
        }
        e[(*n)++] = x;
    }
}

/* Sorted by day (an insertion sort: stable, and a calendar is a few dozen days); of two on the
 * same day (the file's and the config's), the later: the config's. */
static void settle(st_calendar_t *c)
{
    for (size_t i = 1; i < c->n; i++) {
        st_cal_entry_t x = c->e[i];
        size_t j = i;
        for (; j > 0 && c->e[j - 1].day > x.day; j--) c->e[j] = c->e[j - 1];
        c->e[j] = x;
    }
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (k && c->e[k - 1].day == c->e[i].day) k--;
        c->e[k++] = c->e[i];
    }
    c->n = k;
}

/* The calendar `spec` names, with the config's own days (closed, special: may be NULL) over
 * its; `where`: the config node naming it (NULL: none). */
static int load(const char *spec, const st_session_t *reg, st_arena_t *arena, const st_list_t *closed,
                const st_list_t *special, const st_mark_t *where, st_calendar_t *out, st_diags_t *d)
{
    static const st_list_t none = {0};
    size_t before = d->n;
    *out = (st_calendar_t){.name = "24/7", .source = "", .weekends = true, .all_day = true, .from = INT32_MIN,
                           .to = INT32_MAX};
    st_calendar_cfg_t file = {0};
    if (strcmp(spec, "24/7") != 0) {
        const char *path = strcmp(spec, "krx") == 0 ? ST_CALENDAR_KRX : spec;
        char *text;
        size_t len;
        int rc = st_file_read(path, &text, &len);
        if (rc) {
            st_diags_add(d, where ? where->file : path, where ? where->line : 0, where ? where->col : 0,
                         "market.calendar: cannot read \"%s\": %s", path, st_strerror(rc));
            return ST_ECONFIG;
        }
        rc = st_schema_decode(&st_calendar_schema, path, text, len, &file, arena, d);
        free(text);
        if (rc) return ST_ECONFIG;
        *out = (st_calendar_t){.name = file.name, .source = file.source, .weekends = file.weekends};
        if (st_parse_date(file.from, &out->from) || st_parse_date(file.to, &out->to) || out->from > out->to)
            CERR(d, &file.mark, "calendar %s: from and to are dates as YYYY-MM-DD, from not after to (got \"%s\" "
                 "and \"%s\")", path, file.from, file.to);
    }
    if (!closed) closed = special = &none;
    size_t cap = file.closed.n + file.special.n + closed->n + special->n;
    out->e = st_arena_alloc(arena, (cap ? cap : 1) * sizeof(*out->e));
    add_days(&file.closed, true, "closed", out->e, &out->n, reg, d);
    add_days(&file.special, false, "special", out->e, &out->n, reg, d);
    add_days(closed, true, "market.closed", out->e, &out->n, reg, d);
    add_days(special, false, "market.special", out->e, &out->n, reg, d);
    settle(out);
    return d->n > before ? ST_ECONFIG : 0;
}

int st_calendar_load(const char *spec, const st_session_t *regular, st_arena_t *arena, st_calendar_t *out,
                     st_diags_t *d)
{
    return load(spec, regular, arena, NULL, NULL, NULL, out, d);
}

int st_calendar_build(const st_config_t *cfg, st_calendar_t *out, st_diags_t *d)
{
    const st_market_cfg_t *m = &cfg->market;
    st_session_t reg;
    st_session_of(cfg, &reg);
    return load(m->calendar, &reg, cfg->arena, &m->closed, &m->special, &m->mark, out, d);
}
