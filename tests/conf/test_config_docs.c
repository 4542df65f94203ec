/* docs/config.md must name every key the schema accepts, with its default: the reference
 * cannot silently fall behind the code. */
#include "../test.h"

#include "conf/config.h"
#include "core/res.h"

static char *docs;
static int missing;

static void walk(const st_schema_t *s, const char *prefix)
{
    for (size_t i = 0; i < s->nfields; i++) {
        const st_field_t *f = &s->fields[i];
        char path[256];
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", f->key);
        if (f->type == ST_T_STRUCT) {
            walk(f->sub, path);
            continue;
        }
        if (f->type == ST_T_LIST) {
            char item[260];
            snprintf(item, sizeof(item), "%s[]", path);
            walk(f->sub, item);
            continue;
        }
        char row[300];
        snprintf(row, sizeof(row), "| `%s` |", path);
        const char *at = strstr(docs, row);
        if (!at) {
            printf("# docs/config.md has no row for %s\n", path);
            missing++;
            continue;
        }
        if (f->def && *f->def) {
            char def[128];
            snprintf(def, sizeof(def), "`%s`", f->def);
            const char *eol = strchr(at, '\n');
            const char *d = strstr(at, def);
            if (!d || (eol && d > eol)) {
                printf("# docs/config.md: %s should show the default %s\n", path, def);
                missing++;
            }
        }
    }
}

static void test_every_key_documented(void **state)
{
    assert_int_equal(st_file_read(st_test_source_path("docs/config.md"), &docs, NULL), 0);
    walk(&st_config_schema, "");
    free(docs);
    assert_int_equal(missing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_key_documented)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
