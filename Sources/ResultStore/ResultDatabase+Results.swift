import Foundation
import GRDB

extension ResultDatabase {
    // MARK: - Finalize

    /// The per-image BLEU statistics of a run, in image order.
    public func bleuStatistics(runID: Int64) throws -> [BleuStatsRecord] {
        try read("reading the BLEU statistics of run \(runID)") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT b.* FROM bleu_stats b
                    LEFT JOIN captions c ON c.run_id = b.run_id AND c.image_id = b.image_id
                    WHERE b.run_id = ? ORDER BY c.image_index, b.image_id
                    """,
                arguments: [runID]
            ).map { row in
                BleuStatsRecord(
                    imageID: row["image_id"], testlen: row["testlen"], reflen: row["reflen"],
                    guess: [row["guess_1"], row["guess_2"], row["guess_3"], row["guess_4"]],
                    correct: [row["correct_1"], row["correct_2"], row["correct_3"], row["correct_4"]])
            }
        }
    }

    /// The captions of a run in features-file order (`image_index`).
    public func captions(runID: Int64) throws -> [CaptionRecord] {
        try read("reading the captions of run \(runID)") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT image_id, image_index, caption, num_words, log_prob FROM captions
                    WHERE run_id = ? ORDER BY image_index
                    """,
                arguments: [runID]
            ).map { row in
                CaptionRecord(
                    imageID: row["image_id"], imageIndex: row["image_index"], caption: row["caption"],
                    numWords: row["num_words"], logProb: row["log_prob"])
            }
        }
    }

    /// Writes a run's corpus scores and the per-image scores computed at finalize (CIDEr), in one
    /// transaction.
    ///
    /// Replaces the run's earlier corpus scores, and its earlier per-image rows of every metric
    /// named in `perImage`, so finalizing twice leaves the second result only.
    public func writeCorpusMetrics(runID: Int64, corpus: [String: Double], perImage: [ImageMetricRecord]) throws {
        try write("writing the corpus metrics of run \(runID)") { db in
            try requireRun(db, runID)
            try db.execute(sql: "DELETE FROM run_metrics WHERE run_id = ?", arguments: [runID])
            let deleteMetric = try db.cachedStatement(
                sql: "DELETE FROM image_metrics WHERE run_id = ? AND metric = ?")
            for metric in Set(perImage.map(\.metric)).sorted() {
                try deleteMetric.execute(arguments: [runID, metric])
            }
            try insertImageMetrics(db, runID: runID, perImage)
            let insert = try db.cachedStatement(
                sql: "INSERT INTO run_metrics (run_id, metric, value) VALUES (?, ?, ?)")
            for (metric, value) in corpus.sorted(by: { $0.key < $1.key }) {
                try insert.execute(arguments: [runID, metric, value])
            }
        }
    }

    /// Scores a stored run against references: in one transaction, replaces every per-image score,
    /// BLEU statistic and corpus score of the run with the given ones and records which references
    /// they came from. Captions, attention, regions and status stay as they are.
    public func replaceScores(
        runID: Int64, referencesPath: String, referencesDigest: String, bleuStats: [BleuStatsRecord],
        imageMetrics: [ImageMetricRecord], corpus: [String: Double]
    ) throws {
        try write("writing the scores of run \(runID)") { db in
            try requireRun(db, runID)
            for table in ["bleu_stats", "image_metrics", "run_metrics"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE run_id = ?", arguments: [runID])
            }
            try insertImageMetrics(db, runID: runID, imageMetrics)
            try insertBleuStatistics(db, runID: runID, bleuStats)
            let insert = try db.cachedStatement(sql: "INSERT INTO run_metrics (run_id, metric, value) VALUES (?, ?, ?)")
            for (metric, value) in corpus.sorted(by: { $0.key < $1.key }) {
                try insert.execute(arguments: [runID, metric, value])
            }
            try db.execute(
                sql: "UPDATE runs SET references_path = ?, references_digest = ? WHERE run_id = ?",
                arguments: [referencesPath, referencesDigest, runID])
        }
    }

    /// A run's corpus scores by pycocoevalcap name; empty before finalize.
    public func runMetrics(runID: Int64) throws -> [String: Double] {
        try read("reading the metrics of run \(runID)") { db in
            var metrics: [String: Double] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT metric, value FROM run_metrics WHERE run_id = ?", arguments: [runID])
            {
                metrics[row["metric"]] = row["value"]
            }
            return metrics
        }
    }

    /// One per-image score of a run for every image that has it, in image order.
    public func imageMetrics(runID: Int64, metric: String) throws -> [ImageMetricRecord] {
        try read("reading \(metric) of run \(runID)") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT m.image_id, m.value FROM image_metrics m
                    LEFT JOIN captions c ON c.run_id = m.run_id AND c.image_id = m.image_id
                    WHERE m.run_id = ? AND m.metric = ? ORDER BY c.image_index, m.image_id
                    """,
                arguments: [runID, metric]
            ).map { row in ImageMetricRecord(imageID: row["image_id"], metric: metric, value: row["value"]) }
        }
    }

    /// The images of a run that could not be captioned, in shard order.
    public func failures(runID: Int64) throws -> [FailedImage] {
        try read("reading the failed images of run \(runID)") { db in
            try Row.fetchAll(
                db,
                sql: "SELECT image_id, shard, reason FROM failed_images WHERE run_id = ? ORDER BY shard, image_id",
                arguments: [runID]
            ).map { row in FailedImage(imageID: row["image_id"], shard: row["shard"], reason: row["reason"]) }
        }
    }

    // MARK: - Compare and export

    /// The captions of a run with all their per-image scores, in image order.
    public func captionsWithMetrics(runID: Int64) throws -> [CaptionWithMetrics] {
        try read("reading the captions and scores of run \(runID)") { db in
            var result: [CaptionWithMetrics] = []
            var indexByImage: [String: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT image_id, image_index, caption, num_words, log_prob FROM captions
                    WHERE run_id = ? ORDER BY image_index
                    """,
                arguments: [runID])
            {
                let imageID: String = row["image_id"]
                indexByImage[imageID] = result.count
                result.append(
                    CaptionWithMetrics(
                        imageID: imageID, imageIndex: row["image_index"], caption: row["caption"],
                        numWords: row["num_words"], logProb: row["log_prob"], metrics: [:]))
            }
            let metrics = try Row.fetchCursor(
                db, sql: "SELECT image_id, metric, value FROM image_metrics WHERE run_id = ?", arguments: [runID])
            while let row = try metrics.next() {
                if let index = indexByImage[row["image_id"]] {
                    result[index].metrics[row["metric"]] = row["value"]
                }
            }
            return result
        }
    }

    /// The attention of each word of an image's caption, in word order, with weights decoded.
    public func attention(runID: Int64, imageID: String) throws -> [AttentionRecord] {
        try read("reading the attention of image \(imageID) in run \(runID)") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT position, word, weights, top_region, top_weight FROM attention
                    WHERE run_id = ? AND image_id = ? ORDER BY position
                    """,
                arguments: [runID, imageID]
            ).map { try attentionRecord(from: $0, runID: runID, imageID: imageID) }
        }
    }

    /// An `attention` row (position, word, weights, top_region, top_weight) as a record.
    func attentionRecord(from row: Row, runID: Int64, imageID: String) throws -> AttentionRecord {
        let blob: Data = row["weights"]
        guard let weights = AttentionWeights.decode(blob) else {
            throw ResultStoreError.sqlite(
                path: path, operation: "reading the attention of image \(imageID) in run \(runID)",
                message: "a weights blob has \(blob.count) bytes, not a multiple of 4")
        }
        let topWeight: Double? = row["top_weight"]
        return AttentionRecord(
            imageID: imageID, position: row["position"], word: row["word"], weights: weights,
            topRegion: row["top_region"], topWeight: topWeight.map { Float($0) })
    }

    /// The regions of an image stored with a run, in region order.
    public func regions(runID: Int64, imageID: String) throws -> [RegionRecord] {
        try read("reading the regions of image \(imageID) in run \(runID)") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT region, x1, y1, x2, y2, label FROM regions
                    WHERE run_id = ? AND image_id = ? ORDER BY region
                    """,
                arguments: [runID, imageID]
            ).map { row in
                RegionRecord(
                    imageID: imageID, region: row["region"], x1: row["x1"], y1: row["y1"], x2: row["x2"],
                    y2: row["y2"], label: row["label"])
            }
        }
    }
}
