/* A table-driven decoder from YAML (libyaml's document API) into typed C structs, in the
 * manner of nginx's ngx_command_t tables. Each struct has a field table; each field names
 * its key, type, offset, default (written as YAML text, so defaults pass the same parser
 * and range checks as user input), range and whether it is required. Every problem becomes a
 * located diagnostic (file:line:column) and decoding goes on, so one run reports them all. */
#ifndef ST_CORE_SCHEMA_H
#define ST_CORE_SCHEMA_H

#include "arena.h"
#include "err.h"

typedef struct {
    const char *file; /* owned by the arena of the decoded object */
    int line, col;    /* 1-based; 0 when the value came from a default */
    bool bad;         /* decoding this struct reported an error: checks that combine its
                       * fields skip it, so only the mistake itself is reported */
} st_mark_t;

typedef enum {
    ST_T_INT,      /* int64_t */
    ST_T_DOUBLE,   /* double; "30%" means 0.30 */
    ST_T_BOOL,     /* bool */
    ST_T_STRING,   /* char * */
    ST_T_DURATION, /* st_dur_t: "100ms", "30s", "5m" */
    ST_T_TOD,      /* st_dur_t since midnight: "09:00" */
    ST_T_ENUM,     /* int: index into names */
    ST_T_STRUCT,   /* nested struct described by sub */
    ST_T_LIST,     /* st_list_t of sub structs */
    ST_T_WEIGHTS,  /* st_weights_t: mapping of name → number */
    ST_T_VALUE     /* st_value_t *: any YAML, kept as a tree (strategy params) */
} st_ftype_t;

typedef struct st_schema st_schema_t;

typedef struct {
    const char *key;
    st_ftype_t type;
    size_t offset;
    const char *def; /* default as YAML scalar text, or NULL */
    bool required;
    double min, max; /* inclusive; checked when min < max. Durations in µs. */
    const char *const *names; /* ST_T_ENUM: NULL-terminated */
    const st_schema_t *sub;   /* ST_T_STRUCT, ST_T_LIST */
} st_field_t;

struct st_schema {
    const char *name;
    size_t size;
    const st_field_t *fields;
    size_t nfields;
    size_t mark_offset; /* offset of an st_mark_t member */
};

typedef struct {
    void *items;
    size_t n;
} st_list_t;

typedef struct {
    char *key;
    double v;
} st_weight_t;

typedef struct {
    st_weight_t *items;
    size_t n;
} st_weights_t;

typedef enum { ST_V_NULL, ST_V_BOOL, ST_V_INT, ST_V_DOUBLE, ST_V_STRING, ST_V_LIST, ST_V_MAP } st_vtype_t;

typedef struct st_value {
    st_vtype_t type;
    union {
        bool b;
        int64_t i;
        double d;
        char *s;
        struct {
            struct st_value *items;
            char **keys; /* ST_V_MAP only */
            size_t n;
        } c;
    } u;
} st_value_t;

#define ST_LIST_AT(list, type, i) (&((type *)(list).items)[i])

/* Decodes `text` (the content of `file`) into `dst` (schema->size bytes, zeroed by the
 * caller) with every allocation in `arena`. Returns 0; ST_ECONFIG with diagnostics added (dst
 * is complete: every field holds its value or default); or ST_EPARSE when the YAML itself is
 * malformed (dst untouched). */
int st_schema_decode(const st_schema_t *schema, const char *file, const char *text, size_t len,
                     void *dst, st_arena_t *arena, st_diags_t *diags);
/* Decodes a YAML sequence (for built-in default lists) into list with element schema `sub`. */
int st_schema_decode_list(const st_schema_t *sub, const char *file, const char *text, st_list_t *list,
                          st_arena_t *arena, st_diags_t *diags);

/* Whether two decoded structs of `schema` hold the same values (marks aside; nested structs and
 * lists compared field by field; ST_T_VALUE trees are not compared). */
bool st_schema_equal(const st_schema_t *schema, const void *a, const void *b);

/* Looks up a key in an ST_V_MAP value; NULL if absent or not a map. */
const st_value_t *st_value_get(const st_value_t *map, const char *key);

/* Edit distance, for "did you mean" suggestions. */
int st_edit_distance(const char *a, const char *b);

#endif
