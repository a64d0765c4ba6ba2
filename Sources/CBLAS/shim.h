#ifndef NIGHTCAP_CBLAS_SHIM_H
#define NIGHTCAP_CBLAS_SHIM_H
#include <cblas.h>
#include <stdlib.h>
#include <strings.h>

/* OpenBLAS built with DYNAMIC_ARCH (Debian's, and most distributions') chooses its kernels once,
 * when the library loads, from the CPU's model number or from OPENBLAS_CORETYPE. These two entry
 * points of its dispatcher are exported by such builds only, hence weak: in a single-target build
 * they are NULL and nightcap leaves the library alone. Swift side: Captioner's `OpenBLASCores`. */
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

/* 1 when this OpenBLAS can change its kernels after loading. */
static inline int nightcap_openblas_can_reselect(void) {
    return gotoblas_dynamic_init != NULL && gotoblas_dynamic_quit != NULL;
}

/* Makes OpenBLAS's dispatcher choose again, as if the library had been loaded with
 * OPENBLAS_CORETYPE=core, then leaves the environment as it was. Must run before any BLAS call
 * that could overlap it (the dispatcher's table is read by every call). Returns the core in use. */
static inline const char *nightcap_openblas_reselect(const char *core) {
    if (!nightcap_openblas_can_reselect()) return openblas_get_corename();
    const char *before = getenv("OPENBLAS_CORETYPE");
    gotoblas_dynamic_quit();
    setenv("OPENBLAS_CORETYPE", core, 1);
    gotoblas_dynamic_init();
    if (before == NULL) unsetenv("OPENBLAS_CORETYPE");
    return openblas_get_corename();
}

/* The widest vector instruction set the CPU and the OS both support, by the tests OpenBLAS 0.3.22
 * and later use for a CPU they do not recognise (driver/others/dynamic.c: support_avx512,
 * support_avx2, support_avx): 3 AVX-512 (VL), 2 AVX2, 1 AVX, 0 none of them (or not x86-64). */
#if defined(__x86_64__)
#include <cpuid.h>
static inline int nightcap_cpu_vector_tier(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!((c >> 27) & 1) || !((c >> 28) & 1)) return 0; /* OSXSAVE, AVX */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0; /* XMM and YMM state saved by the OS */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 1;
    if (!((b >> 5) & 1)) return 1; /* AVX2 */
    if (!((b >> 31) & 1) || (lo & 0xe0) != 0xe0) return 2; /* AVX512VL, ZMM state */
    return 3;
}
#else
static inline int nightcap_cpu_vector_tier(void) { return 0; }
#endif

/* nightcap's choice (Captioner's `OpenBLASCores`, docs/design.md "Which OpenBLAS kernels"): the core to
 * use instead of the one the library chose, or NULL to keep it. Only when the library fell back to
 * `Prescott` by itself (the user did not set OPENBLAS_CORETYPE) and can choose again, on a CPU with
 * AVX or better: the names OpenBLAS 0.3.22's fallback picks (with AVX-512 BF16 it picks
 * `Cooperlake`, whose single-precision kernels are `SkylakeX`'s, and which 0.3.21 cannot be forced
 * to by name). */
static inline const char *nightcap_openblas_replacement(const char *chosen, int tier, int user_chose, int can_reselect) {
    if (!can_reselect || user_chose || strcasecmp(chosen, "Prescott") != 0) return NULL;
    switch (tier) {
    case 3: return "SkylakeX";
    case 2: return "Haswell";
    case 1: return "Sandybridge";
    default: return NULL;
    }
}

/* Makes nightcap's choice before the first product; returns the core in use. Also used by the
 * benchmarks' sgemm probes, so that they measure the kernels nightcap runs. */
static inline const char *nightcap_openblas_select(void) {
    const char *core = nightcap_openblas_replacement(
        openblas_get_corename(), nightcap_cpu_vector_tier(), getenv("OPENBLAS_CORETYPE") != NULL,
        nightcap_openblas_can_reselect());
    return core != NULL ? nightcap_openblas_reselect(core) : openblas_get_corename();
}

#endif
