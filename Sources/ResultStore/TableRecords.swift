import CaptionMetrics
import Foundation
import GRDB

// The GRDB records of the results tables. Each table's column names are written once, in the
// `Columns` of its record, in the table's order (schemas/results.sql); rows are read through
// `init(row:)` and written through `PersistableRecord` or, for a shard's many rows, `BatchInsert`.
// Metric names reach SQL only here, as bound values (`Metric.rawValue`).

/// The names of the metrics this build knows, as the `metric` columns store them. A file written by
/// a newer nightcap may hold others: reads leave those out rather than refuse the file.
let knownMetricNames = Metric.allCases.map(\.rawValue)

/// A table whose rows belong to a run, listed in `Columns` in the table's order (`run_id` first):
/// `BatchInsert` writes its rows, `copyPart` copies them from a part's file.
protocol RunTable: TableRecord where Columns: ColumnExpression & CaseIterable {}

extension RunTable {
    /// Every column of the table.
    static var columnNames: [String] { Columns.allCases.map(\.name) }
    /// Every column but `run_id`, which a copy into another run replaces.
    static var columnNamesAfterRunID: [String] { columnNames.filter { $0 != "run_id" } }
}

extension RunRecord: FetchableRecord, TableRecord {
    public static let databaseTableName = "runs"

    /// The columns of the table, in its order (schemas/results.sql).
    public enum Columns: String, ColumnExpression, CaseIterable {
        case runID = "run_id", name, status, statusMessage = "status_message", fingerprint, config
        case featuresPath = "features_path", modelPath = "model_path", referencesPath = "references_path"
        case imageCount = "image_count", shardSize = "shard_size", shardCount = "shard_count"
        case nightcapVersion = "nightcap_version", ownerPID = "owner_pid", ownerHost = "owner_host"
        case heartbeatAt = "heartbeat_at", createdAt = "created_at", finishedAt = "finished_at"
        case finalizeSeconds = "finalize_seconds", referencesDigest = "references_digest"
    }

    public init(row: Row) {
        self.init(
            runID: row[Columns.runID], name: row[Columns.name], status: RunStatus(stored: row[Columns.status]),
            statusMessage: row[Columns.statusMessage], fingerprint: row[Columns.fingerprint],
            configJSON: row[Columns.config], imageCount: row[Columns.imageCount], shardSize: row[Columns.shardSize],
            shardCount: row[Columns.shardCount], featuresPath: row[Columns.featuresPath],
            modelPath: row[Columns.modelPath], referencesPath: row[Columns.referencesPath],
            referencesDigest: row[Columns.referencesDigest], nightcapVersion: row[Columns.nightcapVersion],
            ownerPID: row[Columns.ownerPID], ownerHost: row[Columns.ownerHost], heartbeatAt: row[Columns.heartbeatAt],
            createdAt: row[Columns.createdAt], finishedAt: row[Columns.finishedAt],
            finalizeSeconds: row[Columns.finalizeSeconds])
    }
}

extension RunStatus {
    init(stored: String) {
        // The CHECK constraint admits only the four statuses.
        guard let status = RunStatus(rawValue: stored) else {
            preconditionFailure("runs.status holds '\(stored)', which its CHECK constraint forbids")
        }
        self = status
    }
}

/// A row of the `run_summary` view, with whether its run is scored.
extension RunSummary: FetchableRecord {
    enum Columns: String, ColumnExpression {
        case runID = "run_id", name, status, createdAt = "created_at", finishedAt = "finished_at"
        case imageCount = "image_count", shardsDone = "shards_done", shardCount = "shard_count"
        case imagesDone = "images_done", imagesFailed = "images_failed", bleu4 = "bleu_4", cider
        /// Not columns of the view: `listRuns` selects them from `runs` and `image_metrics`.
        case scored, ownerPID = "owner_pid", ownerHost = "owner_host", config, imagesScored = "images_scored"
    }

    public init(row: Row) {
        self.init(
            runID: row[Columns.runID], name: row[Columns.name], status: RunStatus(stored: row[Columns.status]),
            createdAt: row[Columns.createdAt], finishedAt: row[Columns.finishedAt], imageCount: row[Columns.imageCount],
            imagesDone: row[Columns.imagesDone], imagesFailed: row[Columns.imagesFailed],
            shardsDone: row[Columns.shardsDone], shardCount: row[Columns.shardCount], bleu4: row[Columns.bleu4],
            cider: row[Columns.cider], isScored: row[Columns.scored], ownerPID: row[Columns.ownerPID],
            ownerHost: row[Columns.ownerHost], configJSON: row[Columns.config], imagesScored: row[Columns.imagesScored])
    }
}

/// A row of `run_parts`: the part a run does.
struct RunPartRow: FetchableRecord, PersistableRecord {
    static let databaseTableName = "run_parts"
    var runID: Int64
    var part: RunPart

