import Foundation

/// Per-image BLEU statistics as pycocoevalcap's `cook_test` computes them with `eff="closest"`.
///
/// Corpus BLEU is a function of the sums of these fields over images, so they can be stored per
/// image (for example as SQLite rows) and the corpus score recomputed later with `CorpusBleu.score`.
public struct BleuStatistics: Sendable, Hashable, Codable {
    /// Number of words in the hypothesis.
    public var testlen: Int
    /// Effective reference length: the reference length closest to `testlen`, ties to the shorter.
    public var reflen: Int
    /// Number of hypothesis n-grams for n = 1...4: `max(0, testlen - n + 1)`.
    public var guess: [Int]
    /// Clipped matches for n = 1...4: each hypothesis n-gram counts at most as often as it occurs in
    /// the single reference where it occurs most.
    public var correct: [Int]

    public init(testlen: Int, reflen: Int, guess: [Int], correct: [Int]) {
        precondition(guess.count == 4 && correct.count == 4, "BLEU statistics hold n = 1...4")
        self.testlen = testlen
        self.reflen = reflen
        self.guess = guess
        self.correct = correct
    }

    /// Statistics of one hypothesis against its references (PTB tokens, as from `PTBTokenizer`).
    public init(hypothesis: [String], references: [[String]]) {
        var vocabulary = TokenVocabulary()
        let h = vocabulary.ids(NumericParity.pythonWords(hypothesis))
        let r = references.map { vocabulary.ids(NumericParity.pythonWords($0)) }
        self.init(hypothesisIDs: h, referenceIDs: r)
    }

    /// Statistics from interned token ids (see `TokenVocabulary`).
    public init(hypothesisIDs hypothesis: [Int32], referenceIDs references: [[Int32]]) {
        precondition(!references.isEmpty, "BLEU needs at least one reference")
        var maxCounts: [NGram: Int] = [:]
        var best = (distance: Int.max, length: Int.max)
        let testlen = hypothesis.count
        for reference in references {
            let cooked = NGramCounts(reference)
            for (gram, count) in zip(cooked.grams, cooked.counts) {
                if let existing = maxCounts[gram] {
                    if count > existing { maxCounts[gram] = count }
                } else {
                    maxCounts[gram] = count
                }
            }
            // min((abs(l - testlen), l)): the closest length, ties to the shorter.
            let candidate = (abs(reference.count - testlen), reference.count)
            if candidate < best { best = candidate }
        }
        var correct = [0, 0, 0, 0]
        let test = NGramCounts(hypothesis)
        for index in test.grams.indices {
            correct[Int(test.orders[index])] += min(maxCounts[test.grams[index]] ?? 0, test.counts[index])
        }
        self.init(
            testlen: testlen, reflen: best.length, guess: (1...4).map { max(0, testlen - $0 + 1) }, correct: correct)
    }
}

/// BLEU-1...4 exactly as pycocoevalcap's `BleuScorer.compute_score(option="closest")`.
public enum CorpusBleu {
    static let tiny = 1e-15
    static let small = 1e-9

    /// Corpus BLEU-1...4 from per-image statistics: sums of the counts, brevity penalty from the totals.
    public static func score(_ statistics: [BleuStatistics]) -> [Double] {
        var testlen = 0
        var reflen = 0
        var guess = [0, 0, 0, 0]
        var correct = [0, 0, 0, 0]
        for s in statistics {
            testlen += s.testlen
            reflen += s.reflen
            for k in 0..<4 {
                guess[k] += s.guess[k]
                correct[k] += s.correct[k]
            }
        }
        return bleu(testlen: testlen, reflen: reflen, guess: guess, correct: correct)
    }

    /// The per-image BLEU-1...4 that pycocoevalcap returns alongside the corpus score (smoothed by
    /// `tiny`/`small`, so a hypothesis without a 4-gram match gets about 1e-5, not 0).
    public static func imageScores(_ s: BleuStatistics) -> [Double] {
        bleu(testlen: s.testlen, reflen: s.reflen, guess: s.guess, correct: s.correct)
    }

    /// The formula shared by the corpus and per-image scores, in Python's order of operations.
    static func bleu(testlen: Int, reflen: Int, guess: [Int], correct: [Int]) -> [Double] {
        var scores = [Double](repeating: 0, count: 4)
        var product = 1.0
        for k in 0..<4 {
            product *= (Double(correct[k]) + tiny) / (Double(guess[k]) + small)
            scores[k] = pow(product, 1.0 / Double(k + 1))
        }
        let ratio = (Double(testlen) + tiny) / (Double(reflen) + small)
        if ratio < 1 {
            let penalty = exp(1 - 1 / ratio)
            for k in 0..<4 { scores[k] *= penalty }
        }
        return scores
    }
}
