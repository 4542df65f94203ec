/* libFuzzer target: arbitrary bytes as a recording file, read through to the end (index or
 * scan, every chunk's checksums, decompression and items). None may crash, loop or read
 * outside the bytes; a corrupt chunk is reported and skipped. */
#include "record/recfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void corrupt(void *ctx, uint64_t offset, const char *why)
{
    (void)ctx, (void)offset, (void)why;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    st_rec_reader_t *r = st_rec_open_mem(data, size, err, sizeof(err));
    if (!r) return 0;
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
    return 0;
}
