import Foundation
import HDF5
import PythonFiles
import Testing
@testable import Captioner

/// The fixtures of tools/make_transformer_goldens.py: a small self-critical.pytorch Transformer, its
/// infos, features, and upstream's own decoding of them (`Goldens/transformer/`).
enum TransformerGoldens {
    static var directory: URL? {
        Goldens.directory?.appendingPathComponent("transformer")
    }

    static func path(_ name: String) -> String { directory!.appendingPathComponent(name).path }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var features: String
        var expected: String
        var testDescription: String { name }
    }

    static func cases() -> [Case] {
        guard let directory,
            let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
            let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let cases = manifest["cases"] as? [[String: Any]]
        else { return [] }
        return cases.compactMap { entry in
            guard let name = entry["name"] as? String, let features = entry["features"] as? String,
                let expected = entry["expected"] as? String
            else { return nil }
            return Case(name: name, features: features, expected: expected)
        }
    }

    /// The two checkpoints upstream's torch.save wrote (zip and legacy), each with its infos pickle beside it.
    static let checkpoints = ["log_zip/model-best.pth", "log_legacy/model.pth"]

    /// The model read natively from a checkpoint, its infos found beside it.
    static func model(_ checkpoint: String = checkpoints[0]) throws -> TransformerCaptionModel {
        try #require(try ModelLoader.load(path: path(checkpoint)).model as? TransformerCaptionModel)
    }

    /// The zip checkpoint's state dict and infos, for tests that damage them.
    static func parts() throws -> (StateDict, TrainingInfos) {
        (try TorchCheckpoint.load(path: path("log_zip/model-best.pth")).stateDict, try TrainingInfos.load(path: path("log_zip/infos_tiny-best.pkl")))
    }

    struct Expected {
        var settings: DecodeSettings
        var images: [(id: String, tokens: [Int], caption: String, logProb: Double, attention: [[Double]])]
    }

    static func readExpected(_ name: String) throws -> Expected {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name)))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let images = try #require(json["images"] as? [[String: Any]])
        return Expected(
            settings: try UpDownGoldens.settings(json),
            images: try images.map { image in
                (
                    id: try #require(image["image_id"] as? String),
                    tokens: try #require(image["tokens"] as? [Int]),
                    caption: try #require(image["caption"] as? String),
                    logProb: try #require((image["log_prob"] as? NSNumber)?.doubleValue),
                    attention: try #require(image["attention"] as? [[NSNumber]]).map { $0.map(\.doubleValue) }
                )
            })
    }
}

@Suite("Transformer: parity with self-critical.pytorch")
struct TransformerGoldenTests {
    @Test func goldensArePresent() {
        #expect(TransformerGoldens.cases().count >= 10, "Goldens/transformer/manifest.json lists too few cases")
    }

    /// Zip + its infos and legacy + its infos give the same model, tensor for tensor.
    @Test func bothSavedFormsAreTheSameModel() throws {
        let zip = try ModelLoader.load(path: TransformerGoldens.path("log_zip/model-best.pth"))
        let legacy = try ModelLoader.load(path: TransformerGoldens.path("log_legacy/model.pth"))
        #expect(zip.infosPath == TransformerGoldens.path("log_zip/infos_tiny-best.pkl"))
        #expect(legacy.infosPath == TransformerGoldens.path("log_legacy/infos_tiny.pkl"))
        let a = try #require(zip.model as? TransformerCaptionModel)
        let b = try #require(legacy.model as? TransformerCaptionModel)
        #expect(a.options == b.options)
        #expect(a.options == TransformerOptions(encoderLayers: 2, decoderLayers: 2, modelWidth: 32, feedForwardWidth: 64, heads: 4, vocabularySize: 29))
        #expect(a.positions == 5000)
        #expect(a.tensorCount == 2 + 2 * 16 + 2 + 2 * 26 + 2 + 1 + 1 + 2)
        #expect(a.projection == b.projection && a.positionalEncoding == b.positionalEncoding && a.wordEmbedding == b.wordEmbedding)
        #expect(a.family == "transformer" && ModelFamilies.family(captionModel: a.family)?.searchConvention == .selfCritical)
    }

