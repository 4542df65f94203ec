#include "res.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const st_resource_t *find_embedded(const char *path)
{
    size_t plen = strlen(ST_EMBEDDED_PREFIX);
    if (strncmp(path, ST_EMBEDDED_PREFIX, plen) != 0) return NULL;
    const char *name = path + plen;
    for (size_t i = 0; i < st_resources_count; i++)
        if (strcmp(st_resources[i].name, name) == 0) return &st_resources[i];
    return NULL;
}

int st_file_read(const char *path, char **out, size_t *len)
{
    if (strncmp(path, ST_EMBEDDED_PREFIX, strlen(ST_EMBEDDED_PREFIX)) == 0) {
        const st_resource_t *r = find_embedded(path);
        if (!r) return -ENOENT;
        char *buf = st_xmalloc(r->len + 1);
        memcpy(buf, r->data, r->len);
        buf[r->len] = 0;
        *out = buf;
        if (len) *len = r->len;
        return 0;
    }
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; anything not a regular file is
     * refused before a byte is read */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) { /* st is not filled: nothing in it may be read */
        int err = -errno;
        close(fd);
        return err;
    }
    if (!S_ISREG(st.st_mode)) {
        int err = S_ISDIR(st.st_mode) ? -EISDIR : ST_ENOTFILE;
        close(fd);
        return err;
    }
    fcntl(fd, F_SETFL, 0);
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        int err = -errno;
        close(fd);
        return err;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = st_xmalloc(cap);
    for (;;) {
        size_t r = fread(buf + n, 1, cap - n - 1, fp);
        n += r;
        if (r == 0) break;
        if (n + 1 == cap) buf = st_xrealloc(buf, cap *= 2);
    }
    int err = ferror(fp) ? -EIO : 0;
    fclose(fp);
    if (err) {
        free(buf);
        return err;
    }
    buf[n] = 0;
    *out = buf;
    if (len) *len = n;
    return 0;
}

int st_file_check(const char *path)
{
    if (strncmp(path, ST_EMBEDDED_PREFIX, strlen(ST_EMBEDDED_PREFIX)) == 0)
        return find_embedded(path) ? 0 : -ENOENT;
    struct stat st;
    if (stat(path, &st) != 0) return -errno;
    if (!S_ISREG(st.st_mode)) return S_ISDIR(st.st_mode) ? -EISDIR : ST_ENOTFILE;
    return access(path, R_OK) == 0 ? 0 : -errno;
}

bool st_file_exists(const char *path)
{
    return st_file_check(path) == 0;
}

void st_path_resolve(const char *base_file, const char *rel, char *buf, size_t len)
{
    if (rel[0] == '/' || strncmp(rel, ST_EMBEDDED_PREFIX, strlen(ST_EMBEDDED_PREFIX)) == 0 ||
        !base_file) {
        snprintf(buf, len, "%s", rel);
        return;
    }
    const char *slash = strrchr(base_file, '/');
    size_t plen = strlen(ST_EMBEDDED_PREFIX);
    if (strncmp(base_file, ST_EMBEDDED_PREFIX, plen) == 0 && !slash)
        snprintf(buf, len, "%s%s", ST_EMBEDDED_PREFIX, rel);
    else if (slash)
        snprintf(buf, len, "%.*s/%s", (int)(slash - base_file), base_file, rel);
    else
        snprintf(buf, len, "%s", rel);
}
