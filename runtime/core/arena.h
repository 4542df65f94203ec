/* Per-generation memory (nginx pools): everything a config generation builds is allocated
 * here and freed in one step; cleanups run in reverse order of registration. */
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
/* Runs fn(ctx) when the arena is destroyed. */
void st_arena_cleanup(st_arena_t *a, void (*fn)(void *), void *ctx);
size_t st_arena_used(const st_arena_t *a);

#endif
