/* libFuzzer target: arbitrary bytes as a Redis stream entry's fields for the tick decoder
 * (feeds/redistick.c; the entries come from other programs): '\0'-separated name, value, name,
 * value… It must never crash or read outside a value; a tick it accepts must encode and decode
 * back to itself. */
#include "feeds/redistick.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *names[32], *values[32];
    size_t lens[32], n = 0;
    char *copies[64];
    size_t ncopies = 0;
    size_t i = 0;
    while (i < size && n < 32) {
        const uint8_t *z = memchr(data + i, 0, size - i);
        size_t nl = z ? (size_t)(z - (data + i)) : size - i;
        char *name = malloc(nl + 1); /* names are C strings */
        memcpy(name, data + i, nl);
        name[nl] = '\0';
        copies[ncopies++] = name;
        i += nl + 1;
        if (i > size) i = size;
        z = memchr(data + i, 0, size - i);
        size_t vl = z ? (size_t)(z - (data + i)) : size - i;
        char *value = malloc(vl ? vl : 1); /* an exact-size value: ASan flags a read past it */
        memcpy(value, data + i, vl);
        copies[ncopies++] = value;
        names[n] = name, values[n] = value, lens[n++] = vl;
        i += vl + 1;
    }
    st_tick_t t, back;
    char code[32], code2[32];
    const char *why = NULL;
    if (st_redistick_decode(n, names, values, lens, &t, code, sizeof(code), &why) == 0) {
        st_redistick_t e;
        st_redistick_encode(&t, code, &e);
        if (st_redistick_decode(e.n, e.name, e.value, e.len, &back, code2, sizeof(code2), &why) != 0) abort();
        if (strcmp(code, code2) != 0) abort();
    } else if (!why) {
        abort();
    }
    for (size_t k = 0; k < ncopies; k++) free(copies[k]);
    return 0;
}
