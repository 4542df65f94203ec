#include "schema.h"
#include "res.h"
#include "timefmt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

typedef struct {
    yaml_document_t *doc;
    const char *file; /* arena copy */
    st_arena_t *arena;
    st_diags_t *diags;
    int errors;
} dctx_t;

#define NODE_LINE(n) ((int)(n)->start_mark.line + 1)
#define NODE_COL(n)  ((int)(n)->start_mark.column + 1)

static void derr(dctx_t *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
    ST_PRINTF(4, 5);

static void derr(dctx_t *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    st_diags_add(c->diags, c->file, n ? NODE_LINE(n) : 0, n ? NODE_COL(n) : 0, "%s%s%s",
                 path && *path ? path : "", path && *path ? ": " : "", msg);
    c->errors++;
}

int st_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    default: return "a scalar";
    }
}

static bool is_null(const yaml_node_t *n)
{
    if (!n) return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *s = (const char *)n->data.scalar.value;
    return n->data.scalar.length == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

static void join_path(char *buf, size_t len, const char *base, const char *key)
{
    snprintf(buf, len, "%s%s%s", base && *base ? base : "", base && *base ? "." : "", key);
}

static const char *type_name(const st_field_t *f)
{
    switch (f->type) {
    case ST_T_INT: return "an integer";
    case ST_T_DOUBLE: return "a number";
    case ST_T_BOOL: return "true or false";
    case ST_T_STRING: return "a string";
    case ST_T_DURATION: return "a duration such as 100ms, 30s or 5m";
    case ST_T_TOD: return "a time of day such as 09:00";
    case ST_T_ENUM: return "one of the names listed in docs/config.md";
    case ST_T_STRUCT: return "a mapping";
    case ST_T_LIST: return "a list";
    case ST_T_WEIGHTS: return "a mapping of names to numbers";
    case ST_T_VALUE: return "a value";
    }
    return "?";
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, t[i]) == 0) return (*out = true), true;
        if (strcasecmp(s, f[i]) == 0) return (*out = false), true;
    }
    return false;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v)) return false;
    if (*end == '%' && end[1] == 0) {
        v /= 100.0;
        end++;
    }
    if (*end) return false;
    *out = v;
    return true;
}

static bool parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno) return false;
    *out = v;
    return true;
}

static void enum_list(const char *const *names, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; names[i] && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", names[i]);
}

static void range_text(const st_field_t *f, char *buf, size_t len)
{
    if (f->type == ST_T_DURATION) {
        char a[32], b[32];
        st_format_duration((st_dur_t)f->min, a, sizeof(a));
        st_format_duration((st_dur_t)f->max, b, sizeof(b));
        snprintf(buf, len, "%s .. %s", a, b);
    } else {
        snprintf(buf, len, "%g .. %g", f->min, f->max);
    }
}

/* Scalar text → field. n may be NULL for defaults (errors then are programmer errors). */
static void set_scalar(dctx_t *c, const st_field_t *f, const yaml_node_t *n, const char *s,
                       const char *path, void *dst)
{
    char *p = (char *)dst + f->offset;
    double num = 0;
    bool ranged = f->min < f->max;
    char rbuf[96];

    switch (f->type) {
    case ST_T_INT: {
        int64_t v;
        if (!parse_int(s, &v)) {
            derr(c, n, path, "expected %s, got \"%s\"", type_name(f), s);
            return;
        }
        num = (double)v;
        *(int64_t *)p = v;
        break;
    }
    case ST_T_DOUBLE:
        if (!parse_double(s, &num)) {
            derr(c, n, path, "expected %s, got \"%s\"", type_name(f), s);
            return;
        }
        *(double *)p = num;
        break;
    case ST_T_BOOL:
        if (!parse_bool(s, (bool *)p)) derr(c, n, path, "expected %s, got \"%s\"", type_name(f), s);
        return;
    case ST_T_STRING:
        *(char **)p = st_arena_strdup(c->arena, s);
        return;
    case ST_T_DURATION: {
        st_dur_t d;
        int rc = st_parse_duration(s, &d);
        if (rc) {
            derr(c, n, path, "expected %s, got \"%s\"", type_name(f), s);
            return;
        }
        num = (double)d;
        *(st_dur_t *)p = d;
        break;
    }
    case ST_T_TOD: {
        st_dur_t d;
        if (st_parse_tod(s, &d)) {
            derr(c, n, path, "expected %s (HH:MM or HH:MM:SS, 00:00 to 23:59:59), got \"%s\"",
                 type_name(f), s);
            return;
        }
        *(st_dur_t *)p = d;
        return;
    }
    case ST_T_ENUM:
        for (int i = 0; f->names[i]; i++) {
            if (strcmp(f->names[i], s) == 0) {
                *(int *)p = i;
                return;
            }
        }
        enum_list(f->names, rbuf, sizeof(rbuf));
        derr(c, n, path, "\"%s\" is not one of: %s", s, rbuf);
        return;
    default:
        st_require(!"not a scalar type");
    }
    if (ranged && (num < f->min || num > f->max)) {
        range_text(f, rbuf, sizeof(rbuf));
        derr(c, n, path, "%s is out of range (%s)", s, rbuf);
    }
}