    enum Columns: String, ColumnExpression {
        case runID = "run_id", partIndex = "part_index", partCount = "part_count"
        case firstShard = "first_shard", endShard = "end_shard"
    }

    init(runID: Int64, part: RunPart) {
        self.runID = runID
        self.part = part
    }

    init(row: Row) {
        runID = row[Columns.runID]
        part = RunPart(
            index: row[Columns.partIndex], count: row[Columns.partCount], firstShard: row[Columns.firstShard],
            endShard: row[Columns.endShard])
    }

    func encode(to container: inout PersistenceContainer) {
        container[Columns.runID] = runID
        container[Columns.partIndex] = part.index
        container[Columns.partCount] = part.count
        container[Columns.firstShard] = part.firstShard
        container[Columns.endShard] = part.endShard
    }
}

/// A row of `run_slurm_owners`: the Slurm task that owns a running run.
struct SlurmOwnerRow: FetchableRecord, PersistableRecord {
    static let databaseTableName = "run_slurm_owners"
    var runID: Int64
    var task: SlurmTask

    enum Columns: String, ColumnExpression {
        case runID = "run_id", jobID = "job_id", restartCount = "restart_count"
    }

    init(runID: Int64, task: SlurmTask) {
        self.runID = runID
        self.task = task
    }

    init(row: Row) {
        runID = row[Columns.runID]
        task = SlurmTask(jobID: row[Columns.jobID], restartCount: row[Columns.restartCount])
    }

    func encode(to container: inout PersistenceContainer) {
        container[Columns.runID] = runID
        container[Columns.jobID] = task.jobID
        container[Columns.restartCount] = task.restartCount
    }
}

extension ShardRecord: FetchableRecord, RunTable {
    public static let databaseTableName = "shards"

    /// The columns of the table, in its order (schemas/results.sql).
    public enum Columns: String, ColumnExpression, CaseIterable {
        case runID = "run_id", shard, firstImage = "first_image", numImages = "num_images", status, seconds
        case finishedAt = "finished_at", host, kernels
    }

    public init(row: Row) {
        self.init(
            shard: row[Columns.shard], firstImage: row[Columns.firstImage], numImages: row[Columns.numImages],
            seconds: row[Columns.seconds], finishedAt: row[Columns.finishedAt], host: row[Columns.host],
            kernels: row[Columns.kernels])
    }
}

/// The progress columns `shardProgress` computes from `runs`, `shards` and `failed_images`.
extension ShardProgress: FetchableRecord {
    enum Columns: String, ColumnExpression {
        case shardCount = "shard_count", imageCount = "image_count", shardsDone = "shards_done"
        case imagesDone = "images_done", seconds, imagesFailed = "images_failed"
    }

    public init(row: Row) {
        self.init(
            shardsDone: row[Columns.shardsDone], shardCount: row[Columns.shardCount], imagesDone: row[Columns.imagesDone],
            imageCount: row[Columns.imageCount], imagesFailed: row[Columns.imagesFailed],
            secondsSpent: row[Columns.seconds])
    }
}

/// A group of `shards` rows by host and kernels, with their count.
extension ShardOrigin: FetchableRecord {
    enum Columns: String, ColumnExpression {
        case host, kernels, shards
    }

    public init(row: Row) {
        self.init(host: row[Columns.host], kernels: row[Columns.kernels], shards: row[Columns.shards])
    }
}

extension CaptionRecord: FetchableRecord, RunTable {
    public static let databaseTableName = "captions"

    /// The columns of the table, in its order (schemas/results.sql).
    public enum Columns: String, ColumnExpression, CaseIterable {
        case runID = "run_id", imageID = "image_id", imageIndex = "image_index", shard, caption
        case numWords = "num_words", logProb = "log_prob"
    }

    public init(row: Row) {
        self.init(
            imageID: row[Columns.imageID], imageIndex: row[Columns.imageIndex], caption: row[Columns.caption],
            numWords: row[Columns.numWords], logProb: row[Columns.logProb])
    }
}

extension CaptionWithMetrics {
    /// A caption without its scores yet.
    init(_ caption: CaptionRecord) {
        self.init(
            imageID: caption.imageID, imageIndex: caption.imageIndex, caption: caption.caption,
            numWords: caption.numWords, logProb: caption.logProb, metrics: [:])
    }
}

extension AttentionRecord: TableRecord, RunTable {
    public static let databaseTableName = "attention"

    /// The columns of the table, in its order (schemas/results.sql).
    public enum Columns: String, ColumnExpression, CaseIterable {
        case runID = "run_id", imageID = "image_id", position, word, weights, topRegion = "top_region"
        case topWeight = "top_weight"
    }
}

extension RegionRecord: FetchableRecord, RunTable {
    public static let databaseTableName = "regions"

