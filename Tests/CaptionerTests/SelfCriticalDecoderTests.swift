import Foundation
import Testing
@testable import Captioner

/// A stepper whose next-word probabilities depend only on the input token (`table[token]`), with
/// uniform attention: a model small enough to work out upstream's searches by hand.
private final class TableStepper: DecoderStepper {
    let logTable: [[Float]]
    var vocabularySize: Int { logTable.count }
    private var maxRegions = 0
    private var regionCounts: [Int] = []
    private var logits: [Float] = []
    private var weights: [Float] = []
    private(set) var prepared: [Bool] = []

    init(_ table: [[Double]]) { logTable = table.map { $0.map { Float(log($0)) } } }

    func prepare(batch: FeatureBatch, features: UnsafePointer<Float>, usable: [Bool], maxRows: Int) {
        maxRegions = batch.maxRegions
        regionCounts = batch.regionCounts
        prepared = usable
        logits = [Float](repeating: 0, count: maxRows * vocabularySize)
        weights = [Float](repeating: 0, count: maxRows * maxRegions)
    }

    func step(rows: Int, images: UnsafePointer<Int>, parents: UnsafePointer<Int32>, tokens: UnsafePointer<Int32>) {
        let V = vocabularySize
        for row in 0..<rows {
            for v in 0..<V { logits[row * V + v] = logTable[Int(tokens[row])][v] }
            let regions = regionCounts[images[row]]
            for j in 0..<maxRegions { weights[row * maxRegions + j] = j < regions ? 1 / Float(regions) : 0 }
        }
    }

    var logProbs: UnsafeMutablePointer<Float> { logits.withUnsafeMutableBufferPointer { $0.baseAddress! } }
    var attention: UnsafePointer<Float> { weights.withUnsafeBufferPointer { $0.baseAddress! } }
}

/// self-critical.pytorch's greedy `_sample` and `beam_search` (`SelfCriticalDecoder`) over a
/// hand-made stepper. Words: 0 the end token, 1 "a", 2 "cat". From the start: a 0.5, cat 0.45;
/// after "a": end 0.6, cat 0.3; after "cat": end 0.9. So greedy says "a" (0.30), the beam search
/// finds "cat" (0.405), and without ending on "a" greedy says "a cat".
@Suite("SelfCriticalDecoder")
struct SelfCriticalDecoderTests {
    static let table: [[Double]] = [
        [0.05, 0.5, 0.45],
        [0.6, 0.1, 0.3],
        [0.9, 0.05, 0.05],
    ]
    static let words = ["", "a", "cat"]

    func decode(_ settings: DecodeSettings, batch: FeatureBatch = batch()) -> [ImageCaptionOutcome] {
        let vocabulary = SearchVocabulary.selfCritical(words: Self.words, unknownIndex: nil, removeBadEndings: settings.removeBadEndings)
        return SelfCriticalDecoder(stepper: TableStepper(Self.table), settings: settings, vocabulary: vocabulary).decode(batch: batch)
    }

    static func batch(_ features: [Float] = [0.1, 0.2, 0.3, 0.4]) -> FeatureBatch {
        FeatureBatch(imageIDs: ["7"], maxRegions: 2, dimension: 2, features: features, regionCounts: [2])
    }

    @Test func greedyTakesTheMostLikelyWordUntilTheEnd() throws {
        let caption = try #require(decode(DecodeSettings(beamSize: 1, maxLength: 5)).first?.caption)
        #expect(caption.tokens == [1])
        #expect(caption.words == ["a"])
        #expect(caption.ended)
        #expect(abs(caption.logProb - Float(log(0.5) + log(0.6))) < 1e-6)
        #expect(caption.attention == [[0.5, 0.5]])
    }

    @Test func greedyWithRemoveBadEndingsDoesNotEndOnABadEnding() throws {
        var settings = DecodeSettings(beamSize: 1, maxLength: 5)
        settings.removeBadEndings = true
        let caption = try #require(decode(settings).first?.caption)
        #expect(caption.words == ["a", "cat"])
    }

    @Test func beamSearchFindsTheBestFinishedBeam() throws {
        let caption = try #require(decode(DecodeSettings(beamSize: 2, maxLength: 5)).first?.caption)
        #expect(caption.words == ["cat"])
        #expect(caption.ended)
        #expect(abs(caption.logProb - Float(log(0.45) + log(0.9))) < 1e-5)
    }

    @Test func beamSearchStopsAtTheMaxLength() throws {
        // One step only: every beam is recorded at the last iteration; "a" (0.5) beats "cat" (0.45).
        let caption = try #require(decode(DecodeSettings(beamSize: 2, maxLength: 1)).first?.caption)
        #expect(caption.tokens == [1])
        #expect(!caption.ended)
    }

    @Test func anUnusableImageFailsAloneAndTheOthersAreUnchanged() throws {
        let settings = DecodeSettings(beamSize: 2, maxLength: 5)
        let two = FeatureBatch(
            imageIDs: ["bad", "7"], maxRegions: 2, dimension: 2, features: [.nan, 0, 0, 0, 0.1, 0.2, 0.3, 0.4], regionCounts: [2, 2])
        let outcomes = decode(settings, batch: two)
        #expect(outcomes.count == 2)
        guard case .failed(let failure) = outcomes[0] else {
            Issue.record("the image of NaN features was decoded: \(outcomes[0])")
            return
        }
        #expect(failure.imageID == "bad")
        #expect(failure.reason.hasPrefix("region 0 holds NaN (feature 0)"))
        #expect(outcomes[1] == decode(settings).first)
    }

    @Test func decodeSequenceStripsTrailingBadEndingsAndJoinsBPE() {
        let words = ["", "a", "cat", "sit@@", "ting", "on", "the"]
        #expect(SelfCriticalText.decodeSequence([1, 3, 4, 5, 6], words: words, removeBadEndings: true) == "a sitting")
        #expect(SelfCriticalText.decodeSequence([1, 3, 4, 5, 6], words: words, removeBadEndings: false) == "a sitting on the")
        #expect(SelfCriticalText.word(0, in: words) == "<end>")
        #expect(SelfCriticalText.word(9, in: words) == "<id 9>")
        #expect(SelfCriticalText.word(2, in: words) == "cat")
    }

    @Test func theLengthPenaltiesAreUpstreamsFormulas() {
        #expect(LengthPenaltyRule.power.score(sum: -6, length: 4, alpha: 0) == -6)
        #expect(LengthPenaltyRule.power.score(sum: -6, length: 4, alpha: 0.5) == -3)
        #expect(LengthPenaltyRule.average.score(sum: -6, length: 4, alpha: 0.7) == -1.5)
        #expect(abs(LengthPenaltyRule.wu.score(sum: -6, length: 4, alpha: 1) - (-6 / (9.0 / 6.0))) < 1e-12)
    }
}
