#ifndef NIGHTCAP_TRANSFORMER_KERNELS_H
#define NIGHTCAP_TRANSFORMER_KERNELS_H
/* AVX2 versions of the Transformer stepper's element-wise loops (Captioner's `TransformerKernels`),
 * bit for bit equal to the portable Swift loops there: the same operations in the same order, 8
 * lanes per instruction, no contraction into fused multiply-adds, reductions in the same 8 lanes
 * summed in the same order (kernels.h says why, and how these are compiled and guarded).
 * TransformerKernelTests checks the equality. x86-64 only; called only under `#if arch(x86_64)` after
 * `nightcap_cpu_has_avx2()` said yes. */
#pragma clang fp contract(off)
#include "kernels.h"

#if defined(__x86_64__)

/* sum_i x[i] in 8 lanes, the lanes summed in order, then the tail in order (`Kernels.sum`). */
NIGHTCAP_AVX2 float nightcap_lane_sum(const float *x, long count) {
    nightcap_v8 lanes = nightcap_splat(0);
    long i = 0;
    for (; i + 8 <= count; i += 8) lanes = lanes + nightcap_load(x + i);
    float total = nightcap_sum8(lanes);
    for (; i < count; i++) total += x[i];
    return total;
}

/* upstream's LayerNorm per row of `d`: out = gain * (x - mean) / (std + 1e-6) + bias, std unbiased;
 * the mean and the sum of squares as `nightcap_lane_sum` orders them. */
NIGHTCAP_AVX2_ENTRY void nightcap_layer_norm_avx2(
    const float *x, long rows, long d, const float *gain, const float *bias, float *out) {
    for (long r = 0; r < rows; r++) {
        const float *v = x + r * d;
        float *o = out + r * d;
        float mean = nightcap_lane_sum(v, d) / (float)d;
        nightcap_v8 m = nightcap_splat(mean);
        nightcap_v8 lanes = nightcap_splat(0);
        long i = 0;
        for (; i + 8 <= d; i += 8) {
            nightcap_v8 c = nightcap_load(v + i) - m;
            lanes = lanes + c * c;
        }
        float squares = nightcap_sum8(lanes);
        for (; i < d; i++) {
            float c = v[i] - mean;
            squares += c * c;
        }
        float denominator = __builtin_sqrtf(squares / (float)(d - 1)) + 1e-6f;
        nightcap_v8 den = nightcap_splat(denominator);
        for (i = 0; i + 8 <= d; i += 8)
            nightcap_store(o + i, nightcap_load(gain + i) * (nightcap_load(v + i) - m) / den + nightcap_load(bias + i));
        for (; i < d; i++) o[i] = gain[i] * (v[i] - mean) / denominator + bias[i];
    }
}

/* Scaled dot-product attention of one query row over `count` keys and values, every head: for head
 * h (columns h*dk ..< (h+1)*dk of the query, keys and values, whose rows are `stride` floats apart),
 * weights[h * count + j] = softmax_j(dot(q_h, k_jh) / scale), out[h*dk + i] = sum_j in order of
 * weights * v_jh[i] from 0. The dot product in 8 lanes as `Kernels.dot`; the softmax's maximum
 * subtracted first, its exponentials by `nightcap_exp8` (`Kernels.exp`), summed in order, each divided
 * by the sum.
 *
 * The loops are ordered for the memory, not for a different arithmetic: the keys and values of an
 * image's regions come from memory at every step (6 layers x 36 regions x 4 KB, beyond the caches
 * for a batch of images), so each key row and value row is read once, in order, all heads of it
 * together (eight heads' dot products advance side by side, each its own 8 lanes, summed in order
 * afterwards), and the weighted sum adds each value row into the output row, which stays in L1:
 * every output element is still 0 + w_0 v_0 + w_1 v_1 + ... in order. Head after head, a key's
 * 256 bytes every 4 KB defeated the prefetcher. */
NIGHTCAP_AVX2 void nightcap_dots(
    const float *q, const float *k, long n, long dk, float scale, float *scores, long scoreStride) {
    long full = dk & ~7L;
    if (n == 8) {  /* eight accumulators in registers */
        nightcap_v8 l0 = nightcap_splat(0), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0, l6 = l0, l7 = l0;
        for (long i = 0; i < full; i += 8) {
            l0 = l0 + nightcap_load(q + i) * nightcap_load(k + i);
            l1 = l1 + nightcap_load(q + dk + i) * nightcap_load(k + dk + i);
            l2 = l2 + nightcap_load(q + 2 * dk + i) * nightcap_load(k + 2 * dk + i);
            l3 = l3 + nightcap_load(q + 3 * dk + i) * nightcap_load(k + 3 * dk + i);
            l4 = l4 + nightcap_load(q + 4 * dk + i) * nightcap_load(k + 4 * dk + i);
            l5 = l5 + nightcap_load(q + 5 * dk + i) * nightcap_load(k + 5 * dk + i);
            l6 = l6 + nightcap_load(q + 6 * dk + i) * nightcap_load(k + 6 * dk + i);
            l7 = l7 + nightcap_load(q + 7 * dk + i) * nightcap_load(k + 7 * dk + i);
        }
        nightcap_v8 lanes[8] = {l0, l1, l2, l3, l4, l5, l6, l7};
        for (long h = 0; h < 8; h++) {
            float s = nightcap_sum8(lanes[h]);
            for (long i = full; i < dk; i++) s += q[h * dk + i] * k[h * dk + i];
            scores[h * scoreStride] = s / scale;
        }
        return;
    }
    for (long h = 0; h < n; h++) {
        nightcap_v8 lanes = nightcap_splat(0);
        for (long i = 0; i < full; i += 8) lanes = lanes + nightcap_load(q + h * dk + i) * nightcap_load(k + h * dk + i);
        float s = nightcap_sum8(lanes);
        for (long i = full; i < dk; i++) s += q[h * dk + i] * k[h * dk + i];
        scores[h * scoreStride] = s / scale;
    }
}

