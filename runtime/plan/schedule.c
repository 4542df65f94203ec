#include "schedule.h"

st_dur_t st_schedule_start(const st_config_t *cfg, const st_session_t *session, size_t i)
{
    st_dur_t t = 0;
    for (size_t k = 0; k <= i; k++) { /* never before an earlier slot's start */
        st_dur_t s = st_slot_start(ST_LIST_AT(cfg->schedule, st_slot_cfg_t, k), session);
        t = k == 0 || s > t ? s : t;
    }
    return t;
}

void st_schedule_at(const st_config_t *cfg, const st_session_t *session, st_time_t now, st_time_t midnight,
                    st_slot_at_t *out)
{
    const st_list_t *l = &cfg->schedule;
    st_require(l->n > 0);
    st_dur_t tod = now - midnight;
    size_t cur = l->n - 1; /* before the first start: yesterday's last slot */
    out->next_change = midnight + ST_DAY + st_schedule_start(cfg, session, 0);
    bool found = false;
    for (size_t i = 0; i < l->n; i++) {
        st_dur_t s = st_schedule_start(cfg, session, i);
        if (s <= tod) cur = i;
        else if (!found) out->next_change = midnight + s, found = true;
    }
    out->slot = ST_LIST_AT(*l, st_slot_cfg_t, cur);
    out->index = cur;
}
