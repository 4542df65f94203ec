#include "service.h"
#include "runtime.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#define STATUS_EVERY 10.0 /* seconds between two STATUS= lines when no watchdog asks for more */

/* The status line as STATUS=; every tick of the timer also pings the watchdog when one is set. */
static void notify_status(st_runtime_t *rt, const char *extra)
{
    st_counters_t c;
    st_runtime_collect(rt, &c);
    char line[512];
    st_status_line(&c, line, sizeof(line));
    sd_notifyf(0, "%sSTATUS=%s", extra, line);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    st_runtime_t *rt = w->data;
    notify_status(rt, rt->watchdog ? "WATCHDOG=1\n" : "");
}

void st_service_ready(st_runtime_t *rt)
{
    if (!getenv("NOTIFY_SOCKET")) return;
    uint64_t usec = 0;
    rt->watchdog = sd_watchdog_enabled(0, &usec) > 0 && usec > 0;
    /* a third of the watchdog's interval: two late ticks still make it */
    double every = rt->watchdog ? (double)usec / 3e6 : STATUS_EVERY;
    notify_status(rt, "READY=1\n");
    ev_timer_init(&rt->service_timer, on_tick, every, every);
    rt->service_timer.data = rt;
    ev_timer_start(rt->loop, &rt->service_timer);
    st_log_info(CORE, "systemd: ready%s", rt->watchdog ? ", the watchdog pinged from the event loop" : "");
}

void st_service_reloading(st_runtime_t *rt)
{
    (void)rt;
    if (!getenv("NOTIFY_SOCKET")) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
}

void st_service_reloaded(st_runtime_t *rt)
{
    if (!getenv("NOTIFY_SOCKET")) return;
    notify_status(rt, "READY=1\n");
}

void st_service_stopping(st_runtime_t *rt)
{
    if (!getenv("NOTIFY_SOCKET")) return;
    ev_timer_stop(rt->loop, &rt->service_timer);
    sd_notify(0, "STOPPING=1");
}
