/* jansson for bench_json (its own file: json-c and jansson share names). */
#include <jansson.h>

double bench_with_jansson(const char *m, size_t len, const char *a, const char *b, const char *c);

double bench_with_jansson(const char *m, size_t len, const char *a, const char *b, const char *c)
{
    json_t *j = json_loadb(m, len, 0, NULL);
    double v = json_number_value(json_object_get(j, a)) + json_number_value(json_object_get(j, b)) +
               json_number_value(json_object_get(j, c));
    json_decref(j);
    return v;
}
