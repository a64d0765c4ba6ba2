import Foundation
import TestSupport
import Testing
@testable import ResultStore

/// Parts of partitioned runs (`run_parts`) and Slurm-aware ownership (`run_slurm_owners`).
@Suite struct PartTests {
    @Test func partsCoverEveryShardOnceInContiguousBlocks() {
        for shardCount in [0, 1, 5, 10, 97] {
            for count in 1...12 {
                let parts = (0..<count).map { RunPart(index: $0, of: count, shardCount: shardCount) }
                #expect(parts.first?.firstShard == 0)
                #expect(parts.last?.endShard == shardCount)
                for (a, b) in zip(parts, parts.dropFirst()) { #expect(a.endShard == b.firstShard) }
                let sizes = parts.map(\.shards.count)
                #expect(sizes.max()! - sizes.min()! <= 1, "\(shardCount) shards in \(count) parts: \(sizes)")
            }
        }
        // floor(i*K/n): 10 shards in 4 parts.
        #expect((0..<4).map { RunPart(index: $0, of: 4, shardCount: 10).shards } == [0..<2, 2..<5, 5..<7, 7..<10])
    }

    @Test func aPartIsFoundOnlyAsThatPartAndAWholeRunOnlyAsAWholeRun() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        var partRun = Fixture.newRun(fingerprint: "fp-1")
        partRun.part = RunPart(index: 1, count: 2, firstShard: 1, endShard: 2)
        let part = try store.createRun(partRun)
        #expect(try store.latestRun(fingerprint: "fp-1") == nil)
        #expect(try store.latestRun(fingerprint: "fp-1", part: RunPart(index: 1, count: 2, firstShard: 1, endShard: 2))?.runID == part)
        #expect(try store.latestRun(fingerprint: "fp-1", part: RunPart(index: 0, count: 2, firstShard: 0, endShard: 1)) == nil)
        #expect(try store.latestRun(fingerprint: "fp-1", part: RunPart(index: 1, count: 3, firstShard: 1, endShard: 2)) == nil)
        let whole = try store.createRun(Fixture.newRun(fingerprint: "fp-1"))
        #expect(try store.latestRun(fingerprint: "fp-1")?.runID == whole)
        #expect(try store.part(runID: part) == RunPart(index: 1, count: 2, firstShard: 1, endShard: 2))
        #expect(try store.part(runID: whole) == nil)
        #expect(try store.partRuns().map(\.run.runID) == [part])
    }

    @Test func slurmTaskFromTheEnvironment() {
        #expect(SlurmTask.current(environment: [:]) == nil)
        #expect(
            SlurmTask.current(environment: ["SLURM_ARRAY_JOB_ID": "41", "SLURM_ARRAY_TASK_ID": "3", "SLURM_JOB_ID": "44", "SLURM_RESTART_COUNT": "2"])
                == SlurmTask(jobID: "41_3", restartCount: 2))
        #expect(SlurmTask.current(environment: ["SLURM_JOB_ID": "44"]) == SlurmTask(jobID: "44", restartCount: 0))
    }

    /// A run owned by a Slurm task on another host: taken over by the same task requeued (higher
    /// restart count) or once Slurm says the owner's task ended; refused otherwise.
    @Test func aRequeuedSlurmTaskTakesOverItsRunFromAnotherHost() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        var new = Fixture.newRun(pid: 100, host: "node-a")
        new.slurmTask = SlurmTask(jobID: "41_3", restartCount: 0)
        let run = try store.createRun(new)
        #expect(try store.slurmOwner(runID: run) == SlurmTask(jobID: "41_3", restartCount: 0))

        // Not under Slurm, or the same attempt again: another host's run stays refused.
        #expect(try store.claim(runID: run, pid: 200, host: "node-b") == .ownedBy(pid: 100, host: "node-a"))
        #expect(
            try store.claim(runID: run, pid: 200, host: "node-b", slurmTask: SlurmTask(jobID: "41_3", restartCount: 0))
                == .ownedBy(pid: 100, host: "node-a"))
        // Another job whose owner Slurm still runs: refused; the question is asked about the owner's job.
        var asked: [String] = []
        #expect(
            try store.claim(
                runID: run, pid: 200, host: "node-b", slurmTask: SlurmTask(jobID: "57_3", restartCount: 0),
                slurmJobEnded: { asked.append($0); return false }) == .ownedBy(pid: 100, host: "node-a"))
        #expect(asked == ["41_3"])

        // The same array task requeued: it takes over, and becomes the recorded owner.
        #expect(
            try store.claim(runID: run, pid: 300, host: "node-b", slurmTask: SlurmTask(jobID: "41_3", restartCount: 1))
                == .claimed)
        let record = try #require(try store.run(id: run))
        #expect(record.ownerPID == 300 && record.ownerHost == "node-b" && record.status == .running)
        #expect(try store.slurmOwner(runID: run) == SlurmTask(jobID: "41_3", restartCount: 1))

        // A rerun in a new job takes over once Slurm says the owner's task has ended.
        #expect(
            try store.claim(
                runID: run, pid: 400, host: "node-c", slurmTask: SlurmTask(jobID: "57_3", restartCount: 0),
                slurmJobEnded: { $0 == "41_3" }) == .claimed)
        #expect(try store.slurmOwner(runID: run) == SlurmTask(jobID: "57_3", restartCount: 0))
        // Without Slurm, the claim clears the Slurm owner.
        try store.setStatus(runID: run, status: .interrupted)
        #expect(try store.claim(runID: run, pid: 500, host: "node-c") == .claimed)
        #expect(try store.slurmOwner(runID: run) == nil)
    }

    /// On one host a live owner is refused whatever Slurm says: two live writers never share a file.
    @Test func aLiveWriterOnTheSameHostIsRefusedEvenToARequeuedTask() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        var new = Fixture.newRun(pid: 100, host: "node-a")
        new.slurmTask = SlurmTask(jobID: "41_3", restartCount: 0)
        let run = try store.createRun(new)
        #expect(
            try store.claim(
                runID: run, pid: 200, host: "node-a", slurmTask: SlurmTask(jobID: "41_3", restartCount: 1),
                isAlive: { _ in true }, slurmJobEnded: { _ in true }) == .ownedBy(pid: 100, host: "node-a"))
        #expect(
            try store.claim(
                runID: run, pid: 200, host: "node-a", slurmTask: SlurmTask(jobID: "41_3", restartCount: 1),
                isAlive: { _ in false }) == .claimed)
    }
}
