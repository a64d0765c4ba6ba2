import TestSupport
import Testing
import HDF5
@testable import Captioner

/// Loads a model made by `edit` and returns the error it throws, or nil.
private func loadError(_ edit: (inout TestModelFile) -> Void) throws -> ModelFileError? {
    let directory = TemporaryDirectory()
    var file = TestModelFile()
    edit(&file)
    do {
        _ = try file.load(in: directory)
        return nil
    } catch let error as ModelFileError {
        return error
    }
}

@Suite("Model file")
struct ModelFileTests {
    @Test func loadsSizesTokensAndVocabulary() throws {
        let directory = TemporaryDirectory()
        let model = try TestModelFile(V: 12, E: 5, D: 7, H: 6, A: 4).load(in: directory)
        #expect(model.sizes == ModelSizes(vocabulary: 12, embedding: 5, feature: 7, hidden: 6, attention: 4))
        #expect(model.specialTokens == SpecialTokens(pad: 0, start: 1, end: 2, unknown: 3))
        #expect(model.vocabulary.count == 12)
        #expect(model.vocabulary[2] == "<end>")
        #expect(model.activation == .tanh)
        #expect(model.hasContextGate)
        #expect(model.storedTypes == ["float32"])
    }

    @Test func extraDatasetsAreIgnored() throws {
        let directory = TemporaryDirectory()
        var file = TestModelFile()
        file.tensors["optimizer.state"] = ([1, 2, 3], [3])
        file.tensors["fc.weight_unused"] = ([Float](repeating: .nan, count: 4), [2, 2])
        let model = try file.load(in: directory)
        #expect(model.sizes.vocabulary == 12)
    }

    @Test func activationDefaultsToTanhWhenAbsent() throws {
        let directory = TemporaryDirectory()
        let model = try TestModelFile(activation: nil).load(in: directory)
        #expect(model.activation == .tanh)
        let relu = try TestModelFile(activation: "relu").load(in: directory, name: "relu.h5")
        #expect(relu.activation == .relu)
    }

    @Test func describesTheModel() throws {
        let directory = TemporaryDirectory()
        var file = TestModelFile(V: 12, E: 5, D: 7, H: 6, A: 4, activation: "relu", gate: false)
        file.storage = .float16
        let model = try file.load(in: directory)
        let info = model.describe
        #expect(info.sizes.vocabulary == 12 && info.sizes.hidden == 6)
        #expect(info.hasContextGate == false)
        #expect(info.storedTypes == ["float16"])
        let text = info.description
        #expect(text.contains("V=12 E=5 D=7 H=6 A=4"))
        #expect(text.contains("attention        relu"))
        #expect(text.contains("context gate     no"))
        #expect(text.contains("weights on disk  float16"))
        #expect(text.contains("vocabulary       12 words"))
        #expect(text.contains("pad=0 \"<pad>\", start=1 \"<start>\", end=2 \"<end>\", unk=3 \"<unk>\""))
        let count = 12 * 5 + 4 * 7 + 4 + 4 * 6 + 4 + 4 + 1 + 2 * (6 * 7 + 6) + 24 * 12 + 24 * 6 + 48 + 12 * 6 + 12
        #expect(info.parameterCount == count)
    }

    @Test func missingTensor() throws {
        let error = try #require(try loadError { $0.tensors["lstm.weight_hh"] = nil })
        #expect(error.kind == .missingTensor)
        #expect(error.object == "/lstm.weight_hh")
        #expect(error.description.contains("model.h5"))
        #expect(error.description.contains("the dataset lstm.weight_hh (shape [4H, H]) is missing"))
        #expect(error.description.contains("tools/export_pytorch.py"))
    }

    @Test func gateNeedsBothTensors() throws {
        let error = try #require(try loadError { $0.tensors["f_beta.bias"] = nil })
        #expect(error.kind == .missingTensor)
        #expect(error.message.contains("has f_beta.weight but not f_beta.bias"))
    }

    @Test func wrongShapeNamesTheExpectedSizes() throws {
        let error = try #require(try loadError { $0.tensors["fc.weight"] = ([Float](repeating: 0, count: 12 * 10), [12, 10]) })
        #expect(error.kind == .wrongShape)
        #expect(error.message.contains("fc.weight has shape [12, 10], expected [V=12, H=6]"))
        let rank = try #require(try loadError { $0.tensors["fc.bias"] = ([Float](repeating: 0, count: 12), [3, 4]) })
        #expect(rank.message.contains("fc.bias has shape [3, 4], expected rank 1: [V]"))
        let gates = try #require(try loadError { $0.tensors["lstm.weight_ih"] = ([Float](repeating: 0, count: 24 * 11), [24, 11]) })
        #expect(gates.message.contains("lstm.weight_ih has shape [24, 11], expected [4H=24, E+D=12]"))
    }

