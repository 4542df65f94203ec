#include "private.h"
#include "res.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int st_private_default_dir(char *buf, size_t len)
{
    const char *run = getenv("XDG_RUNTIME_DIR"), *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (run && *run == '/') snprintf(buf, len, "%s/strata", run);
    else if (cache && *cache == '/') snprintf(buf, len, "%s/strata", cache);
    else if (home && *home == '/') snprintf(buf, len, "%s/.cache/strata", home);
    else return -ENOENT;
    return 0;
}

int st_private_dir_open(const char *path, char *err, size_t errlen)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) { /* the parents, 0700 where strata makes them */
        if (*p != '/') continue;
        *p = '\0';
        mkdir(buf, 0700);
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(e));
        return -e;
    }
    int fd = open(buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", path,
                 e == ELOOP || e == ENOTDIR ? "not a directory (a symbolic link is not followed)" : strerror(e));
        return -e;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) != 0) why = strerror(errno);
    else if (st.st_uid != geteuid()) why = "it belongs to another user";
    else if (st.st_mode & (S_IWGRP | S_IWOTH)) why = "group or others can write it (chmod 700 it)";
    if (why) {
        snprintf(err, errlen, "refusing %s: %s", path, why);
        close(fd);
        return -EPERM;
    }
    return fd;
}

int st_private_write(int dirfd, const char *name, const char *data, size_t len)
{
    char tmp[300];
    snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) { /* a stale one from a crash: ours to remove */
        unlinkat(dirfd, tmp, 0);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    }
    if (fd < 0) return -errno;
    bool ok = write(fd, data, len) == (ssize_t)len;
    ok = fsync(fd) == 0 && ok;
    close(fd);
    if (!ok || renameat(dirfd, tmp, dirfd, name) != 0) {
        int e = ok ? errno : EIO;
        unlinkat(dirfd, tmp, 0);
        return -e;
    }
    return 0;
}

int st_private_read(int dirfd, const char *name, char **out, size_t *len)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
        close(fd);
        return -EPERM;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
        if (n + 1 == cap) break; /* the size it had when opened */
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return 0;
}
