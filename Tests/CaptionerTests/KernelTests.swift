import Foundation
import TestSupport
import Testing
@testable import Captioner

@Suite("Vector kernels")
struct KernelTests {
    private func each(_ values: [Float], _ f: (Float) -> Float) -> [Float] { values.map(f) }

    @Test func tanhIsCloseToTheCLibrary() {
        let xs = stride(from: Float(-12), through: 12, by: 0.000_37).map { $0 } + [0, 1e-6, -1e-6, 30, -30]
        let ys = each(xs, Kernels.tanh)
        var worst: Float = 0
        for (x, y) in zip(xs, ys) { worst = max(worst, abs(y - tanhf(x))) }
        #expect(worst < 3e-7, "max abs error \(worst)")
        #expect(ys.allSatisfy { abs($0) <= 1 })
    }

    @Test func expIsCloseToTheCLibrary() {
        let xs = stride(from: Float(-87), through: 88, by: 0.0123).map { $0 }
        let ys = each(xs, Kernels.exp)
        var worst: Float = 0
        for (x, y) in zip(xs, ys) { worst = max(worst, abs(y - expf(x)) / expf(x)) }
        #expect(worst < 5e-7, "max relative error \(worst)")
        #expect(each([-200, -88, 0], Kernels.exp).allSatisfy { $0.isFinite && $0 >= 0 })
    }

    @Test func logSoftmaxMatchesDoublePrecision() {
        var random = SeededGenerator(seed: 3)
        for count in [1, 7, 8, 13, 100] {
            var row = random.floats(count, scale: 8)
            let bias = random.floats(count, scale: 1)
            let x = zip(row, bias).map { Double($0) + Double($1) }
            let top = x.max()!
            let lse = top + Foundation.log(x.map { Foundation.exp($0 - top) }.reduce(0, +))
            row.withUnsafeMutableBufferPointer { r in
                bias.withUnsafeBufferPointer { b in
                    var scratch = [Float](repeating: 0, count: count)
                    scratch.withUnsafeMutableBufferPointer { s in
                        Kernels.logSoftmax(r.baseAddress!, bias: b.baseAddress!, scratch: s.baseAddress!, count: count)
                    }
                }
            }
            for (got, value) in zip(row, x) { #expect(abs(Double(got) - (value - lse)) < 2e-6) }
        }
    }

    // The AVX2 loops of Sources/CKernels/include/kernels.h must equal the portable Swift loops bit for bit
    // (same operations in the same order), so that which one runs never changes a caption.

    @Test(.enabled(if: Kernels.wide, "this CPU has no AVX2 (or NIGHTCAP_KERNELS=portable): only the portable loops run"), arguments: [1, 5, 8, 10, 16, 23, 512])
    func wideAttentionScoresEqualPortable(width: Int) throws {
        var random = SeededGenerator(seed: UInt64(width))
        let regions = 7
        let projected = random.floats(regions * width, scale: 4)
        let text = random.floats(width, scale: 4) + [12, -15, 0.5]  // beyond the tanh clamp, too
        let weight = random.floats(width, scale: 1)
        var activated = [Float](repeating: 0, count: width)
        var portable = [Float](repeating: 0, count: regions), wide = portable
        for (useWide, out) in [(false, 0), (true, 1)] {
            var scores = [Float](repeating: 0, count: regions)
            Kernels.attentionScores(
                .tanh, projected: projected, text: text, weight: weight, bias: 0.25, attention: width, regions: regions,
                activated: &activated, into: &scores, wide: useWide)
            if out == 0 { portable = scores } else { wide = scores }
        }
        #expect(portable.map(\.bitPattern) == wide.map(\.bitPattern))
    }

    @Test(.enabled(if: Kernels.wide, "this CPU has no AVX2 (or NIGHTCAP_KERNELS=portable): only the portable loops run"), arguments: [1, 7, 8, 13, 100, 9487])
    func wideLogSoftmaxEqualsPortable(count: Int) throws {
        var random = SeededGenerator(seed: UInt64(count))
        let row = random.floats(count, scale: 30)
        let bias = random.floats(count, scale: 2)
        var scratch = [Float](repeating: 0, count: count)
        var portable = row, wide = row
        Kernels.logSoftmax(&portable, bias: bias, scratch: &scratch, count: count, wide: false)
        Kernels.logSoftmax(&wide, bias: bias, scratch: &scratch, count: count, wide: true)
        #expect(portable.map(\.bitPattern) == wide.map(\.bitPattern))
    }

    @Test(.enabled(if: Kernels.wide, "this CPU has no AVX2 (or NIGHTCAP_KERNELS=portable): only the portable loops run"), arguments: [(1, 16), (2, 8), (3, 2048), (4, 24), (5, 40), (9, 7)])
    func wideWeightedSumEqualsPortable(rows: Int, dimension: Int) throws {
        var random = SeededGenerator(seed: UInt64(rows * 1000 + dimension))
        let regions = 36, stride = 40
        let alpha = random.floats(rows * stride, scale: 1)
        let v = random.floats(regions * dimension, scale: 3)
        var portable = [Float](repeating: 0, count: rows * dimension), wide = portable
        Kernels.weightedSum(rows: rows, alpha, alphaStride: stride, v, count: regions, dimension: dimension, into: &portable, wide: false)
        Kernels.weightedSum(rows: rows, alpha, alphaStride: stride, v, count: regions, dimension: dimension, into: &wide, wide: true)
        #expect(portable.map(\.bitPattern) == wide.map(\.bitPattern))
    }

    @Test(.enabled(if: Kernels.wide, "this CPU has no AVX2 (or NIGHTCAP_KERNELS=portable): only the portable loops run"), arguments: [5, 8, 12, 512, 2051])
    func wideGateAndCellEqualPortable(width: Int) throws {
        var random = SeededGenerator(seed: UInt64(width) + 77)
        let z = random.floats(width, scale: 2), gate = random.floats(width, scale: 12), bias = random.floats(width, scale: 1)
        var portableZ = z, wideZ = z
        Kernels.applyGate(&portableZ, gate: gate, bias: bias, count: width, wide: false)
        Kernels.applyGate(&wideZ, gate: gate, bias: bias, count: width, wide: true)
        #expect(portableZ.map(\.bitPattern) == wideZ.map(\.bitPattern))

        let gates = random.floats(4 * width, scale: 10), wordGates = random.floats(4 * width, scale: 3)
        let c = random.floats(width, scale: 4)
        var portable = (c: [Float](repeating: 0, count: width), h: [Float](repeating: 0, count: width))
        var wide = portable
        Kernels.lstmCell(gates: gates, wordGates: wordGates, c: c, newC: &portable.c, newH: &portable.h, hidden: width, wide: false)
        Kernels.lstmCell(gates: gates, wordGates: wordGates, c: c, newC: &wide.c, newH: &wide.h, hidden: width, wide: true)
        #expect(portable.c.map(\.bitPattern) == wide.c.map(\.bitPattern))
        #expect(portable.h.map(\.bitPattern) == wide.h.map(\.bitPattern))
    }
}
