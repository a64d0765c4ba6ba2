import Foundation
import Testing
@testable import ResultStore

/// Measures `commitShard` for the shard the brief sizes it by: 256 images, 16 words, 36 regions.
/// Off by default (tests never assert a time); run with
/// `NIGHTCAP_BENCH=1 swift test --filter CommitBenchmark` and read the printed line.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["NIGHTCAP_BENCH"] != nil))
struct CommitBenchmark {
    @Test func commitOf256ImageShards() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let shards = 12
        let id = try store.createRun(Fixture.newRun(images: 256 * shards, shardSize: 256))
        let commits = (0..<shards).map {
            Fixture.shard(
                runID: id, shard: $0, firstImage: $0 * 256, numImages: 256, wordsPerImage: 16, regionsPerImage: 36)
        }
        var times: [Duration] = []
        for commit in commits {
            let clock = ContinuousClock()
            times.append(try clock.measure { try store.commitShard(commit) })
        }
        #expect(try store.doneShards(runID: id).count == shards)
        let ms = times.map { Double($0.components.attoseconds) / 1e15 + Double($0.components.seconds) * 1e3 }.sorted()
        let rows = commits[0].captions.count + commits[0].attention.count + commits[0].regions.count
            + commits[0].imageMetrics.count + commits[0].bleuStats.count
        print(
            "commitShard, 256 images x 16 words x 36 regions (\(rows) rows): median \(String(format: "%.1f", ms[ms.count / 2])) ms, "
                + "min \(String(format: "%.1f", ms[0])) ms, max \(String(format: "%.1f", ms.last!)) ms over \(shards) shards")
    }
}
