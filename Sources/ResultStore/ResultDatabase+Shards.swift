import Foundation
import GRDB

extension ResultDatabase {
    /// The shards of a run whose rows are committed.
    public func doneShards(runID: Int64) throws -> Set<Int> {
        try read("reading the done shards of run \(runID)") { db in
            typealias Columns = ShardRecord.Columns
            return Set(try Int.fetchAll(db, ShardRecord.select(Columns.shard).filter(Columns.runID == runID)))
        }
    }

    /// The committed shards of a run, in shard order.
    public func shards(runID: Int64) throws -> [ShardRecord] {
        try read("reading the shards of run \(runID)") { db in
            typealias Columns = ShardRecord.Columns
            return try ShardRecord.filter(Columns.runID == runID).order(Columns.shard).fetchAll(db)
        }
    }

    /// How far a run got: shards and images done, failed images, time spent.
    public func shardProgress(runID: Int64) throws -> ShardProgress {
        try read("reading the progress of run \(runID)") { db in
            guard
                let progress = try ShardProgress.fetchOne(
                    db,
                    sql: """
                        SELECT r.shard_count, r.image_count,
                            (SELECT count(*) FROM shards s WHERE s.run_id = r.run_id) AS shards_done,
                            (SELECT coalesce(sum(num_images), 0) FROM shards s WHERE s.run_id = r.run_id) AS images_done,
                            (SELECT coalesce(sum(seconds), 0) FROM shards s WHERE s.run_id = r.run_id) AS seconds,
                            (SELECT count(*) FROM failed_images f WHERE f.run_id = r.run_id) AS images_failed
                        FROM runs r WHERE r.run_id = ?
                        """,
                    arguments: [runID])
            else {
                throw ResultStoreError.runNotFound(path: path, reference: String(runID))
            }
            return progress
        }
    }

    /// Writes everything a shard produced, and its `shards` row, in one transaction: afterwards the
    /// shard is in the database completely, or (when this throws) not at all.
    ///
    /// Attention rows whose `topRegion`/`topWeight` are nil get them from their weights (the first
    /// largest weight).
    ///
    /// - Throws: `ResultStoreError.shardAlreadyCommitted` when the shard has a row already, or
    ///   `ResultStoreError.sqlite` for any other refusal (a duplicate image id, an unknown run ...).
    public func commitShard(_ commit: ShardCommit) throws {
        let run = commit.runID
        let shard = commit.shard
        try write("committing shard \(shard) of run \(run)") { db in
            // The shard row first: a second commit of the same shard fails before any other insert.
            do {
                try db.execute(
                    sql: """
                        INSERT INTO shards (run_id, shard, first_image, num_images, status, seconds, finished_at, host, kernels)
                        VALUES (?, ?, ?, ?, 'done', ?, \(sqlNow), ?, ?)
                        """,
                    arguments: [run, shard, commit.firstImage, commit.numImages, commit.seconds, commit.host, commit.kernels])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                throw ResultStoreError.shardAlreadyCommitted(path: path, runID: run, shard: shard)
            }

            var captions = BatchInsert(db, into: CaptionRecord.self)
            for c in commit.captions {
                try captions.add([run, c.imageID, c.imageIndex, shard, c.caption, c.numWords, c.logProb])
            }
            try captions.flush()

            var attention = BatchInsert(db, into: AttentionRecord.self)
            for a in commit.attention {
                var topRegion = a.topRegion
                var topWeight = a.topWeight
                if topRegion == nil, let top = AttentionWeights.top(a.weights) {
                    topRegion = top.region
                    topWeight = topWeight ?? top.weight
                } else if topWeight == nil, let region = topRegion, a.weights.indices.contains(region) {
                    topWeight = a.weights[region]
                }
                try attention.add([
                    run, a.imageID, a.position, a.word, AttentionWeights.encode(a.weights), topRegion,
                    topWeight.map { Double($0) },
                ])
            }
            try attention.flush()

            try insertImageMetrics(db, runID: run, commit.imageMetrics)

            try insertBleuStatistics(db, runID: run, commit.bleuStats)

            var regions = BatchInsert(db, into: RegionRecord.self)
            for r in commit.regions {
                try regions.add([run, r.imageID, r.region, r.x1, r.y1, r.x2, r.y2, r.label])
            }
            try regions.flush()

            var failures = BatchInsert(db, into: FailedImage.self)
            for f in commit.failures {
                try failures.add([run, f.imageID, shard, f.reason])
            }
            try failures.flush()
        }
    }

