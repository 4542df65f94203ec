/* Per-generation memory (nginx pools): everything a config generation builds is allocated
 * here and freed in one step. */
#ifndef ST_CORE_ARENA_H
#define ST_CORE_ARENA_H

#include "common.h"

typedef struct st_arena st_arena_t;

st_arena_t *st_arena_create(size_t chunk_size);
void st_arena_destroy(st_arena_t *a);
/* Zeroed, 16-byte aligned memory that lives as long as the arena. Never NULL. */
void *st_arena_alloc(st_arena_t *a, size_t n);
char *st_arena_strdup(st_arena_t *a, const char *s);
char *st_arena_strndup(st_arena_t *a, const char *s, size_t n);

#endif
