#include "feed.h"

#include <stdio.h>

int st_feed_create(const st_feed_cfg_t *fc, uint16_t index, const st_feed_env_t *env,
                   st_feed_t **out, char *err, size_t errlen)
{
    int rc;
    switch (fc->kind) {
    case ST_FEED_SIM: rc = st_sim_feed_create(fc, env, out, err, errlen); break;
    case ST_FEED_KIS: rc = st_kis_feed_create(fc, env, out, err, errlen); break;
    default:
        snprintf(err, errlen, "feed \"%s\": this kind is not available in this build", fc->name);
        return ST_ENOTIMPL;
    }
    if (rc) return rc;
    (*out)->name = st_xstrdup(fc->name);
    (*out)->index = index;
    (*out)->clock = env->clock;
    (*out)->on_tick = env->on_tick;
    (*out)->tick_ctx = env->tick_ctx;
    (*out)->on_refused = env->on_refused;
    return 0;
}
