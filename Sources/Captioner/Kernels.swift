#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small vector loops of the decoder step, written so that the compiler vectorises them.
enum Kernels {
    /// `sum_i x[i] * y[i]`, accumulated in 8 lanes.
    @inline(__always)
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = SIMD8<Float>()
        var index = 0
        let rawX = UnsafeRawPointer(x)
        let rawY = UnsafeRawPointer(y)
        while index + 8 <= count {
            let a = rawX.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
            let b = rawY.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
            lanes.addProduct(a, b)
            index += 8
        }
        var sum = lanes.sum()
        while index < count {
            sum += x[index] * y[index]
            index += 1
        }
        return sum
    }

    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    @inline(__always)
    static func tanh(_ x: Float) -> Float { tanhf(x) }

    @inline(__always)
    static func exp(_ x: Float) -> Float { expf(x) }

    @inline(__always)
    static func log(_ x: Float) -> Float { logf(x) }

    /// `out[a] = act(p[a] + q[a])` for a in 0..<count.
    @inline(__always)
    static func activate(
        _ activation: AttentionActivation, _ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>,
        into out: UnsafeMutablePointer<Float>, count: Int
    ) {
        switch activation {
        case .tanh:
            for a in 0..<count { out[a] = tanhf(p[a] + q[a]) }
        case .relu:
            for a in 0..<count { out[a] = max(p[a] + q[a], 0) }
        }
    }

    /// Replaces `row[0..<count]` (with `bias` added) by its log-softmax.
    static func logSoftmax(_ row: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, count: Int) {
        var largest = -Float.infinity
        for v in 0..<count {
            row[v] += bias[v]
            largest = max(largest, row[v])
        }
        var sum: Float = 0
        for v in 0..<count { sum += expf(row[v] - largest) }
        // (x - max) - log(sum), in this order as PyTorch does: for a word of probability near 1 the
        // result is a tiny number, exact only if `max` cancels first.
        let logSum = logf(sum)
        for v in 0..<count { row[v] = (row[v] - largest) - logSum }
    }
}