    @Test func vocabularySizeMustMatchOutputRows() throws {
        let error = try #require(try loadError { $0.vocabulary.removeLast() })
        #expect(error.kind == .vocabularyMismatch)
        #expect(error.message.contains("vocab holds 11 words, but fc.weight has 12 rows (V=12)"))
    }

    @Test func specialTokensMustLieInTheVocabulary() throws {
        let error = try #require(try loadError { $0.attributes["end_token"] = .integer(12) })
        #expect(error.kind == .tokenOutOfRange)
        #expect(error.object == "/@end_token")
        #expect(error.message.contains("end_token = 12 lies outside the vocabulary (ids 0...11)"))
        let negative = try #require(try loadError { $0.attributes["pad_token"] = .integer(-1) })
        #expect(negative.message.contains("pad_token = -1 lies outside"))
        let missing = try #require(try loadError { $0.attributes["unk_token"] = nil })
        #expect(missing.kind == .missingAttribute)
        #expect(missing.message.contains("has no root attribute unk_token"))
    }

    @Test func modelTypeAndVersion() throws {
        let type = try #require(try loadError { $0.attributes["model_type"] = .string("transformer") })
        #expect(type.kind == .wrongModelType)
        #expect(type.message.contains("model_type is \"transformer\", but nightcap decodes only \"show-attend-tell\" models"))
        let absent = try #require(try loadError { $0.attributes["model_type"] = nil })
        #expect(absent.message.contains("has no root attribute model_type"))
        let version = try #require(try loadError { $0.attributes["format_version"] = .integer(2) })
        #expect(version.kind == .unsupportedFormatVersion)
        #expect(version.message.contains("has format_version 2, but this nightcap reads format_version 1"))
        let activation = try #require(try loadError { $0.attributes["attention_activation"] = .string("gelu") })
        #expect(activation.message.contains("attention_activation is \"gelu\"; expected \"tanh\" or \"relu\""))
    }

    @Test func nonFiniteWeightsNameTensorAndIndex() throws {
        let nan = try #require(try loadError { $0.tensors["init_c.weight"]!.values[2 * 7 + 3] = .nan })
        #expect(nan.kind == .nonFiniteWeight)
        #expect(nan.message.contains("init_c.weight holds NaN at index [2, 3] (flat index 17)"))
        let infinite = try #require(try loadError { $0.tensors["fc.bias"]!.values[5] = -.infinity })
        #expect(infinite.message.contains("fc.bias holds -infinity at index [5] (flat index 5)"))
    }

    @Test func nonFloatTensorIsRefused() throws {
        let directory = TemporaryDirectory()
        var file = TestModelFile()
        let fc = file.tensors.removeValue(forKey: "fc.bias")!
        try file.write(to: directory.path("m.h5"))
        do {
            let h5 = try HDF5File.open(directory.path("m.h5"), mode: .readWrite)
            try h5.root.writeIntegers("fc.bias", fc.values.map { Int64($0) }, shape: fc.shape)
            try h5.flush()
        }
        #expect {
            _ = try ShowAttendTellModel.load(path: directory.path("m.h5"))
        } throws: { error in
            (error as? ModelFileError)?.message.contains("the dataset fc.bias holds int64; model tensors must be float32 or float16") == true
        }
    }

    @Test func unreadableFile() throws {
        #expect {
            _ = try ShowAttendTellModel.load(path: "/nonexistent/model.h5")
        } throws: { error in
            guard let error = error as? ModelFileError else { return false }
            return error.kind == .unreadable && error.description.contains("/nonexistent/model.h5") && error.description.contains("no such file")
        }
    }

    @Test func featureDimensionMismatchNamesBothFiles() throws {
        let directory = TemporaryDirectory()
        let model = try TestModelFile(D: 7).load(in: directory)
        try model.validate(featureDimension: 7, featuresFile: "feats.h5")
        #expect {
            try model.validate(featureDimension: 2048, featuresFile: "/data/feats.h5")
        } throws: { error in
            guard let error = error as? ModelFileError else { return false }
            return error.kind == .featureDimensionMismatch && error.description.contains("model.h5")
                && error.description.contains("expects region features of D=7")
                && error.description.contains("the features file /data/feats.h5 holds D=2048")
        }
    }
}
