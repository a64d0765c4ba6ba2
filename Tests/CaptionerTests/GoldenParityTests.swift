import Foundation
import Testing
import HDF5
@testable import Captioner

/// The fixtures of tools/make_goldens.py: models, features and the PyTorch reference decoder's output.
enum Goldens {
    static var directory: URL? {
        Bundle.module.url(forResource: "Goldens", withExtension: nil)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var model: String
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
            guard let name = entry["name"] as? String, let model = entry["model"] as? String,
                let features = entry["features"] as? String, let expected = entry["expected"] as? String
            else { return nil }
            return Case(name: name, model: model, features: features, expected: expected)
        }
    }

    static func path(_ name: String) -> String { directory!.appendingPathComponent(name).path }

    /// Reads a packed features file: `features [N,R,D]`, `num_regions [N]`, `image_ids [N]`.
    static func readFeatures(_ name: String) throws -> FeatureBatch {
        let file = try HDF5File.open(path(name))
        let root = try file.root
        let features = try root.dataset("features")
        let shape = features.shape
        let counts = try root.dataset("num_regions").readIntegers().map { Int($0) }
        let idSet = try root.dataset("image_ids")
        let ids = idSet.elementType.isString ? try idSet.readStrings() : try idSet.readIntegers().map { String($0) }
        return FeatureBatch(
            imageIDs: ids, maxRegions: shape[1], dimension: shape[2], features: try features.readFloats(), regionCounts: counts)
    }

    struct Expected {
        var beamSize: Int
        var maxLength: Int
        var lengthPenalty: Double
        var images: [(id: String, tokens: [Int], caption: String, logProb: Double, attention: [[Double]])]
    }

    static func readExpected(_ name: String) throws -> Expected {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name)))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let images = try #require(json["images"] as? [[String: Any]])
        return Expected(
            beamSize: try #require(json["beam_size"] as? Int), maxLength: try #require(json["max_length"] as? Int),
            lengthPenalty: (json["length_penalty"] as? NSNumber)?.doubleValue ?? 0,
            images: try images.map { image in
                (
                    id: "\(image["image_id"] ?? "")",
                    tokens: try #require(image["tokens"] as? [Int]),
                    caption: try #require(image["caption"] as? String),
                    logProb: try #require((image["log_prob"] as? NSNumber)?.doubleValue),
                    attention: try #require(image["attention"] as? [[NSNumber]]).map { $0.map(\.doubleValue) }
                )
            })
    }
}

@Suite("Parity with the PyTorch reference")
struct GoldenParityTests {
    @Test func goldensArePresent() {
        #expect(Goldens.cases().count >= 1, "Tests/CaptionerTests/Goldens/manifest.json lists no cases")
    }

    /// The h5py-written golden models load with the attributes the manifest lists.
    @Test func describesGoldenModels() throws {
        let directory = try #require(Goldens.directory)
        let data = try Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        let manifest = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let models = try #require(manifest["models"] as? [[String: Any]])
        #expect(!models.isEmpty)
        for entry in models {
            let model = try ShowAttendTellModel.load(path: Goldens.path(try #require(entry["file"] as? String)))
            let info = model.describe
            #expect(info.storedTypes == [try #require(entry["dtype"] as? String)])
            #expect(info.activation.rawValue == entry["attention_activation"] as? String)
            #expect(info.hasContextGate == entry["f_beta"] as? Bool)
            #expect(info.sizes == ModelSizes(
                vocabulary: entry["vocab_size"] as? Int ?? -1, embedding: entry["embed_dim"] as? Int ?? -1,
                feature: entry["feature_dim"] as? Int ?? -1, hidden: entry["hidden_dim"] as? Int ?? -1,
                attention: entry["attention_dim"] as? Int ?? -1))
            #expect(model.specialTokens == SpecialTokens(
                pad: entry["pad_token"] as? Int ?? -1, start: entry["start_token"] as? Int ?? -1,
                end: entry["end_token"] as? Int ?? -1, unknown: entry["unk_token"] as? Int ?? -1))
            #expect(info.description.contains("start=\(model.specialTokens.start) \"\(model.vocabulary[model.specialTokens.start])\""))
        }
    }

    @Test(arguments: Goldens.cases())
    func matchesReference(_ golden: Goldens.Case) throws {
        let model = try ShowAttendTellModel.load(path: Goldens.path(golden.model))
        let batch = try Goldens.readFeatures(golden.features)
        try model.validate(featureDimension: batch.dimension, featuresFile: golden.features)
        let expected = try Goldens.readExpected(golden.expected)
        let settings = DecodeSettings(
            beamSize: expected.beamSize, maxLength: expected.maxLength, lengthPenalty: expected.lengthPenalty)
        #expect(expected.images.count == batch.imageCount)

        let decoder = model.makeDecoder(settings: settings)
        var runs = [("whole batch", decoder.decode(batch: batch))]
        for size in [1, 3] {
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
                #expect(batch.imageIDs[image] == want.id)
                guard let got = outcomes[image].caption else {
                    Issue.record("\(golden.name), \(label), image \(want.id): \(outcomes[image])")
                    continue
                }
                #expect(got.tokens == want.tokens, "\(golden.name), \(label), image \(want.id)")
                #expect(got.text == want.caption, "\(golden.name), \(label), image \(want.id)")
                let relative = abs(Double(got.logProb) - want.logProb) / max(abs(want.logProb), 1e-12)
                maxLogProb = max(maxLogProb, want.logProb == 0 ? abs(Double(got.logProb)) : relative)
                guard got.attention.count == want.attention.count else {
                    Issue.record("\(golden.name), \(label), image \(want.id): \(got.attention.count) attention rows, expected \(want.attention.count)")
                    continue
                }
                for (row, wantRow) in zip(got.attention, want.attention) {
                    #expect(row.count == wantRow.count)
                    for (a, b) in zip(row, wantRow) { maxAttention = max(maxAttention, abs(Double(a) - b)) }
                }
            }
        }
        print("parity \(golden.name): max attention diff \(maxAttention), max log-prob relative diff \(maxLogProb)")
        #expect(maxAttention <= 1e-5)
        #expect(maxLogProb <= 1e-4)
    }
}
