import Foundation

/// CIDEr-D exactly as pycocoevalcap's `CiderScorer` (n = 4, sigma = 6): TF-IDF n-gram vectors
/// with document frequencies from the references of the evaluated set, clipped cosine similarity,
/// a Gaussian length penalty, the mean over n, the mean over references, times 10.
///
/// The score of one image depends on every image in the set (through the document frequencies and
/// `log(number of images)`), so it is computed over the whole set at once.
public enum CiderD {
    static let n = 4
    static let sigma = 6.0

    /// One image to score: the hypothesis and its references, as PTB tokens.
    public struct Item: Sendable {
        public var hypothesis: [String]
        public var references: [[String]]
        public init(hypothesis: [String], references: [[String]]) {
            self.hypothesis = hypothesis
            self.references = references
        }
    }

    /// The corpus score (mean over images) and the per-image scores, in the order of `items`.
    public static func score(_ items: [Item]) -> (corpus: Double, perImage: [Double]) {
        var vocabulary = TokenVocabulary()
        let hypotheses = items.map { vocabulary.ids(NumericParity.pythonWords($0.hypothesis)) }
        let references = items.map { $0.references.map { vocabulary.ids(NumericParity.pythonWords($0)) } }
        return score(hypothesisIDs: hypotheses, referenceIDs: references)
    }

    /// CIDEr-D from interned ids; `hypotheses[i]` is scored against `references[i]`.
    public static func score(hypothesisIDs hypotheses: [[Int32]], referenceIDs references: [[[Int32]]])
        -> (corpus: Double, perImage: [Double])
    {
        precondition(hypotheses.count == references.count, "one hypothesis per image")
        precondition(!hypotheses.isEmpty, "CIDEr-D needs at least one image")
        let count = hypotheses.count
        // Cook every sentence once (in parallel; each image is independent).
        let cooked = parallelMap(count) { i in
            (NGramCounts(hypotheses[i]), references[i].map { NGramCounts($0) })
        }
        // Document frequency: in how many images' reference sets each n-gram occurs.
        var documentFrequency: [NGram: Double] = [:]
        documentFrequency.reserveCapacity(count * 40)
        var seen = Set<NGram>()
        for (_, refs) in cooked {
            seen.removeAll(keepingCapacity: true)
            for ref in refs { for gram in ref.grams where seen.insert(gram).inserted { documentFrequency[gram, default: 0] += 1 } }
        }
        let refLength = log(Double(count))
        let frequencies = documentFrequency
        let scores = parallelMap(count) { i in
            imageScore(test: cooked[i].0, refs: cooked[i].1, documentFrequency: frequencies, refLength: refLength)
        }
        return (NumericParity.numpyMean(scores), scores)
    }

    /// The TF-IDF vector of one sentence: values in the counts' order, norms and the "length"
    /// (pycocoevalcap counts bigrams there: `if n == 1: length += term_freq`).
    struct Vector {
        var values: [Double]
        var norms: [Double]
        var length: Int
    }

    static func vector(_ counts: NGramCounts, documentFrequency: [NGram: Double], refLength: Double) -> Vector {
        var values = [Double](repeating: 0, count: counts.grams.count)
        var norms = [Double](repeating: 0, count: n)
        var length = 0
        for index in counts.grams.indices {
            let df = log(max(1.0, documentFrequency[counts.grams[index]] ?? 0))
            let order = Int(counts.orders[index])
            let value = Double(counts.counts[index]) * (refLength - df)
            values[index] = value
            norms[order] += value * value
            if order == 1 { length += counts.counts[index] }
        }
        return Vector(values: values, norms: norms.map { $0.squareRoot() }, length: length)
    }

    static func imageScore(test: NGramCounts, refs: [NGramCounts], documentFrequency: [NGram: Double], refLength: Double)
        -> Double
    {
        let hyp = vector(test, documentFrequency: documentFrequency, refLength: refLength)
        var position: [NGram: Int] = [:]
        position.reserveCapacity(test.grams.count)
        for (index, gram) in test.grams.enumerated() { position[gram] = index }
        var score = [Double](repeating: 0, count: n)
        var refValueAtHyp = [Double](repeating: 0, count: test.grams.count)
        for ref in refs {
            let r = vector(ref, documentFrequency: documentFrequency, refLength: refLength)
            for k in refValueAtHyp.indices { refValueAtHyp[k] = 0 }
            for (index, gram) in ref.grams.enumerated() {
                if let at = position[gram] { refValueAtHyp[at] = r.values[index] }
            }
            var val = [Double](repeating: 0, count: n)
            for index in test.grams.indices {
                let vr = refValueAtHyp[index]
                val[Int(test.orders[index])] += min(hyp.values[index], vr) * vr
            }
            let delta = Double(hyp.length - r.length)
            let penalty = pow(M_E, -(delta * delta) / (2 * sigma * sigma))
            for k in 0..<n {
                if hyp.norms[k] != 0 && r.norms[k] != 0 { val[k] /= hyp.norms[k] * r.norms[k] }
                val[k] *= penalty
                score[k] += val[k]
            }
        }
        var mean = 0.0
        for k in 0..<n { mean += score[k] }
        mean /= Double(n)
        mean /= Double(refs.count)
        mean *= 10.0
        return mean
    }
}

/// `(0..<count).map(transform)` spread over the cores; results are in index order, so deterministic.
func parallelMap<T: Sendable>(_ count: Int, _ transform: @Sendable (Int) -> T) -> [T] {
    let workers = min(ProcessInfo.processInfo.activeProcessorCount, max(1, count / 256))
    if workers <= 1 { return (0..<count).map(transform) }
    let chunk = (count + workers - 1) / workers
    let parts = UnsafeMutableBufferPointer<[T]>.allocate(capacity: workers)
    parts.initialize(repeating: [])
    defer { parts.deinitialize(); parts.deallocate() }
    // Each worker writes only its own slot of `parts`.
    nonisolated(unsafe) let slots = parts
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let range = (w * chunk)..<min(count, (w + 1) * chunk)
        slots[w] = range.map(transform)
    }
    return Array(parts.joined())
}
