#ifndef NIGHTCAP_KERNELS_H
#define NIGHTCAP_KERNELS_H
/* AVX2 versions of the decoder's element-wise loops (Captioner's `Kernels`), bit for bit equal to them.
 *
 * The package compiles for baseline x86-64 (4-wide SSE), and SwiftPM offers no per-function target
 * attribute; these static inline functions carry `target("avx2")`, are compiled by the Clang importer
 * into the module that calls them, and are called only after `nightcap_cpu_has_avx2()` said yes.
 * They do the same arithmetic as the Swift loops in the same order: the same approximations
 * (Eigen's 13/6 rational tanh, Cephes' exp), no contraction into fused multiply-adds (FMA rounds
 * once where the Swift code rounds twice, and that flipped a near-tie in a beam search of the
 * benchmark's random model), and reductions with the same 8 lanes summed in the same order. Only
 * the width changes: 8 floats per instruction instead of 4. KernelTests checks the equality.
 * Nothing here is public API: `Captioner` is the only caller.
 *
 * Everything below exists on x86-64 only, and the Swift side calls it only under
 * `#if arch(x86_64)`; other architectures (arm64) run the portable Swift loops. */
#pragma clang fp contract(off)
#include <stddef.h>
#include <string.h>

#include "cpu_features.h"

/* 1 when the CPU and the OS support AVX2, else 0 (always 0 on other architectures). */
static inline int nightcap_cpu_has_avx2(void) { return (nightcap_cpu_features() & NIGHTCAP_CPU_AVX2) != 0; }

#if defined(__x86_64__)

typedef float nightcap_v8 __attribute__((vector_size(32)));
typedef int nightcap_i8 __attribute__((vector_size(32)));
typedef float nightcap_v8u __attribute__((vector_size(32), aligned(4)));

#define NIGHTCAP_AVX2 __attribute__((target("avx2"), always_inline)) static inline
#define NIGHTCAP_AVX2_ENTRY __attribute__((target("avx2"))) static inline

NIGHTCAP_AVX2 nightcap_v8 nightcap_load(const float *p) { return *(const nightcap_v8u *)p; }
NIGHTCAP_AVX2 void nightcap_store(float *p, nightcap_v8 v) { *(nightcap_v8u *)p = v; }
NIGHTCAP_AVX2 nightcap_v8 nightcap_splat(float x) { return (nightcap_v8){x, x, x, x, x, x, x, x}; }
/* a * b + c, rounded twice as Swift computes it (contraction is off in this file). */
NIGHTCAP_AVX2 nightcap_v8 nightcap_madd(nightcap_v8 a, nightcap_v8 b, nightcap_v8 c) { return a * b + c; }
NIGHTCAP_AVX2 nightcap_v8 nightcap_min(nightcap_v8 a, nightcap_v8 b) { return __builtin_elementwise_min(a, b); }
NIGHTCAP_AVX2 nightcap_v8 nightcap_max(nightcap_v8 a, nightcap_v8 b) { return __builtin_elementwise_max(a, b); }
/* The lanes summed in order from -0, as Swift's `SIMD8.sum()`. */
NIGHTCAP_AVX2 float nightcap_sum8(nightcap_v8 v) {
    float total = -0.0f;
    for (int i = 0; i < 8; i++) total += v[i];
    return total;
}

/* Eigen's generic_fast_tanh_float, as `Kernels.tanh`. */
NIGHTCAP_AVX2 nightcap_v8 nightcap_tanh8(nightcap_v8 input) {
    nightcap_v8 x = nightcap_max(nightcap_min(input, nightcap_splat(9)), nightcap_splat(-9));
    nightcap_v8 x2 = x * x;
    nightcap_v8 p = nightcap_madd(x2, nightcap_splat(-2.76076847742355e-16f), nightcap_splat(2.00018790482477e-13f));
    p = nightcap_madd(x2, p, nightcap_splat(-8.60467152213735e-11f));
    p = nightcap_madd(x2, p, nightcap_splat(5.12229709037114e-08f));
    p = nightcap_madd(x2, p, nightcap_splat(1.48572235717979e-05f));
    p = nightcap_madd(x2, p, nightcap_splat(6.37261928875436e-04f));
    p = nightcap_madd(x2, p, nightcap_splat(4.89352455891786e-03f));
    p = x * p;
    nightcap_v8 q = nightcap_madd(x2, nightcap_splat(1.19825839466702e-06f), nightcap_splat(1.18534705686654e-04f));
    q = nightcap_madd(x2, q, nightcap_splat(2.26843463243900e-03f));
    q = nightcap_madd(x2, q, nightcap_splat(4.89352518554385e-03f));
    nightcap_v8 r = p / q;
    return nightcap_max(nightcap_min(r, nightcap_splat(1)), nightcap_splat(-1));
}

