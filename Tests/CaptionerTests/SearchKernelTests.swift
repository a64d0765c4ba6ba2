import Foundation
import TestSupport
import Testing
@testable import Captioner

@Suite("SearchKernels")
struct SearchKernelTests {
    /// The plain insertion loop both searches ran before `SearchKernels.offerTopK`.
    static func plainTopK(_ rows: [[Float]], bases: [Float], k: Int) -> ([Float], [Int]) {
        var scores = [Float](repeating: 0, count: k), indices = [Int](repeating: 0, count: k)
        var filled = 0
        let V = rows[0].count
        for (j, row) in rows.enumerated() {
            for v in 0..<V {
                let candidate = bases[j] + row[v]
                if filled == k {
                    if !(candidate > scores[k - 1]) { continue }
                } else if candidate.isNaN {
                    continue
                }
                var position = filled < k ? filled : k - 1
                if filled < k { filled += 1 }
                while position > 0 && scores[position - 1] < candidate {
                    scores[position] = scores[position - 1]
                    indices[position] = indices[position - 1]
                    position -= 1
                }
                scores[position] = candidate
                indices[position] = j * V + v
            }
        }
        return (Array(scores[..<filled]), Array(indices[..<filled]))
    }

    /// Ties, NaN, -infinity and vocabulary sizes that are not multiples of 8: the grouped scan keeps
    /// exactly the plain loop's list.
    @Test(arguments: [1, 3, 5, 12])
    func topKEqualsThePlainLoop(k: Int) {
        var random = SeededGenerator(seed: UInt64(k))
        for V in [5, 8, 37, 1001] {
            let rows = (0..<3).map { _ in
                (0..<V).map { _ -> Float in
                    switch Int.random(in: 0..<20, using: &random) {
                    case 0: .nan
                    case 1: -.infinity
                    case 2, 3: -1.5  // ties
                    default: Float(Int.random(in: -400...0, using: &random)) / 64
                    }
                }
            }
            let bases: [Float] = [0, -0.75, -3]
            var scores = [Float](repeating: 0, count: k), indices = [Int](repeating: 0, count: k)
            var filled = 0
            for (j, row) in rows.enumerated() {
                row.withUnsafeBufferPointer {
                    SearchKernels.offerTopK(
                        base: bases[j], $0.baseAddress!, count: V, offset: j * V, k: k, filled: &filled,
                        scores: &scores, indices: &indices)
                }
            }
            let plain = Self.plainTopK(rows, bases: bases, k: k)
            #expect(Array(scores[..<filled]) == plain.0 && Array(indices[..<filled]) == plain.1, "V \(V), k \(k)")
        }
    }
}
