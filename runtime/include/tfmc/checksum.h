/*===- checksum.h - weights.bin checksum shared by compiler and runtime ----===*
 *
 * Part of tfmc. A 64-bit hash over 8-byte words (FNV-1a style mixing with a
 * final avalanche), fast enough to verify hundreds of megabytes at load time.
 * Header-only, C and C++.
 *
 *===----------------------------------------------------------------------===*/

#ifndef TFMC_CHECKSUM_H
#define TFMC_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t tfmc_checksum(const void *data, size_t size) {
  const unsigned char *p = (const unsigned char *)data;
  uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)size;
  size_t words = size / 8;
  for (size_t i = 0; i < words; ++i) {
    uint64_t w;
    memcpy(&w, p + 8 * i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (size_t i = words * 8; i < size; ++i)
    h = (h ^ p[i]) * 0x100000001b3ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

#endif /* TFMC_CHECKSUM_H */
