import Foundation
import TestSupport
import Testing

/// `nightcap inspect` on PyTorch checkpoints as a self-critical.pytorch user has them: a `log_<id>`
/// folder with `model-best.pth` and `infos_<id>-best.pkl` (fixtures of tools/make_checkpoint_fixtures.py).
@Suite(.timeLimit(.minutes(3)))
struct InspectCheckpointTests {
    let folder = TemporaryDirectory()

    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PythonFilesTests/Fixtures/checkpoints/\(name)").path
    }

    /// `log/<checkpoint>` and, for each infos, `log/<infos name>` copied from the fixtures.
    func logFolder(_ checkpoint: (String, String), infos: [(String, String)]) throws -> String {
        let log = folder.url.appendingPathComponent("log_fixture")
        try FileManager.default.createDirectory(at: log, withIntermediateDirectories: true)
        for (fixture, name) in [checkpoint] + infos {
            try FileManager.default.copyItem(atPath: Self.fixture(fixture), toPath: log.appendingPathComponent(name).path)
        }
        return log.appendingPathComponent(checkpoint.1).path
    }

    @Test func legacyCheckpointWithItsInfosBesideIt() throws {
        let model = try logFolder(
            ("updown_legacy.pth", "model-best.pth"),
            infos: [("infos_protocol2.pkl", "infos_fixture-best.pkl"), ("infos_protocol0.pkl", "infos_fixture.pkl")])
        let outcome = try NightcapProcess.run(["inspect", model])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let out = outcome.standardOutput
        #expect(out.contains("family           updown"))
        #expect(out.contains("format           PyTorch legacy (torch <= 1.5 or _use_new_zipfile_serialization=False), pickle protocol 2"))
        #expect(out.contains("tensors          21 (21 float32), 950 values"))
        #expect(out.contains("  core.att_lstm.weight_ih            (20, 14) float32"))
        #expect(out.contains("infos_fixture-best.pkl"), "model-best.pth pairs with the -best infos")
        #expect(out.contains("vocabulary       7 words"))
        #expect(out.contains("special tokens   bos=0 eos=0 pad=0 (the end token), unk=5 \"UNK\""))
        #expect(out.contains("  input_fc_dir         'data/cocobu_fc'"))
        #expect(!out.contains("warning:"))
    }

    @Test func zipCheckpointWithPython2InfosWarnsAboutResNetFeatures() throws {
        let outcome = try NightcapProcess.run(
            ["inspect", Self.fixture("updown_zip.pth"), "--infos", Self.fixture("infos_python2.pkl")])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let out = outcome.standardOutput
        #expect(out.contains("family           topdown"))
        #expect(out.contains("format           PyTorch zip (torch >= 1.6), pickle protocol 2"))
        #expect(out.contains("warning: input_fc_dir is 'data/cocotalk_fc', not a bottom-up fc folder"))
        #expect(out.contains("warning: logit.weight has 8 rows but the vocabulary has 4 words"))
    }

    @Test func lightningCheckpointCarriesItsOwnInfos() throws {
        let outcome = try NightcapProcess.run(["inspect", Self.fixture("lightning.ckpt")])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("state dict       checkpoint['state_dict']"))
        #expect(outcome.standardOutput.contains("lightning.ckpt (_vocab, _opt)"))
        #expect(outcome.standardOutput.contains("  caption_model        'updown'"))
    }

    @Test func safetensorsWithInfosGiven() throws {
        let outcome = try NightcapProcess.run(
            ["inspect", Self.fixture("updown.safetensors"), "--infos", Self.fixture("infos_protocol2.pkl")])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("format           safetensors"))
        #expect(outcome.standardOutput.contains("tensors          22 (1 float16, 20 float32, 1 int64), 951 values"))
        #expect(outcome.standardOutput.contains("family           updown"))
    }

    @Test func severalInfosCandidatesAreListed() throws {
        let model = try logFolder(
            ("updown_zip.pth", "model.pth"),
            infos: [("infos_protocol2.pkl", "infos_a.pkl"), ("infos_protocol0.pkl", "infos_b.pkl")])
        let outcome = try NightcapProcess.run(["inspect", model])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("there are 2: infos_a.pkl, infos_b.pkl; name it with --infos"))
        #expect(outcome.standardOutput.contains("family           updown (from the tensor names; no infos)"))
    }

    @Test func torchScriptIsRefusedWithTheFix() throws {
        let path = Self.fixture("torchscript.pt")
        let outcome = try NightcapProcess.run(["inspect", path])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("\(path): "))
        #expect(outcome.standardError.contains("a TorchScript archive (torch.jit.save)"))
        #expect(outcome.standardError.contains("torch.save(model.state_dict(), 'model.pth')"))
    }

    @Test func infosWithoutVocabularyIsRefused() throws {
        let path = Self.fixture("infos_novocab.pkl")
        let outcome = try NightcapProcess.run(["inspect", Self.fixture("updown_zip.pth"), "--infos", path])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("\(path): vocab: the infos file has no 'vocab'"), "\(outcome.standardError)")
    }

    @Test func infosFileAlone() throws {
        let outcome = try NightcapProcess.run(["inspect", Self.fixture("infos_protocol0.pkl")])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("vocabulary       7 words"))
        #expect(outcome.standardOutput.contains("  caption_model        'topdown'"))
    }
}