    func insertBleuStatistics(_ db: Database, runID: Int64, _ statistics: [BleuStatsRecord]) throws {
        var bleu = BatchInsert(db, into: BleuStatsRecord.self)
        for b in statistics {
            try bleu.add([
                runID, b.imageID, b.testlen, b.reflen, b.guess[0], b.guess[1], b.guess[2], b.guess[3],
                b.correct[0], b.correct[1], b.correct[2], b.correct[3],
            ])
        }
        try bleu.flush()
    }

    func insertImageMetrics(_ db: Database, runID: Int64, _ metrics: [ImageMetricRecord]) throws {
        var insert = BatchInsert(db, into: ImageMetricRecord.self)
        for m in metrics {
            try insert.add([runID, m.imageID, m.metric.rawValue, m.value])
        }
        try insert.flush()
    }
}

/// Inserts rows into one table several at a time (`INSERT INTO t (...) VALUES (...), (...), ...`),
/// through statements cached by the connection: a shard's tens of thousands of rows cost a few
/// hundred statement executions instead of one each. A row's values come in the order of its
/// table's `Columns`.
struct BatchInsert {
    /// Rows per statement: 128 rows of at most 12 columns stay far below SQLite's 32,766 parameters;
    /// measured on a 256-image shard, 128 costs 40% less than 32 and half as much as one row each.
    static let rowsPerStatement = 128

    private let db: Database
    private let head: String
    private let columns: Int
    private var pending: [(any DatabaseValueConvertible)?] = []

    init<Table: RunTable>(_ db: Database, into table: Table.Type) {
        self.db = db
        let names = Table.columnNames
        self.head = "INSERT INTO \(Table.databaseTableName) (\(names.joined(separator: ", "))) VALUES "
        self.columns = names.count
        pending.reserveCapacity(columns * Self.rowsPerStatement)
    }

    mutating func add(_ row: [(any DatabaseValueConvertible)?]) throws {
        precondition(row.count == columns, "a row of \(row.count) values for \(columns) columns")
        pending.append(contentsOf: row)
        if pending.count == columns * Self.rowsPerStatement {
            try flush()
        }
    }

    mutating func flush() throws {
        guard !pending.isEmpty else { return }
        let rows = pending.count / columns
        let tuple = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        let sql = head + Array(repeating: tuple, count: rows).joined(separator: ", ")
        try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(pending))
        pending.removeAll(keepingCapacity: true)
    }
}

/// The shards of a run that one host decoded on one set of kernels.
public struct ShardOrigin: Sendable, Hashable {
    /// Nil for shards committed before schema version 3.
    public var host: String?
    public var kernels: String?
    public var shards: Int

    public init(host: String?, kernels: String?, shards: Int) {
        self.host = host
        self.kernels = kernels
        self.shards = shards
    }

    /// "10 shards: node-a, OpenBLAS 0.3.21 SkylakeX ...", as `show` and the report print it.
    public var summary: String {
        let count = "\(shards) shard\(shards == 1 ? "" : "s")"
        if host == nil && kernels == nil { return "\(count): not recorded (committed before schema version 3)" }
        return "\(count): \(host ?? "?"), \(kernels ?? "?")"
    }
}

extension ResultDatabase {
    /// Where and on which kernels a run's committed shards were decoded: one entry per distinct
    /// host and kernels, the most shards first.
    public func shardOrigins(runID: Int64) throws -> [ShardOrigin] {
        try read("reading where the shards of run \(runID) were decoded") { db in
            try ShardOrigin.fetchAll(
                db,
                sql: """
                    SELECT host, kernels, count(*) AS shards FROM shards WHERE run_id = ?
                    GROUP BY host, kernels ORDER BY shards DESC, host, kernels
                    """,
                arguments: [runID])
        }
    }
}
