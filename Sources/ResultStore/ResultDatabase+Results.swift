import CaptionMetrics
import Foundation
import GRDB

extension ResultDatabase {
    // MARK: - Finalize

    /// The per-image BLEU statistics of a run, in image order.
    public func bleuStatistics(runID: Int64) throws -> [BleuStatsRecord] {
        try read("reading the BLEU statistics of run \(runID)") { db in
            try BleuStatsRecord.fetchAll(
                db,
                sql: """
                    SELECT b.* FROM bleu_stats b
                    LEFT JOIN captions c ON c.run_id = b.run_id AND c.image_id = b.image_id
                    WHERE b.run_id = ? ORDER BY c.image_index, b.image_id
                    """,
                arguments: [runID])
        }
    }

    /// The captions of a run in features-file order (`image_index`).
    public func captions(runID: Int64) throws -> [CaptionRecord] {
        try read("reading the captions of run \(runID)") { db in
            typealias Columns = CaptionRecord.Columns
            return try CaptionRecord.filter(Columns.runID == runID).order(Columns.imageIndex).fetchAll(db)
        }
    }

    /// Writes a run's corpus scores and the per-image scores computed at finalize (CIDEr), in one
    /// transaction.
    ///
    /// Replaces the run's earlier corpus scores, and its earlier per-image rows of every metric
    /// in `perImage`, so finalizing twice leaves the second result only.
    public func writeCorpusMetrics(runID: Int64, corpus: [Metric: Double], perImage: [ImageMetricRecord]) throws {
        try write("writing the corpus metrics of run \(runID)") { db in
            try requireRun(db, runID)
            try RunMetricRow.filter(RunMetricRow.Columns.runID == runID).deleteAll(db)
            let replaced = Set(perImage.map(\.metric)).map(\.rawValue)
            typealias Columns = ImageMetricRecord.Columns
            try ImageMetricRecord.filter(Columns.runID == runID && replaced.contains(Columns.metric)).deleteAll(db)
            try insertImageMetrics(db, runID: runID, perImage)
            try RunMetricRow.insert(db, runID: runID, corpus)
        }
    }

    /// Scores a stored run against references: in one transaction, replaces every per-image score,
    /// BLEU statistic and corpus score of the run with the given ones and records which references
    /// they came from. Captions, attention, regions and status stay as they are.
    public func replaceScores(
        runID: Int64, referencesPath: String, referencesDigest: String, bleuStats: [BleuStatsRecord],
        imageMetrics: [ImageMetricRecord], corpus: [Metric: Double]
    ) throws {
        try write("writing the scores of run \(runID)") { db in
            try requireRun(db, runID)
            try BleuStatsRecord.filter(BleuStatsRecord.Columns.runID == runID).deleteAll(db)
            try ImageMetricRecord.filter(ImageMetricRecord.Columns.runID == runID).deleteAll(db)
            try RunMetricRow.filter(RunMetricRow.Columns.runID == runID).deleteAll(db)
            try insertImageMetrics(db, runID: runID, imageMetrics)
            try insertBleuStatistics(db, runID: runID, bleuStats)
            try RunMetricRow.insert(db, runID: runID, corpus)
            typealias Columns = RunRecord.Columns
            try RunRecord.filter(Columns.runID == runID).updateAll(
                db, [Columns.referencesPath.set(to: referencesPath), Columns.referencesDigest.set(to: referencesDigest)])
        }
    }

    /// A run's corpus scores; empty before finalize.
    public func runMetrics(runID: Int64) throws -> [Metric: Double] {
        try read("reading the metrics of run \(runID)") { db in
            var metrics: [Metric: Double] = [:]
            for row in try RunMetricRow.known(runID: runID).fetchAll(db) {
                metrics[row.metric] = row.value
            }
            return metrics
        }
    }

