#include "schedule.h"

void st_schedule_at(const st_config_t *cfg, st_time_t now, st_time_t midnight, st_slot_at_t *out)
{
    const st_list_t *l = &cfg->schedule;
    st_require(l->n > 0);
    st_dur_t tod = now - midnight;
    size_t cur = l->n - 1; /* before the first start: yesterday's last slot */
    for (size_t i = 0; i < l->n; i++)
        if (ST_LIST_AT(*l, st_slot_cfg_t, i)->start <= tod) cur = i;
    out->slot = ST_LIST_AT(*l, st_slot_cfg_t, cur);
    out->index = cur;
    out->next_change = midnight + ST_DAY + ST_LIST_AT(*l, st_slot_cfg_t, 0)->start;
    for (size_t i = 0; i < l->n; i++) {
        st_dur_t s = ST_LIST_AT(*l, st_slot_cfg_t, i)->start;
        if (s > tod) {
            out->next_change = midnight + s;
            break;
        }
    }
}
