import Foundation
import PythonFiles
import Testing
@testable import Captioner

/// The fixtures of tools/make_aoa_goldens.py: three small self-critical.pytorch AoANets (the zoo's
/// options scaled down, one without refiner and with additive attention and fc features, one with
/// the refiner's output layer, multi_head_scale 2 and an LSTM context layer), their infos, features,
/// and upstream's own decoding of them (`Goldens/aoa/`).
enum AoAGoldens {
    static var directory: URL? {
        Goldens.directory?.appendingPathComponent("aoa")
    }

    static func path(_ name: String) -> String { directory!.appendingPathComponent(name).path }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var checkpoint: String
        var features: String
        var expected: String
        var testDescription: String { "\(name) (\(checkpoint))" }
    }

    /// Every case with every saved form of its model.
    static func cases() -> [Case] {
        guard let directory,
            let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
            let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let cases = manifest["cases"] as? [[String: Any]]
        else { return [] }
        return cases.flatMap { entry -> [Case] in
            guard let name = entry["name"] as? String, let features = entry["features"] as? String,
                let expected = entry["expected"] as? String, let checkpoints = entry["checkpoints"] as? [String]
            else { return [] }
            return checkpoints.map { Case(name: name, checkpoint: $0, features: features, expected: expected) }
        }
    }

    /// The model read natively from a checkpoint, its infos found beside it.
    static func model(_ checkpoint: String) throws -> AoAModel {
        try #require(try ModelLoader.load(path: path(checkpoint)).model as? AoAModel)
    }

    /// A zip checkpoint's state dict and infos, for tests that damage them.
    static func parts(_ name: String = "aoa") throws -> (StateDict, TrainingInfos) {
        (
            try TorchCheckpoint.load(path: path("\(name)/log_zip/model-best.pth")).stateDict,
            try TrainingInfos.load(path: path("\(name)/log_zip/infos_\(name)-best.pkl"))
        )
    }
}

@Suite("AoANet: parity with self-critical.pytorch")
struct AoAGoldenTests {
    @Test func goldensArePresent() {
        #expect(AoAGoldens.cases().count >= 20, "Goldens/aoa/manifest.json lists too few cases")
    }

