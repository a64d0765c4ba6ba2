import Foundation
import PythonFiles
import Testing
@testable import Captioner

/// Transformer checkpoints and infos that cannot be used: one clear message each, before any decoding.
@Suite("Transformer: bad checkpoints")
struct TransformerCheckpointTests {
    private func load(_ state: StateDict, _ infos: TrainingInfos) throws -> TransformerCaptionModel {
        try TransformerCaptionModel(stateDict: state, infos: infos, path: "model-best.pth")
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

    @Test func missingLayerIsNamed() throws {
        var (state, infos) = try TransformerGoldens.parts()
        for key in state.tensors.keys where key.hasPrefix("model.decoder.layers.1.") { state.tensors[key] = nil }
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .missingTensor)
        #expect(failure.object == "model.decoder.layers.1.self_attn.linears.0.weight")
        #expect(failure.description.hasPrefix("model file model-best.pth: has no tensor `model.decoder.layers.1.self_attn.linears.0.weight`"))
        #expect(failure.message.contains("N_dec=2"))
        #expect(failure.message.contains("use the infos_<id>.pkl of the run that saved this checkpoint"))
    }

    @Test func layerBeyondTheOptionsIsNamed() throws {
        let (state, originalInfos) = try TransformerGoldens.parts()
        var infos = originalInfos
        infos.options["N_enc"] = .int(1)
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.object == "model.encoder.layers.1.feed_forward.w_1.bias")
        #expect(failure.message.contains("an encoder layer beyond the 1 that"))
    }

    @Test func headCountMustDivideTheWidth() throws {
        var (state, infos) = try TransformerGoldens.parts()
        infos.options["num_att_heads"] = .int(5)
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .invalidAttribute)
        #expect(failure.file == infos.source)
        #expect(failure.object == "opt.num_att_heads")
        #expect(failure.message.hasPrefix("num_att_heads=5 does not divide d_model=32"))
    }

    @Test func positionalTableMustCoverTheMaxLength() throws {
        var (state, infos) = try TransformerGoldens.parts()
        let table = try #require(state.tensors["model.tgt_embed.1.pe"])
        state.tensors["model.tgt_embed.1.pe"] = CheckpointTensor(shape: [1, 10, 32], values: Array(table.values.prefix(10 * 32)))
        let model = try load(state, infos)
        #expect(model.positions == 10)
        try model.validate(settings: DecodeSettings(beamSize: 3, maxLength: 10))
        let failure = try #require(error { try model.validate(settings: DecodeSettings(beamSize: 3, maxLength: 16)) })
        #expect(failure.object == "model.tgt_embed.1.pe")
        #expect(failure.message.hasPrefix("the positional encoding table `model.tgt_embed.1.pe` holds 10 positions, fewer than the max length 16"))
        #expect(failure.message.hasSuffix("decode with a max length of at most 10, or use the untruncated checkpoint (upstream saves 5000 positions)"))
    }

    @Test func wrongShapeNamesTheOptions() throws {
        var (state, infos) = try TransformerGoldens.parts()
        infos.options["d_ff"] = .int(128)
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .wrongShape)
        #expect(failure.object == "model.encoder.layers.0.feed_forward.w_1.weight")
        #expect(failure.message.hasPrefix("tensor `model.encoder.layers.0.feed_forward.w_1.weight` has shape [64, 32], expected [128, 32]"))
    }

    @Test func nonFiniteWeightIsNamed() throws {
        var (state, infos) = try TransformerGoldens.parts()
        let name = "model.generator.proj.bias"
        var values = try #require(state.tensors[name]).values
        values[3] = .nan
        state.tensors[name] = CheckpointTensor(shape: [values.count], values: values)
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .nonFiniteWeight)
        #expect(failure.message.hasPrefix("tensor `model.generator.proj.bias` holds nan at flat index 3"))
    }

    @Test func missingOptionIsNamed() throws {
        var (state, infos) = try TransformerGoldens.parts()
        infos.options["d_model"] = nil
        infos.options["input_encoding_size"] = nil
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .missingAttribute)
        #expect(failure.message.hasPrefix("the infos options have no `d_model` or `input_encoding_size`"))
    }

    @Test func otherFamilyInfosAreRefused() throws {
        var (state, infos) = try TransformerGoldens.parts()
        infos.options["caption_model"] = .string("updown")
        let failure = try #require(error { _ = try load(state, infos) })
        #expect(failure.kind == .wrongModelType)
        #expect(failure.message.hasPrefix("caption_model is 'updown', not `transformer`"))
    }

    /// Infos from before the Transformer had its own option names: upstream falls back to
    /// num_layers, input_encoding_size, rnn_size and 8 heads; so does nightcap.
    @Test func olderOptionNamesAreRead() throws {
        var (state, infos) = try TransformerGoldens.parts()
        for key in ["N_enc", "N_dec", "d_model", "d_ff"] { infos.options[key] = nil }
        infos.options["num_layers"] = .int(2)
        infos.options["input_encoding_size"] = .int(32)
        infos.options["rnn_size"] = .int(64)
        let model = try load(state, infos)
        #expect(model.options == TransformerOptions(encoderLayers: 2, decoderLayers: 2, modelWidth: 32, feedForwardWidth: 64, heads: 4, vocabularySize: 29))
        infos.options["num_att_heads"] = nil
        #expect(try TransformerOptions(infos: infos).heads == 8)
    }

    @Test func featureDimensionMismatchIsNamed() throws {
        let model = try TransformerGoldens.model()
        let failure = try #require(error { try model.validate(featureDimension: 2048, featuresFile: "cocobu.h5") })
        #expect(failure.kind == .featureDimensionMismatch)
        #expect(failure.message.hasPrefix("expects region features of D=20"))
    }

    /// A damaged image fails alone; the others decode as without it.
    @Test func damagedImageFailsAlone() throws {
        let model = try TransformerGoldens.model()
        let batch = try Goldens.readFeatures("transformer/features.h5")
        var features = batch.features
        features[2 * batch.maxRegions * batch.dimension + 1] = .nan
        let damaged = FeatureBatch(
            imageIDs: batch.imageIDs, maxRegions: batch.maxRegions, dimension: batch.dimension, features: features,
            regionCounts: batch.regionCounts)
        let decoder = model.makeDecoder(settings: DecodeSettings(beamSize: 3, maxLength: 16))
        let clean = decoder.decode(batch: batch)
        let outcomes = decoder.decode(batch: damaged)
        #expect(outcomes[2] == .failed(ImageDecodeFailure(imageID: batch.imageIDs[2], reason: "region 0 holds NaN (feature 1); the features file is damaged or the extractor failed on this image")))
        for image in batch.imageIDs.indices where image != 2 {
            #expect(outcomes[image].caption?.tokens == clean[image].caption?.tokens)
        }
    }
}
