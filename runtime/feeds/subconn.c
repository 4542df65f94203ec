#include "subconn.h"
#include "feed.h"

static void on_flush(st_timer_t *t, st_time_t deadline, void *ctx)
{
    st_subconn_t *c = ctx;
    st_coalescer_flush(&c->co, st_clock_now(c->ws.clock)); /* the time messages really leave */
    st_subconn_arm(c);
}

static int co_send(void *ctx, const char *msg, size_t len)
{
    st_subconn_t *c = ctx;
    return st_wsconn_send(&c->ws, msg, len, false);
}

static const char *co_code(void *ctx, st_sym_t sym)
{
    st_subconn_t *c = ctx;
    return st_symtab_code(c->syms, sym);
}

static void co_sent(void *ctx, st_key_t key, bool on)
{
    st_subconn_t *c = ctx;
    if (c->feed) st_feed_sub_sent(c->feed, c->ws.index, key, on);
}

static void co_answered(void *ctx, st_key_t key, st_ack_t ack)
{
    st_subconn_t *c = ctx;
    if (c->feed) st_feed_sub_answered(c->feed, c->ws.index, key, ack);
}

void st_subconn_init(st_subconn_t *c, st_venue_t venue, const st_feed_cfg_t *fc, const st_symtab_t *syms,
                     size_t nsyms, void (*refused)(void *ctx, st_key_t key, st_ack_t ack, int cap))
{
    c->syms = syms;
    st_limiter_init_messages(&c->lim, (int)fc->ws_rate, (int)fc->ws_rate_minute, (st_limiter_mode_t)fc->limiter);
    st_coalescer_io_t io = {co_send, co_code, refused, co_sent, co_answered, c};
    st_coalescer_init(&c->co, venue, nsyms, (int)fc->budget, &c->lim, fc->debounce, &io);
    st_timer_init(&c->flush, on_flush, c);
}

void st_subconn_free(st_subconn_t *c)
{
    st_wsconn_free(&c->ws);
    st_coalescer_free(&c->co);
    st_limiter_free(&c->lim);
}

void st_subconn_arm(st_subconn_t *c)
{
    st_clock_t *clk = c->ws.clock;
    st_time_t due = st_wsconn_open(&c->ws) ? st_coalescer_due(&c->co, st_clock_now(clk)) : ST_TIME_NEVER;
    if (due == ST_TIME_NEVER)
        st_clock_timer_stop(clk, &c->flush);
    else if (!st_timer_active(&c->flush) || c->flush.at != due)
        st_clock_timer_start(clk, &c->flush, due, 0);
}

void st_subconn_opened(st_subconn_t *c)
{
    st_coalescer_reset(&c->co, st_clock_now(c->ws.clock));
    st_subconn_arm(c);
}

void st_subconn_closed(st_subconn_t *c)
{
    st_clock_timer_stop(c->ws.clock, &c->flush);
    st_coalescer_reset(&c->co, st_clock_now(c->ws.clock));
}
