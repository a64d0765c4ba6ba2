import CaptionMetrics
import Foundation
import ResultStore
import TestSupport
import Testing

/// `nightcap run` as users run it: the built binary on inputs the test writes.
@Suite(.timeLimit(.minutes(20))) struct RunCommandTests {
    @Test func runStoresCaptionsAttentionMetricsAndRegions() throws {
        let fixture = try RunFixture()
        let db = fixture.path("results.sqlite")
        let outcome = try NightcapProcess.run(fixture.runArguments(database: db))
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("run 1 (\(fixture.runName)) completed"))
        #expect(outcome.standardOutput.contains("images: 48 captioned into 6 shards; 48 scored"))
        #expect(outcome.standardOutput.contains("CIDEr"))

        let database = try ResultDatabase(path: db, readOnly: true)
        defer { try? database.close() }
        let run = try #require(try database.run(id: 1))
        #expect(run.status == .completed)
        #expect(try database.doneShards(runID: 1) == Set(0..<6))
        let captions = try database.captions(runID: 1)
        #expect(captions.count == 48)
        #expect(captions.map(\.imageIndex) == Array(0..<48))
        let metrics = try database.runMetrics(runID: 1)
        #expect(Set(metrics.keys) == Set(Metric.allCases))
        #expect(try database.imageMetrics(runID: 1, metric: .cider).count == 48)
        // Attention: one row per word, weights over the image's valid regions summing to 1.
        for caption in captions.prefix(10) {
            let rows = try database.attention(runID: 1, imageID: caption.imageID)
            #expect(rows.count == caption.numWords)
            let regions = try database.regions(runID: 1, imageID: caption.imageID)
            for row in rows {
                #expect(row.weights.count == regions.count)
                #expect(abs(row.weights.reduce(0, +) - 1) < 1e-4)
                #expect(row.topRegion.map { $0 < regions.count } == true)
            }
        }

        // The exported results score to the stored corpus metrics (pycocoevalcap's path).
        let exported = fixture.path("results.json")
        let export = try NightcapProcess.run(["export", "1", "--db", db, "--format", "coco", "--output", exported])
        #expect(export.status == 0, "\(export.standardError)")
        let score = try NightcapProcess.run(["score", "--threads", "2", "--results", exported, "--references", fixture.references])
        #expect(score.status == 0, "\(score.standardError)")
        // The text table prints each value in full ("CIDEr    0.123  (0.12345...)"), exactly as stored.
        var scores: [String: Double] = [:]
        for line in score.standardOutput.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count == 3, let value = Double(parts[2].trimmingCharacters(in: CharacterSet(charactersIn: "()"))) {
                scores[String(parts[0])] = value
            }
        }
        for (metric, value) in metrics {
            #expect(scores[metric.rawValue] == value, "\(metric): nightcap score gives \(scores[metric.rawValue] ?? -1), the run stored \(value)")
        }
    }

    @Test func threadCountDoesNotChangeTheDatabase() throws {
        let fixture = try RunFixture()
        let one = fixture.path("one.sqlite"), two = fixture.path("two.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: one, extra: ["--threads", "1"])).status == 0)
        #expect(try NightcapProcess.run(fixture.runArguments(database: two, extra: ["--threads", "2"])).status == 0)
        #expect(try RunFixture.snapshot(database: one) == RunFixture.snapshot(database: two))
    }

    /// Threads beyond the work (64 on this machine's cores, more than the shards' sub-batches) share
    /// the shards' sub-batches and store what one thread does, byte for byte.
    @Test func sixtyFourThreadsGiveTheOneThreadDatabase() throws {
        // Shards of 280 images: sub-batches of `decodeBatchSize` (128), 128 and 24; and one shard of 20.
        let fixture = try RunFixture(images: 300)
        let one = fixture.path("one.sqlite"), many = fixture.path("many.sqlite")
        func arguments(_ database: String, threads: String) -> [String] {
            var arguments = fixture.runArguments(database: database, extra: ["--threads", threads])
            arguments[arguments.firstIndex(of: "--shard-size")! + 1] = "280"
            return arguments
        }
        let single = try NightcapProcess.run(arguments(one, threads: "1"))
        #expect(single.status == 0, "\(single.standardError)")
        let wide = try NightcapProcess.run(arguments(many, threads: "64"))
        #expect(wide.status == 0, "\(wide.standardError)")
        #expect(try RunFixture.snapshot(database: one) == RunFixture.snapshot(database: many))
        let database = try ResultDatabase(path: many, readOnly: true)
        defer { try? database.close() }
        #expect(try database.doneShards(runID: 1) == [0, 1])
        #expect(try database.captions(runID: 1).map(\.imageIndex) == Array(0..<300))
    }

    @Test func sigkillAtSeveralPointsThenResumeGivesTheUninterruptedResult() throws {
        let fixture = try RunFixture()
        let reference = fixture.path("reference.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: reference)).status == 0)

        let db = fixture.path("killed.sqlite")
        for point in [1, 2, 1] {
            let killed = try NightcapProcess.run(
                fixture.runArguments(database: db), environment: ["NIGHTCAP_FAULT_KILL_AFTER_COMMITS": String(point)])
            #expect(killed.wasSignalled && killed.status == SIGKILL, "killed after \(point) commits: \(killed.standardError)")
        }
        let database = try ResultDatabase(path: db, readOnly: true)
        #expect(try database.run(id: 1)?.status == .running, "a killed run stays marked running, with a dead owner")
        #expect(try database.doneShards(runID: 1).count == 4)
        try database.close()

        var arguments = fixture.runArguments(database: db)
        arguments.removeAll { $0 == "--quiet" }
        let resumed = try NightcapProcess.run(arguments)
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(resumed.standardError.contains("resuming run 1 (\(fixture.runName)): 4/6 shards done"))
        #expect(try RunFixture.snapshot(database: db) == RunFixture.snapshot(database: reference))
    }

    @Test(arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func signalStopsMarksInterruptedAndResumes(signal: Int32, exitCode: Int32) throws {
        let fixture = try RunFixture()
        let reference = fixture.path("reference.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: reference, extra: ["--shard-size", "2"])).status == 0)
        let db = fixture.path("interrupted.sqlite")
        let stopped = try NightcapProcess.run(
            fixture.runArguments(database: db, extra: ["--shard-size", "2"]),
            environment: ["NIGHTCAP_FAULT_INTERRUPT_AFTER_COMMITS": "2", "NIGHTCAP_FAULT_INTERRUPT_SIGNAL": String(signal)])
        #expect(!stopped.wasSignalled)
        #expect(stopped.status == exitCode, "\(stopped.standardError)")
        let database = try ResultDatabase(path: db, readOnly: true)
        #expect(try database.run(id: 1)?.status == .interrupted)
        let done = try database.doneShards(runID: 1).count
        #expect(done >= 2 && done < 24)
        try database.close()
        let resumed = try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--shard-size", "2"]))
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try RunFixture.snapshot(database: db) == RunFixture.snapshot(database: reference))
    }

    @Test func secondCtrlCExitsAtOnceAndTheRunStillResumes() throws {
        let fixture = try RunFixture()
        let reference = fixture.path("reference.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: reference, extra: ["--shard-size", "2"])).status == 0)
        let db = fixture.path("twice.sqlite")
        let stopped = try NightcapProcess.run(
            fixture.runArguments(database: db, extra: ["--shard-size", "2"]),
            environment: ["NIGHTCAP_FAULT_INTERRUPT_AFTER_COMMITS": "2", "NIGHTCAP_FAULT_INTERRUPT_TWICE": "1"])
        #expect(stopped.status == 130 && !stopped.wasSignalled)
        #expect(stopped.standardError.contains("stopped at once (second signal)"))
        let database = try ResultDatabase(path: db, readOnly: true)
        #expect(try database.run(id: 1)?.status == .running, "no time was taken to mark it: the next start takes it over")
        #expect(try database.doneShards(runID: 1).count == 2)
        try database.close()
        #expect(try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--shard-size", "2"])).status == 0)
        #expect(try RunFixture.snapshot(database: db) == RunFixture.snapshot(database: reference))
    }

    @Test func completedRunIsNotRepeatedUnlessAsked() throws {
        let fixture = try RunFixture(images: 10)
        let db = fixture.path("r.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db)).status == 0)
        let again = try NightcapProcess.run(fixture.runArguments(database: db))
        #expect(again.status == 0)
        #expect(again.standardOutput.contains("run 1 (\(fixture.runName)) was already completed"))
        let fresh = try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--new-run", "--name", "second"]))
        #expect(fresh.standardOutput.contains("run 2 (second) completed"))
        // Different decode settings: a different fingerprint, a new run.
        let greedy = try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--beam-size", "1"]))
        #expect(greedy.standardOutput.contains("run 3 (\(fixture.runName)#2) completed"))
        let runs = try NightcapProcess.run(["runs", "--db", db])
        #expect(runs.standardOutput.split(separator: "\n").count == 4)
    }

    @Test func secondProcessOnALiveRunIsRefusedWithOwner() throws {
        let fixture = try RunFixture(images: 24)
        let db = fixture.path("owned.sqlite")
        let killed = try NightcapProcess.run(fixture.runArguments(database: db), environment: ["NIGHTCAP_FAULT_KILL_AFTER_COMMITS": "1"])
        #expect(killed.wasSignalled)
        // Make this (live) test process the run's owner, as if it were a nightcap still working on it.
        let database = try ResultDatabase(path: db)
        let host = ProcessInfo.processInfo.hostName
        #expect(try database.claim(runID: 1, pid: getpid(), host: host, isAlive: { _ in false }) == .claimed)
        try database.close()
        let refused = try NightcapProcess.run(fixture.runArguments(database: db))
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("run 1 (\(fixture.runName)) is being processed by process \(getpid()) on \(host); wait for it to finish"))
    }
}
