import Foundation
import PythonFiles
import Testing
@testable import Captioner

/// The registry of model families: who reads what, and the message for a checkpoint no family decodes.
@Suite("ModelFamilies")
struct ModelFamiliesTests {
    @Test func everyFamilyIsRegisteredOnceUnderItsName() {
        let names = ModelFamilies.all.map(\.name)
        #expect(names == ["show-attend-tell", "updown", "transformer", "aoa", "meshed-memory"])
        #expect(ModelFamilies.all.filter(\.readsModelFiles).map(\.name) == ["show-attend-tell"])
        #expect(ModelFamilies.takingPooledFeatures == ["updown", "aoa"])
        let captionModels = ModelFamilies.all.flatMap(\.captionModels)
        #expect(Set(captionModels).count == captionModels.count, "a caption_model claimed twice: \(captionModels)")
    }

    @Test func aCaptionModelNamesItsFamilyAndSearchConvention() {
        #expect(ModelFamilies.family(captionModel: "topdown")?.name == "updown")
        #expect(ModelFamilies.family(captionModel: "transformer")?.searchConvention == .selfCritical)
        #expect(ModelFamilies.all.first?.searchConvention == .nightcap)
        #expect(ModelFamilies.family(captionModel: "aoa")?.name == "aoa")
        #expect(ModelFamilies.family(captionModel: "aoa")?.searchConvention == .selfCritical)
        #expect(ModelFamilies.family(captionModel: "att2in2") == nil)
    }

    @Test func tensorNamesNameTheFamily() {
        #expect(ModelFamilies.family(tensorNames: ["core.att_lstm.weight_ih", "core.lang_lstm.weight_ih", "logit.weight"])?.name == "updown")
        #expect(ModelFamilies.family(tensorNames: ["model.decoder.layers.0.src_attn.linears.0.weight"])?.name == "transformer")
        #expect(ModelFamilies.family(tensorNames: ["core.att_lstm.weight_ih", "core.att2ctx.0.weight", "refiner.norm.a_2"])?.name == "aoa")
        #expect(ModelFamilies.family(tensorNames: ["core.att_lstm.weight_ih", "core.att2ctx.weight_ih"])?.name == "aoa")
        #expect(ModelFamilies.family(tensorNames: ["core.att_lstm.weight_ih", "logit.weight"]) == nil)
        #expect(ModelFamilies.family(tensorNames: ["fc.weight"]) == nil)
    }

    @Test func aFamilyWithoutInfosIsFoundByItsTensorNamesAndNamesItsLoadOptions() {
        let names: Set<String> = ["decoder.layers.0.fc_alpha1.weight", "encoder.layers.0.mhatt.attention.m_k"]
        #expect(ModelFamilies.family(withoutInfos: names)?.name == "meshed-memory")
        #expect(ModelFamilies.family(withoutInfos: ["model.decoder.layers.0.src_attn.linears.0.weight"]) == nil)
        #expect(ModelFamilies.all.filter(\.readsCheckpointsWithoutInfos).map(\.name) == ["meshed-memory"])
        #expect(ModelLoadOptions.Name.families(reading: [.vocab]) == ["meshed-memory"])
        #expect(ModelLoadOptions.Name.families(reading: [.heads]) == ["meshed-memory"])
        #expect(ModelLoadOptions(vocabularyPath: "v.pkl", heads: 4).given == [.vocab, .heads])
        #expect(ModelLoadOptions(heads: 4).given == [.heads] && ModelLoadOptions().given.isEmpty)
    }

    @Test func aCheckpointNoFamilyDecodesIsRefusedListingTheFamilies() throws {
        var infos = try UpDownGoldens.infos("plain")
        infos.options["caption_model"] = .string("att2in2")
        do {
            _ = try ModelFamilies.family(checkpoint: "log/model-best.pth", infos: infos)
            Issue.record("a checkpoint of caption_model att2in2 was given a family")
        } catch let error as ModelFileError {
            #expect(error.kind == .wrongModelType)
            #expect(error.file == "log/model-best.pth")
            #expect(
                error.message == "its infos file \(infos.source) names `att2in2`, which no family of nightcap decodes; the families known are "
                    + ModelFamilies.all.map(\.reads).joined(separator: ", ") + "; "
                    + "evaluate this checkpoint with self-critical.pytorch's tools/eval.py")
            #expect(error.message.contains("transformer (caption_model transformer), aoa (caption_model aoa)"))
        }
        infos.options["caption_model"] = nil
        #expect(throws: ModelFileError.self) { try ModelFamilies.family(checkpoint: "log/model-best.pth", infos: infos) }
    }

    @Test func inspectShowsEveryFamilysOptionsOnce() {
        let shown = ModelFamilies.shownOptions
        #expect(shown.first == "caption_model")
        #expect(Set(shown).count == shown.count)
        #expect(shown.contains("rnn_size") && shown.contains("d_model") && shown.contains("refine_aoa"))
    }

    @Test func aFamilyRefusesASourceOfTheWrongKind() throws {
        let family = try #require(ModelFamilies.family(captionModel: "updown"))
        #expect(throws: ModelFileError.self) { try family.load(.modelFile(path: "model.h5")) }
    }
}
