import Foundation

/// One image's METEOR sufficient statistics: the 23 numbers meteor-1.5.jar prints for a
/// `SCORE` line, all counts of words.
///
/// Corpus METEOR is a function of their sums (`MeteorStatistics.corpusScore`), as the jar's
/// `EVAL` computes it, so they can be stored per image (23 integers) and summed exactly later.
/// The jar passes them through text ("15.0 14.0 …"); being whole numbers, they survive that
/// exactly, so integers here are the same numbers.
public struct MeteorStatistics: Sendable, Hashable, Codable {
    public var testLength: Int
    public var referenceLength: Int
    public var testFunctionWords: Int
    public var referenceFunctionWords: Int
    /// Per stage (exact, stem, synonym, paraphrase): matched content and function words of the
    /// hypothesis ("test") and of the reference.
    public var testContentMatches: [Int]
    public var referenceContentMatches: [Int]
    public var testFunctionMatches: [Int]
    public var referenceFunctionMatches: [Int]
    public var chunks: Int
    public var testWordMatches: Int
    public var referenceWordMatches: Int

    public static let zero = MeteorStatistics(values: [Int](repeating: 0, count: 23))!

    /// The jar's order: lengths, function words, then per stage test/reference content and
    /// test/reference function matches, then chunks and matched words.
    public var values: [Int] {
        var v = [testLength, referenceLength, testFunctionWords, referenceFunctionWords]
        for k in 0..<4 {
            v += [testContentMatches[k], referenceContentMatches[k], testFunctionMatches[k], referenceFunctionMatches[k]]
        }
        return v + [chunks, testWordMatches, referenceWordMatches]
    }

    /// From the 23 numbers in the jar's order; nil when there are not 23 or one is negative.
    public init?(values v: [Int]) {
        guard v.count == 23, v.allSatisfy({ $0 >= 0 }) else { return nil }
        testLength = v[0]
        referenceLength = v[1]
        testFunctionWords = v[2]
        referenceFunctionWords = v[3]
        testContentMatches = (0..<4).map { v[4 + 4 * $0] }
        referenceContentMatches = (0..<4).map { v[5 + 4 * $0] }
        testFunctionMatches = (0..<4).map { v[6 + 4 * $0] }
        referenceFunctionMatches = (0..<4).map { v[7 + 4 * $0] }
        chunks = v[20]
        testWordMatches = v[21]
        referenceWordMatches = v[22]
    }

    /// The jar's text for these statistics (`MeteorStats.toString()`: each number as a Java double).
    public var jarText: String { values.map { "\($0).0" }.joined(separator: " ") }

    var testTotalMatches: Int { (0..<4).reduce(0) { $0 + testContentMatches[$1] + testFunctionMatches[$1] } }
    var referenceTotalMatches: Int { (0..<4).reduce(0) { $0 + referenceContentMatches[$1] + referenceFunctionMatches[$1] } }
    /// Everything matched in one chunk: the jar gives no fragmentation penalty, and leaves the
    /// chunk out of a corpus sum.
    var isSingleCompleteChunk: Bool {
        testTotalMatches == testLength && referenceTotalMatches == referenceLength && chunks == 1
    }

    /// The image's METEOR score (`MeteorScorer.computeMetrics`, in the jar's order of operations).
    public var score: Double { MeteorParameters.english.score(self) }

    /// Adds `other` as the jar's `MeteorStats.addStats` does: every field, except the chunks of an
    /// image matched completely in one chunk.
    public mutating func add(_ other: MeteorStatistics) {
        testLength += other.testLength
        referenceLength += other.referenceLength
        testFunctionWords += other.testFunctionWords
        referenceFunctionWords += other.referenceFunctionWords
        for k in 0..<4 {
            testContentMatches[k] += other.testContentMatches[k]
            referenceContentMatches[k] += other.referenceContentMatches[k]
            testFunctionMatches[k] += other.testFunctionMatches[k]
            referenceFunctionMatches[k] += other.referenceFunctionMatches[k]
        }
        if !other.isSingleCompleteChunk { chunks += other.chunks }
        testWordMatches += other.testWordMatches
        referenceWordMatches += other.referenceWordMatches
    }

    /// Corpus METEOR: the score of the summed statistics (what pycocoevalcap reports; not the mean
    /// of the images' scores).
    public static func corpusScore<S: Sequence>(_ images: S) -> Double where S.Element == MeteorStatistics {
        var total = MeteorStatistics.zero
        for image in images { total.add(image) }
        return total.score
    }
}

/// The jar's parameters for `-l en` and its default task (rank).
public struct MeteorParameters: Sendable {
    public var alpha: Double
    public var beta: Double
    public var gamma: Double
    public var delta: Double
    /// Exact, stem, synonym, paraphrase.
    public var moduleWeights: [Double]

    public static let english = MeteorParameters(alpha: 0.85, beta: 0.20, gamma: 0.60, delta: 0.75, moduleWeights: [1.0, 0.6, 0.8, 0.6])

    func score(_ s: MeteorStatistics) -> Double {
        let tl = Double(s.testLength), rl = Double(s.referenceLength)
        let tf = Double(s.testFunctionWords), rf = Double(s.referenceFunctionWords)
        let testWeightedLength = (delta * (tl - tf)) + ((1.0 - delta) * tf)
        let referenceWeightedLength = (delta * (rl - rf)) + ((1.0 - delta) * rf)
        var testWeightedMatches = 0.0, referenceWeightedMatches = 0.0
        for k in 0..<4 { testWeightedMatches += Double(s.testContentMatches[k]) * moduleWeights[k] * delta }
        for k in 0..<4 { referenceWeightedMatches += Double(s.referenceContentMatches[k]) * moduleWeights[k] * delta }
        for k in 0..<4 { testWeightedMatches += Double(s.testFunctionMatches[k]) * moduleWeights[k] * (1.0 - delta) }
        for k in 0..<4 { referenceWeightedMatches += Double(s.referenceFunctionMatches[k]) * moduleWeights[k] * (1.0 - delta) }
        let precision = testWeightedMatches / testWeightedLength
        let recall = referenceWeightedMatches / referenceWeightedLength
        let fMean = 1.0 / (((1.0 - alpha) / precision) + (alpha / recall))
        let frag: Double
        if s.isSingleCompleteChunk {
            frag = 0
        } else {
            frag = Double(s.chunks) / (Double(s.testWordMatches + s.referenceWordMatches) / 2)
        }
        let penalty = gamma * pow(frag, beta)
        let score = fMean * (1.0 - penalty)
        return score.isNaN ? 0 : max(score, 0.0)
    }
}
