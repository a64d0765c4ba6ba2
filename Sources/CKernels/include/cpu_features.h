#ifndef NIGHTCAP_CPU_FEATURES_H
#define NIGHTCAP_CPU_FEATURES_H
/* What the CPU and the operating system support, from CPUID and XCR0: the one probe of the
 * project's C and Swift code. The AVX2 kernels (kernels.h), SHA-256 on the SHA extensions
 * (sha256_blocks.h), and the choice of OpenBLAS kernels (Captioner's `OpenBLASCores`, through
 * `nightcap_cpu_vector_tier`) all ask it. On other architectures every feature is absent. */

enum {
    /* AVX, with the XMM and YMM state saved by the OS (OSXSAVE and XCR0 bits 1-2). */
    NIGHTCAP_CPU_AVX = 1,
    /* AVX2, on top of AVX. */
    NIGHTCAP_CPU_AVX2 = 2,
    /* AVX-512VL with the opmask and ZMM state saved by the OS (XCR0 bits 5-7), on top of AVX2. */
    NIGHTCAP_CPU_AVX512VL = 4,
    /* The SHA extensions with SSSE3 and SSE4.1, which their code needs. */
    NIGHTCAP_CPU_SHA = 8,
};

#if defined(__x86_64__)
#include <cpuid.h>

/* The features above that this machine has, as a bit set. */
static inline unsigned nightcap_cpu_features(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    unsigned features = 0;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, sse41 = (c >> 19) & 1, ssse3 = (c >> 9) & 1;
    unsigned xcr0 = 0;
    if (osxsave) {
        unsigned hi;
        __asm__ volatile("xgetbv" : "=a"(xcr0), "=d"(hi) : "c"(0));
    }
    if (osxsave && avx && (xcr0 & 6) == 6) features |= NIGHTCAP_CPU_AVX;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return features;
    if ((features & NIGHTCAP_CPU_AVX) && ((b >> 5) & 1)) features |= NIGHTCAP_CPU_AVX2;
    if ((features & NIGHTCAP_CPU_AVX2) && ((b >> 31) & 1) && (xcr0 & 0xe0) == 0xe0) features |= NIGHTCAP_CPU_AVX512VL;
    if (sse41 && ssse3 && ((b >> 29) & 1)) features |= NIGHTCAP_CPU_SHA;
    return features;
}
#else
static inline unsigned nightcap_cpu_features(void) { return 0; }
#endif

/* The widest vector set, as OpenBLAS 0.3.22 and later test it for a CPU they do not recognise
 * (driver/others/dynamic.c: support_avx512, support_avx2, support_avx): 3 AVX-512 (VL), 2 AVX2,
 * 1 AVX, 0 none of them. */
static inline int nightcap_cpu_vector_tier(void) {
    unsigned features = nightcap_cpu_features();
    if (features & NIGHTCAP_CPU_AVX512VL) return 3;
    if (features & NIGHTCAP_CPU_AVX2) return 2;
    if (features & NIGHTCAP_CPU_AVX) return 1;
    return 0;
}

#endif
