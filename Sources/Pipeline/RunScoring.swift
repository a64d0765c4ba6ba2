import CaptionMetrics
import ConcurrencyPrimitives
import Foundation
import ResultStore

/// What `nightcap score RUN` did.
public struct ScoringReport: Sendable {
    public var runID: Int64
    public var name: String
    /// Corpus metrics in pycocoevalcap's order.
    public var metrics: [(metric: Metric, value: Double)]
    public var imagesScored: Int
    public var imagesWithoutReferences: Int
    public var referencesWithoutImages: Int
    /// The references the run was scored against before, when `--replace` replaced them.
    public var replaced: String?
}

/// Scores a stored run against references after the fact: a run captioned without references (a
/// test split whose references are private) gets the per-image and corpus metrics it would have
/// had with them from the start, computed by the same functions (`ImageScoring`, `RunFinalizer`)
/// from its stored captions, and written in one transaction.
public enum RunScoring {
    public static func score(
        run reference: String, databasePath: String, referencesPath: String, format: ReferenceFormat?, split: String?,
        replace: Bool, parallelism: Int = ParallelWork.defaultWidth
    ) throws -> ScoringReport {
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw PipelineError(.configuration, "no results database at \(databasePath); pass --db with the database `nightcap run` wrote")
        }
        let database = try ResultDatabase(path: databasePath)
        defer { try? database.close() }
        let run = try database.run(reference: reference)
        guard run.status == .completed else {
            throw PipelineError(
                .validation,
                "run \(run.runID) (\(run.name)) is \(run.status.rawValue), not completed: finish it first with the same `nightcap run` command (it resumes), then score it")
        }
        // Read first: a missing or malformed references file gets the reader's own message.
        let captionFile = try CaptionFileReader.references(at: referencesPath, format: format, split: split)
        let fileDigest = try SHA256.file(referencesPath)
        let digest = RunFingerprint.referencesDigest(fileDigest: fileDigest, format: format?.rawValue ?? "auto", split: split ?? "")
        var replaced: String?
        if run.isScored && run.referencesDigest != digest {
            let earlier = run.referencesPath ?? "other references"
            guard replace else {
                throw PipelineError(
                    .validation,
                    "run \(run.runID) (\(run.name)) is already scored against \(earlier); scoring it against \(referencesPath) would replace its metrics: pass --replace to do so")
            }
            replaced = earlier
        }

        let captions = try database.captions(runID: run.runID)
        let imageIDs = captions.map(\.imageID) + (try database.failures(runID: run.runID)).map(\.imageID)
        let references = try ReferenceIndex(
            references: captionFile,
            featureImageIDs: imageIDs, featuresPath: run.featuresPath ?? "run \(run.runID)", parallelism: parallelism)
        var statistics: [BleuStatsRecord] = []
        var perImage: [ImageMetricRecord] = []
        for caption in captions {
            guard let tokens = references.tokens[caption.imageID] else { continue }
            let (record, metrics) = ImageScoring.score(imageID: caption.imageID, caption: caption.caption, referenceTokens: tokens)
            statistics.append(record)
            perImage += metrics
        }
        let scores = RunFinalizer.corpusScores(
            captions: captions, statistics: statistics, rouge: perImage.filter { $0.metric == .rougeL }, references: references,
            parallelism: parallelism)
        try database.replaceScores(
            runID: run.runID, referencesPath: referencesPath, referencesDigest: digest, bleuStats: statistics,
            imageMetrics: perImage + scores.cider, corpus: scores.corpus)
        return ScoringReport(
            runID: run.runID, name: run.name,
            metrics: Metric.ordered(scores.corpus),
            imagesScored: statistics.count, imagesWithoutReferences: references.imagesWithoutReferences.count,
            referencesWithoutImages: references.referencesWithoutImages, replaced: replaced)
    }
}