    /// Zip + its infos and legacy + its infos give the same model; the options are read as saved.
    @Test func bothSavedFormsAreTheSameModel() throws {
        let zip = try ModelLoader.load(path: AoAGoldens.path("aoa/log_zip/model-best.pth"))
        let legacy = try ModelLoader.load(path: AoAGoldens.path("aoa/log_legacy/model.pth"))
        #expect(zip.infosPath == AoAGoldens.path("aoa/log_zip/infos_aoa-best.pkl"))
        #expect(legacy.infosPath == AoAGoldens.path("aoa/log_legacy/infos_aoa.pkl"))
        let a = try #require(zip.model as? AoAModel)
        let b = try #require(legacy.model as? AoAModel)
        #expect(a.options == b.options)
        #expect(
            a.options
                == AoAOptions(
                    rnnSize: 16, encodingSize: 12, attentionHiddenSize: 0, vocabularySize: 29, refine: true, refineAoA: true,
                    multiHeadDecoder: true, heads: 4, scale: 1, meanFeatures: true, contextDropout: true, decoderType: .aoa,
                    outputResidual: false))
        #expect(a.output == b.output && a.contextLayer == b.contextLayer && a.refinerLayers.count == 6)
        #expect(a.family == "aoa" && a.searchConvention == .selfCritical && !a.takesPooledFeatures)
        let plain = try AoAGoldens.model("plain/log_zip/model-best.pth")
        #expect(!plain.options.refine && !plain.options.multiHeadDecoder && !plain.options.meanFeatures && plain.takesPooledFeatures)
        let lstm = try AoAGoldens.model("lstm/log_legacy/model.pth")
        #expect(lstm.options.decoderType == .lstm && lstm.options.scale == 2 && !lstm.options.refineAoA && lstm.options.outputResidual)
    }

    @Test(arguments: AoAGoldens.cases())
    func matchesUpstream(_ golden: AoAGoldens.Case) throws {
        let model = try AoAGoldens.model(golden.checkpoint)
        let batch = try Goldens.readFeatures("aoa/" + golden.features)
        try model.validate(featureDimension: batch.dimension, featuresFile: golden.features)
        let data = try Data(contentsOf: URL(fileURLWithPath: AoAGoldens.path(golden.expected)))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let settings = try UpDownGoldens.settings(json)
        let images = try #require(json["images"] as? [[String: Any]])
        #expect(images.count == batch.imageCount)
        let decoder = model.makeDecoder(settings: settings)
        var runs = [("whole batch", decoder.decode(batch: batch))]
        for size in [1, 5] {
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
            for (index, want) in images.enumerated() {
                let id = try #require(want["image_id"] as? String)
                let place = "\(golden.name), \(golden.checkpoint), \(label), image \(id)"
                #expect(batch.imageIDs[index] == id)
                guard let got = outcomes[index].caption else {
                    Issue.record("\(place): \(outcomes[index])")
                    continue
                }
                #expect(got.tokens == (try #require(want["tokens"] as? [Int])), "\(place)")
                #expect(got.text == (try #require(want["caption"] as? String)), "\(place)")
                let logProb = try #require((want["log_prob"] as? NSNumber)?.doubleValue)
                // Relative to the magnitude, but never to less than 1 (a caption of log-probability near 0).
                maxLogProb = max(maxLogProb, abs(Double(got.logProb) - logProb) / max(abs(logProb), 1))
                let attention = try #require(want["attention"] as? [[NSNumber]]).map { $0.map(\.doubleValue) }
                guard got.attention.count == attention.count else {
                    Issue.record("\(place): \(got.attention.count) attention rows, expected \(attention.count)")
                    continue
                }
                for (row, wantRow) in zip(got.attention, attention) {
                    #expect(row.count == wantRow.count, "\(place)")
                    for (a, b) in zip(row, wantRow) { maxAttention = max(maxAttention, abs(Double(a) - b)) }
                }
            }
        }
        print("aoa parity \(golden.name) (\(golden.checkpoint)): max attention diff \(maxAttention), max log-prob diff \(maxLogProb) (relative, to at least 1)")
        #expect(maxAttention <= 1e-5)
        #expect(maxLogProb <= 1e-4)
    }
}

/// AoANet checkpoints and infos that cannot be used: one clear message each, before any decoding.
@Suite("AoANet: bad checkpoints")
struct AoACheckpointTests {
    private func load(_ state: StateDict, _ infos: TrainingInfos) throws -> AoAModel {
        try AoAModel(stateDict: state, infos: infos, path: "model-best.pth")
    }

    private func error(_ body: () throws -> Void) -> ModelFileError? {
        do {
            try body()
            return nil
        } catch let error as ModelFileError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func missingRefinerLayerIsNamed() throws {
        var (state, infos) = try AoAGoldens.parts()
        for key in state.tensors.keys where key.hasPrefix("refiner.layers.3.") { state.tensors[key] = nil }
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .missingTensor)
        #expect(failure.object == "refiner.layers.3.self_attn.linears.0.weight")
        #expect(failure.description.hasPrefix("model file model-best.pth: has no tensor `refiner.layers.3.self_attn.linears.0.weight` (the refiner's query projection"))
        #expect(failure.message.contains("refine=1 refine_aoa=1"))
        #expect(failure.message.contains("use the infos_<id>.pkl of the run that saved this checkpoint"))
    }

