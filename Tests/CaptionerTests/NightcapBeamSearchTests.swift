import TestSupport
import Testing
@testable import Captioner

/// Decodes `batch` in pieces of `size` images with a fresh decoder.
private func decode(_ batch: FeatureBatch, model: ShowAttendTellModel, settings: DecodeSettings, pieces size: Int) -> [ImageCaptionOutcome] {
    let decoder = model.makeDecoder(settings: settings)
    var outcomes: [ImageCaptionOutcome] = []
    var start = 0
    while start < batch.imageCount {
        let end = min(start + size, batch.imageCount)
        outcomes += decoder.decode(batch: batch.slice(start..<end))
        start = end
    }
    return outcomes
}

/// The largest differences between two decodes with identical tokens (nil when tokens differ).
private func differences(_ a: [ImageCaptionOutcome], _ b: [ImageCaptionOutcome]) -> (attention: Float, logProb: Float)? {
    guard a.count == b.count else { return nil }
    var attention: Float = 0
    var logProb: Float = 0
    for (x, y) in zip(a, b) {
        switch (x, y) {
        case (.failed(let f), .failed(let g)):
            guard f == g else { return nil }
        case (.captioned(let p), .captioned(let q)):
            guard p.tokens == q.tokens, p.ended == q.ended, p.attention.count == q.attention.count else { return nil }
            logProb = max(logProb, abs(p.logProb - q.logProb) / max(abs(q.logProb), 1e-6))
            for (r, s) in zip(p.attention, q.attention) {
                guard r.count == s.count else { return nil }
                for (u, v) in zip(r, s) { attention = max(attention, abs(u - v)) }
            }
        default:
            return nil
        }
    }
    return (attention, logProb)
}

@Suite("NightcapBeamSearch over the Show-Attend-and-Tell step")
struct NightcapBeamSearchTests {
    let directory = TemporaryDirectory()

    @Test(arguments: [1, 3])
    func resultsDoNotDependOnBatchSize(beamSize: Int) throws {
        let model = try TestModelFile(V: 30, E: 6, D: 9, H: 8, A: 5, seed: 7, scale: 0.8).load(in: directory)
        let batch = randomBatch(regionCounts: [1, 6, 3, 5, 2, 6, 4, 1, 3, 6, 2], D: 9, seed: 11)
        let settings = DecodeSettings(beamSize: beamSize, maxLength: 12)
        let all = decode(batch, model: model, settings: settings, pieces: batch.imageCount)
        #expect(all.allSatisfy { $0.caption != nil })
        for size in [1, 3] {
            let pieces = decode(batch, model: model, settings: settings, pieces: size)
            let diff = try #require(differences(pieces, all), "tokens differ with batches of \(size)")
            // Not bitwise: OpenBLAS sums a row of a product in an order that depends on where the row
            // falls in its blocking, so a result can move by an ulp with the batch (docs/decoder.md).
            #expect(diff.attention <= 1e-6)
            #expect(diff.logProb <= 1e-6)
        }
    }

