import Foundation
import HDF5
import PythonFiles
import Testing
@testable import Captioner

/// The fixtures of tools/make_updown_goldens.py: small UpDown models trained and decoded by
/// self-critical.pytorch's own code (eval_utils.eval_split, the model's `_sample`/`beam_search`).
enum UpDownGoldens {
    static var directory: URL { Goldens.directory!.appendingPathComponent("updown") }
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var model: String
        var expected: String
        var testDescription: String { name }
    }

    static func manifest() -> [String: Any] {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
            let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return manifest
    }

    static func cases() -> [Case] {
        (manifest()["cases"] as? [[String: Any]] ?? []).compactMap { entry in
            guard let name = entry["name"] as? String, let model = entry["model"] as? String,
                let expected = entry["expected"] as? String
            else { return nil }
            return Case(name: name, model: model, expected: expected)
        }
    }

    /// The tensors of `<model>.tensors.h5` (one dataset per state-dict key).
    static func stateDict(_ model: String) throws -> StateDict {
        let file = try HDF5File.open(path("\(model).tensors.h5"))
        let root = try file.root
        var tensors: [String: CheckpointTensor] = [:]
        for name in try root.memberNames() {
            let dataset = try root.dataset(name)
            tensors[name] = CheckpointTensor(shape: dataset.shape, values: try dataset.readFloats())
        }
        return StateDict(tensors: tensors)
    }

    /// The options and vocabulary of `<model>.infos.json`.
    static func infos(_ model: String) throws -> TrainingInfos {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("\(model).infos.json")))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let options = try #require(json["options"] as? [String: Any])
        var converted: [String: TrainingOption] = [:]
        for (key, value) in options {
            switch value {
            case is NSNull: converted[key] = TrainingOption.none
            case let number as NSNumber:
                if number.doubleValue == number.doubleValue.rounded() && !"\(number)".contains(".") {
                    converted[key] = .int(number.intValue)
                } else {
                    converted[key] = .double(number.doubleValue)
                }
            case let string as String: converted[key] = .string(string)
            default: converted[key] = .other("\(value)")
            }
        }
        let vocab = try #require(json["vocab"] as? [String: String])
        var vocabulary: [Int: String] = [:]
        for (key, word) in vocab { vocabulary[try #require(Int(key))] = word }
        return TrainingInfos(source: path("\(model).infos.json"), options: converted, vocabulary: vocabulary)
    }

    /// The checkpoint upstream's torch.save wrote, read natively, with the infos pickle beside it.
    static func checkpoint(_ name: String) -> String {
        switch name {
        case "bn": path("log_bn/model-best.pth")
        case "unk": path("log_unk/model-best.pth")
        default: path("log_zip/model-best.pth")
        }
    }

    static func model(_ name: String) throws -> UpDownModel {
        try #require(try ModelLoader.load(path: checkpoint(name)).model as? UpDownModel)
    }

    static func settings(_ json: [String: Any]) throws -> DecodeSettings {
        var settings = DecodeSettings(beamSize: try #require(json["beam_size"] as? Int), maxLength: try #require(json["max_length"] as? Int))
        let penalty = try #require(json["length_penalty"] as? String)
        if penalty.hasPrefix("wu_") {
            settings.lengthPenaltyRule = .wu
            settings.lengthPenalty = try #require(Double(penalty.dropFirst(3)))
        } else if penalty.hasPrefix("avg_") {
            settings.lengthPenaltyRule = .average
            settings.lengthPenalty = try #require(Double(penalty.dropFirst(4)))
        }
        settings.removeBadEndings = try #require(json["remove_bad_endings"] as? Int) != 0
        settings.suppressUnknown = try #require(json["suppress_unk"] as? Int) != 0
        return settings
    }
}

@Suite("UpDown: parity with self-critical.pytorch")
struct UpDownParityTests {
    @Test func goldensArePresent() {
        #expect(UpDownGoldens.cases().count >= 10, "Tests/CaptionerTests/Goldens/updown/manifest.json lists too few cases")
    }

    /// Zip + protocol-2 infos (log_zip), legacy + protocol-0 infos (log_legacy) and the plain HDF5
    /// dump of the same tensors all give the same model, weight for weight.
    @Test func everySavedFormOfTheModelIsTheSame() throws {
        let zip = try ModelLoader.load(path: UpDownGoldens.path("log_zip/model-best.pth"))
        let legacy = try ModelLoader.load(path: UpDownGoldens.path("log_legacy/model.pth"))
        #expect(zip.infosPath == UpDownGoldens.path("log_zip/infos_small-best.pkl"))
        #expect(legacy.infosPath == UpDownGoldens.path("log_legacy/infos_small.pkl"))
        let dumped = try UpDownModel(
            stateDict: try UpDownGoldens.stateDict("plain"), infos: try UpDownGoldens.infos("plain"), path: "plain.tensors.h5")
        for loaded in [zip.model, legacy.model] {
            let model = try #require(loaded as? UpDownModel)
            #expect(model.sizes == dumped.sizes && model.vocabulary == dumped.vocabulary)
            #expect(model.attentionLSTMState == dumped.attentionLSTMState && model.attentionLSTMInput == dumped.attentionLSTMInput)
            #expect(model.languageLSTM == dumped.languageLSTM)
            #expect(model.embedding == dumped.embedding && model.output == dumped.output && model.outputBias == dumped.outputBias)
            #expect(model.attEmbed == dumped.attEmbed && model.fcEmbed == dumped.fcEmbed && model.queryProjection == dumped.queryProjection)
            #expect(model.unknownToken == 26 && model.badEndingTokens == [1, 2, 3, 4, 5, 6, 7, 8])
        }
    }

    @Test(arguments: UpDownGoldens.cases())
    func captionsEqualUpstreams(_ golden: UpDownGoldens.Case) throws {
        let model = try UpDownGoldens.model(golden.model)
        let batch = try Goldens.readFeatures("updown/features.h5")
        let data = try Data(contentsOf: URL(fileURLWithPath: UpDownGoldens.path(golden.expected)))
        let expected = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let settings = try UpDownGoldens.settings(expected)
        let outcomes = model.makeDecoder(settings: settings).decode(batch: batch)
        let images = try #require(expected["images"] as? [[String: Any]])
        #expect(outcomes.count == images.count)
        for (outcome, image) in zip(outcomes, images) {
            let caption = try #require(outcome.caption)
            let id = "\(image["image_id"]!)"
            #expect(caption.tokens == image["tokens"] as? [Int], "image \(id)")
            #expect(caption.text == image["caption"] as? String, "image \(id)")
            #expect(caption.ended == image["ended"] as? Bool, "image \(id)")
            let logProb = try #require((image["log_prob"] as? NSNumber)?.doubleValue)
            #expect(abs(Double(caption.logProb) - logProb) <= 1e-4 * max(1, abs(logProb)), "image \(id): \(caption.logProb) vs \(logProb)")
            let attention = try #require(image["attention"] as? [[NSNumber]])
            #expect(caption.attention.count == caption.tokens.count)
            for (position, weights) in caption.attention.enumerated() {
                let reference = attention[position].map(\.doubleValue)
                #expect(weights.count == reference.count)
                let worst = zip(weights, reference).map { abs(Double($0) - $1) }.max() ?? 0
                #expect(worst <= 1e-5, "image \(id) word \(position): attention differs by \(worst)")
            }
        }
    }
}

@Suite("UpDown: the pooled fc input")
struct UpDownPooledInputTests {
    /// Each image's mean valid region, as the decoder pools it.
    static func means(of batch: FeatureBatch) -> [Float] {
        let (k, d) = (batch.maxRegions, batch.dimension)
        var means = [Float](repeating: 0, count: batch.imageCount * d)
        for image in 0..<batch.imageCount {
            for region in 0..<batch.regionCounts[image] {
                for j in 0..<d { means[image * d + j] += batch.features[(image * k + region) * d + j] }
            }
            for j in 0..<d { means[image * d + j] /= Float(batch.regionCounts[image]) }
        }
        return means
    }

    @Test(arguments: [1, 3])
    func pooledMeansGiveThePooledRegionsCaptions(beam: Int) throws {
        let model = try UpDownGoldens.model("plain")
        var batch = try Goldens.readFeatures("updown/features.h5")
        let settings = DecodeSettings(beamSize: beam, maxLength: 8)
        let regions = model.makeDecoder(settings: settings).decode(batch: batch)
        batch.pooled = Self.means(of: batch)
        #expect(model.makeDecoder(settings: settings).decode(batch: batch) == regions)
        // Other pooled vectors reach the decoder: the log-probabilities change.
        batch.pooled = batch.pooled!.map { $0 * 0.5 }
        let halved = model.makeDecoder(settings: settings).decode(batch: batch)
        #expect(zip(halved, regions).contains { $0.caption?.logProb != $1.caption?.logProb })
    }

    @Test func nonFinitePooledVectorFailsItsImageAlone() throws {
        let model = try UpDownGoldens.model("plain")
        var batch = try Goldens.readFeatures("updown/features.h5")
        var pooled = Self.means(of: batch)
        pooled[2 * batch.dimension + 5] = .nan
        batch.pooled = pooled
        let outcomes = model.makeDecoder(settings: DecodeSettings(beamSize: 2, maxLength: 6)).decode(batch: batch)
        #expect(outcomes[2] == .failed(ImageDecodeFailure(
            imageID: batch.imageIDs[2],
            reason: "its pooled features hold NaN (feature 5); the features file is damaged or the extractor failed on this image")))
        #expect(outcomes.enumerated().allSatisfy { $0.offset == 2 || $0.element.caption != nil })
    }
}

