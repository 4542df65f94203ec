/* A Redis for the tests: Debian's redis-server on a free loopback port, no persistence, dying
 * with the test (PR_SET_PDEATHSIG) if the test dies first; and a blocking hiredis client to read
 * what strata published. */
#ifndef ST_TEST_REDIS_SERVER_H
#define ST_TEST_REDIS_SERVER_H

#include "test.h" /* st_test_free_port */

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int port;
} st_test_redis_t;

/* A blocking client on the test's Redis; NULL when it does not answer. */
static inline redisContext *st_test_redis_client(const st_test_redis_t *r)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (!c || c->err) {
        if (c) redisFree(c);
        return NULL;
    }
    return c;
}

/* Starts redis-server on r->port (a free one when 0); false when it does not answer PING within
 * 10 s (the reason printed). */
static inline bool st_test_redis_start(st_test_redis_t *r)
{
    if (!r->port) r->port = st_test_free_port();
    char port[16];
    snprintf(port, sizeof(port), "%d", r->port);
    r->pid = fork();
    if (r->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly",
               "no", "--daemonize", "no", "--dir", "/tmp", "--loglevel", "warning", "--logfile", "/dev/null",
               (char *)NULL);
        fprintf(stderr, "cannot run redis-server (scripts/setup.sh installs the Debian package redis-server)\n");
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) { /* a hang guard, not a timing: it normally answers in ms */
        redisContext *c = st_test_redis_client(r);
        redisReply *rep = c ? redisCommand(c, "PING") : NULL;
        bool ok = rep && rep->type == REDIS_REPLY_STATUS;
        if (rep) freeReplyObject(rep);
        if (c) redisFree(c);
        if (ok) return true;
        int status;
        if (waitpid(r->pid, &status, WNOHANG) == r->pid) break; /* it exited */
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    printf("# redis-server on port %d did not answer\n", r->port);
    return false;
}

static inline void st_test_redis_stop(st_test_redis_t *r)
{
    if (r->pid <= 0) return;
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
    r->pid = 0;
}

/* A field of a stream entry (XRANGE's [id, [k, v, …]]); NULL when absent. */
static inline const char *st_test_entry_field(const redisReply *entry, const char *key)
{
    const redisReply *kv = entry->element[1];
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (!strcmp(kv->element[i]->str, key)) return kv->element[i + 1]->str;
    return NULL;
}

#endif