    @Test func captionsAreWellFormed() throws {
        let model = try TestModelFile(V: 20, seed: 3, scale: 1).load(in: directory)
        let batch = randomBatch(regionCounts: [4, 1, 2, 4, 3], D: 7, seed: 5)
        let settings = DecodeSettings(beamSize: 3, maxLength: 6)
        for outcome in model.makeDecoder(settings: settings).decode(batch: batch) {
            let caption = try #require(outcome.caption)
            #expect(caption.tokens.count <= 6)
            if !caption.ended { #expect(caption.tokens.count == 6) }
            #expect(!caption.tokens.contains(model.specialTokens.end))
            #expect(caption.words == caption.tokens.map { model.vocabulary[$0] })
            #expect(caption.attention.count == caption.tokens.count)
            #expect(caption.logProb <= 0)
        }
        for (image, outcome) in model.makeDecoder(settings: settings).decode(batch: batch).enumerated() {
            for row in outcome.caption!.attention {
                #expect(row.count == batch.regionCounts[image])
                #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            }
        }
    }

    @Test func nonFiniteFeaturesFailOnlyThatImage() throws {
        let model = try TestModelFile(V: 20, seed: 4).load(in: directory)
        let clean = randomBatch(regionCounts: [3, 4, 5, 2], D: 7, seed: 21, maxRegions: 5)
        var broken = clean
        broken.features[(1 * 5 + 3) * 7 + 2] = .nan  // image 1, region 3, feature 2
        broken.features[(2 * 5 + 0) * 7 + 6] = .infinity  // image 2, region 0
        broken.features[(3 * 5 + 4) * 7 + 0] = .nan  // image 3, a padding region: not an error
        let settings = DecodeSettings(beamSize: 2, maxLength: 7)
        let outcomes = model.makeDecoder(settings: settings).decode(batch: broken)
        #expect(outcomes[1] == .failed(ImageDecodeFailure(
            imageID: "img1",
            reason: "region 3 holds NaN (feature 2); the features file is damaged or the extractor failed on this image")))
        guard case .failed(let failure) = outcomes[2] else {
            Issue.record("image 2 should fail")
            return
        }
        #expect(failure.description.hasPrefix("image img2: region 0 holds +infinity"))
        let alone = model.makeDecoder(settings: settings).decode(batch: clean)
        #expect(outcomes[0] == alone[0])
        #expect(outcomes[3] == alone[3])
    }

    @Test func regionCountsOutOfRangeFail() throws {
        let model = try TestModelFile(V: 20, seed: 4).load(in: directory)
        var batch = randomBatch(regionCounts: [3, 4], D: 7, seed: 2, maxRegions: 4)
        batch.regionCounts = [0, 4]
        let outcomes = model.makeDecoder(settings: DecodeSettings()).decode(batch: batch)
        #expect(outcomes[0] == .failed(ImageDecodeFailure(imageID: "img0", reason: "has 0 valid regions; expected 1...4")))
        #expect(outcomes[1].caption != nil)
    }

    @Test func paddingDoesNotChangeTheResult() throws {
        let model = try TestModelFile(V: 20, seed: 8).load(in: directory)
        let tight = randomBatch(regionCounts: [3, 2], D: 7, seed: 30, maxRegions: 3)
        // The same images padded to 9 regions with garbage in the padding.
        var padded = randomBatch(regionCounts: [9, 9], D: 7, seed: 99, maxRegions: 9)
        for image in 0..<2 {
            for index in 0..<(tight.regionCounts[image] * 7) {
                padded.features[image * 9 * 7 + index] = tight.features[image * 3 * 7 + index]
            }
        }
        padded.regionCounts = tight.regionCounts
        let settings = DecodeSettings(beamSize: 3, maxLength: 10)
        let a = model.makeDecoder(settings: settings).decode(batch: tight)
        let b = model.makeDecoder(settings: settings).decode(batch: padded)
        let diff = try #require(differences(a, b))
        #expect(diff.attention <= 1e-6 && diff.logProb <= 1e-6)
    }

    @Test func decoderIsReusableAcrossBatches() throws {
        let model = try TestModelFile(V: 20, seed: 12).load(in: directory)
        let big = randomBatch(regionCounts: [2, 5, 3, 1, 4, 4], D: 7, seed: 1)
        let small = randomBatch(regionCounts: [2, 3], D: 7, seed: 2)
        let decoder = model.makeDecoder(settings: DecodeSettings(beamSize: 3, maxLength: 9))
        let first = decoder.decode(batch: small)
        _ = decoder.decode(batch: big)
        #expect(decoder.decode(batch: small) == first)
    }

    @Test func beamWiderThanTheVocabularyAndOneStep() throws {
        let model = try TestModelFile(V: 4, seed: 14, scale: 1).load(in: directory)
        let batch = randomBatch(regionCounts: [2, 3], D: 7, seed: 15)
        for outcome in model.makeDecoder(settings: DecodeSettings(beamSize: 6, maxLength: 5)).decode(batch: batch) {
            let caption = try #require(outcome.caption)
            #expect(caption.tokens.count <= 5)
        }
        for outcome in model.makeDecoder(settings: DecodeSettings(beamSize: 2, maxLength: 1)).decode(batch: batch) {
            let caption = try #require(outcome.caption)
            #expect(caption.tokens.count == (caption.ended ? 0 : 1))
            #expect(caption.attention.count == caption.tokens.count)
        }
    }

    @Test func emptyBatch() throws {
        let model = try TestModelFile().load(in: directory)
        let batch = FeatureBatch(imageIDs: [], maxRegions: 3, dimension: 7, features: [], regionCounts: [])
        #expect(model.makeDecoder(settings: DecodeSettings()).decode(batch: batch).isEmpty)
    }
}

@Suite("NightcapBeamSearch: upstream's length penalties")
struct NightcapBeamSearchLengthPenaltyTests {
    /// `avg_A` is `score / length`: nightcap's exponent 1. The batch is one where the exponent
    /// changes some caption, so the rule is seen to act.
    @Test func averageIsExponentOne() throws {
        let model = try ShowAttendTellModel.load(path: Goldens.path("tanh_nofbeta.model.h5"))
        let batch = try Goldens.readFeatures("tanh_nofbeta_beam3_lp07.features.h5")
        func captions(_ rule: LengthPenaltyRule, _ alpha: Double) -> [[Int]] {
            var settings = DecodeSettings(beamSize: 3, maxLength: 12, lengthPenalty: alpha)
            settings.lengthPenaltyRule = rule
            return model.makeDecoder(settings: settings).decode(batch: batch).map { $0.caption?.tokens ?? [] }
        }
        let raw = captions(.power, 0), exponentOne = captions(.power, 1)
        #expect(raw != exponentOne, "the batch must be one where the length penalty matters")
        #expect(captions(.average, 0) == exponentOne)
        #expect(captions(.wu, 0) == raw, "wu_0 divides by 1")
    }
}
