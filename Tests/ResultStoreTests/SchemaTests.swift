import Foundation
import GRDB
import TestSupport
import Testing
@testable import ResultStore

@Suite struct SchemaTests {
    @Test func createsTheSchemaInWALMode() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("results.sqlite")
        let store = try ResultDatabase(path: path)
        #expect(try store.schemaVersion() == ResultSchema.currentVersion)
        try store.close()

        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        try queue.read { db in
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(try Int.fetchOne(db, sql: "PRAGMA user_version") == ResultSchema.currentVersion)
            #expect(try Int32.fetchOne(db, sql: "PRAGMA application_id") == ResultSchema.applicationID)
            let tables = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
            #expect(
                tables == [
                    "runs", "shards", "captions", "attention", "regions", "image_metrics", "run_metrics",
                    "bleu_stats", "failed_images", "run_parts", "run_slurm_owners", "run_checkpoints",
                ])
        }
    }

    @Test func reopeningAMigratedFileKeepsItsRows() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("results.sqlite")
        let first = try ResultDatabase(path: path)
        let id = try first.createRun(Fixture.newRun())
        try first.close()
        let second = try ResultDatabase(path: path)
        defer { try? second.close() }
        #expect(try second.run(id: id)?.name == "nightly")
    }

    @Test func aVersion2FileGainsTheShardsOriginsAndKeepsItsRows() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("v2.sqlite")
        // A file as nightcap wrote it at schema version 2, with a run and one shard.
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            for migration in ResultSchema.migrations where migration.version <= 2 { try db.execute(sql: migration.sql) }
            try db.execute(
                sql: "INSERT INTO runs (name, fingerprint, config, image_count, shard_size, shard_count) VALUES ('old', 'fp-old', '{}', 4, 4, 1)")
            try db.execute(sql: "INSERT INTO shards (run_id, shard, first_image, num_images, seconds) VALUES (1, 0, 0, 4, 2.5)")
        }
        try queue.close()

        let store = try ResultDatabase(path: path)
        defer { try? store.close() }
        #expect(try store.schemaVersion() == ResultSchema.currentVersion)
        let old = try store.shards(runID: 1)
        #expect(old.count == 1 && old[0].numImages == 4 && old[0].host == nil && old[0].kernels == nil)
        #expect(try store.shardOrigins(runID: 1) == [ShardOrigin(host: nil, kernels: nil, shards: 1)])

        // New shards record theirs; the origins group them, the most shards first.
        let id = try store.createRun(Fixture.newRun())
        for (shard, host) in ["node-a", "node-b", "node-a"].enumerated() {
            var commit = Fixture.shard(runID: id, shard: shard, firstImage: shard * 4, numImages: 4)
            commit.host = host
            commit.kernels = "OpenBLAS 0.3.21 SkylakeX (library chose Prescott), vector loops avx2"
            try store.commitShard(commit)
        }
        #expect(try store.shards(runID: id).map(\.host) == ["node-a", "node-b", "node-a"])
        let kernels = "OpenBLAS 0.3.21 SkylakeX (library chose Prescott), vector loops avx2"
        #expect(
            try store.shardOrigins(runID: id) == [
                ShardOrigin(host: "node-a", kernels: kernels, shards: 2), ShardOrigin(host: "node-b", kernels: kernels, shards: 1),
            ])
    }

    @Test func refusesANewerSchemaVersion() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("results.sqlite")
        try ResultDatabase(path: path).close()
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "PRAGMA user_version = 7") }
        try queue.close()

        let error = #expect(throws: ResultStoreError.self) { try ResultDatabase(path: path) }
        #expect(error == .newerSchema(path: path, found: 7, known: ResultSchema.currentVersion))
        #expect(
            error?.description == "\(path) has schema version 7, this nightcap knows up to \(ResultSchema.currentVersion): upgrade nightcap")
        #expect(throws: ResultStoreError.newerSchema(path: path, found: 7, known: ResultSchema.currentVersion)) {
            try ResultDatabase(path: path, readOnly: true)
        }
    }

    @Test func refusesAnotherProgramsDatabaseWithoutChangingIt() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("other.sqlite")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        }
        try queue.close()

        let error = #expect(throws: ResultStoreError.self) { try ResultDatabase(path: path) }
        #expect(error == .notNightcapDatabase(path: path, tables: ["invoices"]))
        #expect(error?.description.contains("is an SQLite database but not a nightcap results file") == true)
        #expect(error?.description.contains("invoices") == true)

        let check = try DatabaseQueue(path: path)
        defer { try? check.close() }
        try check.read { db throws in
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "delete")
            #expect(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master") == ["invoices"])
        }
    }

    @Test func refusesAFileThatIsNotSQLite() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("notes.sqlite")
        try Data("these are my notes, not a database\n".utf8).write(to: URL(fileURLWithPath: path))

        let error = #expect(throws: ResultStoreError.self) { try ResultDatabase(path: path) }
        #expect(error == .notSQLite(path: path))
        #expect(error?.description == "\(path) is not an SQLite database: choose another results path, or move that file away")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "these are my notes, not a database\n")
    }

    @Test func aDamagedFileIsNamedWithWhatToDo() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("results.sqlite")
        let store = try ResultDatabase(path: path)
        let id = try store.createRun(Fixture.newRun())
        for shard in 0..<4 { try store.commitShard(Fixture.shard(runID: id, shard: shard, firstImage: shard * 4, numImages: 4)) }
        try store.close()  // checkpoints the WAL into the file
        // Half of the file, as a copy cut off in the middle leaves it.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.count > 8192)
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))

        let error = #expect(throws: ResultStoreError.self) {
            let damaged = try ResultDatabase(path: path, readOnly: true)
            defer { try? damaged.close() }
            _ = try damaged.captions(runID: id)
        }
        guard case .damaged(let reported, _) = error else {
            Issue.record("expected damaged, got \(String(describing: error))")
            return
        }
        #expect(reported == path)
        #expect(error?.description.hasPrefix("\(path) is damaged (SQLite: ") == true, "\(String(describing: error))")
        #expect(error?.description.hasSuffix("restore it from a copy, or run into a new --db; `sqlite3 \(path) .recover` may save what is left") == true)
    }

    @Test func reportsAFolderThatDoesNotExist() throws {
        let path = "/nonexistent-nightcap-folder/results.sqlite"
        let error = #expect(throws: ResultStoreError.self) { try ResultDatabase(path: path) }
        guard case .cannotOpen(let reported, _) = error else {
            Issue.record("expected cannotOpen, got \(String(describing: error))")
            return
        }
        #expect(reported == path)
        #expect(error?.description.contains("check that its folder exists and is writable") == true)
    }

    @Test func readOnlyOpenNeitherCreatesNorWrites() throws {
        let folder = TemporaryDirectory()
        let missing = folder.path("missing.sqlite")
        #expect(throws: ResultStoreError.cannotOpen(path: missing, reason: "no such file")) {
            try ResultDatabase(path: missing, readOnly: true)
        }
        #expect(!FileManager.default.fileExists(atPath: missing))

        let path = folder.path("results.sqlite")
        let writer = try ResultDatabase(path: path)
        let id = try writer.createRun(Fixture.newRun())
        let reader = try ResultDatabase(path: path, readOnly: true)
        #expect(try reader.run(id: id)?.fingerprint == "fp-1")
        try reader.close()
        try writer.close()
    }

    @Test func readOnlyOpenRefusesAnEmptyDatabase() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("empty.sqlite")
        try DatabaseQueue(path: path).close()
        let error = #expect(throws: ResultStoreError.self) { try ResultDatabase(path: path, readOnly: true) }
        #expect(error == .notNightcapDatabase(path: path, tables: []))
        #expect(
            error?.description
                == "\(path) is an SQLite database but not a nightcap results file (it has no nightcap tables): "
                + "choose another results path")
    }

    @Test func foreignKeysCascadeFromRuns() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun())
        try store.commitShard(Fixture.shard(runID: id, shard: 0, firstImage: 0, numImages: 4))
        try store.write("test") { db in try db.execute(sql: "DELETE FROM runs WHERE run_id = ?", arguments: [id]) }
        try store.read("test") { db throws in
            for table in ["shards", "captions", "attention", "regions", "image_metrics", "bleu_stats"] {
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") == 0, "\(table)")
            }
        }
    }

    /// `schemas/results.sql` is the documentation users read; it must be what the program applies.
    @Test func committedSchemaFileEqualsTheMigrations() throws {
        let schemaFile = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("schemas/results.sql")
        let committed = try String(contentsOf: schemaFile, encoding: .utf8)
        #expect(
            committed == ResultSchema.fullSQL,
            "schemas/results.sql differs from ResultSchema.migrations: copy the SQL of Schema.swift into it")
    }

    /// Applying the schema file with plain SQL gives a database that nightcap accepts as current.
    @Test func schemaFileMakesADatabaseNightcapOpens() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("by-hand.sqlite")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: ResultSchema.fullSQL) }
        try queue.close()
        let store = try ResultDatabase(path: path)
        defer { try? store.close() }
        #expect(try store.schemaVersion() == ResultSchema.currentVersion)
        _ = try store.createRun(Fixture.newRun())
    }
}
