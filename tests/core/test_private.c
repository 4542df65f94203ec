/* Private files (runtime/core/private.c), issue 16.7: the token cache's directory is made 0700
 * and refused when another user owns it or group/others can write it; nothing is reached
 * through a symbolic link; files are 0600 and refused when others can read them; the default
 * place follows XDG and is never a shared directory. */
#include "../test.h"

#include "core/private.h"
#include "core/res.h"

#include <fcntl.h>
#include <sys/stat.h>

static char *dir;

static int setup(void **state)
{
    dir = st_test_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    assert_int_equal(st_test_rmtree(dir), 0);
    free(dir);
    return 0;
}

static void test_default_dir(void **state)
{
    char buf[256];
    unsetenv("XDG_RUNTIME_DIR");
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    assert_int_equal(st_private_default_dir(buf, sizeof(buf)), -ENOENT); /* not /tmp */
    setenv("HOME", "relative/home", 1);
    assert_int_equal(st_private_default_dir(buf, sizeof(buf)), -ENOENT);
    setenv("HOME", "/home/trader", 1);
    assert_int_equal(st_private_default_dir(buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/home/trader/.cache/strata");
    setenv("XDG_CACHE_HOME", "/var/cache/trader", 1);
    assert_int_equal(st_private_default_dir(buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/var/cache/trader/strata");
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    assert_int_equal(st_private_default_dir(buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/run/user/1000/strata");
}

static void test_dir_made_and_checked(void **state)
{
    char path[300], err[600];
    snprintf(path, sizeof(path), "%s/a/b/strata", dir);
    int fd = st_private_dir_open(path, err, sizeof(err));
    assert_true(fd >= 0);
    close(fd);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    chmod(path, 0777); /* group and others may write: refused */
    assert_int_equal(st_private_dir_open(path, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "group or others can write it"));
    chmod(path, 0700);

    char link[300];
    snprintf(link, sizeof(link), "%s/link", dir);
    assert_int_equal(symlink(path, link), 0); /* a link to a good directory: not followed */
    assert_true(st_private_dir_open(link, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "a symbolic link is not followed"));

    if (geteuid() == 0) { /* as root, a directory another user owns */
        char other[300];
        snprintf(other, sizeof(other), "%s/other", dir);
        assert_int_equal(mkdir(other, 0700), 0);
        assert_int_equal(chown(other, 65534, 65534), 0);
        assert_int_equal(st_private_dir_open(other, err, sizeof(err)), -EPERM);
        assert_non_null(strstr(err, "belongs to another user"));
    } else {
        printf("# not root: the other-owner case is skipped\n");
    }
}

static void test_files(void **state)
{
    char err[600], victim[300], name[300], *text;
    size_t len;
    int dfd = st_private_dir_open(dir, err, sizeof(err));
    assert_true(dfd >= 0);
    assert_int_equal(st_private_write(dfd, "tok.json", "{\"t\":1}", 7), 0);
    struct stat st;
    assert_int_equal(fstatat(dfd, "tok.json", &st, 0), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st_private_read(dfd, "tok.json", &text, &len), 0);
    assert_string_equal(text, "{\"t\":1}");
    free(text);

    /* a file others can read is not trusted */
    fchmodat(dfd, "tok.json", 0644, 0);
    assert_int_equal(st_private_read(dfd, "tok.json", &text, &len), -EPERM);

    /* links planted at the name or at the temporary name: never followed, never written through */
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    free(st_test_write(dir, "victim", "precious"));
    unlinkat(dfd, "tok.json", 0);
    assert_int_equal(symlinkat(victim, dfd, "tok.json"), 0);
    assert_int_equal(st_private_read(dfd, "tok.json", &text, &len), -ELOOP);
    assert_int_equal(symlinkat(victim, dfd, ".tok.json.tmp"), 0);
    assert_int_equal(st_private_write(dfd, "tok.json", "new", 3), 0);
    assert_int_equal(st_file_read(victim, &text, NULL), 0);
    assert_string_equal(text, "precious");
    free(text);
    assert_int_equal(fstatat(dfd, "tok.json", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISREG(st.st_mode)); /* the link was replaced by the file, not followed */
    snprintf(name, sizeof(name), "%s/tok.json", dir);
    assert_int_equal(st_file_read(name, &text, NULL), 0);
    assert_string_equal(text, "new");
    free(text);
    close(dfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_dir),
        cmocka_unit_test_setup_teardown(test_dir_made_and_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
