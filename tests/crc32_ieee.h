/* CRC-32 (IEEE 802.3, zlib's), bit by bit: what a test or a fuzz harness needs to write a
 * recording's chunk header the reader accepts (runtime/record/recfile.c has the fast one). */
#ifndef ST_TEST_CRC32_IEEE_H
#define ST_TEST_CRC32_IEEE_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

#endif
