import ConcurrencyPrimitives
import Foundation

/// Corpus scores under pycocoevalcap's metric names.
public struct MetricScores: Sendable, Equatable, Codable {
    /// BLEU-1...4.
    public var bleu: [Double]
    public var rougeL: Double
    public var cider: Double

    public init(bleu: [Double], rougeL: Double, cider: Double) {
        self.bleu = bleu
        self.rougeL = rougeL
        self.cider = cider
    }

    /// The scores in the order of `Metric.allCases`.
    public var values: [Double] { bleu + [rougeL, cider] }

    /// `(metric, value)` pairs in pycocoevalcap's order.
    public var named: [(metric: Metric, value: Double)] {
        Array(zip(Metric.allCases, values)).map { (metric: $0.0, value: $0.1) }
    }

    /// The score of `metric`.
    public subscript(metric: Metric) -> Double {
        switch metric {
        case .bleu1: bleu[0]
        case .bleu2: bleu[1]
        case .bleu3: bleu[2]
        case .bleu4: bleu[3]
        case .rougeL: rougeL
        case .cider: cider
        }
    }
}

/// The scores, statistics and tokens of one scored image.
public struct ImageEvaluation: Sendable, Codable {
    public var imageID: ImageID
    public var scores: MetricScores
    public var bleuStatistics: BleuStatistics
    public var hypothesisTokens: [String]
    /// METEOR's statistics, when METEOR was computed; the image's score is `meteorStatistics.score`.
    public var meteorStatistics: MeteorStatistics? = nil
}

/// The result of scoring a results file against references like pycocoevalcap's `COCOEvalCap`.
///
/// The scored set is the intersection of the result and reference image ids, in the references'
/// image order (pycocoevalcap's `loadRes` keeps the references' order). Images on only one side are
/// counted and listed, never silently dropped.
public struct CocoEvaluation: Sendable {
    public var corpus: MetricScores
    /// One entry per scored image, in scoring order.
    public var images: [ImageEvaluation]
    /// Result images that have no reference captions (not scored).
    public var resultsWithoutReferences: [ImageID]
    /// Reference images that have no result (not scored).
    public var referencesWithoutResults: [ImageID]
    /// Corpus METEOR (from the images' summed statistics), when METEOR was computed.
    public var meteor: Double? = nil

    /// Scores `results` against `references`.
    ///
    /// Throws `imageIDTypeMismatch` when result ids match reference ids only after changing their
    /// JSON type (`42` vs `"42"`), and `noCommonImages` when nothing can be scored.
    /// At most `parallelism` threads work at once; the scores do not depend on it.
    /// With `meteor`, METEOR is computed too, on the same PTB tokens pycocoevalcap gives its `Meteor()`.
    public static func evaluate(
        results: CaptionResults, references: CaptionReferences, parallelism: Int = ParallelWork.defaultWidth,
        meteor: Meteor? = nil
    ) throws -> CocoEvaluation {
        let resultSet = Set(results.imageIDs)
        let scoredIDs = references.imageIDs.filter { resultSet.contains($0) }
        let missingReferences = results.imageIDs.filter { references.captions[$0] == nil }
        let missingResults = references.imageIDs.filter { results.captions[$0] == nil }

        // Same value, other JSON type: a data error worth stopping for.
        let referenceIDs = Set(references.imageIDs)
        let retyped = missingReferences.filter { id in
            let counterpart: ImageID? = id.kind == .integer ? ImageID(id.value) : Int(id.value).map { ImageID($0) }
            return counterpart.map { referenceIDs.contains($0) } ?? false
        }
        if !retyped.isEmpty {
            let example = retyped[0]
            let resultKind = example.kind == .integer ? "integer" : "string"
            let referenceKind = example.kind == .integer ? "string" : "integer"
            throw CaptionMetricsError(
                .imageIDTypeMismatch,
                "\(results.source) uses \(resultKind) image ids (e.g. \(example)) where \(references.source) uses \(referenceKind) ids for the same images (\(retyped.count) such ids). The integer 42 and the string \"42\" are different ids, as in pycocoevalcap; write the ids with the same JSON type in both files."
            )
        }
        guard !scoredIDs.isEmpty else {
            throw CaptionMetricsError(
                .noCommonImages,
                "\(results.source) and \(references.source) have no image id in common (\(results.imageIDs.count) result images, \(references.imageIDs.count) reference images); check that the results were produced for this reference set."
            )
        }

        // Tokenize like pycocoevalcap: one batch of all references, one of all results, in scoring order.
        var referenceLines: [String] = []
        var referenceCounts: [Int] = []
        for id in scoredIDs {
            let captions = references.captions[id]!
            referenceLines.append(contentsOf: captions)
            referenceCounts.append(captions.count)
        }
        let referenceTokens = PTBTokenizer.tokenize(lines: referenceLines, parallelism: parallelism)
        let hypothesisTokens = PTBTokenizer.tokenize(lines: scoredIDs.map { results.captions[$0]! }, parallelism: parallelism)

        var grouped: [[[String]]] = []
        grouped.reserveCapacity(scoredIDs.count)
        var offset = 0
        for count in referenceCounts {
            grouped.append(Array(referenceTokens[offset..<(offset + count)]))
            offset += count
        }
        return score(imageIDs: scoredIDs, hypotheses: hypothesisTokens, references: grouped,
                     resultsWithoutReferences: missingReferences, referencesWithoutResults: missingResults,
                     parallelism: parallelism, meteor: meteor)
    }

