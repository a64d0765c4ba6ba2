import Foundation
import ResultStore
import TestSupport
import Testing

/// `nightcap run --model log_x/model-best.pth` with self-critical.pytorch's AoANet, end to end,
/// against the goldens of tools/make_aoa_goldens.py (upstream's own decoding).
@Suite(.timeLimit(.minutes(5)))
struct AoARunTests {
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CaptionerTests/Goldens/aoa")
    static func golden(_ name: String) -> String { goldens.appendingPathComponent(name).path }

    /// Upstream's images of a golden case, by image id: caption and per-word attention.
    static func expected(_ name: String) throws -> [String: (caption: String, attention: [[Double]])] {
        let data = try Data(contentsOf: goldens.appendingPathComponent("\(name).expected.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let images = try #require(json["images"] as? [[String: Any]])
        var result: [String: (caption: String, attention: [[Double]])] = [:]
        for image in images {
            let rows = try #require(image["attention"] as? [[NSNumber]]).map { $0.map(\.doubleValue) }
            result[try #require(image["image_id"] as? String)] = (try #require(image["caption"] as? String), rows)
        }
        return result
    }

    func references(in folder: TemporaryDirectory) throws -> String {
        let path = folder.path("references.json")
        let ids = (100..<116)
        let annotations = ids.map { ["id": $0, "image_id": $0, "caption": "a small cat is standing near the cat"] as [String: Any] }
        let json: [String: Any] = ["images": ids.map { ["id": $0] }, "annotations": annotations]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        return path
    }

    func run(_ extra: [String], model: String, folder: TemporaryDirectory) throws -> NightcapProcess.Outcome {
        try NightcapProcess.run(
            ["run", "--features", Self.golden("features.h5"), "--model", model, "--references", try references(in: folder),
             "--db", folder.path("r.sqlite"), "--threads", "2", "--quiet"] + extra)
    }

    /// Captions and every word's attention as upstream's beam 5 gives them.
    @Test func zipCheckpointBeam5WithAttention() throws {
        let folder = TemporaryDirectory()
        let outcome = try run(["--beam-size", "5", "--max-length", "16"], model: Self.golden("aoa/log_zip/model-best.pth"), folder: folder)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let expected = try Self.expected("aoa_beam5")
        #expect(try largestAttentionDifference(database: folder.path("r.sqlite"), expected: expected) <= 1e-5)
    }

    /// Greedy and beam 3 store the same bytes with 1 and 2 decoder threads, over several shards.
    @Test(arguments: ["1", "3"])
    func threadCountDoesNotChangeTheDatabase(beam: String) throws {
        let folder = TemporaryDirectory()
        let references = try references(in: folder)
        for threads in ["1", "2"] {
            let outcome = try NightcapProcess.run(
                ["run", "--features", Self.golden("features.h5"), "--model", Self.golden("aoa/log_zip/model-best.pth"),
                 "--references", references, "--db", folder.path("t\(threads).sqlite"), "--threads", threads, "--quiet",
                 "--beam-size", beam, "--max-length", "16", "--shard-size", "5"])
            #expect(outcome.status == 0, "\(outcome.standardError)")
        }
        #expect(try RunFixture.snapshot(database: folder.path("t1.sqlite")) == RunFixture.snapshot(database: folder.path("t2.sqlite")))
    }

    /// The legacy checkpoint of the variant with an LSTM context layer, greedy with a short max length.
    @Test func legacyCheckpointGreedyShort() throws {
        let folder = TemporaryDirectory()
        let outcome = try run(
            ["--infos", Self.golden("lstm/log_legacy/infos_lstm.pkl"), "--beam-size", "1", "--max-length", "4"],
            model: Self.golden("lstm/log_legacy/model.pth"), folder: folder)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let store = try ResultDatabase(path: folder.path("r.sqlite"), readOnly: true)
        defer { try? store.close() }
        let stored = Dictionary(uniqueKeysWithValues: try store.captions(runID: 1).map { ($0.imageID, $0.caption) })
        #expect(stored == (try Self.expected("lstm_greedy_short")).mapValues(\.caption))
    }

    @Test func inspectDescribesTheAoANet() throws {
        let outcome = try NightcapProcess.run(["inspect", Self.golden("aoa/log_zip/model-best.pth")])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        for line in [
            "family           aoa", "refiner          6 layers, 4 heads, AoA gate", "decoder          AoA, multi-head attention, 4 heads (d_k = 4)",
            "pooled input     mean of the refined regions (mean_feats 1)",
            "sizes            rnn_size=16 input_encoding_size=12 multi_head_scale=1 vocab_size=29", "region features  D=20 (att_embed.0.weight)",
            "vocabulary       29 words", "  refine               1", "  decoder_type         'AoA'", "  ctx_drop             1",
            "attention        stored per word: the decoder's attention over the refined regions, averaged over the 4 heads",
        ] {
            #expect(outcome.standardOutput.contains(line), "inspect lacks \(line):\n\(outcome.standardOutput)")
        }
        #expect(!outcome.standardOutput.contains("warning: input_fc_dir"), "with mean_feats 1 the AoANet reads no fc features")
        let plain = try NightcapProcess.run(["inspect", Self.golden("plain/log_zip/model-best.pth")])
        #expect(plain.status == 0, "\(plain.standardError)")
        for line in [
            "refiner          none (refine 0)", "decoder          AoA, additive attention, att_hid_size 12",
            "pooled input     fc_embed of the pooled features (mean_feats 0)",
            "attention        stored per word: the decoder's additive attention over the embedded regions",
        ] {
            #expect(plain.standardOutput.contains(line), "inspect lacks \(line):\n\(plain.standardOutput)")
        }
    }

    /// A checkpoint alone (no infos beside it): the registry recognises AoANet by its tensor names
    /// and inspect counts the refiner layers from them.
    @Test func inspectWithoutInfosRecognisesTheAoANet() throws {
        let folder = TemporaryDirectory()
        let model = folder.path("model.pth")
        try FileManager.default.copyItem(atPath: Self.golden("aoa/log_legacy/model.pth"), toPath: model)
        let outcome = try NightcapProcess.run(["inspect", model])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("family           aoa (from the tensor names; no infos)"), "\(outcome.standardOutput)")
        #expect(outcome.standardOutput.contains("refiner          6 layers (from the tensor names; the options need the infos)"), "\(outcome.standardOutput)")
    }

    /// The infos of another variant (no refiner, fc features, additive attention) for the zoo-like
    /// checkpoint: one message naming the checkpoint and the first tensor that variant needs.
    @Test func infosOfAnotherVariantAreRefusedBeforeAnyWork() throws {
        let folder = TemporaryDirectory()
        let outcome = try run(
            ["--infos", Self.golden("plain/log_zip/infos_plain-best.pkl")], model: Self.golden("aoa/log_zip/model-best.pth"), folder: folder)
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("model file \(Self.golden("aoa/log_zip/model-best.pth")): has no tensor `fc_embed.0.weight`"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("r.sqlite")))
    }
}