@Suite("UpDown: bad checkpoints and infos")
struct UpDownBadInputTests {
    func error(_ body: () throws -> Void) -> ModelFileError? {
        do {
            try body()
            return nil
        } catch let error as ModelFileError {
            return error
        } catch {
            return nil
        }
    }

    @Test func unknownCaptionModelNamesTheSupportedOnes() throws {
        var infos = try UpDownGoldens.infos("plain")
        infos.options["caption_model"] = .string("aoa")
        let failure = error { _ = try UpDownModel(stateDict: try UpDownGoldens.stateDict("plain"), infos: infos, path: "x/model-best.pth") }
        #expect(failure?.kind == .wrongModelType)
        #expect(failure?.description.hasPrefix("model file x/model-best.pth: its infos file ") == true)
        #expect(failure?.description.contains("names `aoa`, which no family of nightcap decodes; the families known are show-attend-tell (nightcap's HDF5 model files), updown (caption_model updown, topdown), transformer (caption_model transformer); evaluate") == true)
    }

    @Test func missingTensorIsNamed() throws {
        var state = try UpDownGoldens.stateDict("plain")
        state.tensors["core.lang_lstm.weight_hh"] = nil
        let failure = error { _ = try UpDownModel(stateDict: state, infos: try UpDownGoldens.infos("plain"), path: "m.pth") }
        #expect(failure?.kind == .missingTensor)
        #expect(failure?.object == "core.lang_lstm.weight_hh")
        #expect(failure?.description.contains("has no tensor `core.lang_lstm.weight_hh`, which an UpDown model (updown) needs") == true)
    }

