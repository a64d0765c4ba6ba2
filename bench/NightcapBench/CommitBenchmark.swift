import CaptionMetrics
import Foundation
import ResultStore
import TestSupport

/// `ResultDatabase.commitShard` for a 256-image shard of 16 words and 36 regions per image (about
/// 15,000 rows), over 12 shards: the median and extremes of the wall clock and process CPU time.
enum CommitBenchmark {
    static func run() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let (shards, images) = (12, 256)
        let runID = try store.createRun(
            NewRun(
                name: "bench", fingerprint: "bench", configJSON: "{}", imageCount: images * shards, shardSize: images,
                shardCount: shards, ownerPID: getpid(), ownerHost: "bench"))
        let commits = (0..<shards).map { shard(runID: runID, shard: $0, images: images, words: 16, regions: 36) }
        var wall: [Double] = []
        var cpu: [Double] = []
        for commit in commits {
            let started = Date()
            let cpuStart = processorSeconds()
            try store.commitShard(commit)
            cpu.append(processorSeconds() - cpuStart)
            wall.append(Date().timeIntervalSince(started))
        }
        let committed = try store.doneShards(runID: runID).count
        guard committed == shards else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "\(committed) of \(shards) shards committed"])
        }
        wall.sort()
        cpu.sort()
        let first = commits[0]
        let rows = first.captions.count + first.attention.count + first.regions.count + first.imageMetrics.count
            + first.bleuStats.count
        print(
            "commitShard, \(images) images x 16 words x 36 regions (\(rows) rows), over \(shards) shards: "
                + "wall median \(milliseconds(wall[shards / 2])) ms (min \(milliseconds(wall[0])), max \(milliseconds(wall[shards - 1]))); "
                + "process CPU median \(milliseconds(cpu[shards / 2])) ms (min \(milliseconds(cpu[0])))")
    }

    /// A shard with every kind of row a run writes, from a seeded generator.
    static func shard(runID: Int64, shard: Int, images: Int, words: Int, regions: Int) -> ShardCommit {
        let vocabulary = ["a", "man", "riding", "wave", "on", "top", "of", "surfboard", "dog", "the", "with", "frisbee"]
        var random = SeededGenerator(seed: UInt64(shard) &+ 1)
        func unit() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        var commit = ShardCommit(runID: runID, shard: shard, firstImage: shard * images, numImages: images, seconds: 1)
        for index in (shard * images)..<((shard + 1) * images) {
            let id = String(100_000 + index)
            var caption: [String] = []
            for position in 0..<words {
                let word = vocabulary[Int(random.next() % UInt64(vocabulary.count))]
                caption.append(word)
                let weights = (0..<regions).map { _ in Float(unit()) + 1e-3 }
                let sum = weights.reduce(0, +)
                commit.attention.append(
                    AttentionRecord(imageID: id, position: position, word: word, weights: weights.map { $0 / sum }))
            }
            for region in 0..<regions {
                let x = unit() * 400, y = unit() * 300
                commit.regions.append(
                    RegionRecord(imageID: id, region: region, x1: x, y1: y, x2: x + 50, y2: y + 40, label: vocabulary[region % 12]))
            }
            commit.captions.append(
                CaptionRecord(imageID: id, imageIndex: index, caption: caption.joined(separator: " "), numWords: words, logProb: -unit() * 10))
            let guess = (1...4).map { max(words - $0 + 1, 0) }
            commit.bleuStats.append(
                BleuStatsRecord(imageID: id, testlen: words, reflen: 9, guess: guess, correct: guess.map { $0 / 2 }))
            for metric in Metric.bleu + [.rougeL] {
                commit.imageMetrics.append(ImageMetricRecord(imageID: id, metric: metric, value: unit()))
            }
        }
        return commit
    }
}
