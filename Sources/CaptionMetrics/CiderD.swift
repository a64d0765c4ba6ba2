import ConcurrencyPrimitives
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
    /// At most `parallelism` threads work on it; the scores do not depend on it.
    public static func score(_ items: [Item], parallelism: Int = ParallelWork.defaultWidth) -> (corpus: Double, perImage: [Double]) {
        var vocabulary = TokenVocabulary()
        let hypotheses = items.map { vocabulary.ids(NumericParity.pythonWords($0.hypothesis)) }
        let references = items.map { $0.references.map { vocabulary.ids(NumericParity.pythonWords($0)) } }
        return score(hypothesisIDs: hypotheses, referenceIDs: references, parallelism: parallelism)
    }

    /// CIDEr-D from interned ids; `hypotheses[i]` is scored against `references[i]`.
    public static func score(
        hypothesisIDs hypotheses: [[Int32]], referenceIDs references: [[[Int32]]], parallelism: Int = ParallelWork.defaultWidth
    ) -> (corpus: Double, perImage: [Double])
    {
        precondition(hypotheses.count == references.count, "one hypothesis per image")
        precondition(!hypotheses.isEmpty, "CIDEr-D needs at least one image")
        precondition(references.allSatisfy { !$0.isEmpty }, "CIDEr-D needs at least one reference per image")
        let result = BatchScorer.score(hypotheses: hypotheses, references: references, parallelism: parallelism)
        return (result.ciderMean, result.cider)
    }
}
