import Foundation
import HDF5
import Testing
@testable import Captioner

/// The fixtures of tools/make_m2_goldens.py: a small Meshed-Memory Transformer trained with
/// upstream's code, saved as its train.py saves (zip and legacy), its vocab.pkl, per-image
/// detections and upstream's own decoding of them (`Goldens/m2/`).
enum MeshedMemoryGoldens {
    static var directory: URL? { Goldens.directory?.appendingPathComponent("m2") }

    static func path(_ name: String) -> String { directory!.appendingPathComponent(name).path }

    /// The heads of the golden model (not in the checkpoint; upstream's default is 8).
    static let heads = 4

    static let checkpoints = ["m2_zip/m2.pth", "m2_legacy/m2.pth"]

    static func cases() -> [String] {
        guard let directory,
            let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
            let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let cases = manifest["cases"] as? [[String: Any]]
        else { return [] }
        return cases.compactMap { $0["name"] as? String }
    }

    static func model(_ checkpoint: String = checkpoints[0]) throws -> MeshedMemoryModel {
        try #require(try ModelLoader.load(path: path(checkpoint), heads: heads).model as? MeshedMemoryModel)
    }

    /// The detections of `ids` (`<id>_features`, `[N_i, D]`), padded to the largest count with 7.0
    /// (a value upstream never sees: nightcap must read only each image's own rows).
    static func readDetections(ids: [String]) throws -> FeatureBatch {
        let file = try HDF5File.open(path("detections.h5"))
        let root = try file.root
        var images: [[Float]] = []
        var counts: [Int] = []
        var dimension = 0
        for id in ids {
            let dataset = try root.dataset("\(id)_features")
            counts.append(dataset.shape[0])
            dimension = dataset.shape[1]
            images.append(try dataset.readFloats())
        }
        let R = counts.max() ?? 1
        var features = [Float](repeating: 7, count: ids.count * R * dimension)
        for (index, values) in images.enumerated() {
            features.replaceSubrange((index * R * dimension)..<(index * R * dimension + values.count), with: values)
        }
        return FeatureBatch(imageIDs: ids, maxRegions: R, dimension: dimension, features: features, regionCounts: counts)
    }

    struct Image {
        var id: String
        var detections: Int
        var tokens: [Int]
        var words: [String]
        var caption: String
        var ended: Bool
        var logProb: Double
        var attention: [[Double]]
        var paddingShare: [Double]
    }

    static func readExpected(_ name: String) throws -> (settings: DecodeSettings, images: [Image]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("\(name).expected.json")))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let settings = DecodeSettings(beamSize: try #require(json["beam_size"] as? Int), maxLength: try #require(json["max_length"] as? Int))
        let images = try #require(json["images"] as? [[String: Any]]).map { image in
            Image(
                id: try #require(image["image_id"] as? String), detections: try #require(image["detections"] as? Int),
                tokens: try #require(image["tokens"] as? [Int]), words: try #require(image["words"] as? [String]),
                caption: try #require(image["caption"] as? String), ended: try #require(image["ended"] as? Bool),
                logProb: try #require((image["log_prob"] as? NSNumber)?.doubleValue),
                attention: try #require(image["attention"] as? [[NSNumber]]).map { $0.map(\.doubleValue) },
                paddingShare: try #require(image["padding_share"] as? [NSNumber]).map(\.doubleValue))
        }
        return (settings, images)
    }
}

@Suite("Meshed-Memory Transformer: parity with aimagelab/meshed-memory-transformer")
struct MeshedMemoryGoldenTests {
    @Test func goldensCoverWhatTheyClaim() throws {
        #expect(MeshedMemoryGoldens.cases().count >= 5, "Goldens/m2/manifest.json lists too few cases")
        let images = try MeshedMemoryGoldens.readExpected("beam5").images
        let counts = images.map(\.detections)
        #expect(counts.contains { $0 < 50 } && counts.contains(50) && counts.contains { $0 > 50 })
        // test.py's collapse of repeats changes at least one caption, and some captions end.
        let cases = try MeshedMemoryGoldens.cases().map { try MeshedMemoryGoldens.readExpected($0).images }
        #expect(cases.joined().contains { $0.caption != $0.words.joined(separator: " ") })
        #expect(cases.joined().contains { $0.ended } && cases.joined().contains { !$0.ended })
    }

