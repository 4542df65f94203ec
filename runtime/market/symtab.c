#include "symtab.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

void st_symtab_init(st_symtab_t *t)
{
    memset(t, 0, sizeof(*t));
}

void st_symtab_free(st_symtab_t *t)
{
    free(t->codes);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static uint32_t *lookup(const st_symtab_t *t, const char *code, size_t len)
{
    uint32_t mask = t->nslots - 1;
    for (uint32_t i = hash(code, len) & mask;; i = (i + 1) & mask) {
        uint32_t v = t->slots[i];
        if (v == 0) return &t->slots[i];
        const char *c = t->codes[v - 1];
        if (strncmp(c, code, len) == 0 && c[len] == 0) return &t->slots[i];
    }
}

static void grow(st_symtab_t *t)
{
    uint32_t old_n = t->nslots;
    uint32_t *old = t->slots;
    t->nslots = old_n ? old_n * 2 : 256;
    t->slots = st_xcalloc(t->nslots, sizeof(uint32_t));
    for (uint32_t i = 0; i < old_n; i++) {
        if (!old[i]) continue;
        const char *c = t->codes[old[i] - 1];
        *lookup(t, c, strlen(c)) = old[i];
    }
    free(old);
}

st_sym_t st_symtab_find(const st_symtab_t *t, const char *code, size_t len)
{
    if (!t->nslots || len == 0 || len >= ST_CODE_MAX) return ST_SYM_NONE;
    uint32_t v = *lookup(t, code, len);
    return v ? v - 1 : ST_SYM_NONE;
}

st_sym_t st_symtab_intern(st_symtab_t *t, const char *code, size_t len)
{
    if (len == 0 || len >= ST_CODE_MAX) return ST_SYM_NONE;
    if ((t->n + 1) * 2 > t->nslots) grow(t);
    uint32_t *slot = lookup(t, code, len);
    if (*slot) return *slot - 1;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->codes = st_xrealloc(t->codes, t->cap * sizeof(*t->codes));
    }
    memcpy(t->codes[t->n], code, len);
    t->codes[t->n][len] = 0;
    *slot = ++t->n;
    return t->n - 1;
}