    @Test func misShapedTensorGivesBothShapes() throws {
        var state = try UpDownGoldens.stateDict("plain")
        state.tensors["ctx2att.weight"] = CheckpointTensor(shape: [8, 32], values: [Float](repeating: 0, count: 256))
        let failure = error { _ = try UpDownModel(stateDict: state, infos: try UpDownGoldens.infos("plain"), path: "m.pth") }
        #expect(failure?.kind == .wrongShape)
        #expect(failure?.description.contains("`ctx2att.weight` has shape [8, 32], but the options of ") == true)
        #expect(failure?.description.contains("make it [16, 32]; use the infos file saved with this checkpoint") == true)
    }

    @Test func vocabularyThatDisagreesWithLogit() throws {
        var infos = try UpDownGoldens.infos("plain")
        infos.vocabulary[27] = "extra"
        let failure = error { _ = try UpDownModel(stateDict: try UpDownGoldens.stateDict("plain"), infos: infos, path: "m.pth") }
        #expect(failure?.kind == .vocabularyMismatch)
        #expect(failure?.description.contains("`logit.weight` has 27 rows but the vocabulary of ") == true)
        #expect(failure?.description.contains("has 27 words (+1 for the end token = 28)") == true)
    }

    @Test func featureSizeThatDiffersFromAttFeatSize() throws {
        let model = try UpDownGoldens.model("plain")
        let failure = error { try model.validate(featureDimension: 2048, featuresFile: "feats.h5") }
        #expect(failure?.kind == .featureDimensionMismatch)
        #expect(
            failure?.description
                == "model file \(model.path): expects region features of att_feat_size 20 (att_embed.0.weight is [32, 20]), but the features file feats.h5 holds 2048 per region; use the bottom-up features the model was trained on (2048 for the self-critical.pytorch zoo)")
    }

    @Test func batchesDecodeLikeSingleImages() throws {
        // Padding and masks never change a caption: every image alone gives what it gave in the batch.
        let model = try UpDownGoldens.model("plain")
        let batch = try Goldens.readFeatures("updown/features.h5")
        let settings = DecodeSettings(beamSize: 3, maxLength: 12)
        let together = model.makeDecoder(settings: settings).decode(batch: batch)
        for image in 0..<batch.imageCount {
            let size = batch.maxRegions * batch.dimension
            let one = FeatureBatch(
                imageIDs: [batch.imageIDs[image]], maxRegions: batch.maxRegions, dimension: batch.dimension,
                features: Array(batch.features[(image * size)..<((image + 1) * size)]), regionCounts: [batch.regionCounts[image]])
            let alone = model.makeDecoder(settings: settings).decode(batch: one)
            #expect(alone[0].caption?.tokens == together[image].caption?.tokens)
        }
    }
}
