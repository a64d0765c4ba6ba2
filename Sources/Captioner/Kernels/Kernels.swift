import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

typealias Float8 = SIMD8<Float>

/// The element-wise loops of a decoder step.
///
/// `exp` and `tanh` are polynomial/rational approximations accurate to a few units in the last
/// place (checked against the C library in the tests); the C library's scalar `expf`/`tanhf` would
/// cost more than the matrix products at COCO scale, since attention alone needs R x A tanh per
/// hypothesis and step. They are written as branch-free scalar code in simple loops over raw
/// pointers, which LLVM vectorises; reductions use explicit `SIMD8` accumulators (only `+` and `*`,
/// which compile to vector instructions; Swift's generic SIMD conversions, `rounded` and
/// `pointwiseMin/Max` do not). No fused multiply-add: the package compiles for baseline x86-64,
/// where FMA becomes a library call.
enum Kernels {
    /// Whether the AVX2 versions of the hot loops (`Sources/CKernels/include/kernels.h`) run: on
    /// x86-64 when the CPU and OS support AVX2, unless `NIGHTCAP_KERNELS=portable` is set; never on
    /// other architectures (arm64), where only the portable loops below are compiled in. They are bit for bit equal to the
    /// Swift loops below (same operations in the same order, 8 lanes per instruction instead of 4;
    /// `KernelTests` checks it), so this choice never changes a result. Decided once per process.
    static let wide: Bool = {
        #if arch(x86_64)
        if let setting = getenv("NIGHTCAP_KERNELS"), String(cString: setting) == "portable" { return false }
        return nightcap_cpu_has_avx2() != 0
        #else
        return false
        #endif
    }()

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> Float8 {
        UnsafeRawPointer(p + i).loadUnaligned(as: Float8.self)
    }

    /// e^x (Cephes' single-precision algorithm: range reduction by ln 2, degree-5 polynomial).
    /// Inputs are clamped to [-87.3, 88]: results below 2^-126 come out as about 2^-126, which is
    /// harmless in softmax sums and sigmoids.
    @inline(__always)
    static func exp(_ input: Float) -> Float {
        var x = input < -87.33654 ? -87.33654 : (input > 88 ? 88 : input)
        // Adding 1.5 * 2^23 rounds x / ln 2 to the nearest integer n and leaves n in the low bits.
        let shifted = x * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        x = x - n * 0.693_359_375
        x = x + n * 2.121_944_40e-4
        var y: Float = 1.987_569_150_0e-4
        y = y * x + 1.398_199_950_7e-3
        y = y * x + 8.333_451_907_3e-3
        y = y * x + 4.166_579_589_4e-2
        y = y * x + 1.666_666_545_9e-1
        y = y * x + 5.000_000_120_1e-1
        y = y * (x * x) + x + 1
        let scale = Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
        return y * scale
    }

