import CaptionMetrics
import Captioner
import Foundation
import RegionFeatures
import ResultStore

/// Turns one shard of features into everything the database keeps of it: captions, attention,
/// per-image metric statistics, regions and failures. Pure computation; one per worker thread.
final class ShardProcessor {
    /// Images decoded together. Boundaries are fixed relative to the shard's start, so a shard's
    /// batches never depend on threads or timing. A whole default shard (256 images) is one batch:
    /// every step then multiplies 256 (greedy) or 768 (beam 3) rows with each weight matrix, and
    /// OpenBLAS's repacking of the weights, paid per call, is spread over twice the rows it was at
    /// 128 (docs/performance.md). Memory per worker at 256 images, beam 3: about 60 MB of scratch.
    static let decodeBatchSize = 256

    let decoder: any CaptionDecoding
    /// Nil for a run without references: captions only, scored later or never.
    let references: ReferenceIndex?
    let attention: AttentionStorage
    let runID: Int64

    init(model: any CaptioningModel, settings: DecodeSettings, references: ReferenceIndex?, attention: AttentionStorage, runID: Int64) {
        decoder = model.makeDecoder(settings: settings)
        self.references = references
        self.attention = attention
        self.runID = runID
    }

    /// Decodes and scores `shard`; nil when `shouldStop` turned true between batches (the shard is
    /// then dropped whole, to be done again on resume).
    func process(_ shard: FeatureShard, index: Int, shouldStop: () -> Bool) -> ShardCommit? {
        let started = Date()
        var commit = ShardCommit(
            runID: runID, shard: index, firstImage: shard.firstImage, numImages: shard.imageCount, seconds: 0)
        let r = shard.regionsPerImage, d = shard.dimension
        var start = 0
        while start < shard.imageCount {
            if shouldStop() { return nil }
            let end = min(start + Self.decodeBatchSize, shard.imageCount)
            // A batch that is the whole shard shares the shard's arrays instead of copying them.
            let whole = start == 0 && end == shard.imageCount
            let batch = FeatureBatch(
                imageIDs: whole ? shard.imageIDs : Array(shard.imageIDs[start..<end]), maxRegions: r, dimension: d,
                features: whole ? shard.features : Array(shard.features[(start * r * d)..<(end * r * d)]),
                regionCounts: whole ? shard.regionCounts : Array(shard.regionCounts[start..<end]))
            let outcomes = decoder.decode(batch: batch)
            for (offset, outcome) in outcomes.enumerated() {
                record(outcome, image: start + offset, shard: shard, into: &commit)
            }
            start = end
        }
        commit.regions = regions(of: shard)
        commit.seconds = Date().timeIntervalSince(started)
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

    private func regions(of shard: FeatureShard) -> [RegionRecord] {
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