    /// One per-image score of a run for every image that has it, in image order.
    public func imageMetrics(runID: Int64, metric: Metric) throws -> [ImageMetricRecord] {
        try read("reading \(metric) of run \(runID)") { db in
            try ImageMetricRecord.fetchAll(
                db,
                sql: """
                    SELECT m.* FROM image_metrics m
                    LEFT JOIN captions c ON c.run_id = m.run_id AND c.image_id = m.image_id
                    WHERE m.run_id = ? AND m.metric = ? ORDER BY c.image_index, m.image_id
                    """,
                arguments: [runID, metric.rawValue])
        }
    }

    /// The images of a run that could not be captioned, in shard order.
    public func failures(runID: Int64) throws -> [FailedImage] {
        try read("reading the failed images of run \(runID)") { db in
            typealias Columns = FailedImage.Columns
            return try FailedImage.filter(Columns.runID == runID).order(Columns.shard, Columns.imageID).fetchAll(db)
        }
    }

    // MARK: - Compare and export

    /// The captions of a run with all their per-image scores, in image order.
    public func captionsWithMetrics(runID: Int64) throws -> [CaptionWithMetrics] {
        try read("reading the captions and scores of run \(runID)") { db in
            typealias Columns = CaptionRecord.Columns
            var result: [CaptionWithMetrics] = []
            var indexByImage: [String: Int] = [:]
            for caption in try CaptionRecord.filter(Columns.runID == runID).order(Columns.imageIndex).fetchAll(db) {
                indexByImage[caption.imageID] = result.count
                result.append(CaptionWithMetrics(caption))
            }
            let metrics = try ImageMetricRecord.known(runID: runID).fetchCursor(db)
            while let metric = try metrics.next() {
                if let index = indexByImage[metric.imageID] {
                    result[index].metrics[metric.metric] = metric.value
                }
            }
            return result
        }
    }

    /// The attention of each word of an image's caption, in word order, with weights decoded.
    public func attention(runID: Int64, imageID: String) throws -> [AttentionRecord] {
        try read("reading the attention of image \(imageID) in run \(runID)") { db in
            try Row.fetchAll(db, attentionRequest(runID: runID, imageID: imageID)).map {
                try attentionRecord(from: $0, runID: runID, imageID: imageID)
            }
        }
    }

    /// The `attention` rows of one image, in word order.
    func attentionRequest(runID: Int64, imageID: String) -> QueryInterfaceRequest<AttentionRecord> {
        typealias Columns = AttentionRecord.Columns
        return AttentionRecord.filter(Columns.runID == runID && Columns.imageID == imageID).order(Columns.position)
    }

    /// An `attention` row as a record.
    func attentionRecord(from row: Row, runID: Int64, imageID: String) throws -> AttentionRecord {
        typealias Columns = AttentionRecord.Columns
        let blob: Data = row[Columns.weights]
        guard let weights = AttentionWeights.decode(blob) else {
            throw ResultStoreError.sqlite(
                path: path, operation: "reading the attention of image \(imageID) in run \(runID)",
                message: "a weights blob has \(blob.count) bytes, not a multiple of 4")
        }
        let topWeight: Double? = row[Columns.topWeight]
        return AttentionRecord(
            imageID: imageID, position: row[Columns.position], word: row[Columns.word], weights: weights,
            topRegion: row[Columns.topRegion], topWeight: topWeight.map { Float($0) })
    }

    /// The regions of an image stored with a run, in region order.
    public func regions(runID: Int64, imageID: String) throws -> [RegionRecord] {
        try read("reading the regions of image \(imageID) in run \(runID)") { db in
            try regionsRequest(runID: runID, imageID: imageID).fetchAll(db)
        }
    }

    /// The `regions` rows of one image, in region order.
    func regionsRequest(runID: Int64, imageID: String) -> QueryInterfaceRequest<RegionRecord> {
        typealias Columns = RegionRecord.Columns
        return RegionRecord.filter(Columns.runID == runID && Columns.imageID == imageID).order(Columns.region)
    }
}