    @Test func missingDecoderLayerIsNamed() throws {
        var (state, infos) = try AoAGoldens.parts()
        state.tensors["core.att2ctx.0.weight"] = nil
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .missingTensor)
        #expect(failure.message.hasPrefix("has no tensor `core.att2ctx.0.weight` (the decoder's AoA layer"))
    }

    @Test func vocabularyThatDoesNotMatchTheLogitIsRefused() throws {
        var (state, infos) = try AoAGoldens.parts()
        infos.vocabulary[30] = "zebra"
        infos.options["vocab_size"] = .int(30)
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .vocabularyMismatch)
        #expect(failure.object == "logit.weight")
        #expect(failure.description == "model file model-best.pth: `logit.weight` has 30 rows but \(infos.source) gives vocab_size 30 (+1 for the end token = 31); use the infos file saved with this checkpoint")
        // A vocabulary with fewer words than vocab_size: the infos file itself is inconsistent.
        (state, infos) = try AoAGoldens.parts()
        infos.vocabulary[29] = nil
        let short = try #require(error { _ = try load(state, infos) })
        #expect(short.kind == .vocabularyMismatch)
        #expect(short.description == "model file \(infos.source): the vocabulary has no word 29, but vocab_size is 29; the infos file is damaged")
    }

    @Test func unsupportedOptionsAreNamedWithTheirValue() throws {
        let (state, original) = try AoAGoldens.parts()
        for (name, value, start) in [
            ("use_ff", TrainingOption.int(1), "option use_ff=1 is not supported: nightcap decodes AoANet refiners without the feed-forward sublayer"),
            ("decoder_type", .string("base"), "option decoder_type='base' is not supported: nightcap decodes decoder_type 'AoA'"),
            ("use_bn", .int(1), "option use_bn=1 is not supported"),
            ("logit_layers", .int(2), "option logit_layers=2 is not supported"),
        ] {
            var infos = original
            infos.options[name] = value
            let failure = try #require(error { _ = try load(state, infos) })
            #expect(failure.kind == .invalidAttribute, "\(name)")
            #expect(failure.object == "opt.\(name)")
            #expect(failure.file == infos.source)
            #expect(failure.message.hasPrefix(start), "\(failure.message)")
        }
    }

    @Test func headCountMustDivideTheWidth() throws {
        var (state, infos) = try AoAGoldens.parts()
        infos.options["num_heads"] = .int(5)
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .invalidAttribute)
        #expect(failure.object == "opt.num_heads")
        #expect(failure.message.hasPrefix("num_heads=5 does not divide multi_head_scale * rnn_size = 16"))
    }

    @Test func missingRequiredOptionIsNamed() throws {
        var (state, infos) = try AoAGoldens.parts()
        infos.options["refine"] = nil
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .missingAttribute)
        #expect(failure.description == "model file \(infos.source): the infos options have no `refine`, which AoAModel reads (whether the regions go through the refiner); use the infos_<id>.pkl written next to the checkpoint by the same training run")
    }

    /// Infos that say "no refiner" for a checkpoint that has one: the refiner's tensors are named.
    @Test func refinerTheOptionsDoNotExpectIsNamed() throws {
        var (state, infos) = try AoAGoldens.parts()
        infos.options["refine"] = .int(0)
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .wrongShape)
        #expect(failure.object == "refiner.layers.0.self_attn.aoa_layer.0.bias")
        #expect(failure.message.contains("which an AoANet with rnn_size=16 input_encoding_size=12 refine=0"))
    }

    @Test func wrongShapeIsNamed() throws {
        var (state, infos) = try AoAGoldens.parts()
        let t = try #require(state.tensors["core.att_lstm.weight_hh"])
        state.tensors["core.att_lstm.weight_hh"] = CheckpointTensor(shape: [64, 12], values: Array(t.values.prefix(64 * 12)))
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .wrongShape)
        #expect(failure.message.hasPrefix("tensor `core.att_lstm.weight_hh` has shape [64, 12], expected [64, 16]"))
    }

    @Test func featuresOfAnotherSizeAreRefused() throws {
        let (state, infos) = try AoAGoldens.parts()
        let model = try load(state, infos)
        let failure = try #require(error { try model.validate(featureDimension: 2048, featuresFile: "f.h5") })
        #expect(failure.kind == .featureDimensionMismatch)
        #expect(failure.message.hasPrefix("expects region features of D=20 (att_embed.0.weight is [rnn_size=16, D=20]), but the features file f.h5 holds D=2048"))
    }
}
