import Foundation
import ResultStore
import TestSupport
import Testing

/// A read stuck inside libhdf5 (simulated by the debug builds' `NIGHTCAP_DEBUG_STUCK_READ` hook,
/// which makes the N-th read of a dataset never return): a second SIGINT/SIGTERM still ends the
/// process at once, `--read-timeout` turns it into an error naming the file and dataset, and the
/// shards committed before stay, so that the same command resumes to the uninterrupted result.
@Suite(.timeLimit(.minutes(5))) struct StuckReadTests {
    /// The fourth read of /features is shard 3's (shard size 8, one read per shard), so shards 0-2
    /// are read, decoded and committed before the reader sticks.
    static let stuckAtShard3 = ["NIGHTCAP_DEBUG_STUCK_READ": "/features@4"]

    static func committedShards(_ path: String) -> Int {
        guard let database = try? ResultDatabase(path: path, readOnly: true) else { return 0 }
        defer { try? database.close() }
        return (try? database.doneShards(runID: 1).count) ?? 0
    }

    static func waitForShards(_ count: Int, in path: String) {
        for _ in 0..<600 where committedShards(path) < count { usleep(100_000) }
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func secondSignalExitsAtOnceWhileAReadIsStuck(signal: Int32) throws {
        let fixture = try RunFixture()
        let clean = fixture.path("clean.sqlite"), db = fixture.path("stuck.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: clean, extra: ["--threads", "2"])).status == 0)

        let running = try NightcapProcess.start(fixture.runArguments(database: db, extra: ["--threads", "2"]), environment: Self.stuckAtShard3)
        Self.waitForShards(3, in: db)
        #expect(Self.committedShards(db) == 3)
        kill(running.pid, signal)
        usleep(500_000)
        #expect(running.process.isRunning, "the first signal waits for the shards in progress, and the reader is stuck")
        kill(running.pid, signal)
        let outcome = running.wait()
        #expect(outcome.status == 128 + signal, "\(outcome.standardError)")
        #expect(outcome.standardError.contains("nightcap: stopped at once (second signal)"))
        #expect(Self.committedShards(db) == 3, "committed shards are kept")

        let resumed = try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--threads", "2"]))
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try RunFixture.snapshot(database: db) == RunFixture.snapshot(database: clean))
    }

    @Test func readTimeoutTurnsAStuckReadIntoAnError() throws {
        let fixture = try RunFixture()
        let clean = fixture.path("clean.sqlite"), db = fixture.path("stuck.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: clean, extra: ["--threads", "2"])).status == 0)

        let outcome = try NightcapProcess.run(
            fixture.runArguments(database: db, extra: ["--threads", "2", "--read-timeout", "3"]), environment: Self.stuckAtShard3)
        #expect(outcome.status == 1)
        #expect(
            outcome.standardError.contains(
                "nightcap: \(fixture.features), dataset /features: a read made no progress for 3 s (--read-timeout 3); the file is probably damaged, or its storage is not responding. Shards committed before are kept: fix or replace the file and run the same command to resume."))
        #expect(Self.committedShards(db) >= 1, "shards decoded before the stuck read are committed")

        let resumed = try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--threads", "2"]))
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try RunFixture.snapshot(database: db) == RunFixture.snapshot(database: clean))
    }

    @Test func readTimeoutMustBePositive() throws {
        let outcome = try NightcapProcess.run(["run", "--features", "f.h5", "--model", "m.h5", "--read-timeout", "0"])
        #expect(outcome.status == 2)
        #expect(outcome.standardError.contains("Please give --read-timeout a number of seconds above 0, not 0.0."))
    }
}
