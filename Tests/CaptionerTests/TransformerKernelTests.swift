import Foundation
import TestSupport
import Testing
@testable import Captioner

/// The AVX2 loops of Sources/CKernels/include/transformer_kernels.h must equal the portable Swift
/// loops of `TransformerKernels` bit for bit, so that which one runs never changes a caption; and the
/// portable loops must compute what they say (checked in double precision).
@Suite("Transformer kernels")
struct TransformerKernelTests {
    static let noAVX2: Comment = "this CPU has no AVX2 (or NIGHTCAP_KERNELS=portable): only the portable loops run"

    private func layerNorm(_ x: [Float], rows: Int, width: Int, gain: [Float], bias: [Float], wide: Bool) -> [Float] {
        var out = [Float](repeating: .nan, count: rows * width)
        TransformerKernels.layerNorm(x, rows: rows, width: width, gain: gain, bias: bias, into: &out, wide: wide)
        return out
    }

    @Test(arguments: [2, 7, 8, 13, 512])
    func layerNormMatchesDoublePrecision(width: Int) {
        var random = SeededGenerator(seed: UInt64(width) + 5)
        let rows = 3
        let x = random.floats(rows * width, scale: 4), gain = random.floats(width, scale: 2), bias = random.floats(width, scale: 1)
        let out = layerNorm(x, rows: rows, width: width, gain: gain, bias: bias, wide: false)
        for row in 0..<rows {
            let v = x[(row * width)..<((row + 1) * width)].map(Double.init)
            let mean = v.reduce(0, +) / Double(width)
            let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width - 1)).squareRoot()
            for i in 0..<width {
                let expected = Double(gain[i]) * (v[i] - mean) / (std + 1e-6) + Double(bias[i])
                #expect(abs(Double(out[row * width + i]) - expected) < 2e-5 * max(1, abs(expected)))
            }
        }
    }

    @Test(.enabled(if: Kernels.wide, Self.noAVX2), arguments: [2, 7, 8, 13, 64, 512, 1027])
    func wideLayerNormEqualsPortable(width: Int) {
        var random = SeededGenerator(seed: UInt64(width) + 11)
        let rows = 4
        let x = random.floats(rows * width, scale: 30), gain = random.floats(width, scale: 2), bias = random.floats(width, scale: 1)
        let portable = layerNorm(x, rows: rows, width: width, gain: gain, bias: bias, wide: false)
        let wide = layerNorm(x, rows: rows, width: width, gain: gain, bias: bias, wide: true)
        #expect(portable.map(\.bitPattern) == wide.map(\.bitPattern))
    }

    private func attention(
        query: [Float], keys: [Float], values: [Float], stride: Int, count: Int, heads: Int, width: Int, wide: Bool
    ) -> (weights: [Float], out: [Float]) {
        var weights = [Float](repeating: .nan, count: heads * count)
        var out = [Float](repeating: .nan, count: heads * width)
        TransformerKernels.attention(
            query: query, keys: keys, values: values, stride: stride, count: count, heads: heads, width: width,
            scale: Float(Double(width).squareRoot()), weights: &weights, into: &out, wide: wide)
        return (weights, out)
    }

    @Test(arguments: [(1, 1, 8), (7, 2, 5), (36, 8, 64)])
    func attentionMatchesDoublePrecision(count: Int, heads: Int, width: Int) {
        var random = SeededGenerator(seed: UInt64(count * 100 + heads))
        let stride = heads * width + 3
        let query = random.floats(heads * width, scale: 2)
        let keys = random.floats(count * stride, scale: 2), values = random.floats(count * stride, scale: 3)
        let (weights, out) = attention(query: query, keys: keys, values: values, stride: stride, count: count, heads: heads, width: width, wide: false)
        for head in 0..<heads {
            let c = head * width
            var scores = [Double](repeating: 0, count: count)
            for j in 0..<count {
                var dot = 0.0
                for i in 0..<width { dot += Double(query[c + i]) * Double(keys[j * stride + c + i]) }
                scores[j] = dot / Double(width).squareRoot()
            }
            let top = scores.max()!
            let e: [Double] = scores.map { Foundation.exp($0 - top) }
            let total = e.reduce(0, +)
            for j in 0..<count {
                let expected: Double = e[j] / total
                #expect(abs(Double(weights[head * count + j]) - expected) < 2e-6)
            }
            for i in 0..<width {
                var expected = 0.0
                for j in 0..<count { expected += e[j] / total * Double(values[j * stride + c + i]) }
                #expect(abs(Double(out[c + i]) - expected) < 2e-5)
            }
        }
    }

    @Test(.enabled(if: Kernels.wide, Self.noAVX2), arguments: [(1, 1, 8), (7, 2, 5), (20, 8, 64), (36, 8, 64), (9, 3, 13)])
    func wideAttentionEqualsPortable(count: Int, heads: Int, width: Int) {
        var random = SeededGenerator(seed: UInt64(count * 100 + heads * 10 + width))
        let stride = 2 * heads * width
        let query = random.floats(heads * width, scale: 6)
        let keys = random.floats(count * stride, scale: 6), values = random.floats(count * stride, scale: 3)
        let portable = attention(query: query, keys: keys, values: values, stride: stride, count: count, heads: heads, width: width, wide: false)
        let wide = attention(query: query, keys: keys, values: values, stride: stride, count: count, heads: heads, width: width, wide: true)
        #expect(portable.weights.map(\.bitPattern) == wide.weights.map(\.bitPattern))
        #expect(portable.out.map(\.bitPattern) == wide.out.map(\.bitPattern))
    }

    /// Rows found through offsets (a cached prefix spread over its ancestors' rows) give what the
    /// same rows laid out one after another give, with either loop.
    @Test(arguments: [false, true])
    func rowsThroughOffsetsEqualContiguousRows(wide: Bool) {
        guard !wide || Kernels.wide else { return }
        var random = SeededGenerator(seed: 99)
        let (count, heads, width) = (9, 8, 64)
        let d = heads * width
        let slots = 20
        let keys = random.floats(slots * d, scale: 3), values = random.floats(slots * d, scale: 3)
        let query = random.floats(d, scale: 3)
        let offsets = [13, 2, 7, 19, 0, 5, 11, 3, 17].map { $0 * d }
        let gatheredKeys = offsets.flatMap { keys[$0..<($0 + d)] }, gatheredValues = offsets.flatMap { values[$0..<($0 + d)] }
        let scale = Float(8)
        var w1 = [Float](repeating: 0, count: heads * count), o1 = [Float](repeating: 0, count: d)
        var w2 = w1, o2 = o1
        TransformerKernels.attention(
            query: query, keys: keys, values: values, stride: 0, offsets: offsets, count: count, heads: heads, width: width, scale: scale,
            weights: &w1, into: &o1, wide: wide)
        TransformerKernels.attention(
            query: query, keys: gatheredKeys, values: gatheredValues, stride: d, count: count, heads: heads, width: width, scale: scale,
            weights: &w2, into: &o2, wide: false)
        #expect(w1.map(\.bitPattern) == w2.map(\.bitPattern))
        #expect(o1.map(\.bitPattern) == o2.map(\.bitPattern))
    }

    @Test(arguments: [false, true])
    func addBiasAddsAndClamps(relu: Bool) {
        var out: [Float] = [1, -2, 0.5, 9, -1, 3]
        let bias: [Float] = [0.5, 1]
        TransformerKernels.addBias(&out, rows: 2, outputs: 2, stride: 3, bias: bias, relu: relu, wide: false)
        #expect(out == (relu ? [1.5, 0, 0.5, 9.5, 0, 3] : [1.5, -1, 0.5, 9.5, 0, 3]))
    }

    @Test(.enabled(if: Kernels.wide, Self.noAVX2), arguments: [1, 7, 8, 13, 2048])
    func wideAddBiasEqualsPortable(width: Int) {
        var random = SeededGenerator(seed: UInt64(width) + 23)
        let rows = 3, stride = width + 5
        let x = random.floats(rows * stride, scale: 4) + [-0.0], bias = random.floats(width, scale: 4)
        for relu in [false, true] {
            var portable = x, wide = x
            TransformerKernels.addBias(&portable, rows: rows, outputs: width, stride: stride, bias: bias, relu: relu, wide: false)
            TransformerKernels.addBias(&wide, rows: rows, outputs: width, stride: stride, bias: bias, relu: relu, wide: true)
            #expect(portable.map(\.bitPattern) == wide.map(\.bitPattern))
        }
    }
}