    /// Zip and legacy checkpoints (the dict train.py saves) give the same model, with the vocab.pkl beside each.
    @Test func bothSavedFormsAreTheSameModel() throws {
        let zip = try ModelLoader.load(path: MeshedMemoryGoldens.path("m2_zip/m2.pth"), heads: 4)
        let legacy = try ModelLoader.load(path: MeshedMemoryGoldens.path("m2_legacy/m2.pth"), heads: 4)
        #expect(zip.vocabPath == MeshedMemoryGoldens.path("m2_zip/vocab.pkl"))
        #expect(legacy.vocabPath == MeshedMemoryGoldens.path("m2_legacy/vocab.pkl"))
        let a = try #require(zip.model as? MeshedMemoryModel)
        let b = try #require(legacy.model as? MeshedMemoryModel)
        #expect(a.vocabulary.words == b.vocabulary.words)
        #expect(a.wordEmbedding == b.wordEmbedding && a.positionalEncoding == b.positionalEncoding && a.logits.weight == b.logits.weight)
        #expect(a.encoderLayers.count == 3 && a.decoderLayers.count == 2)
        #expect(a.width == 12 && a.attentionWidth == 12 && a.feedForwardWidth == 24 && a.memorySlots == 3 && a.positions == 21 && a.heads == 4)
        #expect(Array(a.vocabulary.words.prefix(4)) == ["<unk>", "<pad>", "<bos>", "<eos>"])
        #expect(a.family == "meshed-memory" && a.searchConvention == .meshedMemory)
    }

    @Test(arguments: MeshedMemoryGoldens.cases(), MeshedMemoryGoldens.checkpoints)
    func matchesUpstream(_ name: String, checkpoint: String) throws {
        let model = try MeshedMemoryGoldens.model(checkpoint)
        let expected = try MeshedMemoryGoldens.readExpected(name)
        let batch = try MeshedMemoryGoldens.readDetections(ids: expected.images.map(\.id))
        try model.validate(featureDimension: batch.dimension, featuresFile: "detections.h5")
        try model.validate(settings: expected.settings)
        let decoder = model.makeDecoder(settings: expected.settings)
        var runs = [("whole batch", decoder.decode(batch: batch))]
        var singles: [ImageCaptionOutcome] = []
        for image in 0..<batch.imageCount {
            singles += decoder.decode(batch: try MeshedMemoryGoldens.readDetections(ids: [batch.imageIDs[image]]))
        }
        runs.append(("one image at a time", singles))
        var maxAttention = 0.0, maxShare = 0.0, maxLogProb = 0.0
        for (label, outcomes) in runs {
            for (index, want) in expected.images.enumerated() {
                let place = "\(name), \(checkpoint), \(label), image \(want.id)"
                guard let got = outcomes[index].caption else {
                    Issue.record("\(place): \(outcomes[index])")
                    continue
                }
                #expect(got.tokens == want.tokens, "\(place)")
                #expect(got.words == want.words, "\(place)")
                #expect(got.text == want.caption, "\(place)")
                #expect(got.ended == want.ended, "\(place)")
                maxLogProb = max(maxLogProb, abs(Double(got.logProb) - want.logProb))
                guard got.attention.count == want.attention.count else {
                    Issue.record("\(place): \(got.attention.count) attention rows, expected \(want.attention.count)")
                    continue
                }
                for (t, (row, wantRow)) in zip(got.attention, want.attention).enumerated() {
                    // One weight per detection: the first 50 as upstream, 0 for the ones it drops.
                    #expect(row.count == want.detections, "\(place)")
                    for (a, b) in zip(row, wantRow) { maxAttention = max(maxAttention, abs(Double(a) - b)) }
                    #expect(row.dropFirst(50).allSatisfy { $0 == 0 }, "\(place)")
                    // The zero rows' share is what the real rows leave of 1.
                    let share = 1 - row.reduce(0.0) { $0 + Double($1) }
                    maxShare = max(maxShare, abs(share - want.paddingShare[t]))
                }
            }
        }
        print("m2 parity \(name) (\(checkpoint)): max attention diff \(maxAttention), padding share diff \(maxShare), log-prob diff \(maxLogProb)")
        #expect(maxAttention <= 1e-5)
        #expect(maxShare <= 1e-5)
        #expect(maxLogProb <= 1e-4)
    }
}
