#ifndef NIGHTCAP_SHA256_BLOCKS_H
#define NIGHTCAP_SHA256_BLOCKS_H
/* SHA-256's compression function on the CPU's SHA extensions (Intel SHA-NI, AMD since Zen), for the
 * run fingerprint's digest of model files of hundreds of MB (Pipeline's `SHA256`). The Swift loop
 * stays the reference and the fallback; SHA256Tests checks that both give the same digests. */
#include <stddef.h>
#include <stdint.h>

/* SHA-256's 64 round constants (FIPS 180-4, 4.2.2), for this file's code and the Swift loop. */
const uint32_t *nightcap_sha256_round_constants(void);

/* 1 when the CPU has the SHA extensions and SSE4.1 (CPUID), else 0 (and on other architectures). */
int nightcap_cpu_has_sha(void);

/* Compresses `blocks` 64-byte blocks of `data` into `state` (the eight words a, b, ..., h). Only
 * after nightcap_cpu_has_sha() said yes. */
void nightcap_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
