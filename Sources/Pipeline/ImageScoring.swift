import CaptionMetrics
import ResultStore

/// The per-image scores a shard commits with its captions: BLEU statistics, Bleu_1..4 and ROUGE_L.
/// One function for a run scored while it decodes and for a stored run scored later
/// (`nightcap score RUN`), so that both store the same numbers.
enum ImageScoring {
    /// The scores of `caption` (the stored text) against the image's tokenized references.
    static func score(imageID: String, caption: String, referenceTokens: [[String]]) -> (BleuStatsRecord, [ImageMetricRecord]) {
        // Generated captions are tokenized like pycocoevalcap's results (design.md).
        let hypothesis = PTBTokenizer.tokenize(caption)
        let statistics = BleuStatistics(hypothesis: hypothesis, references: referenceTokens)
        let record = BleuStatsRecord(
            imageID: imageID, testlen: statistics.testlen, reflen: statistics.reflen, guess: statistics.guess,
            correct: statistics.correct)
        var metrics: [ImageMetricRecord] = []
        for (metric, value) in zip(Metric.bleu, CorpusBleu.imageScores(statistics)) {
            metrics.append(ImageMetricRecord(imageID: imageID, metric: metric, value: value))
        }
        metrics.append(
            ImageMetricRecord(
                imageID: imageID, metric: .rougeL, value: RougeL.score(hypothesis: hypothesis, references: referenceTokens)))
        return (record, metrics)
    }
}