static void decode_struct(dctx_t *c, const st_schema_t *sc, const yaml_node_t *map, const char *path,
                          const yaml_node_t *parent, void *dst);

static st_value_t decode_value(dctx_t *c, const yaml_node_t *n)
{
    st_value_t v = {.type = ST_V_NULL};
    if (is_null(n)) return v;
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = (const char *)n->data.scalar.value;
        bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (plain && parse_bool(s, &v.u.b)) {
            v.type = ST_V_BOOL;
        } else if (plain && parse_int(s, &v.u.i)) {
            v.type = ST_V_INT;
        } else if (plain && strchr(s, '%') == NULL && parse_double(s, &v.u.d)) {
            v.type = ST_V_DOUBLE;
        } else {
            v.type = ST_V_STRING;
            v.u.s = st_arena_strdup(c->arena, s);
        }
        return v;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        v.type = ST_V_LIST;
        v.u.c.n = cnt;
        v.u.c.items = st_arena_alloc(c->arena, cnt * sizeof(st_value_t));
        for (size_t i = 0; i < cnt; i++)
            v.u.c.items[i] = decode_value(c, yaml_document_get_node(c->doc, n->data.sequence.items.start[i]));
        return v;
    }
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    v.type = ST_V_MAP;
    v.u.c.n = cnt;
    v.u.c.items = st_arena_alloc(c->arena, cnt * sizeof(st_value_t));
    v.u.c.keys = st_arena_alloc(c->arena, cnt * sizeof(char *));
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_pair_t *pr = &n->data.mapping.pairs.start[i];
        yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
        v.u.c.keys[i] = st_arena_strdup(c->arena, k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?");
        v.u.c.items[i] = decode_value(c, yaml_document_get_node(c->doc, pr->value));
    }
    return v;
}

const st_value_t *st_value_get(const st_value_t *map, const char *key)
{
    if (!map || map->type != ST_V_MAP) return NULL;
    for (size_t i = 0; i < map->u.c.n; i++)
        if (strcmp(map->u.c.keys[i], key) == 0) return &map->u.c.items[i];
    return NULL;
}

static void decode_list(dctx_t *c, const st_schema_t *sub, const yaml_node_t *n, const char *path,
                        st_list_t *out)
{
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    out->n = cnt;
    out->items = st_arena_alloc(c->arena, cnt * sub->size);
    for (size_t i = 0; i < cnt; i++) {
        char ipath[256];
        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        yaml_node_t *item = yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);
        decode_struct(c, sub, item, ipath, n, (char *)out->items + i * sub->size);
    }
}

static void apply_default(dctx_t *c, const st_field_t *f, const char *path, void *dst);

