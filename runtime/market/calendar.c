#include "calendar.h"
#include "core/timefmt.h"

#include <limits.h>
#include <stddef.h>

const st_cal_entry_t *st_calendar_entry(const st_calendar_t *c, int32_t day)
{
    size_t lo = 0, hi = c ? c->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->e[mid].day < day) lo = mid + 1;
        else hi = mid;
    }
    return lo < (c ? c->n : 0) && c->e[lo].day == day ? &c->e[lo] : NULL;
}

void st_calendar_day(const st_calendar_t *c, const st_session_t *regular, int32_t day, st_day_t *out)
{
    *out = (st_day_t){.day = day, .trading = true, .covered = true, .name = "", .s = *regular};
    if (!c) return;
    if (c->all_day) out->s = (st_session_t){0, 0, ST_DAY, ST_DAY};
    out->covered = day >= c->from && day <= c->to;
    int wd = st_weekday(day);
    const st_cal_entry_t *e = st_calendar_entry(c, day);
    if (e && e->closed) {
        out->trading = false;
        out->name = e->name;
    } else if (e) { /* a special session: on any day, a weekend's too */
        out->special = true;
        out->name = e->name;
        if (e->open >= 0) {
            out->s.pre_open += e->open - regular->open;
            out->s.open = e->open;
        }
        if (e->close >= 0) {
            out->s.closing_auction += e->close - regular->close;
            out->s.close = e->close;
        }
    } else if (!c->weekends && (wd == 0 || wd == 6)) {
        out->trading = false;
        out->name = wd == 0 ? "Sunday" : "Saturday";
    }
}

int32_t st_calendar_next_trading(const st_calendar_t *c, int32_t day)
{
    static const st_session_t any = {0, 0, 0, 0};
    for (int32_t d = day; d <= day + 366; d++) {
        st_day_t t;
        st_calendar_day(c, &any, d, &t);
        if (t.trading) return d;
    }
    return INT32_MIN;
}
