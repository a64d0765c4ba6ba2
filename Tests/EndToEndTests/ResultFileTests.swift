import CaptionMetrics
import Foundation
import ResultStore
import TestSupport
import Testing

/// The results file holds its results when a command ends: a user who copies, uploads or attaches
/// only the `.sqlite` file (not its `-wal`) right after `run`, an interrupted run, `merge` or
/// `score` finds every row in it.
@Suite(.timeLimit(.minutes(10))) struct ResultFileTests {
    /// Copies `path` alone (no `-wal`, no `-shm`) into a new folder of `fixture` and returns the copy.
    static func copyAlone(_ path: String, fixture: RunFixture, as name: String) throws -> String {
        let folder = fixture.path("copies-\(name)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let copy = folder + "/results.sqlite"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        return copy
    }

    /// The `-wal` beside `path` is gone or empty: nothing committed lives only there.
    static func expectNoPendingWAL(_ path: String, _ comment: Comment) {
        let size = (try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber
        #expect(size == nil || size?.intValue == 0, comment)
    }

    @Test func theFileAloneHoldsACompletedRun() throws {
        let fixture = try RunFixture()
        let db = fixture.path("results.sqlite")
        let outcome = try NightcapProcess.run(fixture.runArguments(database: db))
        #expect(outcome.status == 0, "\(outcome.standardError)")
        Self.expectNoPendingWAL(db, "after run")
        let copy = try Self.copyAlone(db, fixture: fixture, as: "run")
        let database = try ResultDatabase(path: copy, readOnly: true)
        defer { try? database.close() }
        #expect(try database.run(id: 1)?.status == .completed)
        #expect(try database.captions(runID: 1).count == 48)
        #expect(try database.doneShards(runID: 1) == Set(0..<6))
        #expect(try database.imageMetrics(runID: 1, metric: .cider).count == 48)
        #expect(try database.runMetrics(runID: 1).count == 6)
        #expect(try RunFixture.snapshot(database: copy) == RunFixture.snapshot(database: db))
    }

    @Test(arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func theFileAloneHoldsAnInterruptedRun(signal: Int32, exitCode: Int32) throws {
        let fixture = try RunFixture()
        let db = fixture.path("interrupted.sqlite")
        let stopped = try NightcapProcess.run(
            fixture.runArguments(database: db, extra: ["--shard-size", "2"]),
            environment: ["NIGHTCAP_FAULT_INTERRUPT_AFTER_COMMITS": "2", "NIGHTCAP_FAULT_INTERRUPT_SIGNAL": String(signal)])
        #expect(stopped.status == exitCode, "\(stopped.standardError)")
        Self.expectNoPendingWAL(db, "after exit \(exitCode)")
        let original = try ResultDatabase(path: db, readOnly: true)
        let done = try original.doneShards(runID: 1)
        let captions = try original.captions(runID: 1).count
        try original.close()
        #expect(done.count >= 2)

        let copy = try Self.copyAlone(db, fixture: fixture, as: "interrupted")
        let database = try ResultDatabase(path: copy, readOnly: true)
        defer { try? database.close() }
        #expect(try database.run(id: 1)?.status == .interrupted)
        #expect(try database.doneShards(runID: 1) == done)
        #expect(try database.captions(runID: 1).count == captions)
        #expect(captions == 2 * done.count)
    }

    @Test func theFileAloneHoldsAMergeAndAScore() throws {
        let fixture = try RunFixture(images: 24)
        // Parts without references: the merge captions, `score` adds the metrics afterwards.
        var parts: [String] = []
        for index in 0..<2 {
            let part = fixture.path("part-\(index).sqlite")
            var arguments = fixture.runArguments(database: part, extra: ["--part", "\(index)/2"])
            arguments.removeSubrange(arguments.firstIndex(of: "--references")!...arguments.firstIndex(of: "--references")! + 1)
            let outcome = try NightcapProcess.run(arguments)
            #expect(outcome.status == 0, "\(outcome.standardError)")
            Self.expectNoPendingWAL(part, "after part \(index)")
            parts.append(part)
        }
        let merged = fixture.path("merged.sqlite")
        let merge = try NightcapProcess.run(["merge"] + parts + ["--db", merged])
        #expect(merge.status == 0, "\(merge.standardError)")
        Self.expectNoPendingWAL(merged, "after merge")
        let mergedCopy = try Self.copyAlone(merged, fixture: fixture, as: "merge")
        do {
            let database = try ResultDatabase(path: mergedCopy, readOnly: true)
            defer { try? database.close() }
            #expect(try database.run(id: 1)?.status == .completed)
            #expect(try database.captions(runID: 1).count == 24)
        }

        let score = try NightcapProcess.run(["score", "1", "--db", merged, "--references", fixture.references])
        #expect(score.status == 0, "\(score.standardError)")
        Self.expectNoPendingWAL(merged, "after score")
        let scoredCopy = try Self.copyAlone(merged, fixture: fixture, as: "score")
        let database = try ResultDatabase(path: scoredCopy, readOnly: true)
        defer { try? database.close() }
        #expect(try database.bleuStatistics(runID: 1).count == 24)
        #expect(try database.imageMetrics(runID: 1, metric: .cider).count == 24)
        #expect(try database.runMetrics(runID: 1)[.cider] != nil)
    }
}