static void decode_field(dctx_t *c, const st_field_t *f, const yaml_node_t *n, const char *path,
                         void *dst)
{
    char *p = (char *)dst + f->offset;
    switch (f->type) {
    case ST_T_STRUCT:
        decode_struct(c, f->sub, is_null(n) ? NULL : n, path, n, p);
        return;
    case ST_T_LIST:
        if (is_null(n)) return;
        if (n->type != YAML_SEQUENCE_NODE) {
            derr(c, n, path, "expected a list, got %s", node_kind(n));
            return;
        }
        decode_list(c, f->sub, n, path, (st_list_t *)p);
        return;
    case ST_T_WEIGHTS: {
        if (is_null(n)) return;
        if (n->type != YAML_MAPPING_NODE) {
            derr(c, n, path, "expected a mapping of names to numbers, got %s", node_kind(n));
            return;
        }
        st_weights_t *w = (st_weights_t *)p;
        size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
        w->items = st_arena_alloc(c->arena, cnt * sizeof(st_weight_t));
        for (size_t i = 0; i < cnt; i++) {
            yaml_node_pair_t *pr = &n->data.mapping.pairs.start[i];
            yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
            yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
            double d;
            if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE ||
                !parse_double((const char *)v->data.scalar.value, &d)) {
                derr(c, v, path, "expected a number for each name");
                continue;
            }
            if (d < 0) {
                derr(c, v, path, "weight %g must not be negative", d);
                continue;
            }
            w->items[w->n].key = st_arena_strdup(c->arena, (const char *)k->data.scalar.value);
            w->items[w->n++].v = d;
        }
        return;
    }
    case ST_T_VALUE: {
        st_value_t *v = st_arena_alloc(c->arena, sizeof(*v));
        *v = decode_value(c, n);
        *(st_value_t **)p = v;
        return;
    }
    default:
        break;
    }
    int before = c->errors;
    if (is_null(n) && f->type != ST_T_STRING)
        derr(c, n, path, "expected %s, got nothing", type_name(f));
    else if (n->type != YAML_SCALAR_NODE)
        derr(c, n, path, "expected %s, got %s", type_name(f), node_kind(n));
    else
        set_scalar(c, f, n, (const char *)n->data.scalar.value, path, dst);
    /* A rejected value falls back to the default, so checks that combine fields report
     * only the mistake itself, not its consequences. */
    if (c->errors > before) apply_default(c, f, path, dst);
}

static void apply_default(dctx_t *c, const st_field_t *f, const char *path, void *dst)
{
    char *p = (char *)dst + f->offset;
    if (f->type == ST_T_STRUCT) {
        decode_struct(c, f->sub, NULL, path, NULL, p);
        return;
    }
    if (f->type == ST_T_VALUE) {
        st_value_t *v = st_arena_alloc(c->arena, sizeof(*v));
        *(st_value_t **)p = v;
        return;
    }
    if (!f->def) {
        /* No default: strings are "" rather than NULL, so checks never meet a NULL (a
         * required string that is missing has already been reported). */
        if (f->type == ST_T_STRING) *(char **)p = (char *)"";
        return;
    }
    int before = c->errors;
    set_scalar(c, f, NULL, f->def, path, dst);
    st_require(c->errors == before); /* a default that fails its own field is a bug */
}

static void decode_struct(dctx_t *c, const st_schema_t *sc, const yaml_node_t *map, const char *path,
                          const yaml_node_t *parent, void *dst)
{
    const yaml_node_t *at = map ? map : parent;
    int errors_before = c->errors;
    st_mark_t *mark = (st_mark_t *)((char *)dst + sc->mark_offset);
    mark->file = c->file;
    mark->line = at ? NODE_LINE(at) : 0;
    mark->col = at ? NODE_COL(at) : 0;

    if (map && map->type != YAML_MAPPING_NODE) {
        derr(c, map, path, "expected a mapping (key: value), got %s", node_kind(map));
        map = NULL;
    }

    bool seen[64] = {false};
    st_require(sc->nfields <= ST_ARRAY_SIZE(seen));

    if (map) {
        for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
             pr++) {
            yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
            yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
            if (k->type != YAML_SCALAR_NODE) {
                derr(c, k, path, "keys must be plain names");
                continue;
            }
            const char *key = (const char *)k->data.scalar.value;
            size_t i;
            for (i = 0; i < sc->nfields; i++)
                if (strcmp(sc->fields[i].key, key) == 0) break;
            char fpath[256];
            join_path(fpath, sizeof(fpath), path, key);
            if (i == sc->nfields) {
                const char *best = NULL;
                int bestd = 3;
                for (size_t j = 0; j < sc->nfields; j++) {
                    int d = st_edit_distance(key, sc->fields[j].key);
                    if (d < bestd) bestd = d, best = sc->fields[j].key;
                }
                if (best)
                    derr(c, k, path, "unknown key \"%s\" (did you mean \"%s\"?)", key, best);
                else
                    derr(c, k, path, "unknown key \"%s\" in %s", key, sc->name);
                continue;
            }
            if (seen[i]) {
                derr(c, k, fpath, "duplicate key");
                continue;
            }
            seen[i] = true;
            decode_field(c, &sc->fields[i], v, fpath, dst);
        }
    }
    for (size_t i = 0; i < sc->nfields; i++) {
        if (seen[i]) continue;
        const st_field_t *f = &sc->fields[i];
        char fpath[256];
        join_path(fpath, sizeof(fpath), path, f->key);
        if (f->required && map)
            derr(c, map, path && *path ? path : NULL, "missing required key \"%s\"", f->key);
        apply_default(c, f, fpath, dst);
    }
    mark->bad = c->errors > errors_before;
}