    /// Passes are as few as the bound allows and as equal as they can be, covering the batch in order.
    @Test func passesAreBalanced() {
        func sizes(_ images: Int, _ perPass: Int) -> [Int] {
            TransformerBatchDecoder.passes(imageCount: images, imagesPerPass: perPass).map(\.count)
        }
        #expect(sizes(128, 25) == [22, 22, 21, 21, 21, 21])
        #expect(sizes(128, 128) == [128])
        #expect(sizes(75, 25) == [25, 25, 25])
        #expect(sizes(7, 3) == [3, 2, 2])
        #expect(sizes(0, 3) == [])
        let ranges = TransformerBatchDecoder.passes(imageCount: 100, imagesPerPass: 42)
        #expect(ranges == [0..<34, 34..<67, 67..<100])
    }

    /// A batch larger than one pass is decoded in passes, in order, with the results of one pass.
    @Test func passesOfABatchGiveTheSameCaptions() throws {
        let model = try TransformerGoldens.model()
        let batch = try Goldens.readFeatures("transformer/features.h5")
        let settings = try TransformerGoldens.readExpected("beam3.expected.json").settings
        let whole = try #require(model.makeDecoder(settings: settings) as? TransformerBatchDecoder)
        #expect(whole.imagesPerPass == TransformerBatchDecoder.hypothesesPerPass / 3)
        #expect(model.imagesPerSubBatch(settings: settings) == nil)
        var greedy = settings
        greedy.beamSize = 1
        #expect(model.imagesPerSubBatch(settings: greedy) == TransformerBatchDecoder.greedyImagesPerPass)
        #expect((model.makeDecoder(settings: greedy) as? TransformerBatchDecoder)?.imagesPerPass == TransformerBatchDecoder.greedyImagesPerPass)
        let inPasses = TransformerBatchDecoder(decoder: whole.decoder, imagesPerPass: 3)
        let expected = whole.decode(batch: batch)
        let got = inPasses.decode(batch: batch)
        #expect(got.count == batch.imageCount)
        for (a, b) in zip(got, expected) {
            let x = try #require(a.caption), y = try #require(b.caption)
            #expect(x.tokens == y.tokens && x.text == y.text)
            for (r, s) in zip(x.attention, y.attention) {
                for (u, v) in zip(r, s) { #expect(abs(u - v) <= 1e-6) }
            }
        }
    }

    @Test(arguments: TransformerGoldens.cases(), TransformerGoldens.checkpoints)
    func matchesUpstream(_ golden: TransformerGoldens.Case, checkpoint: String) throws {
        let model = try TransformerGoldens.model(checkpoint)
        let batch = try Goldens.readFeatures("transformer/" + golden.features)
        try model.validate(featureDimension: batch.dimension, featuresFile: golden.features)
        let expected = try TransformerGoldens.readExpected(golden.expected)
        #expect(expected.images.count == batch.imageCount)
        try model.validate(settings: expected.settings)
        let decoder = model.makeDecoder(settings: expected.settings)
        var runs = [("whole batch", decoder.decode(batch: batch))]
        for size in [1, 4] {
            var outcomes: [ImageCaptionOutcome] = []
            var start = 0
            while start < batch.imageCount {
                let end = min(start + size, batch.imageCount)
                outcomes += decoder.decode(batch: batch.slice(start..<end))
                start = end
            }
            runs.append(("batches of \(size)", outcomes))
        }
        var maxAttention = 0.0
        var maxLogProb = 0.0
        for (label, outcomes) in runs {
            for (image, want) in expected.images.enumerated() {
                let place = "\(golden.name), \(checkpoint), \(label), image \(want.id)"
                #expect(batch.imageIDs[image] == want.id)
                guard let got = outcomes[image].caption else {
                    Issue.record("\(place): \(outcomes[image])")
                    continue
                }
                #expect(got.tokens == want.tokens, "\(place)")
                // upstream's text: decode_sequence, trailing bad endings stripped when asked.
                #expect(got.text == want.caption, "\(place)")
                let relative = abs(Double(got.logProb) - want.logProb) / max(abs(want.logProb), 1e-12)
                maxLogProb = max(maxLogProb, relative)
                guard got.attention.count == want.attention.count else {
                    Issue.record("\(place): \(got.attention.count) attention rows, expected \(want.attention.count)")
                    continue
                }
                for (row, wantRow) in zip(got.attention, want.attention) {
                    #expect(row.count == wantRow.count, "\(place)")
                    for (a, b) in zip(row, wantRow) { maxAttention = max(maxAttention, abs(Double(a) - b)) }
                }
            }
        }
        print("transformer parity \(golden.name) (\(checkpoint)): max attention diff \(maxAttention), max log-prob relative diff \(maxLogProb)")
        #expect(maxAttention <= 1e-5)
        #expect(maxLogProb <= 1e-4)
    }
}
