import CaptionMetrics
import Foundation
import ResultStore

/// Corpus metrics from what the database holds, so that a resumed run reports exactly what an
/// uninterrupted one would: BLEU from the summed per-image statistics, ROUGE-L as the mean of the
/// stored per-image scores, CIDEr-D computed once over the whole scored set.
enum RunFinalizer {
    /// Computes and stores the corpus metrics (none for a run without references) and marks the
    /// run completed. CIDEr-D runs over at most `parallelism` threads (`--threads`).
    static func finalize(runID: Int64, database: ResultDatabase, references: ReferenceIndex?, parallelism: Int) throws {
        let started = Date()
        if let references {
            // Captions come in image order, so every sum below runs in the same order on every run.
            let captions = try database.captions(runID: runID)
            let scores = corpusScores(
                captions: captions, statistics: try database.bleuStatistics(runID: runID),
                rouge: try database.imageMetrics(runID: runID, metric: .rougeL), references: references,
                parallelism: parallelism)
            try database.writeCorpusMetrics(runID: runID, corpus: scores.corpus, perImage: scores.cider)
        }
        try database.finish(runID: runID, finalizeSeconds: Date().timeIntervalSince(started))
    }

    /// The corpus scores of `captions` (in image order) and each image's CIDEr-D, from the
    /// per-image BLEU statistics and ROUGE-L scores. Images without statistics or references are
    /// left out.
    static func corpusScores(
        captions: [CaptionRecord], statistics: [BleuStatsRecord], rouge: [ImageMetricRecord], references: ReferenceIndex,
        parallelism: Int
    ) -> (corpus: [Metric: Double], cider: [ImageMetricRecord]) {
        let statistics = Dictionary(uniqueKeysWithValues: statistics.map { ($0.imageID, $0) })
        let rouge = Dictionary(uniqueKeysWithValues: rouge.map { ($0.imageID, $0.value) })
        var scoredIDs: [String] = []
        var bleu: [BleuStatistics] = []
        var items: [CiderD.Item] = []
        var rougeScores: [Double] = []
        for caption in captions {
            guard let record = statistics[caption.imageID], let referenceTokens = references.tokens[caption.imageID] else { continue }
            scoredIDs.append(caption.imageID)
            bleu.append(BleuStatistics(testlen: record.testlen, reflen: record.reflen, guess: record.guess, correct: record.correct))
            items.append(CiderD.Item(hypothesis: PTBTokenizer.tokenize(caption.caption), references: referenceTokens))
            rougeScores.append(rouge[caption.imageID] ?? 0)
        }
        var corpus: [Metric: Double] = [:]
        var perImage: [ImageMetricRecord] = []
        if !scoredIDs.isEmpty {
            for (metric, value) in zip(Metric.bleu, CorpusBleu.score(bleu)) { corpus[metric] = value }
            corpus[.rougeL] = RougeL.corpusScore(rougeScores)
            let cider = CiderD.score(items, parallelism: parallelism)
            corpus[.cider] = cider.corpus
            perImage = zip(scoredIDs, cider.perImage).map { ImageMetricRecord(imageID: $0, metric: .cider, value: $1) }
        }
        return (corpus, perImage)
    }
}
