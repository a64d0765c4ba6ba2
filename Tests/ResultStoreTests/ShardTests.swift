import Foundation
import GRDB
import Synchronization
import TestSupport
import Testing
@testable import ResultStore

@Suite struct ShardTests {
    static let tables = [
        "shards", "captions", "attention", "regions", "image_metrics", "bleu_stats", "failed_images",
    ]

    func counts(_ store: ResultDatabase, runID: Int64) throws -> [String: Int] {
        try store.read("test") { db in
            var counts: [String: Int] = [:]
            for table in Self.tables {
                counts[table] = try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM \(table) WHERE run_id = ?", arguments: [runID])
            }
            return counts
        }
    }

    @Test func commitStoresEveryRowAndReadsBack() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun())
        let shard1 = Fixture.shard(runID: id, shard: 1, firstImage: 4, numImages: 4, failedImages: [5])
        let shard0 = Fixture.shard(runID: id, shard: 0, firstImage: 0, numImages: 4)
        try store.commitShard(shard1)
        try store.commitShard(shard0)

        #expect(try store.doneShards(runID: id) == [0, 1])
        #expect(
            try counts(store, runID: id) == [
                "shards": 2, "captions": 7, "attention": 35, "regions": 48, "image_metrics": 35,
                "bleu_stats": 7, "failed_images": 1,
            ])

        // Captions come back in features-file order, whatever order the shards committed in.
        let captions = try store.captions(runID: id)
        #expect(captions == shard0.captions + shard1.captions)
        #expect(try store.bleuStatistics(runID: id) == shard0.bleuStats + shard1.bleuStats)
        #expect(try store.failures(runID: id) == [FailedImage(imageID: Fixture.imageID(5), shard: 1, reason: "all regions are padding")])
        #expect(try store.regions(runID: id, imageID: Fixture.imageID(2)) == shard0.regions.filter { $0.imageID == Fixture.imageID(2) })

        // Attention round-trips losslessly, with the top region computed from the weights.
        let image = Fixture.imageID(1)
        let stored = try store.attention(runID: id, imageID: image)
        let given = shard0.attention.filter { $0.imageID == image }
        #expect(stored.map(\.weights) == given.map(\.weights))
        #expect(stored.map(\.word) == given.map(\.word))
        #expect(stored.map(\.position) == Array(0..<5))
        for record in stored {
            let best = record.weights.max()!
            #expect(record.topRegion == record.weights.firstIndex(of: best))
            #expect(record.topWeight == best)
        }

        let progress = try store.shardProgress(runID: id)
        #expect(progress == ShardProgress(shardsDone: 2, shardCount: 2, imagesDone: 8, imageCount: 8, imagesFailed: 1, secondsSpent: 3))
        let shards = try store.shards(runID: id)
        #expect(shards.map(\.shard) == [0, 1] && shards.map(\.firstImage) == [0, 4])
    }

    /// More rows than one batched INSERT holds: full batches and a remainder all land, in order.
    @Test func commitSpansSeveralBatches() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun(images: 9, shardSize: 9))
        let commit = Fixture.shard(
            runID: id, shard: 0, firstImage: 0, numImages: 9, wordsPerImage: 16, regionsPerImage: 36)
        #expect(commit.regions.count > 2 * BatchInsert.rowsPerStatement)
        #expect(commit.regions.count % BatchInsert.rowsPerStatement != 0)
        try store.commitShard(commit)
        #expect(try counts(store, runID: id)["regions"] == 324)
        #expect(try counts(store, runID: id)["attention"] == 144)
        for index in [0, 4, 8] {
            let image = Fixture.imageID(index)
            #expect(try store.regions(runID: id, imageID: image) == commit.regions.filter { $0.imageID == image })
            #expect(
                try store.attention(runID: id, imageID: image).map(\.weights)
                    == commit.attention.filter { $0.imageID == image }.map(\.weights))
        }
    }

    @Test func givenTopRegionIsKept() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun())
        var commit = ShardCommit(runID: id, shard: 0, firstImage: 0, numImages: 1, seconds: 0.1)
        commit.captions = [CaptionRecord(imageID: "9", imageIndex: 0, caption: "a b", numWords: 2, logProb: -1)]
        commit.attention = [
            AttentionRecord(imageID: "9", position: 0, word: "a", weights: [0.2, 0.5, 0.3], topRegion: 2, topWeight: 0.3),
            AttentionRecord(imageID: "9", position: 1, word: "b", weights: [0.4, 0.2, 0.4]),
            AttentionRecord(imageID: "9", position: 2, word: "<end>", weights: []),
        ]
        try store.commitShard(commit)
        let stored = try store.attention(runID: id, imageID: "9")
        #expect(stored.map(\.topRegion) == [2, 0, nil])
        #expect(stored.map(\.topWeight) == [0.3, 0.4, nil])
    }

    @Test func aFailureMidwayLeavesNothingOfTheShard() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun())
        try store.commitShard(Fixture.shard(runID: id, shard: 0, firstImage: 0, numImages: 4))
        let before = try counts(store, runID: id)

        // Failures are inserted last: a duplicate there fails after every other row went in.
        var broken = Fixture.shard(runID: id, shard: 1, firstImage: 4, numImages: 4, failedImages: [7])
        broken.failures.append(broken.failures[0])
        let error = #expect(throws: ResultStoreError.self) { try store.commitShard(broken) }
        guard case .sqlite(let path, let operation, let message) = error else {
            Issue.record("expected an SQLite error, got \(String(describing: error))")
            return
        }
        #expect(path == store.path)
        #expect(operation == "committing shard 1 of run \(id)")
        #expect(message.contains("UNIQUE constraint failed: failed_images"))

        #expect(try counts(store, runID: id) == before)
        #expect(try store.doneShards(runID: id) == [0])

        // The same shard commits once the duplicate is gone.
        broken.failures.removeLast()
        try store.commitShard(broken)
        #expect(try store.doneShards(runID: id) == [0, 1])
    }

    @Test func aShardCommitsOnlyOnce() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun())
        let commit = Fixture.shard(runID: id, shard: 0, firstImage: 0, numImages: 4)
        try store.commitShard(commit)
        let error = #expect(throws: ResultStoreError.self) { try store.commitShard(commit) }
        #expect(error == .shardAlreadyCommitted(path: store.path, runID: id, shard: 0))
        #expect(error?.description.contains("shard 0 of run \(id) is already committed") == true)
    }

    @Test func aShardOfAnUnknownRunIsRefused() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let error = #expect(throws: ResultStoreError.self) {
            try store.commitShard(Fixture.shard(runID: 42, shard: 0, firstImage: 0, numImages: 2))
        }
        guard case .sqlite(_, _, let message) = error else {
            Issue.record("expected an SQLite error, got \(String(describing: error))")
            return
        }
        #expect(message.contains("FOREIGN KEY constraint failed"))
    }

    /// Two handles on one file (as two processes would have) commit at once: the second waits for
    /// the first's lock instead of failing with SQLITE_BUSY.
    @Test func concurrentWritersWaitForEachOther() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("results.sqlite")
        let stores = [try ResultDatabase(path: path), try ResultDatabase(path: path)]
        defer { stores.forEach { try? $0.close() } }
        let id = try stores[0].createRun(Fixture.newRun(images: 64, shardSize: 4))
        let commits = (0..<16).map { Fixture.shard(runID: id, shard: $0, firstImage: $0 * 4, numImages: 4) }
        let errors = ErrorList()
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for commit in commits where commit.shard % 2 == worker {
                do { try stores[worker].commitShard(commit) } catch { errors.append(error) }
            }
        }
        #expect(errors.all.isEmpty, "\(errors.all)")
        #expect(try stores[1].doneShards(runID: id) == Set(0..<16))
        #expect(try stores[0].captions(runID: id).map(\.imageIndex) == Array(0..<64))
    }

    /// Committed rows are readable from another connection while a write transaction is open, and
    /// uncommitted rows are not.
    @Test func readersSeeCommittedRowsDuringAWrite() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("results.sqlite")
        let store = try ResultDatabase(path: path)
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun())
        try store.commitShard(Fixture.shard(runID: id, shard: 0, firstImage: 0, numImages: 4))

        var config = Configuration()
        config.readonly = true
        let outsider = try DatabaseQueue(path: path, configuration: config)  // as `sqlite3` would read
        defer { try? outsider.close() }

        try store.write("test") { db in
            try db.execute(
                sql: "INSERT INTO shards (run_id, shard, first_image, num_images, seconds) VALUES (?, 1, 4, 4, 1)",
                arguments: [id])
            try db.execute(
                sql: "INSERT INTO captions VALUES (?, 'x', 4, 1, 'uncommitted', 1, -1)", arguments: [id])
            let seen = try outsider.read { other in
                (
                    try Int.fetchOne(other, sql: "SELECT count(*) FROM shards")!,
                    try Int.fetchOne(other, sql: "SELECT count(*) FROM captions")!
                )
            }
            #expect(seen.0 == 1 && seen.1 == 4)
        }
        #expect(try outsider.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM shards") } == 2)

        let reader = try ResultDatabase(path: path, readOnly: true)
        defer { try? reader.close() }
        #expect(try reader.doneShards(runID: id) == [0, 1])
    }
}