    /// Scores already tokenized captions: `hypotheses[i]` against `references[i]` for image `imageIDs[i]`.
    public static func score(
        imageIDs: [ImageID], hypotheses: [[String]], references: [[[String]]],
        resultsWithoutReferences: [ImageID] = [], referencesWithoutResults: [ImageID] = [],
        parallelism: Int = ParallelWork.defaultWidth, meteor: Meteor? = nil
    ) -> CocoEvaluation {
        precondition(imageIDs.count == hypotheses.count && hypotheses.count == references.count)
        let (hw, rw, hr, rr) = intern(hypotheses: hypotheses, references: references, parallelism: parallelism)
        // ROUGE-L runs beside the sequential n-gram interning that starts BLEU and CIDEr-D.
        let (rouge, batch) = ParallelWork.both(
            width: parallelism,
            { (0..<imageIDs.count).map { i in RougeL.score(hypothesisIDs: hr[i], referenceIDs: rr[i]) } },
            { BatchScorer.score(hypotheses: hw, references: rw, parallelism: parallelism) })
        let statistics = batch.bleu
        let cider = (corpus: batch.ciderMean, perImage: batch.cider)
        var images: [ImageEvaluation] = []
        images.reserveCapacity(imageIDs.count)
        for i in imageIDs.indices {
            images.append(
                ImageEvaluation(
                    imageID: imageIDs[i],
                    scores: MetricScores(bleu: CorpusBleu.imageScores(statistics[i]), rougeL: rouge[i], cider: cider.perImage[i]),
                    bleuStatistics: statistics[i], hypothesisTokens: hypotheses[i]))
        }
        let corpus = MetricScores(
            bleu: CorpusBleu.score(statistics), rougeL: NumericParity.numpyMean(rouge), cider: cider.corpus)
        var evaluation = CocoEvaluation(
            corpus: corpus, images: images, resultsWithoutReferences: resultsWithoutReferences,
            referencesWithoutResults: referencesWithoutResults)
        if let meteor {
            // pycocoevalcap hands METEOR each caption's tokens joined by single spaces.
            let meteorStatistics = meteor.statistics(
                hypotheses: hypotheses.map { $0.joined(separator: " ") },
                references: references.map { $0.map { $0.joined(separator: " ") } }, parallelism: parallelism)
            for i in evaluation.images.indices { evaluation.images[i].meteorStatistics = meteorStatistics[i] }
            evaluation.meteor = MeteorStatistics.corpusScore(meteorStatistics)
        }
        return evaluation
    }

    /// Interns the captions' words: Python's str.split() words for BLEU and CIDEr, split(" ") for ROUGE-L
    /// (hypothesis words, reference words, hypothesis ROUGE-L ids, reference ROUGE-L ids).
    private static func intern(hypotheses: [[String]], references: [[[String]]], parallelism: Int)
        -> ([[Int32]], [[[Int32]]], [[Int32]], [[[Int32]]])
    {
        // Intern once: BLEU and CIDEr see Python's str.split() words, ROUGE-L sees split(" ").
        // Each chunk of images interns with its own vocabulary in parallel; the vocabularies are then
        // merged. Ids only serve as identities, so the scores do not depend on how chunks fall.
        struct Interned: Sendable {
            var vocabulary = TokenVocabulary()
            var hypothesisWords: [[Int32]] = []
            var referenceWords: [[[Int32]]] = []
            var hypothesisRouge: [[Int32]] = []
            var referenceRouge: [[[Int32]]] = []
        }
        let chunks = ParallelWork.chunks(hypotheses.count, width: parallelism) { range -> [Interned] in
            var part = Interned()
            let emptyWord = part.vocabulary.id("")
            func rougeIDs(_ tokens: [String], _ words: [Int32], _ vocabulary: inout TokenVocabulary) -> [Int32] {
                if tokens.isEmpty { return [emptyWord] }
                if tokens.count == words.count { return words }  // no token held Python whitespace
                return vocabulary.ids(tokens)
            }
            for i in range {
                let h = part.vocabulary.ids(NumericParity.pythonWords(hypotheses[i]))
                part.hypothesisWords.append(h)
                part.hypothesisRouge.append(rougeIDs(hypotheses[i], h, &part.vocabulary))
                var refs: [[Int32]] = []
                var rouge: [[Int32]] = []
                for reference in references[i] {
                    let r = part.vocabulary.ids(NumericParity.pythonWords(reference))
                    refs.append(r)
                    rouge.append(rougeIDs(reference, r, &part.vocabulary))
                }
                part.referenceWords.append(refs)
                part.referenceRouge.append(rouge)
            }
            return [part]
        }
        var vocabulary = TokenVocabulary()
        var hypothesisWords: [[Int32]] = [], referenceWords: [[[Int32]]] = []
        var hypothesisRouge: [[Int32]] = [], referenceRouge: [[[Int32]]] = []
        for part in chunks {
            let global = part.vocabulary.tokens.map { vocabulary.id($0) }
            func remap(_ ids: [Int32]) -> [Int32] { ids.map { global[Int($0)] } }
            hypothesisWords += part.hypothesisWords.map(remap)
            hypothesisRouge += part.hypothesisRouge.map(remap)
            referenceWords += part.referenceWords.map { $0.map(remap) }
            referenceRouge += part.referenceRouge.map { $0.map(remap) }
        }
        return (hypothesisWords, referenceWords, hypothesisRouge, referenceRouge)
    }
}
