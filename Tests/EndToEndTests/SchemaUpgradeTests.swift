import Foundation
import GRDB
import ResultStore
import TestSupport
import Testing

/// A results file from an older nightcap, read by the commands that only read: they upgrade it
/// once (saying so), keep every row, and show what the older schema did not record as such.
@Suite(.timeLimit(.minutes(5))) struct SchemaUpgradeTests {
    @Test func readingCommandsUpgradeAVersion2FileAndKeepItsRows() throws {
        let fixture = try RunFixture(images: 16)
        let path = fixture.path("old.sqlite")
        let run = try NightcapProcess.run(fixture.runArguments(database: path))
        #expect(run.status == 0, "\(run.standardError)")
        let before = try RunFixture.snapshot(database: path)

        // Make it the file nightcap wrote at schema version 2: no shards.host and shards.kernels,
        // and none of version 4's series and checkpoints.
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            try Self.removeVersion4(db)
            try db.execute(sql: "ALTER TABLE shards DROP COLUMN kernels")
            try db.execute(sql: "ALTER TABLE shards DROP COLUMN host")
            try db.execute(sql: "PRAGMA user_version = 2")
        }
        try queue.close()

        let show = try NightcapProcess.run(["show", "1", "--db", path])
        #expect(show.status == 0, "\(show.standardError)")
        #expect(show.standardError.contains("upgraded \(path) from schema version 2 to \(ResultSchema.currentVersion)"), "\(show.standardError)")
        #expect(show.standardOutput.contains("decoded on   2 shards: not recorded (committed before schema version 3)"), "\(show.standardOutput)")
        #expect(try RunFixture.snapshot(database: path) == before)

        // Once is enough: the next reading command says nothing about it.
        let runs = try NightcapProcess.run(["runs", "--db", path])
        #expect(runs.status == 0 && !runs.standardError.contains("upgraded"), "\(runs.standardError)")
        let database = try ResultDatabase(path: path, readOnly: true)
        defer { try? database.close() }
        #expect(try database.schemaVersion() == ResultSchema.currentVersion)
    }

    /// Takes a version 4 file back to version 3.
    static func removeVersion4(_ db: Database) throws {
        try db.execute(sql: "DROP TABLE run_checkpoints")
        try db.execute(sql: "DROP INDEX runs_by_series")
        try db.execute(sql: "ALTER TABLE runs DROP COLUMN series")
        try db.execute(sql: "PRAGMA user_version = 3")
    }

    @Test func aVersion3FileGainsSeriesAndCheckpointsWithNullsForItsRuns() throws {
        let fixture = try RunFixture(images: 16)
        let path = fixture.path("old.sqlite")
        for beam in ["3", "1"] {
            let run = try NightcapProcess.run(fixture.runArguments(database: path, extra: ["--beam-size", beam, "--name", "old-\(beam)"]))
            #expect(run.status == 0, "\(run.standardError)")
        }
        // Files of nightcap before unique names can hold one name twice, as this one then does.
        let renaming = try DatabaseQueue(path: path)
        try renaming.writeWithoutTransaction { db in try db.execute(sql: "UPDATE runs SET name = 'old'") }
        try renaming.close()
        let before = try RunFixture.snapshot(database: path, runID: 2)
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in try Self.removeVersion4(db) }
        try queue.close()

        // Runs from before version 4 have no series: they group by their name, and record no checkpoint.
        let history = try NightcapProcess.run(["history", "--db", path, "--metric", "CIDEr"])
        #expect(history.status == 0, "\(history.standardError)")
        #expect(history.standardError.contains("upgraded \(path) from schema version 3 to \(ResultSchema.currentVersion)"), "\(history.standardError)")
        #expect(history.standardOutput.contains(
            "series old in \(path): 2 completed runs, ordered by time (not every run's checkpoint records its training step)"), "\(history.standardOutput)")
        #expect(history.standardOutput.split(separator: "\n").filter { $0.hasPrefix("1 ") || $0.hasPrefix("2 ") }.allSatisfy { $0.contains("  -  ") })
        let database = try ResultDatabase(path: path, readOnly: true)
        defer { try? database.close() }
        #expect(try database.checkpoint(runID: 1) == nil && database.series(runID: 2) == "old")
        #expect(try RunFixture.snapshot(database: path, runID: 2) == before)

        // A run started now records both beside them.
        let new = try NightcapProcess.run(fixture.runArguments(database: path, extra: ["--beam-size", "2", "--name", "old-2", "--series", "old"]))
        #expect(new.status == 0, "\(new.standardError)")
        let after = try ResultDatabase(path: path, readOnly: true)
        defer { try? after.close() }
        #expect(try after.checkpoint(runID: 3)?.path == fixture.model)
        #expect(try after.runSeries("old")?.runs.map(\.run.runID) == [1, 2, 3])
    }
}
