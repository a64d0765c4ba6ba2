import Foundation
import TestSupport
import Testing
@testable import Captioner

@Suite("Search kernels and the word gate table")
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

    /// A table's values do not depend on the order or the threads that fill it: blocks filled one
    /// word at a time by two threads, or all at once, are bit for bit the same, and equal the
    /// product within float rounding.
    @Test func wordGateTableIsTheSameWhoeverFillsIt() async throws {
        let (V, E, W) = (200, 24, 40)
        var random = SeededGenerator(seed: 11)
        let embedding = (0..<(V * E)).map { _ in Float.random(in: -1...1, using: &random) }
        // [out, in] with 3 other columns before and 2 after the word's, as in weight_ih.
        let inputs = E + 5
        let weights = (0..<(W * inputs)).map { _ in Float.random(in: -1...1, using: &random) }
        func table() -> WordGateTable {
            WordGateTable(embedding: embedding, weights: weights, column: 3, stride: inputs, vocabulary: V, embeddingSize: E, width: W)
        }
        let all = table()
        let tokens = (0..<V).map { Int32($0) }
        var known = [Bool](repeating: false, count: 4)
        tokens.withUnsafeBufferPointer { all.prepare(tokens: $0.baseAddress!, count: V, known: &known) }
        #expect(known == [true, true, true, true])

        let piecewise = table()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<2 {
                group.addTask {
                    var known = [Bool](repeating: false, count: 4)
                    for word in stride(from: V - 1 - worker, through: 0, by: -2) {
                        var token = Int32(word)
                        piecewise.prepare(tokens: &token, count: 1, known: &known)
                    }
                }
            }
        }
        for word in 0..<V {
            let a = Array(UnsafeBufferPointer(start: all.gates(of: word), count: W))
            let b = Array(UnsafeBufferPointer(start: piecewise.gates(of: word), count: W))
            #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "word \(word)")
            for j in 0..<W {
                var expected: Double = 0
                for e in 0..<E { expected += Double(max(0, embedding[word * E + e])) * Double(weights[j * inputs + 3 + e]) }
                #expect(abs(Double(a[j]) - expected) <= 1e-5 * max(1, abs(expected)), "word \(word) gate \(j)")
            }
        }
    }
}