    /// The columns of the table, in its order (schemas/results.sql).
    public enum Columns: String, ColumnExpression, CaseIterable {
        case runID = "run_id", imageID = "image_id", region, x1, y1, x2, y2, label
    }

    public init(row: Row) {
        self.init(
            imageID: row[Columns.imageID], region: row[Columns.region], x1: row[Columns.x1], y1: row[Columns.y1],
            x2: row[Columns.x2], y2: row[Columns.y2], label: row[Columns.label])
    }
}

extension ImageMetricRecord: FetchableRecord, RunTable {
    public static let databaseTableName = "image_metrics"

    /// The columns of the table, in its order (schemas/results.sql).
    public enum Columns: String, ColumnExpression, CaseIterable {
        case runID = "run_id", imageID = "image_id", metric, value
    }

    /// The rows of a run whose metric this build knows (`knownMetricNames`).
    static func known(runID: Int64) -> QueryInterfaceRequest<Self> {
        filter(Columns.runID == runID && knownMetricNames.contains(Columns.metric))
    }

    public init(row: Row) throws {
        let name: String = row[Columns.metric]
        guard let metric = Metric(rawValue: name) else {
            // Only reachable through a query that does not filter with `known(runID:)`.
            throw DatabaseError(
                resultCode: .SQLITE_MISMATCH,
                message: "image_metrics holds the metric '\(name)', which this nightcap does not know (\(Metric.validNames))")
        }
        self.init(imageID: row[Columns.imageID], metric: metric, value: row[Columns.value])
    }
}

/// A row of `run_metrics`: one corpus score of a finalized run.
struct RunMetricRow: FetchableRecord, PersistableRecord {
    static let databaseTableName = "run_metrics"
    var runID: Int64
    var metric: Metric
    var value: Double

    enum Columns: String, ColumnExpression {
        case runID = "run_id", metric, value
    }

    init(runID: Int64, metric: Metric, value: Double) {
        self.runID = runID
        self.metric = metric
        self.value = value
    }

    /// The rows of a run whose metric this build knows (`knownMetricNames`).
    static func known(runID: Int64) -> QueryInterfaceRequest<Self> {
        filter(Columns.runID == runID && knownMetricNames.contains(Columns.metric))
    }

    init(row: Row) throws {
        let name: String = row[Columns.metric]
        guard let metric = Metric(rawValue: name) else {
            throw DatabaseError(
                resultCode: .SQLITE_MISMATCH,
                message: "run_metrics holds the metric '\(name)', which this nightcap does not know (\(Metric.validNames))")
        }
        self.init(runID: row[Columns.runID], metric: metric, value: row[Columns.value])
    }

    func encode(to container: inout PersistenceContainer) {
        container[Columns.runID] = runID
        container[Columns.metric] = metric.rawValue
        container[Columns.value] = value
    }

    /// Inserts a run's corpus scores, in the order of their names.
    static func insert(_ db: Database, runID: Int64, _ scores: [Metric: Double]) throws {
        for (metric, value) in scores.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            try RunMetricRow(runID: runID, metric: metric, value: value).insert(db)
        }
    }
}

extension BleuStatsRecord: FetchableRecord, RunTable {
    public static let databaseTableName = "bleu_stats"

    /// The columns of the table, in its order (schemas/results.sql).
    public enum Columns: String, ColumnExpression, CaseIterable {
        case runID = "run_id", imageID = "image_id", testlen, reflen
        case guess1 = "guess_1", guess2 = "guess_2", guess3 = "guess_3", guess4 = "guess_4"
        case correct1 = "correct_1", correct2 = "correct_2", correct3 = "correct_3", correct4 = "correct_4"
    }

    public init(row: Row) {
        self.init(
            imageID: row[Columns.imageID], testlen: row[Columns.testlen], reflen: row[Columns.reflen],
            guess: [row[Columns.guess1], row[Columns.guess2], row[Columns.guess3], row[Columns.guess4]],
            correct: [row[Columns.correct1], row[Columns.correct2], row[Columns.correct3], row[Columns.correct4]])
    }
}

extension FailedImage: FetchableRecord, RunTable {
    public static let databaseTableName = "failed_images"

    /// The columns of the table, in its order (schemas/results.sql).
    public enum Columns: String, ColumnExpression, CaseIterable {
        case runID = "run_id", imageID = "image_id", shard, reason
    }

    public init(row: Row) {
        self.init(imageID: row[Columns.imageID], shard: row[Columns.shard], reason: row[Columns.reason])
    }
}

/// The two counts of `ResultDatabase.groundingSQL`.
extension GroundingSummary: FetchableRecord {
    enum Columns: String, ColumnExpression {
        case objectWords = "object_words", grounded
    }

    public init(row: Row) {
        self.init(objectWords: row[Columns.objectWords], grounded: row[Columns.grounded])
    }
}
