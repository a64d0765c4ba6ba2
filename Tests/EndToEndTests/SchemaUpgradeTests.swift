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

        // Make it the file nightcap wrote at schema version 2: no shards.host and shards.kernels.
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
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
}
