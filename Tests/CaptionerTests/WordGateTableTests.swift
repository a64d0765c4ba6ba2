import Foundation
import TestSupport
import Testing
@testable import Captioner

/// UpDown's table of each word's attention-LSTM gates, filled lazily by the decoder workers.
@Suite("WordGateTable")
struct WordGateTableTests {
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
