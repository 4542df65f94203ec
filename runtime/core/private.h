/* Private files: a directory only this user can write, and files in it that only this user can
 * read, never reached through a symbolic link. For secrets at rest (the KIS access token).
 *
 * st_private_dir_open creates the directory (and its parents) 0700 when missing, then opens it
 * without following a link and refuses it unless it is a directory owned by this user that
 * neither group nor others can write. Files are read and written relative to that descriptor:
 * a link in the way is refused (O_NOFOLLOW), a file is created 0600 with O_EXCL under a
 * temporary name and renamed over the old one, so a reader sees the old file or the new one. */
#ifndef ST_CORE_PRIVATE_H
#define ST_CORE_PRIVATE_H

#include <stddef.h>

/* The directory's descriptor (close it), or -errno with the reason in err. */
int st_private_dir_open(const char *path, char *err, size_t errlen);
/* Replaces dirfd/name with data. 0 or -errno. */
int st_private_write(int dirfd, const char *name, const char *data, size_t len);
/* Reads dirfd/name (a regular file owned by this user that nobody else can read or write):
 * 0 with *out malloc'd and NUL-terminated, or -errno (-EPERM: the file is not private). */
int st_private_read(int dirfd, const char *name, char **out, size_t *len);
/* Where strata keeps private state by default: $XDG_RUNTIME_DIR/strata, else
 * $XDG_CACHE_HOME/strata, else $HOME/.cache/strata; -ENOENT when none of them is set (never a
 * shared directory such as /tmp). */
int st_private_default_dir(char *buf, size_t len);

#endif
