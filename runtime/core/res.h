/* Files and the resources embedded in the binary. A path "embedded:NAME" names a file
 * compiled in from config/ (the demo config and its universe), so `strata run` works from
 * any directory. Relative paths inside a config resolve against that config's directory,
 * which for an embedded config is "embedded:". */
#ifndef ST_CORE_RES_H
#define ST_CORE_RES_H

#include "common.h"

#define ST_EMBEDDED_PREFIX "embedded:"
#define ST_DEMO_CONFIG     "embedded:demo.yaml"

/* Reads a whole file (or embedded resource). *out is NUL-terminated and malloc'd.
 * Returns 0 or -errno (-ENOENT for an unknown embedded name; ST_ENOTFILE for a FIFO, device or
 * socket, which is never read: nothing waits on one). */
int st_file_read(const char *path, char **out, size_t *len);
/* 0 when path is an embedded resource or a readable regular file, else why not (-errno,
 * ST_ENOTFILE); opens nothing. st_file_exists: the same as a bool. */
int st_file_check(const char *path);
bool st_file_exists(const char *path);
/* Resolves `rel` against the directory of `base_file` into buf. Absolute paths and
 * "embedded:" paths are returned as they are. */
void st_path_resolve(const char *base_file, const char *rel, char *buf, size_t len);

/* The embedded table, generated at build time by cmake/embed.cmake. */
typedef struct {
    const char *name;
    const unsigned char *data;
    size_t len;
} st_resource_t;
extern const st_resource_t st_resources[];
extern const size_t st_resources_count;

#endif
