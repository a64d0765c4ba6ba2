import Foundation
import PythonFiles
import Testing
@testable import Captioner

/// The registry of model families: who reads what, and the message for a checkpoint no family decodes.
@Suite("ModelFamilies")
struct ModelFamiliesTests {
    @Test func everyFamilyIsRegisteredOnceUnderItsName() {
        let names = ModelFamilies.all.map(\.name)
        #expect(names == ["show-attend-tell", "updown", "transformer"])
        #expect(ModelFamilies.all.filter(\.readsModelFiles).map(\.name) == ["show-attend-tell"])
        #expect(ModelFamilies.takingPooledFeatures == ["updown"])
        let captionModels = ModelFamilies.all.flatMap(\.captionModels)
        #expect(Set(captionModels).count == captionModels.count, "a caption_model claimed twice: \(captionModels)")
    }

    @Test func aCaptionModelNamesItsFamilyAndSearchConvention() {
        #expect(ModelFamilies.family(captionModel: "topdown")?.name == "updown")
        #expect(ModelFamilies.family(captionModel: "transformer")?.searchConvention == .selfCritical)
        #expect(ModelFamilies.all.first?.searchConvention == .nightcap)
        #expect(ModelFamilies.family(captionModel: "aoa") == nil)
    }

    @Test func tensorNamesNameTheFamily() {
        #expect(ModelFamilies.family(tensorNames: ["core.att_lstm.weight_ih", "core.lang_lstm.weight_ih", "logit.weight"])?.name == "updown")
        #expect(ModelFamilies.family(tensorNames: ["model.decoder.layers.0.src_attn.linears.0.weight"])?.name == "transformer")
        #expect(ModelFamilies.family(tensorNames: ["fc.weight"]) == nil)
    }

    @Test func aCheckpointNoFamilyDecodesIsRefusedListingTheFamilies() throws {
        var infos = try UpDownGoldens.infos("plain")
        infos.options["caption_model"] = .string("aoa")
        do {
            _ = try ModelFamilies.family(checkpoint: "log/model-best.pth", infos: infos)
            Issue.record("a checkpoint of caption_model aoa was given a family")
        } catch let error as ModelFileError {
            #expect(error.kind == .wrongModelType)
            #expect(error.file == "log/model-best.pth")
            #expect(
                error.message == "its infos file \(infos.source) names `aoa`, which no family of nightcap decodes; the families known are "
                    + "show-attend-tell (nightcap's HDF5 model files), updown (caption_model updown, topdown), transformer (caption_model transformer); "
                    + "evaluate this checkpoint with self-critical.pytorch's tools/eval.py")
        }
        infos.options["caption_model"] = nil
        #expect(throws: ModelFileError.self) { try ModelFamilies.family(checkpoint: "log/model-best.pth", infos: infos) }
    }

    @Test func inspectShowsEveryFamilysOptionsOnce() {
        let shown = ModelFamilies.shownOptions
        #expect(shown.first == "caption_model")
        #expect(Set(shown).count == shown.count)
        #expect(shown.contains("rnn_size") && shown.contains("d_model"))
    }

    @Test func aFamilyRefusesASourceOfTheWrongKind() throws {
        let family = try #require(ModelFamilies.family(captionModel: "updown"))
        #expect(throws: ModelFileError.self) { try family.load(.modelFile(path: "model.h5")) }
    }
}
