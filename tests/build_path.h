/* Where the tests and benchmarks find the build tree's own binaries and plugins. */
#ifndef ST_TEST_BUILD_PATH_H
#define ST_TEST_BUILD_PATH_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A file of the build tree this test belongs to ("strata", "tests/plugin_good.so"): under
 * $STRATA_BUILD_DIR (ctest sets it), else under the nearest directory above this executable that
 * holds CMakeCache.txt. Never a path compiled in: a copied build tree tests its own binaries, not
 * those of the tree it was built in. The result lives until 16 more calls. */
static inline const char *st_test_build_path(const char *rel)
{
    static char root[4096], ring[16][4200];
    static unsigned next;
    if (!root[0]) {
        const char *env = getenv("STRATA_BUILD_DIR");
        if (env && *env) {
            snprintf(root, sizeof(root), "%s", env);
        } else {
            ssize_t n = readlink("/proc/self/exe", root, sizeof(root) - 1);
            root[n > 0 ? n : 0] = '\0';
            for (char *slash; (slash = strrchr(root, '/')) != NULL;) {
                *slash = '\0';
                char probe[4200];
                snprintf(probe, sizeof(probe), "%s/CMakeCache.txt", root);
                if (access(probe, R_OK) == 0) break;
            }
        }
    }
    char *out = ring[next++ % 16];
    snprintf(out, sizeof(ring[0]), "%s/%s", root, rel);
    return out;
}
#define STRATA_BIN ((char *)st_test_build_path("strata"))
#define TEST_PLUGIN(name) st_test_build_path("tests/plugin_" name ".so")

#endif
