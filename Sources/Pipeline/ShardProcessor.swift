import CaptionMetrics
import Captioner
import Foundation
import RegionFeatures
import ResultStore

/// Turns sub-batches of a shard of features into everything the database keeps of them: captions,
/// attention, per-image metric statistics and failures; `assemble` joins a shard's sub-batches, in
/// image order, with its regions into the shard's commit. Pure computation; one per worker thread.
final class ShardProcessor {
    /// Images decoded together: a shard is cut into sub-batches of this many images, counted from the
    /// shard's start (the last one may be shorter), which any decoder thread may take. The boundaries
    /// depend only on the shard, never on threads or timing, so the decoded floats (OpenBLAS blocks a
    /// product by its row count) and the database are the same with 1 thread or 64. 128 images, not
    /// the whole default shard of 256: a default shard then feeds two threads and a 300-image run
    /// (shards of 256 and 44) has three sub-batches; 128 images (128 greedy / 384 beam-3 rows per
    /// product) cost no more CPU than 256 in the measurement, 64 about a fifth more for beam 3
    /// (docs/performance.md). Scratch per worker at 128 images, beam 3: about 30 MB. A model may ask
    /// for another size for its settings (`CaptioningModel.imagesPerSubBatch(settings:)`: the
    /// Transformer's greedy search takes 256, docs/performance.md); it is fixed for the run, so the
    /// boundaries still depend only on the shard.
    static let decodeBatchSize = 128

    /// The sub-batches of a shard of `imageCount` images: `size` images each from its start.
    static func subBatches(imageCount: Int, size: Int = decodeBatchSize) -> [Range<Int>] {
        stride(from: 0, to: imageCount, by: size).map { $0..<min($0 + size, imageCount) }
    }

    let decoder: any CaptionDecoding
    /// Nil for a run without references: captions only, scored later or never.
    let references: ReferenceIndex?
    let attention: AttentionStorage
    let runID: Int64

    /// This machine's name, stored with each shard it decodes.
    static let host = ProcessInfo.processInfo.hostName

    init(model: any CaptioningModel, settings: DecodeSettings, references: ReferenceIndex?, attention: AttentionStorage, runID: Int64) {
        decoder = model.makeDecoder(settings: settings)
        self.references = references
        self.attention = attention
        self.runID = runID
    }

    /// Decodes and scores images `range` of `shard` (one of its `subBatches`): a partial commit
    /// holding that range's rows in image order; `seconds` is the time it took.
    func process(_ shard: FeatureShard, index: Int, images range: Range<Int>) -> ShardCommit {
        let started = Date()
        var commit = ShardCommit(
            runID: runID, shard: index, firstImage: shard.firstImage, numImages: shard.imageCount, seconds: 0,
            host: Self.host, kernels: OpenBLASCores.description)
        let r = shard.regionsPerImage, d = shard.dimension
        // The batch's features are a slice of the shard's (no copy); the small arrays are copied.
        let whole = range == 0..<shard.imageCount
        let batch = FeatureBatch(
            imageIDs: whole ? shard.imageIDs : Array(shard.imageIDs[range]), maxRegions: r, dimension: d,
            features: shard.features[(range.lowerBound * r * d)..<(range.upperBound * r * d)],
            regionCounts: whole ? shard.regionCounts : Array(shard.regionCounts[range]),
            pooled: shard.pooled.map { whole ? $0 : Array($0[(range.lowerBound * d)..<(range.upperBound * d)]) })
        let outcomes = decoder.decode(batch: batch)
        for (offset, outcome) in outcomes.enumerated() {
            record(outcome, image: range.lowerBound + offset, shard: shard, into: &commit)
        }
        commit.seconds = Date().timeIntervalSince(started)
        return commit
    }

    /// The shard's commit from its sub-batches' partial commits, in sub-batch order: the rows as one
    /// pass over the shard would have made them, its regions, and `seconds` the sum of the
    /// sub-batches' decoding times (worker-seconds).
    static func assemble(_ parts: [ShardCommit], shard: FeatureShard, index: Int, runID: Int64) -> ShardCommit {
        // The parts come from one process: one host, one set of kernels.
        var commit = ShardCommit(
            runID: runID, shard: index, firstImage: shard.firstImage, numImages: shard.imageCount, seconds: 0,
            host: parts.first?.host, kernels: parts.first?.kernels)
        for part in parts {
            commit.captions += part.captions
            commit.attention += part.attention
            commit.imageMetrics += part.imageMetrics
            commit.bleuStats += part.bleuStats
            commit.failures += part.failures
            commit.seconds += part.seconds
        }
        commit.regions = regions(of: shard)
        return commit
    }

    private func record(_ outcome: ImageCaptionOutcome, image: Int, shard: FeatureShard, into commit: inout ShardCommit) {
        let id = shard.imageIDs[image]
        switch outcome {
        case .failed(let failure):
            commit.failures.append(FailureRecord(imageID: id, reason: failure.reason))
        case .captioned(let caption):
            let text = caption.text
            commit.captions.append(
                CaptionRecord(
                    imageID: id, imageIndex: shard.firstImage + image, caption: text, numWords: caption.words.count,
                    logProb: Double(caption.logProb)))
            if attention != .none {
                for (position, word) in caption.words.enumerated() {
                    let weights = stored(caption.attention[position])
                    let top = AttentionWeights.top(caption.attention[position])
                    commit.attention.append(
                        AttentionRecord(
                            imageID: id, position: position, word: word, weights: weights, topRegion: top?.region,
                            topWeight: top?.weight))
                }
            }
            if let referenceTokens = references?.tokens[id] {
                let (statistics, metrics) = ImageScoring.score(imageID: id, caption: text, referenceTokens: referenceTokens)
                commit.bleuStats.append(statistics)
                commit.imageMetrics += metrics
            }
        }
    }

    /// The weights as stored: all of them, or the K largest with the others set to 0.
    private func stored(_ weights: [Float]) -> [Float] {
        guard case .top(let k) = attention, k < weights.count else { return weights }
        let keep = weights.indices.sorted { weights[$0] > weights[$1] || (weights[$0] == weights[$1] && $0 < $1) }.prefix(k)
        var kept = [Float](repeating: 0, count: weights.count)
        for index in keep { kept[index] = weights[index] }
        return kept
    }

    private static func regions(of shard: FeatureShard) -> [RegionRecord] {
        guard shard.boxes != nil || shard.labels != nil else { return [] }
        var records: [RegionRecord] = []
        let r = shard.regionsPerImage
        for image in 0..<shard.imageCount {
            for region in 0..<shard.regionCounts[image] {
                let slot = image * r + region
                // Boxes arrive as float32; stored through their shortest decimal form, 132.4 stays 132.4
                // in SQL rather than becoming 132.399993896484.
                let box = shard.boxes.map { Array($0[(slot * 4)..<(slot * 4 + 4)]).map { Double("\($0)") ?? Double($0) } }
                records.append(
                    RegionRecord(
                        imageID: shard.imageIDs[image], region: region, x1: box?[0], y1: box?[1], x2: box?[2], y2: box?[3],
                        label: shard.labels?[slot]))
            }
        }
        return records
    }
}

/// Not `Sendable`: One per worker thread, as its decoder.
@available(*, unavailable)
extension ShardProcessor: Sendable {}