/* Row j of the keys and of the values starts `offsets[j]` floats from `keys` and `values` when
 * `offsets` is given (a hypothesis's cached prefix, each position in the row of the hypothesis that
 * wrote it), else `j * stride`. */
NIGHTCAP_AVX2 long nightcap_row(const long *offsets, long stride, long j) { return offsets ? offsets[j] : j * stride; }

NIGHTCAP_AVX2_ENTRY void nightcap_multihead_attention_avx2(
    const float *query, const float *keys, const float *values, long stride, const long *offsets, long count, long heads,
    long dk, float scale, float *weights, float *out) {
    long d = heads * dk;
    for (long j = 0; j < count; j++) {
        const float *k = keys + nightcap_row(offsets, stride, j);
        /* The next key row and this value row on their way while this key row is used. */
        if (j + 1 < count) {
            const float *next = keys + nightcap_row(offsets, stride, j + 1);
            for (long i = 0; i < d; i += 16) __builtin_prefetch(next + i);
        }
        for (long i = 0; i < d; i += 16) __builtin_prefetch(values + nightcap_row(offsets, stride, j) + i);
        long h = 0;
        for (; h + 8 <= heads; h += 8) nightcap_dots(query + h * dk, k + h * dk, 8, dk, scale, weights + h * count + j, count);
        if (h < heads) nightcap_dots(query + h * dk, k + h * dk, heads - h, dk, scale, weights + h * count + j, count);
    }
    for (long h = 0; h < heads; h++) {
        float *w = weights + h * count;
        float largest = -__builtin_inff();
        long j;
        for (j = 0; j < count; j++) largest = w[j] > largest ? w[j] : largest;
        nightcap_v8 top = nightcap_splat(largest);
        for (j = 0; j + 8 <= count; j += 8) nightcap_store(w + j, nightcap_exp8(nightcap_load(w + j) - top));
        if (j < count) {
            float t[8] = {0};
            for (long k = 0; j + k < count; k++) t[k] = w[j + k];
            nightcap_v8 e = nightcap_exp8(nightcap_load(t) - top);
            for (long k = 0; j + k < count; k++) w[j + k] = e[k];
        }
        float total = 0;
        for (j = 0; j < count; j++) total += w[j];
        for (j = 0; j < count; j++) w[j] = w[j] / total;
    }
    for (long i = 0; i < d; i++) out[i] = 0;
    long full = dk & ~7L;
    for (long j = 0; j < count; j++) {
        const float *v = values + nightcap_row(offsets, stride, j);
        for (long h = 0; h < heads; h++) {
            float a = weights[h * count + j];
            nightcap_v8 av = nightcap_splat(a);
            const float *vh = v + h * dk;
            float *o = out + h * dk;
            for (long i = 0; i < full; i += 8) nightcap_store(o + i, nightcap_load(o + i) + av * nightcap_load(vh + i));
            for (long i = full; i < dk; i++) o[i] += a * vh[i];
        }
    }
}

/* out[r * n + j] += bias[j] for r < rows (out's rows `stride` floats apart), and with `relu`, then
 * out = out < 0 ? 0 : out. */
NIGHTCAP_AVX2_ENTRY void nightcap_add_bias_avx2(float *out, long rows, long n, long stride, const float *bias, int relu) {
    nightcap_v8 zero = nightcap_splat(0);
    for (long r = 0; r < rows; r++) {
        float *o = out + r * stride;
        long j = 0;
        for (; j + 8 <= n; j += 8) {
            nightcap_v8 x = nightcap_load(o + j) + nightcap_load(bias + j);
            if (relu) {
                nightcap_i8 keep = ~(x < zero), bits;
                memcpy(&bits, &x, sizeof bits);
                bits &= keep;
                memcpy(&x, &bits, sizeof x);
            }
            nightcap_store(o + j, x);
        }
        for (; j < n; j++) {
            float x = o[j] + bias[j];
            o[j] = relu && x < 0 ? 0 : x;
        }
    }
}

#endif
#endif
