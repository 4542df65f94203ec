/* Running under systemd (Type=notify): strata tells the service manager when it is ready, when
 * it reloads and stops, a one-line STATUS=, and — when the unit sets WatchdogSec= — WATCHDOG=1
 * from a timer on the event loop, so the pings stop exactly when the loop does (a callback
 * stuck in a plugin or a library call) and systemd restarts it. Without NOTIFY_SOCKET every
 * call is a no-op. */
#ifndef ST_APP_SERVICE_H
#define ST_APP_SERVICE_H

struct st_runtime;

/* The runtime is up (config valid, feeds started, status endpoint listening): READY=1, and the
 * watchdog and STATUS= timer armed. */
void st_service_ready(struct st_runtime *rt);
/* Around a SIGHUP reload: RELOADING=1 (with MONOTONIC_USEC), then READY=1. */
void st_service_reloading(struct st_runtime *rt);
void st_service_reloaded(struct st_runtime *rt);
/* STOPPING=1; the timer stops. */
void st_service_stopping(struct st_runtime *rt);

#endif
