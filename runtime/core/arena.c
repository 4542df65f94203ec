#include "arena.h"

#include <stdlib.h>
#include <string.h>

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} chunk_t;

struct st_arena {
    chunk_t *head;
    size_t chunk_size;
};

static chunk_t *chunk_new(size_t size)
{
    chunk_t *c = st_xmalloc(sizeof(*c) + size);
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

st_arena_t *st_arena_create(size_t chunk_size)
{
    st_arena_t *a = st_xcalloc(1, sizeof(*a));
    a->chunk_size = chunk_size ? chunk_size : 16384;
    return a;
}

void st_arena_destroy(st_arena_t *a)
{
    if (!a) return;
    for (chunk_t *c = a->head; c;) {
        chunk_t *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void *st_arena_alloc(st_arena_t *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    chunk_t *c = a->head;
    if (!c || c->size - c->used < n) {
        if (n > a->chunk_size / 4) {
            /* A large block gets a chunk of its own behind the current one. */
            chunk_t *big = chunk_new(n);
            big->used = n;
            if (c) {
                big->next = c->next;
                c->next = big;
            } else {
                a->head = big;
            }
            return memset(big->data, 0, n);
        }
        c = chunk_new(a->chunk_size);
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return memset(p, 0, n);
}

char *st_arena_strndup(st_arena_t *a, const char *s, size_t n)
{
    char *p = st_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *st_arena_strdup(st_arena_t *a, const char *s)
{
    return st_arena_strndup(a, s, strlen(s));
}