@Suite struct AttentionWeightsTests {
    @Test func roundTripIsLosslessIncludingSubnormals() throws {
        var random = SeededGenerator(seed: 7)
        var weights: [Float] = [
            0, -0.0, 1, -1, .leastNonzeroMagnitude, .leastNormalMagnitude, .leastNormalMagnitude.nextDown,
            .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, .ulpOfOne, 1.0 / 3.0,
        ]
        for _ in 0..<1000 {
            weights.append(Float(bitPattern: UInt32(truncatingIfNeeded: random.next())))
        }
        weights = weights.filter { !$0.isNaN }
        let blob = AttentionWeights.encode(weights)
        #expect(blob.count == weights.count * 4)
        let decoded = try #require(AttentionWeights.decode(blob))
        #expect(decoded.map(\.bitPattern) == weights.map(\.bitPattern))
    }

    @Test func encodingIsLittleEndianFloat32() throws {
        #expect(AttentionWeights.encode([1.0, -2.5]) == Data([0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0]))
        #expect(AttentionWeights.decode(Data([0x00, 0x00, 0x80, 0x3F])) == [1.0])
        #expect(AttentionWeights.decode(Data([1, 2, 3])) == nil)
        #expect(AttentionWeights.decode(Data()) == [])
    }

    @Test func topIsTheFirstLargest() {
        #expect(AttentionWeights.top([0.1, 0.4, 0.4, 0.1])! == (1, 0.4))
        #expect(AttentionWeights.top([]) == nil)
    }
}

/// Errors collected from several threads.
final class ErrorList: Sendable {
    private let errors = Mutex<[any Error]>([])

    func append(_ error: any Error) { errors.withLock { $0.append(error) } }

    var all: [any Error] { errors.withLock { $0 } }
}
