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
}
