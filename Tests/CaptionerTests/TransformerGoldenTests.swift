import Foundation
import HDF5
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

    /// The state dict as the tool also wrote it to HDF5 (one float32 dataset per key).
    static func stateDict() throws -> StateDict {
        let file = try HDF5File.open(path("model.h5"))
        let root = try file.root
        var tensors: [String: CheckpointTensor] = [:]
        for name in try root.memberNames() {
            let dataset = try root.dataset(name)
            tensors[name] = CheckpointTensor(shape: dataset.shape, values: try dataset.readFloats())
        }
        return StateDict(tensors: tensors)
    }

    private enum Option: Decodable {
        case int(Int), double(Double), bool(Bool), string(String), none

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .none
            } else if let value = try? container.decode(Int.self) {
                self = .int(value)
            } else if let value = try? container.decode(Double.self) {
                self = .double(value)
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        var training: TrainingOption {
            switch self {
            case .int(let value): return .int(value)
            case .double(let value): return .double(value)
            case .bool(let value): return .bool(value)
            case .string(let value): return .string(value)
            case .none: return .none
            }
        }
    }

    private struct InfosFile: Decodable {
        var options: [String: Option]
        var vocab: [String: String]
    }

    /// The infos as the tool also wrote them to JSON (the options the model reads, the vocabulary).
    static func infos() throws -> TrainingInfos {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("infos.json")))
        let file = try JSONDecoder().decode(InfosFile.self, from: data)
        var vocabulary: [Int: String] = [:]
        for (key, word) in file.vocab { vocabulary[Int(key)!] = word }
        return TrainingInfos(source: path("infos.json"), options: file.options.mapValues(\.training), vocabulary: vocabulary)
    }

    static func model() throws -> TransformerCaptionModel {
        try TransformerCaptionModel(stateDict: try stateDict(), infos: try infos(), source: path("model.h5"))
    }

    struct Expected {
        var search: SelfCriticalSearch
        var images: [(id: String, tokens: [Int], caption: String, logProb: Double, attention: [[Double]])]
    }

    static func readExpected(_ name: String) throws -> Expected {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name)))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let images = try #require(json["images"] as? [[String: Any]])
        let penaltyText = try #require(json["length_penalty"] as? String)
        let penalty = try #require(SelfCriticalSearch.LengthPenalty(upstream: penaltyText))
        let search = SelfCriticalSearch(
            beamSize: try #require(json["beam_size"] as? Int), maxLength: try #require(json["max_length"] as? Int),
            lengthPenalty: penalty, removeBadEndings: try #require(json["remove_bad_endings"] as? Int) == 1,
            suppressUnknown: try #require(json["suppress_unk"] as? Int) == 1)
        return Expected(
            search: search,
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

    @Test(arguments: TransformerGoldens.cases())
    func matchesUpstream(_ golden: TransformerGoldens.Case) throws {
        let model = try TransformerGoldens.model()
        let batch = try Goldens.readFeatures("transformer/" + golden.features)
        try model.validate(featureDimension: batch.dimension, featuresFile: golden.features)
        let expected = try TransformerGoldens.readExpected(golden.expected)
        #expect(expected.images.count == batch.imageCount)
        let decoder = try TransformerDecoder(model: model, search: expected.search)
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
                let where_ = "\(golden.name), \(label), image \(want.id)"
                #expect(batch.imageIDs[image] == want.id)
                guard let got = outcomes[image].caption else {
                    Issue.record("\(where_): \(outcomes[image])")
                    continue
                }
                // upstream's text (decode_sequence, bad endings stripped when asked) and the tokens kept for it.
                #expect(got.text == want.caption, "\(where_)")
                let kept = want.caption.isEmpty ? 0 : want.caption.split(separator: " ").count
                #expect(got.tokens == Array(want.tokens.prefix(kept)), "\(where_)")
                let relative = abs(Double(got.logProb) - want.logProb) / max(abs(want.logProb), 1e-12)
                maxLogProb = max(maxLogProb, relative)
                guard got.attention.count == kept else {
                    Issue.record("\(where_): \(got.attention.count) attention rows, expected \(kept)")
                    continue
                }
                for (row, wantRow) in zip(got.attention, want.attention) {
                    #expect(row.count == wantRow.count, "\(where_)")
                    for (a, b) in zip(row, wantRow) { maxAttention = max(maxAttention, abs(Double(a) - b)) }
                }
            }
        }
        print("transformer parity \(golden.name): max attention diff \(maxAttention), max log-prob relative diff \(maxLogProb)")
        #expect(maxAttention <= 1e-5)
        #expect(maxLogProb <= 1e-4)
    }
}