    /// tanh(x) as a rational function of degree 13/6 on [-9, 9] (Eigen's `generic_fast_tanh_float`),
    /// within a few 1e-8 of the exact value everywhere.
    @inline(__always)
    static func tanh(_ input: Float) -> Float {
        let x = input < -9 ? -9 : (input > 9 ? 9 : input)
        let x2 = x * x
        var p = x2 * -2.760_768_477_423_55e-16 + 2.000_187_904_824_77e-13
        p = x2 * p + -8.604_671_522_137_35e-11
        p = x2 * p + 5.122_297_090_371_14e-08
        p = x2 * p + 1.485_722_357_179_79e-05
        p = x2 * p + 6.372_619_288_754_36e-04
        p = x2 * p + 4.893_524_558_917_86e-03
        p = x * p
        var q = x2 * 1.198_258_394_667_02e-06 + 1.185_347_056_866_54e-04
        q = x2 * q + 2.268_434_632_439_00e-03
        q = x2 * q + 4.893_525_185_543_85e-03
        let r = p / q
        // The rational function overshoots 1 by an ulp near the clamp.
        return r < -1 ? -1 : (r > 1 ? 1 : r)
    }

    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    /// `sum_i x[i] * y[i]`, accumulated in 8 lanes, then the tail.
    @inline(__always)
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = Float8()
        var i = 0
        while i + 8 <= count {
            lanes += load(x, i) * load(y, i)
            i += 8
        }
        var sum = lanes.sum()
        while i < count {
            sum += x[i] * y[i]
            i += 1
        }
        return sum
    }

    /// `sum_i x[i]`, accumulated in 8 lanes, then the tail.
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = Float8()
        var i = 0
        while i + 8 <= count {
            lanes += load(x, i)
            i += 8
        }
        var sum = lanes.sum()
        while i < count {
            sum += x[i]
            i += 1
        }
        return sum
    }

    /// `z[r][d] = sum_i alpha[r][i] * v[i][d]` for `rows` rows of weights (row stride `alphaStride`)
    /// over the `count` vectors of `v` (row stride `dimension`), into `z` (row stride `dimension`).
    ///
    /// The attention context of one image's hypotheses: up to four rows share each load of `v`,
    /// so the image's regions are read once per four hypotheses. (An sgemm call here repacked the
    /// image's whole `[R x D]` block on every step for one to three rows of output.) The sum runs
    /// over regions in order.
    static func weightedSum(
        rows: Int, _ alpha: UnsafePointer<Float>, alphaStride: Int, _ v: UnsafePointer<Float>, count: Int,
        dimension D: Int, into z: UnsafeMutablePointer<Float>, wide: Bool = Kernels.wide
    ) {
        #if arch(x86_64)
        if wide {
            nightcap_weighted_sum_avx2(rows, alpha, alphaStride, v, count, D, z)
            return
        }
        #endif
        var first = 0
        while first < rows {
            let block = min(4, rows - first)
            let a0 = alpha + first * alphaStride
            let a1 = alpha + (first + min(1, block - 1)) * alphaStride
            let a2 = alpha + (first + min(2, block - 1)) * alphaStride
            let a3 = alpha + (first + min(3, block - 1)) * alphaStride
            let z0 = z + first * D
            var d = 0
            while d + 8 <= D {
                var s0 = Float8(), s1 = Float8(), s2 = Float8(), s3 = Float8()
                for i in 0..<count {
                    let x = load(v + i * D, d)
                    s0 += a0[i] * x
                    s1 += a1[i] * x
                    s2 += a2[i] * x
                    s3 += a3[i] * x
                }
                UnsafeMutableRawPointer(z0 + d).storeBytes(of: s0, as: Float8.self)
                if block > 1 { UnsafeMutableRawPointer(z0 + D + d).storeBytes(of: s1, as: Float8.self) }
                if block > 2 { UnsafeMutableRawPointer(z0 + 2 * D + d).storeBytes(of: s2, as: Float8.self) }
                if block > 3 { UnsafeMutableRawPointer(z0 + 3 * D + d).storeBytes(of: s3, as: Float8.self) }
                d += 8
            }
            while d < D {
                for r in 0..<block {
                    let a = alpha + (first + r) * alphaStride
                    var total: Float = 0
                    for i in 0..<count { total += a[i] * v[i * D + d] }
                    z0[r * D + d] = total
                }
                d += 1
            }
            first += block
        }
    }

    /// `scores[i] = sum_a w[a] * act(projected[i * A + a] + text[a]) + bias` for `regions` rows:
    /// the attention energies of one hypothesis. `activated` holds `A` floats.
    @inline(__always)
    static func attentionScores(
        _ activation: AttentionActivation, projected: UnsafePointer<Float>, text: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: Float, attention A: Int, regions: Int,
        activated: UnsafeMutablePointer<Float>, into scores: UnsafeMutablePointer<Float>, wide: Bool = Kernels.wide
    ) {
        #if arch(x86_64)
        if wide && activation == .tanh {
            nightcap_attention_scores_avx2(projected, text, weight, bias, A, regions, scores)
            return
        }
        #endif
        for region in 0..<regions {
            activate(activation, projected + region * A, text, into: activated, count: A)
            scores[region] = dot(weight, activated, count: A) + bias
        }
    }

    /// `out[a] = act(p[a] + q[a])`.
    @inline(__always)
    static func activate(
        _ activation: AttentionActivation, _ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>,
        into out: UnsafeMutablePointer<Float>, count: Int
    ) {
        switch activation {
        case .tanh:
            for a in 0..<count { out[a] = tanh(p[a] + q[a]) }
        case .relu:
            for a in 0..<count {
                let u = p[a] + q[a]
                out[a] = u > 0 ? u : 0
            }
        }
    }

    /// `z[d] *= sigmoid(gate[d] + bias[d])`.
    @inline(__always)
    static func applyGate(
        _ z: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, bias: UnsafePointer<Float>, count: Int,
        wide: Bool = Kernels.wide
    ) {
        #if arch(x86_64)
        if wide {
            nightcap_apply_gate_avx2(z, gate, bias, count)
            return
        }
        #endif
        for d in 0..<count { z[d] *= sigmoid(gate[d] + bias[d]) }
    }

    /// The LSTM cell (PyTorch gate order i, f, g, o) for one row: `gates + wordGates` are the
    /// pre-activations, `c` the previous cell state.
    @inline(__always)
    static func lstmCell(
        gates: UnsafePointer<Float>, wordGates: UnsafePointer<Float>, c: UnsafePointer<Float>,
        newC: UnsafeMutablePointer<Float>, newH: UnsafeMutablePointer<Float>, hidden H: Int, wide: Bool = Kernels.wide
    ) {
        #if arch(x86_64)
        if wide {
            nightcap_lstm_cell_avx2(gates, wordGates, c, newC, newH, H)
            return
        }
        #endif
        for j in 0..<H {
            let i = sigmoid(gates[j] + wordGates[j])
            let f = sigmoid(gates[H + j] + wordGates[H + j])
            let g = tanh(gates[2 * H + j] + wordGates[2 * H + j])
            let o = sigmoid(gates[3 * H + j] + wordGates[3 * H + j])
            let c2 = f * c[j] + i * g
            newC[j] = c2
            newH[j] = o * tanh(c2)
        }
    }

    /// Replaces `row[0..<count]` (with `bias` added) by its log-softmax; `scratch` holds `count` floats.
    static func logSoftmax(
        _ row: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, count: Int,
        wide: Bool = Kernels.wide
    ) {
        #if arch(x86_64)
        if wide {
            var top: Float = 0
            let total = nightcap_bias_max_expsum_avx2(row, bias, count, &top)
            nightcap_shift_avx2(row, top, logf(total), count)
            return
        }
        #endif
        for v in 0..<count { row[v] += bias[v] }
        // Four running maxima keep the comparisons independent.
        var m0 = -Float.infinity, m1 = -Float.infinity, m2 = -Float.infinity, m3 = -Float.infinity
        var v = 0
        while v + 4 <= count {
            m0 = row[v] > m0 ? row[v] : m0
            m1 = row[v + 1] > m1 ? row[v + 1] : m1
            m2 = row[v + 2] > m2 ? row[v + 2] : m2
            m3 = row[v + 3] > m3 ? row[v + 3] : m3
            v += 4
        }
        while v < count {
            m0 = row[v] > m0 ? row[v] : m0
            v += 1
        }
        let top = max(max(m0, m1), max(m2, m3))
        for v in 0..<count { scratch[v] = exp(row[v] - top) }
        // (x - max) - log(sum), in this order as PyTorch does: for a word of probability near 1 the
        // result is a tiny number, exact only if `max` cancels first.
        let logSum = logf(sum(scratch, count: count))
        for v in 0..<count { row[v] = (row[v] - top) - logSum }
    }

    /// Softmax of `scores[0..<count]` into `alpha`.
    @inline(__always)
    static func softmax(_ scores: UnsafePointer<Float>, into alpha: UnsafeMutablePointer<Float>, count: Int) {
        var largest = -Float.infinity
        for i in 0..<count { largest = scores[i] > largest ? scores[i] : largest }
        var total: Float = 0
        for i in 0..<count {
            let e = exp(scores[i] - largest)
            alpha[i] = e
            total += e
        }
        let inverse = 1 / total
        for i in 0..<count { alpha[i] *= inverse }
    }
}
