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
                    let ids: StatementArguments = [runID, partRunID]
                    let copies = [
                        ("shards", "shard, first_image, num_images, status, seconds, finished_at, host, kernels"),
                        ("captions", "image_id, image_index, shard, caption, num_words, log_prob"),
                        ("attention", "image_id, position, word, weights, top_region, top_weight"),
                        ("regions", "image_id, region, x1, y1, x2, y2, label"),
                        ("image_metrics", "image_id, metric, value"),
                        ("bleu_stats", "image_id, testlen, reflen, guess_1, guess_2, guess_3, guess_4, correct_1, correct_2, correct_3, correct_4"),
                        ("failed_images", "image_id, shard, reason"),
                    ]
                    for (table, columns) in copies {
                        // CIDEr rows belong to the merged run's finalization, not to a part.
                        let filter = table == "image_metrics" ? " AND metric <> 'CIDEr'" : ""
                        try db.execute(
                            sql: "INSERT INTO main.\(table) (run_id, \(columns)) SELECT ?, \(columns) FROM part.\(table) WHERE run_id = ?\(filter)",
                            arguments: ids)
                    }
                    copied = try Int.fetchOne(db, sql: "SELECT count(*) FROM part.shards WHERE run_id = ?", arguments: [partRunID])!
                    return .commit
                }
                return copied
            }
        }
    }
}