/* --- bounds on the input: one pass over the events before the document is built ------------
 * A config is small; what is not gets a located error, in time linear in its size:
 * nesting deeper than MAX_DEPTH (the scanner's cost grows with the depth, so it stops there),
 * aliases that expand the document past MAX_NODES nodes (a "billion laughs" is a few hundred
 * bytes), and a second document after "---" (which would be ignored silently). */
#define MAX_DEPTH 64
#define MAX_NODES 100000

typedef struct {
    char *name;
    uint64_t size; /* nodes the anchored value expands to */
} anchor_t;

typedef struct {
    anchor_t *v;
    size_t cap, n; /* open addressing, cap a power of two */
} anchors_t;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static anchor_t *anchor_slot(anchors_t *a, const char *name)
{
    size_t i = (size_t)name_hash(name) & (a->cap - 1);
    while (a->v[i].name && strcmp(a->v[i].name, name) != 0) i = (i + 1) & (a->cap - 1);
    return &a->v[i];
}

static void anchor_set(anchors_t *a, const char *name, uint64_t size)
{
    if ((a->n + 1) * 2 > a->cap) {
        anchors_t b = {st_xcalloc(a->cap ? a->cap * 2 : 16, sizeof(anchor_t)), a->cap ? a->cap * 2 : 16, 0};
        for (size_t i = 0; i < a->cap; i++)
            if (a->v[i].name) *anchor_slot(&b, a->v[i].name) = a->v[i], b.n++;
        free(a->v);
        *a = b;
    }
    anchor_t *slot = anchor_slot(a, name);
    if (!slot->name) slot->name = st_xstrdup(name), a->n++;
    slot->size = size; /* an anchor defined again means its latest value */
}

static void anchors_free(anchors_t *a)
{
    for (size_t i = 0; i < a->cap; i++) free(a->v[i].name);
    free(a->v);
}

static int prescan(dctx_t *c, const char *text, size_t len)
{
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    struct {
        uint64_t size;
        char *anchor;
    } stack[MAX_DEPTH + 2];
    int depth = 0, docs = 0, rc = 0;
    uint64_t expanded = 0;
    anchors_t anchors = {0};
    for (bool done = false; !done && rc == 0;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) break; /* the loader reports syntax errors, located */
        int line = (int)e.start_mark.line + 1, col = (int)e.start_mark.column + 1;
        uint64_t add = 0;
        const char *anchor = NULL;
        switch (e.type) {
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                st_diags_add(c->diags, c->file, line, col,
                             "a second YAML document (after ---): a config is one document");
                rc = ST_ECONFIG;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (depth == MAX_DEPTH) {
                st_diags_add(c->diags, c->file, line, col, "YAML nested deeper than %d levels", MAX_DEPTH);
                rc = ST_ECONFIG;
                break;
            }
            anchor = (const char *)(e.type == YAML_SEQUENCE_START_EVENT ? e.data.sequence_start.anchor
                                                                       : e.data.mapping_start.anchor);
            stack[depth].size = 1;
            stack[depth++].anchor = anchor ? st_xstrdup(anchor) : NULL;
            expanded++;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth == 0) break;
            depth--;
            if (stack[depth].anchor) anchor_set(&anchors, stack[depth].anchor, stack[depth].size);
            free(stack[depth].anchor);
            if (depth) stack[depth - 1].size += stack[depth].size;
            break;
        case YAML_SCALAR_EVENT:
            add = 1;
            if (e.data.scalar.anchor) anchor_set(&anchors, (const char *)e.data.scalar.anchor, 1);
            break;
        case YAML_ALIAS_EVENT: {
            anchor_t *a = anchors.cap ? anchor_slot(&anchors, (const char *)e.data.alias.anchor) : NULL;
            add = a && a->name ? a->size : 1;
            break;
        }
        default: break;
        }
        if (add) {
            expanded += add;
            if (depth) stack[depth - 1].size += add;
        }
        if (rc == 0 && expanded > MAX_NODES) {
            st_diags_add(c->diags, c->file, line, col,
                         "aliases expand the YAML past %d nodes (a config is far smaller)", MAX_NODES);
            rc = ST_ECONFIG;
        }
        yaml_event_delete(&e);
    }
    while (depth > 0) free(stack[--depth].anchor);
    anchors_free(&anchors);
    yaml_parser_delete(&p);
    return rc;
}

