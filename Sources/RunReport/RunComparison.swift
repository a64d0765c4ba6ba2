import CaptionMetrics
import Foundation
import ResultStore

/// Two runs over the same images, paired by image id: their corpus scores and the paired bootstrap
/// interval of each difference (B - A).
public struct RunComparison: Sendable {
    /// One metric of both runs.
    public struct MetricDelta: Sendable, Hashable {
        public var metric: Metric
        /// The runs' stored corpus scores (`run_metrics`), nil when not computed.
        public var a: Double?
        public var b: Double?
        /// The paired bootstrap interval over the images both runs captioned; nil when a run lacks
        /// the per-image rows it needs.
        public var interval: DeltaInterval?

        /// B - A of the stored corpus scores.
        public var delta: Double? { a.flatMap { a in b.map { $0 - a } } }
    }

    public var runA: RunRecord
    public var runB: RunRecord
    /// Images captioned by both runs; the intervals resample these.
    public var pairedImages: Int
    /// Images captioned by only one of the runs (not in the intervals).
    public var onlyInA: Int
    public var onlyInB: Int
    public var bootstrap: PairedBootstrap
    /// In pycocoevalcap's order (`Metric.allCases`).
    public var metrics: [MetricDelta]

    /// Reads both runs' per-image scores and BLEU statistics and computes the intervals.
    public init(database: ResultDatabase, runA: RunRecord, runB: RunRecord, bootstrap: PairedBootstrap) throws {
        self.runA = runA
        self.runB = runB
        self.bootstrap = bootstrap
        let corpusA = try database.runMetrics(runID: runA.runID), corpusB = try database.runMetrics(runID: runB.runID)
        let imagesA = try database.captionsWithMetrics(runID: runA.runID)
        let imagesB = Dictionary(
            uniqueKeysWithValues: try database.captionsWithMetrics(runID: runB.runID).map { ($0.imageID, $0) })
        let paired = imagesA.compactMap { image in imagesB[image.imageID].map { (a: image, b: $0) } }
        pairedImages = paired.count
        onlyInA = imagesA.count - paired.count
        onlyInB = imagesB.count - paired.count

        var intervals: [Metric: DeltaInterval] = [:]
        if !paired.isEmpty {
            let statsA = Dictionary(
                uniqueKeysWithValues: try database.bleuStatistics(runID: runA.runID).map { ($0.imageID, $0) })
            let statsB = Dictionary(
                uniqueKeysWithValues: try database.bleuStatistics(runID: runB.runID).map { ($0.imageID, $0) })
            let bleuPairs = paired.compactMap { pair -> (BleuStatistics, BleuStatistics)? in
                guard let a = statsA[pair.a.imageID], let b = statsB[pair.a.imageID] else { return nil }
                return (Self.statistics(a), Self.statistics(b))
            }
            if bleuPairs.count == paired.count {
                let bleu = bootstrap.bleuDifference(a: bleuPairs.map(\.0), b: bleuPairs.map(\.1))
                for order in 0..<4 { intervals[Metric.bleu(order: order + 1)] = bleu[order] }
            }
            for metric in [Metric.rougeL, .cider] {
                let a = paired.compactMap { $0.a.metrics[metric] }, b = paired.compactMap { $0.b.metrics[metric] }
                if a.count == paired.count && b.count == paired.count {
                    intervals[metric] = bootstrap.meanDifference(a: a, b: b)
                }
            }
        }
        metrics = Metric.allCases.map { metric in
            MetricDelta(
                metric: metric, a: corpusA[metric], b: corpusB[metric], interval: intervals[metric])
        }
    }

    static func statistics(_ record: BleuStatsRecord) -> BleuStatistics {
        BleuStatistics(testlen: record.testlen, reflen: record.reflen, guess: record.guess, correct: record.correct)
    }

    /// A one-line description of the method, for the command's output and the report.
    public var methodDescription: String {
        let percent = bootstrap.confidence * 100
        let level = percent == percent.rounded() ? String(Int(percent)) : String(format: "%.1f", percent)
        var text = "\(level)% paired bootstrap intervals over the \(pairedImages) images both runs captioned "
            + "(\(bootstrap.resamples) resamples, seed \(bootstrap.seed))"
        if onlyInA + onlyInB > 0 {
            text += "; \(onlyInA) images only in A and \(onlyInB) only in B are not resampled"
        }
        return text
    }
}
