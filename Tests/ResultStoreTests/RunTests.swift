import CaptionMetrics
import Foundation
import TestSupport
import Testing
@testable import ResultStore

@Suite struct RunTests {
    @Test func createsAndFindsRuns() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }

        let first = try store.createRun(Fixture.newRun(name: "nightly", fingerprint: "fp-1"))
        let second = try store.createRun(Fixture.newRun(name: "nightly", fingerprint: "fp-2"))
        let other = try store.createRun(Fixture.newRun(name: "baseline", fingerprint: "fp-1"))

        let run = try #require(try store.run(id: first))
        #expect(run.status == .running)
        #expect(run.name == "nightly")
        #expect(run.configJSON == #"{"beam_size":3,"max_length":20}"#)
        #expect(run.imageCount == 8 && run.shardSize == 4 && run.shardCount == 2)
        #expect(run.featuresPath == "/data/features.h5")
        #expect(run.ownerPID == 4242 && run.ownerHost == "host-a")
        #expect(run.createdAt.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil)
        #expect(run.finishedAt == nil)

        #expect(try store.run(named: "nightly")?.runID == second)
        #expect(try store.run(reference: "nightly").runID == second)
        #expect(try store.run(reference: String(first)).runID == first)
        #expect(try store.run(reference: "baseline").runID == other)
        #expect(try store.latestRun(fingerprint: "fp-1")?.runID == other)
        #expect(try store.latestRun(fingerprint: "fp-9") == nil)

        let path = folder.path("results.sqlite")
        let error = #expect(throws: ResultStoreError.self) { try store.run(reference: "nope") }
        #expect(error == .runNotFound(path: path, reference: "nope"))
        #expect(error?.description == "\(path) has no run 'nope': `nightcap runs` lists the runs it has")
    }

    @Test func aRunNamedLikeANumberIsFoundByName() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun(name: "2026"))
        #expect(try store.run(reference: "2026").runID == id)
    }

    @Test func statusChangesAndListing() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let a = try store.createRun(Fixture.newRun(name: "a"))
        let b = try store.createRun(Fixture.newRun(name: "b"))
        try store.commitShard(Fixture.shard(runID: a, shard: 0, firstImage: 0, numImages: 4))
        try store.commitShard(Fixture.shard(runID: a, shard: 1, firstImage: 4, numImages: 4, failedImages: [6]))
        try store.writeCorpusMetrics(runID: a, corpus: [.bleu4: 0.31, .cider: 1.02], perImage: [])
        try store.finish(runID: a, finalizeSeconds: 0.25)
        try store.setStatus(runID: b, status: .failed, message: "model and features disagree")

        let runA = try #require(try store.run(id: a))
        #expect(runA.status == .completed)
        #expect(runA.finishedAt != nil)
        #expect(runA.ownerPID == nil && runA.ownerHost == nil)
        #expect(runA.finalizeSeconds == 0.25)
        let runB = try #require(try store.run(id: b))
        #expect(runB.status == .failed && runB.statusMessage == "model and features disagree")

        let list = try store.listRuns()
        #expect(list.map(\.runID) == [a, b])
        #expect(list[0].imagesDone == 8 && list[0].imagesFailed == 1 && list[0].shardsDone == 2)
        #expect(list[0].bleu4 == 0.31 && list[0].cider == 1.02)
        #expect(list[1].imagesDone == 0 && list[1].bleu4 == nil && list[1].status == .failed)

        #expect(throws: ResultStoreError.runNotFound(path: store.path, reference: "99")) {
            try store.setStatus(runID: 99, status: .interrupted)
        }
    }

    @Test func claimRefusesALiveOwnerOnThisHost() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun(pid: 100, host: "host-a"))
        let outcome = try store.claim(runID: id, pid: 200, host: "host-a", isAlive: { $0 == 100 })
        #expect(outcome == .ownedBy(pid: 100, host: "host-a"))
        #expect(try store.run(id: id)?.ownerPID == 100)
    }

    @Test func claimTakesOverADeadOwner() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun(pid: 100, host: "host-a"))
        var asked: [Int32] = []
        let outcome = try store.claim(runID: id, pid: 200, host: "host-a", isAlive: { asked.append($0); return false })
        #expect(outcome == .claimed)
        #expect(asked == [100])
        let run = try #require(try store.run(id: id))
        #expect(run.ownerPID == 200 && run.ownerHost == "host-a" && run.status == .running)
    }

    @Test func claimBySameProcessAndOfStoppedRuns() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun(pid: 100, host: "host-a"))
        #expect(try store.claim(runID: id, pid: 100, host: "host-a", isAlive: { _ in true }) == .claimed)

        try store.setStatus(runID: id, status: .interrupted, message: "SIGINT")
        #expect(try store.run(id: id)?.ownerPID == nil)
        #expect(try store.claim(runID: id, pid: 300, host: "host-b", isAlive: { _ in true }) == .claimed)
        let run = try #require(try store.run(id: id))
        #expect(run.status == .running && run.statusMessage == nil && run.finishedAt == nil)
        #expect(run.ownerPID == 300 && run.ownerHost == "host-b")
    }

    @Test func claimRefusesAnOwnerOnAnotherHost() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun(pid: 100, host: "host-b"))
        let outcome = try store.claim(runID: id, pid: 100, host: "host-a", isAlive: { _ in false })
        #expect(outcome == .ownedBy(pid: 100, host: "host-b"))
    }

    @Test func claimOfAMissingRunNamesIt() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        #expect(throws: ResultStoreError.runNotFound(path: store.path, reference: "5")) {
            try store.claim(runID: 5, pid: 1, host: "h")
        }
    }

    @Test func defaultLivenessCheck() {
        #expect(ProcessLiveness.isAlive(getpid()))
        #expect(ProcessLiveness.isAlive(1))  // init exists; signalling it may be refused (EPERM)
        #expect(!ProcessLiveness.isAlive(0))
        #expect(!ProcessLiveness.isAlive(Int32.max))
    }

    /// The default liveness check against real processes: a live owner keeps the run, an exited
    /// one loses it.
    @Test func claimWithRealProcesses() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let host = "this-host"

        let sleeper = try spawn("/bin/sleep", "30")
        defer {
            kill(sleeper, SIGKILL)  // SIGTERM may be blocked in the test runner, and children inherit that
            waitpid(sleeper, nil, 0)
        }
        let live = try store.createRun(Fixture.newRun(pid: sleeper, host: host))
        #expect(try store.claim(runID: live, pid: getpid(), host: host) == .ownedBy(pid: sleeper, host: host))

        let exited = try spawn("/bin/true")
        waitpid(exited, nil, 0)
        let orphan = try store.createRun(Fixture.newRun(pid: exited, host: host))
        #expect(try store.claim(runID: orphan, pid: getpid(), host: host) == .claimed)
        #expect(try store.run(id: orphan)?.ownerPID == getpid())
    }

    /// Starts a program and returns its pid; the caller reaps it with `waitpid`.
    private func spawn(_ arguments: String...) throws -> pid_t {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let status = posix_spawn(&pid, arguments[0], nil, nil, &argv, environ)
        try #require(status == 0, "posix_spawn \(arguments[0]) failed with \(status)")
        return pid
    }

    @Test func heartbeatStampsTheRun() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun())
        try store.write("test") { db in
            try db.execute(sql: "UPDATE runs SET heartbeat_at = '2000-01-01T00:00:00.000Z' WHERE run_id = ?", arguments: [id])
        }
        try store.heartbeat(runID: id)
        let beat = try #require(try store.run(id: id)?.heartbeatAt)
        #expect(beat > "2020")
    }

    @Test func twoDatabaseHandlesClaimOneAfterTheOther() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("results.sqlite")
        let first = try ResultDatabase(path: path)
        let second = try ResultDatabase(path: path)
        defer {
            try? first.close()
            try? second.close()
        }
        let id = try first.createRun(Fixture.newRun(pid: 100, host: "h"))
        try first.setStatus(runID: id, status: .interrupted)
        #expect(try first.claim(runID: id, pid: 100, host: "h", isAlive: { _ in true }) == .claimed)
        #expect(try second.claim(runID: id, pid: 101, host: "h", isAlive: { _ in true }) == .ownedBy(pid: 100, host: "h"))
    }
}
