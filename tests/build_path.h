/* Where the tests and benchmarks find the build tree's own binaries and plugins. */
#ifndef ST_TEST_BUILD_PATH_H
#define ST_TEST_BUILD_PATH_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
/* A file of the source tree whose data the tests read ("config/universe.csv"): under
 * $STRATA_SOURCE_DIR (ctest sets it), else under the nearest directory above this executable
 * that holds config/krx_universe.csv and runtime/ (a build tree inside its checkout). Not a path
 * compiled in either: a copied build tree reads the checkout it is in or the one it is told.
 * Without either the test stops, saying so. The result lives as long as the process. */
static inline const char *st_test_source_path(const char *rel)
{
    static char root[4096], rels[64][256], paths[64][4400];
    static unsigned next;
    if (!root[0]) {
        const char *env = getenv("STRATA_SOURCE_DIR");
        if (env && *env) {
            snprintf(root, sizeof(root), "%s", env);
        } else {
            ssize_t n = readlink("/proc/self/exe", root, sizeof(root) - 1);
            root[n > 0 ? n : 0] = '\0';
            bool found = false;
            for (char *slash; !found && (slash = strrchr(root, '/')) != NULL;) {
                *slash = '\0';
                char probe[4200], probe2[4200];
                snprintf(probe, sizeof(probe), "%s/config/krx_universe.csv", root);
                snprintf(probe2, sizeof(probe2), "%s/runtime", root);
                found = access(probe, R_OK) == 0 && access(probe2, X_OK) == 0;
            }
            if (!found) {
                fprintf(stderr, "the source tree is not above this test: set STRATA_SOURCE_DIR to the checkout\n");
                exit(2);
            }
        }
    }
    for (unsigned i = 0; i < next && i < 64; i++) /* the same file, the same string: callers keep them */
        if (!strcmp(rels[i], rel)) return paths[i];
    if (next >= 64) {
        fprintf(stderr, "st_test_source_path: more than 64 files\n");
        exit(2);
    }
    snprintf(rels[next], sizeof(rels[0]), "%s", rel);
    snprintf(paths[next], sizeof(paths[0]), "%s%s%s", root, *rel ? "/" : "", rel);
    return paths[next++];
}
#define STRATA_SOURCE_DIR st_test_source_path("")
/* For tests whose configs name the checkout's files by relative paths ("config/universe.csv"):
 * run in the source tree (they write nothing there). */
static inline void st_test_chdir_source(void)
{
    if (chdir(st_test_source_path("")) != 0) {
        perror(st_test_source_path(""));
        exit(2);
    }
}
#define STRATA_BIN ((char *)st_test_build_path("strata"))
#define TEST_PLUGIN(name) st_test_build_path("tests/plugin_" name ".so")

#endif
