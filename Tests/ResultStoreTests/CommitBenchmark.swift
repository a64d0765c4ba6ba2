import Foundation
import TestSupport
import Testing
@testable import ResultStore

/// Measures `commitShard` for the shard the brief sizes it by: 256 images, 16 words, 36 regions.
/// Off by default (tests never assert a time); run with
/// `NIGHTCAP_BENCH=1 swift test --filter CommitBenchmark` and read the printed line.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["NIGHTCAP_BENCH"] != nil))
struct CommitBenchmark {
    @Test func commitOf256ImageShards() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let shards = 12
        let id = try store.createRun(Fixture.newRun(images: 256 * shards, shardSize: 256))
        let commits = (0..<shards).map {
            Fixture.shard(
                runID: id, shard: $0, firstImage: $0 * 256, numImages: 256, wordsPerImage: 16, regionsPerImage: 36)
        }
        var wall: [Double] = []
        var cpu: [Double] = []
        for commit in commits {
            let clock = ContinuousClock()
            let cpuStart = processCPUMilliseconds()
            let duration = try clock.measure { try store.commitShard(commit) }
            cpu.append(processCPUMilliseconds() - cpuStart)
            wall.append(Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1e3)
        }
        #expect(try store.doneShards(runID: id).count == shards)
        wall.sort()
        cpu.sort()
        let rows = commits[0].captions.count + commits[0].attention.count + commits[0].regions.count
            + commits[0].imageMetrics.count + commits[0].bleuStats.count
        print(
            "commitShard, 256 images x 16 words x 36 regions (\(rows) rows), over \(shards) shards: "
                + "wall median \(format(wall[shards / 2])) ms (min \(format(wall[0])), max \(format(wall[shards - 1]))); "
                + "process CPU median \(format(cpu[shards / 2])) ms (min \(format(cpu[0])))")
    }
}

private func format(_ ms: Double) -> String { String(format: "%.1f", ms) }

/// CPU time of the whole process, which on a loaded machine says more than wall-clock time.
private func processCPUMilliseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1e3 + Double(time.tv_nsec) / 1e6
}
