#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

typealias Float8 = SIMD8<Float>

/// The element-wise loops of a decoder step, on 8 floats at a time.
///
/// `exp` and `tanh` are polynomial/rational approximations accurate to a few units in the last
/// place (checked against the C library in the tests); the C library's scalar `expf`/`tanhf` would
/// cost more than the matrix products at COCO scale, since attention alone needs R x A tanh per
/// hypothesis and step. The code avoids fused multiply-add: the package compiles for baseline
/// x86-64, where a SIMD FMA becomes a library call per lane.
enum Kernels {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> Float8 {
        UnsafeRawPointer(p + i).loadUnaligned(as: Float8.self)
    }

    /// Loads `count` < 8 floats; the other lanes hold `fill`.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int, count: Int, fill: Float = 0) -> Float8 {
        var v = Float8(repeating: fill)
        for k in 0..<count { v[k] = p[i + k] }
        return v
    }

    @inline(__always)
    static func store(_ v: Float8, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Float8.self)
    }

    @inline(__always)
    static func store(_ v: Float8, _ p: UnsafeMutablePointer<Float>, _ i: Int, count: Int) {
        for k in 0..<count { p[i + k] = v[k] }
    }

    /// e^x (Cephes' single-precision algorithm: range reduction by ln 2, degree-5 polynomial).
    /// Inputs are clamped to [-87.3, 88]: results below 2^-126 become 2^-126 or so, which is harmless
    /// in softmax sums and sigmoids.
    @inline(__always)
    static func exp(_ input: Float8) -> Float8 {
        var x = input.clamped(lowerBound: Float8(repeating: -87.33654), upperBound: Float8(repeating: 88.0))
        let n = (x * 1.442_695_04).rounded(.toNearestOrEven)
        x = x - n * 0.693_359_375
        x = x + n * 2.121_944_40e-4
        var y = Float8(repeating: 1.987_569_150_0e-4)
        y = y * x + 1.398_199_950_7e-3
        y = y * x + 8.333_451_907_3e-3
        y = y * x + 4.166_579_589_4e-2
        y = y * x + 1.666_666_545_9e-1
        y = y * x + 5.000_000_120_1e-1
        y = y * (x * x) + x + 1
        let exponent = (SIMD8<Int32>(n) &+ 127) &<< 23
        return y * unsafeBitCast(exponent, to: Float8.self)
    }

    /// tanh(x) as a rational function of degree 13/6 on [-9, 9] (Eigen's `generic_fast_tanh_float`),
    /// within a few 1e-8 of the exact value everywhere.
    @inline(__always)
    static func tanh(_ input: Float8) -> Float8 {
        let x = input.clamped(lowerBound: Float8(repeating: -9), upperBound: Float8(repeating: 9))
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
        // The rational function overshoots 1 by an ulp near the clamp.
        return (p / q).clamped(lowerBound: Float8(repeating: -1), upperBound: Float8(repeating: 1))
    }

    @inline(__always)
    static func sigmoid(_ x: Float8) -> Float8 { 1 / (1 + exp(-x)) }

    /// `sum_a w[a] * act(p[a] + q[a])`: the attention score of one region before its bias.
    @inline(__always)
    static func attentionScore(
        _ activation: AttentionActivation, weight w: UnsafePointer<Float>, _ p: UnsafePointer<Float>,
        _ q: UnsafePointer<Float>, count: Int
    ) -> Float {
        var lanes = Float8()
        var a = 0
        switch activation {
        case .tanh:
            while a + 8 <= count {
                lanes += load(w, a) * tanh(load(p, a) + load(q, a))
                a += 8
            }
            if a < count {
                let rest = count - a
                lanes += load(w, a, count: rest) * tanh(load(p, a, count: rest) + load(q, a, count: rest))
            }
        case .relu:
            while a + 8 <= count {
                lanes += load(w, a) * pointwiseMax(load(p, a) + load(q, a), .zero)
                a += 8
            }
            if a < count {
                let rest = count - a
                lanes += load(w, a, count: rest) * pointwiseMax(load(p, a, count: rest) + load(q, a, count: rest), .zero)
            }
        }
        return lanes.sum()
    }

    /// `z[d] *= sigmoid(gate[d] + bias[d])`.
    @inline(__always)
    static func applyGate(_ z: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, bias: UnsafePointer<Float>, count: Int) {
        var d = 0
        while d + 8 <= count {
            store(load(z, d) * sigmoid(load(gate, d) + load(bias, d)), z, d)
            d += 8
        }
        if d < count {
            let rest = count - d
            store(load(z, d, count: rest) * sigmoid(load(gate, d, count: rest) + load(bias, d, count: rest)), z, d, count: rest)
        }
    }

    /// The LSTM cell (PyTorch gate order i, f, g, o) for one row: `gates + wordGates` are the
    /// pre-activations, `c` the previous cell state.
    @inline(__always)
    static func lstmCell(
        gates: UnsafePointer<Float>, wordGates: UnsafePointer<Float>, c: UnsafePointer<Float>,
        newC: UnsafeMutablePointer<Float>, newH: UnsafeMutablePointer<Float>, hidden H: Int
    ) {
        var j = 0
        while j < H {
            let n = min(8, H - j)
            @inline(__always) func pre(_ k: Int) -> Float8 {
                n == 8
                    ? load(gates, k * H + j) + load(wordGates, k * H + j)
                    : load(gates, k * H + j, count: n) + load(wordGates, k * H + j, count: n)
            }
            let i = sigmoid(pre(0))
            let f = sigmoid(pre(1))
            let g = tanh(pre(2))
            let o = sigmoid(pre(3))
            let previous = n == 8 ? load(c, j) : load(c, j, count: n)
            let c2 = f * previous + i * g
            let h2 = o * tanh(c2)
            if n == 8 {
                store(c2, newC, j)
                store(h2, newH, j)
            } else {
                store(c2, newC, j, count: n)
                store(h2, newH, j, count: n)
            }
            j += 8
        }
    }

    /// Replaces `row[0..<count]` (with `bias` added) by its log-softmax.
    static func logSoftmax(_ row: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, count: Int) {
        var largest = Float8(repeating: -.infinity)
        var v = 0
        while v + 8 <= count {
            let x = load(row, v) + load(bias, v)
            store(x, row, v)
            largest = pointwiseMax(largest, x)
            v += 8
        }
        var top = largest.max()
        while v < count {
            row[v] += bias[v]
            top = max(top, row[v])
            v += 1
        }
        var sums = Float8()
        v = 0
        while v + 8 <= count {
            sums += exp(load(row, v) - Float8(repeating: top))
            v += 8
        }
        if v < count {
            let rest = count - v
            let e = exp(load(row, v, count: rest) - Float8(repeating: top))
            sums += e.replacing(with: 0, where: SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .>= SIMD8<Int32>(repeating: Int32(rest)))
        }
        // (x - max) - log(sum), in this order as PyTorch does: for a word of probability near 1 the
        // result is a tiny number, exact only if `max` cancels first.
        let logSum = logf(sums.sum())
        for v in 0..<count { row[v] = (row[v] - top) - logSum }
    }

    /// Softmax of `scores[0..<count]` into `alpha` (count is a region count: small, scalar is fine).
    @inline(__always)
    static func softmax(_ scores: UnsafePointer<Float>, into alpha: UnsafeMutablePointer<Float>, count: Int) {
        var largest = -Float.infinity
        for i in 0..<count { largest = max(largest, scores[i]) }
        var sum: Float = 0
        var i = 0
        while i < count {
            let n = min(8, count - i)
            let e = exp(load(scores, i, count: n) - Float8(repeating: largest))
            for k in 0..<n {
                alpha[i + k] = e[k]
                sum += e[k]
            }
            i += 8
        }
        let inverse = 1 / sum
        for i in 0..<count { alpha[i] *= inverse }
    }
}
