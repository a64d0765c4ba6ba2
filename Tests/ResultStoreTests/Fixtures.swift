import CaptionMetrics
import Foundation
import TestSupport
@testable import ResultStore

extension SeededGenerator {
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}

enum Fixture {
    static let words = ["a", "man", "riding", "wave", "on", "top", "of", "surfboard", "dog", "the", "with", "frisbee"]
    static let labels = ["man", "wave", "board", "sky", "water", "dog", "grass", "tree"]

    static func newRun(name: String = "nightly", fingerprint: String = "fp-1", images: Int = 8, shardSize: Int = 4,
                       pid: Int32 = 4242, host: String = "host-a") -> NewRun {
        NewRun(
            name: name, fingerprint: fingerprint, configJSON: #"{"beam_size":3,"max_length":20}"#,
            imageCount: images, shardSize: shardSize, shardCount: (images + shardSize - 1) / shardSize,
            featuresPath: "/data/features.h5", modelPath: "/data/model.h5", referencesPath: "/data/refs.json",
            nightcapVersion: "0.1.0", ownerPID: pid, ownerHost: host)
    }

    static func imageID(_ index: Int) -> String { String(100_000 + index * 7) }

    /// A shard with every kind of row: `wordsPerImage` words, `regionsPerImage` regions per image.
    static func shard(
        runID: Int64, shard: Int, firstImage: Int, numImages: Int, wordsPerImage: Int = 5,
        regionsPerImage: Int = 6, seed: UInt64 = 1, failedImages: Set<Int> = []
    ) -> ShardCommit {
        var random = SeededGenerator(seed: seed &* 1_000_003 &+ UInt64(shard))
        var commit = ShardCommit(runID: runID, shard: shard, firstImage: firstImage, numImages: numImages, seconds: 1.5)
        for index in firstImage..<(firstImage + numImages) {
            let id = imageID(index)
            for region in 0..<regionsPerImage {
                let x = random.unit() * 400
                let y = random.unit() * 300
                commit.regions.append(
                    RegionRecord(
                        imageID: id, region: region, x1: x, y1: y, x2: x + 50, y2: y + 40,
                        label: labels[random.int(0...(labels.count - 1))]))
            }
            if failedImages.contains(index) {
                commit.failures.append(FailureRecord(imageID: id, reason: "all regions are padding"))
                continue
            }
            var caption: [String] = []
            for position in 0..<wordsPerImage {
                let word = words[random.int(0...(words.count - 1))]
                caption.append(word)
                var weights = (0..<regionsPerImage).map { _ in Float(random.unit()) + 1e-3 }
                let sum = weights.reduce(0, +)
                weights = weights.map { $0 / sum }
                commit.attention.append(AttentionRecord(imageID: id, position: position, word: word, weights: weights))
            }
            commit.captions.append(
                CaptionRecord(
                    imageID: id, imageIndex: index, caption: caption.joined(separator: " "),
                    numWords: wordsPerImage, logProb: -random.unit() * 10))
            let testlen = wordsPerImage
            let guess = (1...4).map { max(testlen - $0 + 1, 0) }
            let correct = guess.map { random.int(0...$0) }
            commit.bleuStats.append(
                BleuStatsRecord(
                    imageID: id, testlen: testlen, reflen: random.int(3...9), guess: guess, correct: correct))
            for (n, metric) in (Metric.bleu + [.rougeL]).enumerated() {
                commit.imageMetrics.append(
                    ImageMetricRecord(imageID: id, metric: metric, value: random.unit() / Double(n + 1)))
            }
        }
        return commit
    }
}
