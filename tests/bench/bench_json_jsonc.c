/* json-c for bench_json (its own file: json-c and jansson share names). */
#include <json-c/json.h>
#include <stddef.h>

double bench_with_jsonc(const char *m, size_t len, const char *a, const char *b, const char *c);

double bench_with_jsonc(const char *m, size_t len, const char *a, const char *b, const char *c)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *j = json_tokener_parse_ex(tok, m, (int)len), *x;
    double v = 0;
    if (json_object_object_get_ex(j, a, &x)) v += json_object_get_double(x);
    if (json_object_object_get_ex(j, b, &x)) v += json_object_get_double(x);
    if (json_object_object_get_ex(j, c, &x)) v += json_object_get_double(x);
    json_object_put(j);
    json_tokener_free(tok);
    return v;
}