/* Cephes' expf, as `Kernels.exp`. */
NIGHTCAP_AVX2 nightcap_v8 nightcap_exp8(nightcap_v8 input) {
    nightcap_v8 x = nightcap_max(nightcap_min(input, nightcap_splat(88)), nightcap_splat(-87.33654f));
    nightcap_v8 shifted = x * 1.44269504f + 12582912.0f;
    nightcap_v8 n = shifted - 12582912.0f;
    x = x - n * 0.693359375f;
    x = x + n * 2.12194440e-4f;
    nightcap_v8 y = nightcap_madd(nightcap_splat(1.9875691500e-4f), x, nightcap_splat(1.3981999507e-3f));
    y = nightcap_madd(y, x, nightcap_splat(8.3334519073e-3f));
    y = nightcap_madd(y, x, nightcap_splat(4.1665795894e-2f));
    y = nightcap_madd(y, x, nightcap_splat(1.6666665459e-1f));
    y = nightcap_madd(y, x, nightcap_splat(5.0000001201e-1f));
    y = y * (x * x) + x + 1.0f;
    nightcap_i8 bits;
    memcpy(&bits, &shifted, sizeof bits);
    bits = (bits - 0x4B400000 + 127) << 23;
    nightcap_v8 scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

/* scores[i] = sum_a w[a] * tanh(projected[i * A + a] + text[a]) + bias for i < regions, as
 * `Kernels.activate` then `Kernels.dot`: 8 lanes over a, their sum in order, then the tail. */
NIGHTCAP_AVX2_ENTRY void nightcap_attention_scores_avx2(
    const float *projected, const float *text, const float *w, float bias, long A, long regions, float *scores) {
    for (long i = 0; i < regions; i++) {
        const float *p = projected + i * A;
        nightcap_v8 lanes = nightcap_splat(0);
        long a = 0;
        for (; a + 8 <= A; a += 8)
            lanes = lanes + nightcap_load(w + a) * nightcap_tanh8(nightcap_load(p + a) + nightcap_load(text + a));
        float total = nightcap_sum8(lanes);
        if (a < A) {
            float pt[8] = {0}, tt[8] = {0};
            for (long k = 0; a + k < A; k++) { pt[k] = p[a + k]; tt[k] = text[a + k]; }
            nightcap_v8 act = nightcap_tanh8(nightcap_load(pt) + nightcap_load(tt));
            for (long k = 0; a + k < A; k++) total += w[a + k] * act[k];
        }
        scores[i] = total + bias;
    }
}

/* For a row of `count` logits: adds `bias`, stores the maximum in *top and returns
 * sum(exp(x - top)); the row keeps x = logit + bias. */
NIGHTCAP_AVX2_ENTRY float nightcap_bias_max_expsum_avx2(float *row, const float *bias, long count, float *top) {
    long full = count & ~7L;
    nightcap_v8 m = nightcap_splat(-__builtin_inff());
    for (long v = 0; v < full; v += 8) {
        nightcap_v8 x = nightcap_load(row + v) + nightcap_load(bias + v);
        nightcap_store(row + v, x);
        m = nightcap_max(m, x);
    }
    float t = -__builtin_inff();
    for (int i = 0; i < 8; i++) t = m[i] > t ? m[i] : t;
    for (long v = full; v < count; v++) {
        row[v] += bias[v];
        t = row[v] > t ? row[v] : t;
    }
    nightcap_v8 lanes = nightcap_splat(0);
    nightcap_v8 tv = nightcap_splat(t);
    for (long v = 0; v < full; v += 8) lanes = lanes + nightcap_exp8(nightcap_load(row + v) - tv);
    float total = nightcap_sum8(lanes);
    if (count > full) {
        float x[8] = {0};
        for (long k = 0; full + k < count; k++) x[k] = row[full + k];
        nightcap_v8 e = nightcap_exp8(nightcap_load(x) - tv);
        for (long k = 0; full + k < count; k++) total += e[k];
    }
    *top = t;
    return total;
}

/* row[v] = (row[v] - top) - logSum. */
NIGHTCAP_AVX2_ENTRY void nightcap_shift_avx2(float *row, float top, float logSum, long count) {
    nightcap_v8 t = nightcap_splat(top), l = nightcap_splat(logSum);
    long v = 0;
    for (; v + 8 <= count; v += 8) nightcap_store(row + v, (nightcap_load(row + v) - t) - l);
    for (; v < count; v++) row[v] = (row[v] - top) - logSum;
}

/* z[r * D + d] = sum_i alpha[r * alphaStride + i] * v[i * D + d] for r < rows, summed over i in
 * order from +0 for every element, as `Kernels.weightedSum`. Regions are the outer loop, so each
 * region's features stream in order (the image's 36 x 8 KB are not in any cache: every step
 * reads them again); columns go in chunks that keep four rows of partial sums in L1. */
NIGHTCAP_AVX2_ENTRY void nightcap_weighted_sum_avx2(
    long rows, const float *alpha, long alphaStride, const float *v, long count, long D, float *z) {
    enum { chunk = 1024 };
    long full = D & ~7L;
    for (long first = 0; first < rows; first += 4) {
        long block = rows - first < 4 ? rows - first : 4;
        const float *a = alpha + first * alphaStride;
        float *out = z + first * D;
        for (long start = 0; start < full; start += chunk) {
            long end = start + chunk < full ? start + chunk : full;
            for (long r = 0; r < block; r++)
                for (long d = start; d < end; d += 8) nightcap_store(out + r * D + d, nightcap_splat(0));
            for (long i = 0; i < count; i++) {
                const float *x = v + i * D;
                if (block == 1) {
                    nightcap_v8 a0 = nightcap_splat(a[i]);
                    for (long d = start; d < end; d += 8)
                        nightcap_store(out + d, nightcap_madd(a0, nightcap_load(x + d), nightcap_load(out + d)));
                } else if (block == 3) {
                    nightcap_v8 a0 = nightcap_splat(a[i]), a1 = nightcap_splat(a[alphaStride + i]);
                    nightcap_v8 a2 = nightcap_splat(a[2 * alphaStride + i]);
                    for (long d = start; d < end; d += 8) {
                        nightcap_v8 xv = nightcap_load(x + d);
                        nightcap_store(out + d, nightcap_madd(a0, xv, nightcap_load(out + d)));
                        nightcap_store(out + D + d, nightcap_madd(a1, xv, nightcap_load(out + D + d)));
                        nightcap_store(out + 2 * D + d, nightcap_madd(a2, xv, nightcap_load(out + 2 * D + d)));
                    }
                } else {
                    for (long r = 0; r < block; r++) {
                        nightcap_v8 ar = nightcap_splat(a[r * alphaStride + i]);
                        float *o = out + r * D;
                        for (long d = start; d < end; d += 8)
                            nightcap_store(o + d, nightcap_madd(ar, nightcap_load(x + d), nightcap_load(o + d)));
                    }
                }
            }
        }
        for (long d = full; d < D; d++) {
            for (long r = 0; r < block; r++) {
                float total = 0;
                for (long i = 0; i < count; i++) total += a[r * alphaStride + i] * v[i * D + d];
                out[r * D + d] = total;
            }
        }
    }
}

/* sigmoid(x) = 1 / (1 + e^-x), as `Kernels.sigmoid`. */
NIGHTCAP_AVX2 nightcap_v8 nightcap_sigmoid8(nightcap_v8 x) { return 1.0f / (1.0f + nightcap_exp8(-x)); }

/* z[d] *= sigmoid(gate[d] + bias[d]), as `Kernels.applyGate`. */
NIGHTCAP_AVX2_ENTRY void nightcap_apply_gate_avx2(float *z, const float *gate, const float *bias, long count) {
    long d = 0;
    for (; d + 8 <= count; d += 8)
        nightcap_store(z + d, nightcap_load(z + d) * nightcap_sigmoid8(nightcap_load(gate + d) + nightcap_load(bias + d)));
    if (d < count) {
        float zt[8] = {0}, gt[8] = {0}, bt[8] = {0};
        for (long k = 0; d + k < count; k++) { zt[k] = z[d + k]; gt[k] = gate[d + k]; bt[k] = bias[d + k]; }
        nightcap_v8 r = nightcap_load(zt) * nightcap_sigmoid8(nightcap_load(gt) + nightcap_load(bt));
        for (long k = 0; d + k < count; k++) z[d + k] = r[k];
    }
}

/* The LSTM cell (gate order i, f, g, o) for one row, as `Kernels.lstmCell`. */
NIGHTCAP_AVX2 void nightcap_lstm8(
    const float *gates, const float *wordGates, const float *c, float *newC, float *newH, long H, long j, long n) {
    nightcap_v8 pre[4], cv;
    if (n == 8) {
        for (int k = 0; k < 4; k++) pre[k] = nightcap_load(gates + k * H + j) + nightcap_load(wordGates + k * H + j);
        cv = nightcap_load(c + j);
    } else {
        float t[4][8] = {{0}}, u[4][8] = {{0}}, ct[8] = {0};
        for (long m = 0; m < n; m++) {
            for (int k = 0; k < 4; k++) { t[k][m] = gates[k * H + j + m]; u[k][m] = wordGates[k * H + j + m]; }
            ct[m] = c[j + m];
        }
        for (int k = 0; k < 4; k++) pre[k] = nightcap_load(t[k]) + nightcap_load(u[k]);
        cv = nightcap_load(ct);
    }
    nightcap_v8 i = nightcap_sigmoid8(pre[0]), f = nightcap_sigmoid8(pre[1]);
    nightcap_v8 g = nightcap_tanh8(pre[2]), o = nightcap_sigmoid8(pre[3]);
    nightcap_v8 c2 = f * cv + i * g;
    nightcap_v8 h = o * nightcap_tanh8(c2);
    if (n == 8) {
        nightcap_store(newC + j, c2);
        nightcap_store(newH + j, h);
    } else {
        for (long m = 0; m < n; m++) { newC[j + m] = c2[m]; newH[j + m] = h[m]; }
    }
}

NIGHTCAP_AVX2_ENTRY void nightcap_lstm_cell_avx2(
    const float *gates, const float *wordGates, const float *c, float *newC, float *newH, long H) {
    long j = 0;
    for (; j + 8 <= H; j += 8) nightcap_lstm8(gates, wordGates, c, newC, newH, H, j, 8);
    if (j < H) nightcap_lstm8(gates, wordGates, c, newC, newH, H, j, H - j);
}
#endif
#endif
