/* libFuzzer target: arbitrary bytes as a recording file, read through to the end (index or
 * scan, every chunk's checksums, decompression and items). None may crash, loop or read
 * outside the bytes; a corrupt chunk is reported and skipped.
 * Mutated bytes seldom get past a chunk's header CRC and its payload's zstd checksum, so an
 * input whose first byte is '!' is taken as one chunk's payload instead: the harness wraps the
 * rest in a sound file (header, dictionary of two codes, zstd frame with its checksum) and the
 * item decoders — a format 4 payload's columns — get the bytes as they are; with '#', in a file
 * of format 3 (the columns it had). */
#include "../crc32_ieee.h"
#include "record/recfile.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void corrupt(void *ctx, uint64_t offset, const char *why)
{
    (void)ctx, (void)offset, (void)why;
}

static void read_all(const uint8_t *data, size_t size)
{
    char err[256];
    st_rec_reader_t *r = st_rec_open_mem(data, size, err, sizeof(err));
    if (!r) return;
    st_rec_set_corrupt_cb(r, corrupt, NULL);
    size_t n;
    const st_rec_chunk_t *ch = st_rec_chunks(r, &n);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < ch[i].nsyms && k < 4; k++) (void)st_rec_chunk_code(r, i, k);
    st_rec_item_t it;
    while (st_rec_next(r, &it) == 1) (void)it;
    if (n) {
        st_rec_seek(r, ch[n / 2].first);
        while (st_rec_next(r, &it) == 1) (void)it;
    }
    st_rec_free(r);
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* little-endian hosts, as the reader */
}

/* The payload in a file of format `version`: its item count from the payload's tag column
 * when it states one (else its length), a header the reader accepts. */
static void read_payload(const uint8_t *raw, size_t rawlen, uint8_t version)
{
    static const uint8_t dict[] = {2, 0, 6, '0', '0', '5', '9', '3', '0', 6, '0', '0', '0', '6', '6', '0'};
    size_t bound = ZSTD_compressBound(rawlen), hl = 42 + sizeof(dict) - 2 + 4;
    uint8_t *file = malloc(32 + hl + bound);
    ZSTD_CCtx *z = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);
    size_t clen = ZSTD_compress2(z, file + 32 + hl, bound, raw, rawlen);
    ZSTD_freeCCtx(z);
    if (ZSTD_isError(clen)) {
        free(file);
        return;
    }
    uint32_t count = (uint32_t)rawlen;
    if (rawlen >= 4) memcpy(&count, raw, 4); /* the tags column's length: one an item */
    memset(file, 0, 32);
    memcpy(file, "STRATARC", 8);
    file[8] = version, file[10] = 32;
    uint8_t *h = file + 32;
    put32(h, 0x4B435253u), put32(h + 4, (uint32_t)hl), put32(h + 8, (uint32_t)clen), put32(h + 12, (uint32_t)rawlen);
    put32(h + 16, count), put32(h + 20, 0);
    memset(h + 24, 0, 16); /* first and last item times */
    memcpy(h + 40, dict, sizeof(dict));
    put32(h + hl - 4, crc32_ieee(h, hl - 4));
    read_all(file, 32 + hl + clen);
    free(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size && data[0] == '!') read_payload(data + 1, size - 1, ST_REC_VERSION);
    else if (size && data[0] == '#') read_payload(data + 1, size - 1, 3);
    else read_all(data, size);
    return 0;
}