static int load_doc(dctx_t *c, yaml_parser_t *parser, yaml_document_t *doc, const char *text,
                    size_t len)
{
    if (prescan(c, text, len)) return ST_ECONFIG;
    yaml_parser_initialize(parser);
    yaml_parser_set_input_string(parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(parser, doc)) {
        const yaml_mark_t *m = parser->problem_mark.line || parser->problem_mark.column
                                   ? &parser->problem_mark
                                   : &parser->context_mark;
        st_diags_add(c->diags, c->file, (int)m->line + 1, (int)m->column + 1, "YAML syntax: %s%s%s",
                     parser->problem ? parser->problem : "error",
                     parser->context ? " " : "", parser->context ? parser->context : "");
        yaml_parser_delete(parser);
        return ST_ECONFIG;
    }
    return 0;
}

int st_schema_decode(const st_schema_t *schema, const char *file, const char *text, size_t len,
                     void *dst, st_arena_t *arena, st_diags_t *diags)
{
    dctx_t c = {.file = st_arena_strdup(arena, file), .arena = arena, .diags = diags};
    yaml_parser_t parser;
    yaml_document_t doc;
    if (load_doc(&c, &parser, &doc, text, len)) return ST_EPARSE;
    c.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    decode_struct(&c, schema, is_null(root) ? NULL : root, "", NULL, dst);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return c.errors ? ST_ECONFIG : 0;
}

int st_schema_decode_list(const st_schema_t *sub, const char *file, const char *text, st_list_t *list,
                          st_arena_t *arena, st_diags_t *diags)
{
    dctx_t c = {.file = st_arena_strdup(arena, file), .arena = arena, .diags = diags};
    yaml_parser_t parser;
    yaml_document_t doc;
    if (load_doc(&c, &parser, &doc, text, strlen(text))) return ST_ECONFIG;
    c.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type == YAML_SEQUENCE_NODE) decode_list(&c, sub, root, "", list);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return c.errors ? ST_ECONFIG : 0;
}

bool st_schema_equal(const st_schema_t *sc, const void *a, const void *b)
{
    for (size_t i = 0; i < sc->nfields; i++) {
        const st_field_t *f = &sc->fields[i];
        const char *x = (const char *)a + f->offset, *y = (const char *)b + f->offset;
        switch (f->type) {
        case ST_T_INT:
        case ST_T_DURATION:
        case ST_T_TOD:
            if (*(const int64_t *)x != *(const int64_t *)y) return false;
            break;
        case ST_T_DOUBLE:
            if (*(const double *)x != *(const double *)y) return false;
            break;
        case ST_T_BOOL:
            if (*(const bool *)x != *(const bool *)y) return false;
            break;
        case ST_T_ENUM:
            if (*(const int *)x != *(const int *)y) return false;
            break;
        case ST_T_STRING:
            if (strcmp(*(char *const *)x, *(char *const *)y) != 0) return false;
            break;
        case ST_T_STRUCT:
            if (!st_schema_equal(f->sub, x, y)) return false;
            break;
        case ST_T_LIST: {
            const st_list_t *la = (const st_list_t *)x, *lb = (const st_list_t *)y;
            if (la->n != lb->n) return false;
            for (size_t k = 0; k < la->n; k++)
                if (!st_schema_equal(f->sub, (const char *)la->items + k * f->sub->size,
                                     (const char *)lb->items + k * f->sub->size))
                    return false;
            break;
        }
        case ST_T_WEIGHTS: {
            const st_weights_t *wa = (const st_weights_t *)x, *wb = (const st_weights_t *)y;
            if (wa->n != wb->n) return false;
            for (size_t k = 0; k < wa->n; k++)
                if (strcmp(wa->items[k].key, wb->items[k].key) || wa->items[k].v != wb->items[k].v) return false;
            break;
        }
        case ST_T_VALUE:
            break;
        }
    }
    return true;
}
