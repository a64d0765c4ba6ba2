import Foundation
import GRDB
import TestSupport
import Testing
@testable import ResultStore

/// Closing a writable results file moves the WAL into the file (`wal_checkpoint(TRUNCATE)`), so that
/// the `.sqlite` file alone holds every row; a reader in the middle of a read leaves the WAL in place
/// without failing the close.
@Suite struct CheckpointTests {
    static func walSize(_ path: String) -> Int? {
        ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber)?.intValue
    }

    /// A run with two shards of 4 images in a new file at `path`.
    static func writeRun(_ store: ResultDatabase) throws -> Int64 {
        let id = try store.createRun(Fixture.newRun())
        try store.commitShard(Fixture.shard(runID: id, shard: 0, firstImage: 0, numImages: 4))
        try store.commitShard(Fixture.shard(runID: id, shard: 1, firstImage: 4, numImages: 4))
        return id
    }

    @Test func closingMovesTheWALIntoTheFile() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("results.sqlite")
        let store = try ResultDatabase(path: path)
        let id = try Self.writeRun(store)
        #expect((Self.walSize(path) ?? 0) > 0, "the shards are in the WAL while the file is open")
        try store.close()
        #expect(Self.walSize(path) == nil || Self.walSize(path) == 0)

        let copy = folder.path("copy.sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let copied = try ResultDatabase(path: copy, readOnly: true)
        defer { try? copied.close() }
        #expect(try copied.captions(runID: id).count == 8)
        #expect(try copied.doneShards(runID: id) == [0, 1])
    }

    @Test func aReaderInTheMiddleOfAReadLeavesTheWALAndTheCloseSucceeds() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("results.sqlite")
        let store = try ResultDatabase(path: path)
        let id = try Self.writeRun(store)

        // Another connection (as `sqlite3` in another terminal) holds a read transaction open.
        var configuration = Configuration()
        configuration.readonly = true
        configuration.allowsUnsafeTransactions = true
        let reader = try DatabaseQueue(path: path, configuration: configuration)
        try reader.inDatabase { db in
            try db.beginTransaction(.deferred)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM captions") == 8)
        }
        try store.close()
        #expect((Self.walSize(path) ?? 0) > 0, "the reader still uses the WAL: it stays")
        try reader.inDatabase { db in
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM captions") == 8)
            try db.commit()
        }
        try reader.close()

        // The next writer checkpoints what the first one left.
        let again = try ResultDatabase(path: path)
        #expect(try again.captions(runID: id).count == 8)
        try again.close()
        #expect(Self.walSize(path) == nil || Self.walSize(path) == 0)
    }
}
