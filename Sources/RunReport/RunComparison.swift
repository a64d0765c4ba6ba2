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
        /// The paired bootstrap interval over the images both runs scored; nil when a run lacks
        /// the per-image rows it needs.
        public var interval: DeltaInterval?

        /// B - A of the stored corpus scores.
        public var delta: Double? { a.flatMap { a in b.map { $0 - a } } }
    }

    public var runA: RunRecord
    public var runB: RunRecord
    /// Images captioned by both runs.
    public var pairedImages: Int
    /// Images both runs captioned and scored (each has BLEU statistics in both); the intervals
    /// resample exactly these. Fewer than `pairedImages` when a run's references leave images
    /// unscored (a split, references of part of the images).
    public var scoredImages: Int
    /// Images captioned by only one of the runs (not in the intervals).
    public var onlyInA: Int
    public var onlyInB: Int
    public var bootstrap: PairedBootstrap
    /// In pycocoevalcap's order (`Metric.allCases`).
    public var metrics: [MetricDelta]

    /// Reads both runs' per-image scores and BLEU statistics and computes the intervals over the
    /// images both runs scored.
    ///
    /// - Throws: `IncomparableRuns` when the runs share no captioned image.
    public init(database: ResultDatabase, runA: RunRecord, runB: RunRecord, bootstrap: PairedBootstrap) throws {
        self.runA = runA
        self.runB = runB
        self.bootstrap = bootstrap
        let corpusA = try database.runMetrics(runID: runA.runID), corpusB = try database.runMetrics(runID: runB.runID)
        let imagesA = try database.captionsWithMetrics(runID: runA.runID)
        let listB = try database.captionsWithMetrics(runID: runB.runID)
        let imagesB = Dictionary(uniqueKeysWithValues: listB.map { ($0.imageID, $0) })
        let paired = imagesA.compactMap { image in imagesB[image.imageID].map { (a: image, b: $0) } }
        guard !paired.isEmpty else {
            throw IncomparableRuns(runA: runA, imagesA: imagesA.map(\.imageID), runB: runB, imagesB: listB.map(\.imageID))
        }
        pairedImages = paired.count
        onlyInA = imagesA.count - paired.count
        onlyInB = imagesB.count - paired.count

        // Only images scored in both runs are resampled: an image without references in either run
        // has no score to pair, and leaving it in would leave every interval out.
        let statsA = Dictionary(uniqueKeysWithValues: try database.bleuStatistics(runID: runA.runID).map { ($0.imageID, $0) })
        let statsB = Dictionary(uniqueKeysWithValues: try database.bleuStatistics(runID: runB.runID).map { ($0.imageID, $0) })
        let scored = paired.compactMap { pair -> (a: CaptionWithMetrics, b: CaptionWithMetrics, bleuA: BleuStatistics, bleuB: BleuStatistics)? in
            guard let a = statsA[pair.a.imageID], let b = statsB[pair.a.imageID] else { return nil }
            return (pair.a, pair.b, Self.statistics(a), Self.statistics(b))
        }
        scoredImages = scored.count
        var intervals: [Metric: DeltaInterval] = [:]
        if !scored.isEmpty {
            let bleu = bootstrap.bleuDifference(a: scored.map(\.bleuA), b: scored.map(\.bleuB))
            for order in 0..<4 { intervals[Metric.bleu(order: order + 1)] = bleu[order] }
            for metric in [Metric.rougeL, .cider] {
                let a = scored.compactMap { $0.a.metrics[metric] }, b = scored.compactMap { $0.b.metrics[metric] }
                // A run stopped before its corpus metrics has no per-image CIDEr-D: no interval then.
                if a.count == scored.count && b.count == scored.count {
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
        var text: String
        if scoredImages == 0 {
            text = "no intervals: none of the \(pairedImages) images both runs captioned was scored by both "
                + "(score a run without references with `nightcap score RUN --references FILE`)"
        } else {
            text = "\(level)% paired bootstrap intervals over the \(scoredImages) images both runs scored "
                + "(\(bootstrap.resamples) resamples, seed \(bootstrap.seed))"
            if scoredImages < pairedImages {
                text += "; \(pairedImages - scoredImages) images both runs captioned but not both scored are not resampled"
            }
        }
        if onlyInA + onlyInB > 0 {
            text += "; \(onlyInA) images only in A and \(onlyInB) only in B are not resampled"
        }
        return text
    }
}

/// Two runs that share no captioned image: no delta or interval means anything, so `compare` and
/// `report --vs` refuse them (exit status 5) instead of comparing with zeros.
public struct IncomparableRuns: Error, CustomStringConvertible, Sendable {
    public var runA: RunRecord
    public var runB: RunRecord
    public var imagesA: [String]
    public var imagesB: [String]

    public init(runA: RunRecord, imagesA: [String], runB: RunRecord, imagesB: [String]) {
        self.runA = runA
        self.runB = runB
        self.imagesA = imagesA
        self.imagesB = imagesB
    }

    public var description: String {
        func side(_ run: RunRecord, _ ids: [String]) -> String {
            let what = "run \(run.runID) (\(run.name))"
            guard !ids.isEmpty else { return "\(what) has no captioned image (\(run.status.rawValue))" }
            let examples = ids.prefix(3).joined(separator: ", ") + (ids.count > 3 ? ", ..." : "")
            return "\(what) captioned \(ids.count) images (ids \(examples))"
        }
        return "the runs cannot be compared: they share no image. \(side(runA, imagesA)); \(side(runB, imagesB)). "
            + "Compare runs over the same images: the same features file (and references split), or finish the run that has none; "
            + "`nightcap show RUN` prints each run's own metrics."
    }
}
