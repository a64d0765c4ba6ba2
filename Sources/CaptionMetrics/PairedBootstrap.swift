import Foundation

/// A metric difference between two runs (B - A) with its paired bootstrap confidence interval.
public struct DeltaInterval: Sendable, Hashable {
    /// The difference on the whole paired sample.
    public var delta: Double
    /// The interval's bounds: percentiles of the resampled differences.
    public var lower: Double
    public var upper: Double

    public init(delta: Double, lower: Double, upper: Double) {
        self.delta = delta
        self.lower = lower
        self.upper = upper
    }

    /// Whether zero lies outside the interval: the sign of the difference is not noise of the sample.
    public var excludesZero: Bool { lower > 0 || upper < 0 }
}

/// Paired bootstrap confidence intervals for the difference of a corpus metric between two runs
/// over the same images.
///
/// Resample `k` draws `n` image positions with replacement (n = the number of paired images) from a
/// generator seeded with `seed`, and evaluates the metric of both runs on that multiset of images:
/// BLEU from the summed per-image n-gram statistics (the corpus formula, brevity penalty included),
/// CIDEr-D and ROUGE-L as the mean of the per-image scores. The interval is the
/// `(1 - confidence) / 2` and `(1 + confidence) / 2` percentiles of the `resamples` differences,
/// interpolated linearly between order statistics (numpy's default `percentile`). Every metric
/// restarts the generator from `seed`, so all metrics see the same resamples, and the same seed
/// gives the same interval on every platform.
public struct PairedBootstrap: Sendable, Hashable {
    public var resamples: Int
    public var confidence: Double
    public var seed: UInt64

    public init(resamples: Int = 1000, confidence: Double = 0.95, seed: UInt64 = 0) {
        precondition(resamples > 0, "the bootstrap needs at least one resample")
        precondition(confidence > 0 && confidence < 1, "the confidence level lies between 0 and 1")
        self.resamples = resamples
        self.confidence = confidence
        self.seed = seed
    }

    /// Calls `body` with the image positions of each resample in turn (`imageCount` draws from
    /// `0..<imageCount`); the buffer is reused between calls.
    public func forEachResample(imageCount: Int, _ body: (_ resample: Int, _ positions: UnsafeBufferPointer<Int>) -> Void) {
        precondition(imageCount > 0, "the bootstrap needs at least one image")
        var generator = BootstrapGenerator(seed: seed)
        var positions = [Int](repeating: 0, count: imageCount)
        positions.withUnsafeMutableBufferPointer { buffer in
            for k in 0..<resamples {
                for i in 0..<imageCount { buffer[i] = generator.position(below: imageCount) }
                body(k, UnsafeBufferPointer(buffer))
            }
        }
    }

    /// The interval of the difference of a mean of per-image scores (CIDEr-D, ROUGE-L), `b[i]` and
    /// `a[i]` being the scores of the same image.
    public func meanDifference(a: [Double], b: [Double]) -> DeltaInterval {
        precondition(a.count == b.count, "paired scores: one per image in both runs")
        let differences = zip(b, a).map { $0 - $1 }
        let n = Double(differences.count)
        var resampled = [Double](repeating: 0, count: resamples)
        differences.withUnsafeBufferPointer { d in
            forEachResample(imageCount: d.count) { k, positions in
                var sum = 0.0
                for p in positions { sum += d[p] }
                resampled[k] = sum / n
            }
        }
        let delta = differences.reduce(0, +) / n
        return interval(delta: delta, resampled: &resampled)
    }

    /// The intervals of the differences of corpus BLEU-1...4, from per-image statistics.
    public func bleuDifference(a: [BleuStatistics], b: [BleuStatistics]) -> [DeltaInterval] {
        precondition(a.count == b.count, "paired statistics: one per image in both runs")
        // Ten counts per image in one flat array each: testlen, reflen, guess 1...4, correct 1...4.
        func flat(_ statistics: [BleuStatistics]) -> [Int] {
            statistics.flatMap { [$0.testlen, $0.reflen] + $0.guess + $0.correct }
        }
        let countsA = flat(a), countsB = flat(b)
        var resampled = [[Double]](repeating: [Double](repeating: 0, count: resamples), count: 4)
        var sums = [Int](repeating: 0, count: 20)
        countsA.withUnsafeBufferPointer { ca in
            countsB.withUnsafeBufferPointer { cb in
                sums.withUnsafeMutableBufferPointer { s in
                    forEachResample(imageCount: a.count) { k, positions in
                        for j in 0..<20 { s[j] = 0 }
                        for p in positions {
                            let base = p * 10
                            for j in 0..<10 {
                                s[j] += ca[base + j]
                                s[10 + j] += cb[base + j]
                            }
                        }
                        let scoreA = Self.bleu(s, offset: 0), scoreB = Self.bleu(s, offset: 10)
                        for order in 0..<4 { resampled[order][k] = scoreB[order] - scoreA[order] }
                    }
                }
            }
        }
        let wholeA = CorpusBleu.score(a), wholeB = CorpusBleu.score(b)
        return (0..<4).map { order in interval(delta: wholeB[order] - wholeA[order], resampled: &resampled[order]) }
    }

    private static func bleu(_ sums: UnsafeMutableBufferPointer<Int>, offset: Int) -> [Double] {
        CorpusBleu.bleu(
            testlen: sums[offset], reflen: sums[offset + 1], guess: Array(sums[(offset + 2)..<(offset + 6)]),
            correct: Array(sums[(offset + 6)..<(offset + 10)]))
    }

    private func interval(delta: Double, resampled: inout [Double]) -> DeltaInterval {
        resampled.sort()
        let tail = (1 - confidence) / 2
        return DeltaInterval(
            delta: delta, lower: Self.percentile(sorted: resampled, tail),
            upper: Self.percentile(sorted: resampled, 1 - tail))
    }

    /// The `q`-quantile of sorted values, interpolated linearly between the order statistics at
    /// `q * (count - 1)` (numpy's default `percentile`, R's type 7).
    public static func percentile(sorted values: [Double], _ q: Double) -> Double {
        precondition(!values.isEmpty, "a percentile of no values")
        let position = q * Double(values.count - 1)
        let below = Int(position.rounded(.down))
        let above = min(below + 1, values.count - 1)
        let fraction = position - Double(below)
        if fraction == 0 || values[below] == values[above] { return values[below] }
        return values[below] + (values[above] - values[below]) * fraction
    }
}

/// The bootstrap's random positions: xoshiro256** seeded through SplitMix64, and bounded draws by
/// Lemire's multiply-and-reject method, so that a seed gives the same positions on every platform
/// and Swift version (the standard library's generator and `random(in:)` promise neither).
public struct BootstrapGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    /// A uniformly drawn integer in `0..<bound`.
    public mutating func position(below bound: Int) -> Int {
        precondition(bound > 0, "a position below a positive bound")
        let n = UInt64(bound)
        var product = next().multipliedFullWidth(by: n)
        if product.low < n {
            let threshold = (0 &- n) % n
            while product.low < threshold { product = next().multipliedFullWidth(by: n) }
        }
        return Int(product.high)
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
