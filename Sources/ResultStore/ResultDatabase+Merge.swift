import CaptionMetrics
import Foundation
import GRDB

extension ResultDatabase {
    /// Copies everything run `partRunID` of the part file at `partPath` committed (its shards with
    /// their captions, attention, regions, per-image metrics, BLEU statistics and failures) into
    /// run `runID` of this database, in one transaction, and returns the number of shards copied.
    ///
    /// The part file is attached for the copy and detached afterwards, so one file is attached at a
    /// time whatever the number of parts (SQLite allows ten). The rows go from file to file inside
    /// SQLite (`INSERT ... SELECT`), never through memory here. A part whose shards are all in the
    /// run already is skipped (returns 0): copying again changes nothing.
    ///
    /// - Throws: `ResultStoreError.sqlite` when the run already holds some but not all of the
    ///   part's shards, or SQLite refuses the copy.
    public func copyPart(from partPath: String, partRunID: Int64, shards: Range<Int>, into runID: Int64) throws -> Int {
        guard let writer else {
            preconditionFailure("copying a part: the results database was opened read-only")
        }
        let operation = "copying run \(partRunID) of \(partPath)"
        return try Self.mapping(path: path, operation: operation) {
            try writer.writeWithoutTransaction { db in
                try db.execute(sql: "ATTACH DATABASE ? AS part", arguments: [partPath])
                defer { try? db.execute(sql: "DETACH DATABASE part") }
                var copied = 0
                try db.inTransaction(.immediate) {
                    let present = try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM main.shards WHERE run_id = ? AND shard >= ? AND shard < ?",
                        arguments: [runID, shards.lowerBound, shards.upperBound])!
                    if present == shards.count { return .commit }
                    if present > 0 {
                        throw ResultStoreError.sqlite(
                            path: path, operation: operation,
                            message: "run \(runID) holds \(present) of the part's \(shards.count) shards already; merge into a new --db")
                    }
                    let tables: [any RunTable.Type] = [
                        ShardRecord.self, CaptionRecord.self, AttentionRecord.self, RegionRecord.self,
                        ImageMetricRecord.self, BleuStatsRecord.self, FailedImage.self,
                    ]
                    // Per-image scores that depend on the whole corpus (CIDEr) belong to the merged
                    // run's finalization, not to a part.
                    let finalized = Metric.allCases.filter(\.perImageScoreDependsOnCorpus).map(\.rawValue)
                    for table in tables {
                        let name = table.databaseTableName
                        let columns = table.columnNamesAfterRunID.joined(separator: ", ")
                        var sql = "INSERT INTO main.\(name) (run_id, \(columns)) SELECT ?, \(columns) FROM part.\(name) WHERE run_id = ?"
                        var arguments: StatementArguments = [runID, partRunID]
                        if table == ImageMetricRecord.self {
                            sql += " AND metric NOT IN (\(databaseQuestionMarks(count: finalized.count)))"
                            arguments += StatementArguments(finalized)
                        }
                        try db.execute(sql: sql, arguments: arguments)
                    }
                    copied = try Int.fetchOne(db, sql: "SELECT count(*) FROM part.shards WHERE run_id = ?", arguments: [partRunID])!
                    return .commit
                }
                return copied
            }
        }
    }
}
