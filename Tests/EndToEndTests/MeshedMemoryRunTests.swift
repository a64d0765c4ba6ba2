import Foundation
import ResultStore
import TestSupport
import Testing

/// `nightcap run --model m2.pth` with the Meshed-Memory Transformer on per-image detections
/// (`<image_id>_features`, as coco_detections.hdf5), end to end, against the goldens of
/// tools/make_m2_goldens.py (upstream's own decoding).
@Suite(.timeLimit(.minutes(5)))
struct MeshedMemoryRunTests {
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CaptionerTests/Goldens/m2")
    static func golden(_ name: String) -> String { goldens.appendingPathComponent(name).path }

    /// Upstream's images of a golden case, by image id: caption, detections and per-word attention.
    static func expected(_ name: String) throws -> [String: (caption: String, detections: Int, attention: [[Double]])] {
        let data = try Data(contentsOf: goldens.appendingPathComponent("\(name).expected.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var result: [String: (caption: String, detections: Int, attention: [[Double]])] = [:]
        for image in try #require(json["images"] as? [[String: Any]]) {
            let rows = try #require(image["attention"] as? [[NSNumber]]).map { $0.map(\.doubleValue) }
            result[try #require(image["image_id"] as? String)] = (
                try #require(image["caption"] as? String), try #require(image["detections"] as? Int), rows
            )
        }
        return result
    }

    func references(in folder: TemporaryDirectory, ids: [String]) throws -> String {
        let path = folder.path("references.json")
        let annotations = ids.map { ["id": Int($0)!, "image_id": Int($0)!, "caption": "a small cat is standing near the dog"] as [String: Any] }
        let json: [String: Any] = ["images": ids.map { ["id": Int($0)!] }, "annotations": annotations]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(arguments: [("m2_zip/m2.pth", "beam5", "5", "20"), ("m2_legacy/m2.pth", "greedy_short", "1", "4")])
    func runMatchesUpstream(_ checkpoint: String, _ golden: String, beam: String, maxLength: String) throws {
        let folder = TemporaryDirectory()
        let expected = try Self.expected(golden)
        let outcome = try NightcapProcess.run(
            ["run", "--features", Self.golden("detections.h5"), "--model", Self.golden(checkpoint), "--heads", "4",
             "--references", try references(in: folder, ids: Array(expected.keys)), "--db", folder.path("r.sqlite"), "--threads", "2",
             "--quiet", "--beam-size", beam, "--max-length", maxLength, "--shard-size", "5"])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let upstream = expected.mapValues { (caption: $0.caption, attention: $0.attention) }
        #expect(try largestAttentionDifference(database: folder.path("r.sqlite"), expected: upstream) { expected[$0]!.detections } <= 1e-5)
    }

    /// Greedy and beam 3 store the same bytes with 1 and 2 decoder threads, over several shards.
    @Test(arguments: ["1", "3"])
    func threadCountDoesNotChangeTheDatabase(beam: String) throws {
        let folder = TemporaryDirectory()
        let references = try references(in: folder, ids: Array(try Self.expected("beam3").keys))
        for threads in ["1", "2"] {
            let outcome = try NightcapProcess.run(
                ["run", "--features", Self.golden("detections.h5"), "--model", Self.golden("m2_zip/m2.pth"), "--heads", "4",
                 "--references", references, "--db", folder.path("t\(threads).sqlite"), "--threads", threads, "--quiet",
                 "--beam-size", beam, "--shard-size", "5"])
            #expect(outcome.status == 0, "\(outcome.standardError)")
        }
        #expect(try RunFixture.snapshot(database: folder.path("t1.sqlite")) == RunFixture.snapshot(database: folder.path("t2.sqlite")))
    }

    @Test func aLengthPenaltyIsRefusedBeforeAnyWork() throws {
        let folder = TemporaryDirectory()
        let outcome = try NightcapProcess.run(
            ["run", "--features", Self.golden("detections.h5"), "--model", Self.golden("m2_zip/m2.pth"), "--heads", "4",
             "--db", folder.path("r.sqlite"), "--quiet", "--length-penalty", "wu_0.7"])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains(
            "model file \(Self.golden("m2_zip/m2.pth")): the Meshed-Memory Transformer's beam search (test.py) has no length penalty: it ranks by the summed log-probabilities; drop --length-penalty ([decode] length_penalty)"),
            "\(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: folder.path("r.sqlite")))
        // A max length beyond the positional table (21 rows: max_len 20) and a beam wider than the vocabulary.
        for (flags, message) in [
            (["--max-length", "21"], "the positional table `decoder.pos_emb.weight` holds 21 rows (upstream's max_len 20 + 1), too few for the max length 21; decode with a max length of at most 20"),
            (["--beam-size", "40"], "the beam size 40 exceeds the vocabulary's 32 words (upstream's first step keeps the beam's best words of one hypothesis); use a beam size of at most 32"),
        ] {
            let refused = try NightcapProcess.run(
                ["run", "--features", Self.golden("detections.h5"), "--model", Self.golden("m2_zip/m2.pth"), "--heads", "4",
                 "--db", folder.path("r.sqlite"), "--quiet"] + flags)
            #expect(refused.status == 1)
            #expect(refused.standardError.contains("model file \(Self.golden("m2_zip/m2.pth")): \(message)"), "\(refused.standardError)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path("r.sqlite")))
    }

    @Test func inspectDescribesTheMeshedMemoryTransformer() throws {
        let outcome = try NightcapProcess.run(["inspect", Self.golden("m2_zip/m2.pth"), "--heads", "4"])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        for line in [
            "family           meshed-memory (from the tensor names)",
            "state dict       checkpoint['state_dict']",
            "vocabulary       \(Self.golden("m2_zip/vocab.pkl")): ",
            "encoder          3 layers, 3 memory slots", "decoder          2 layers, meshed over 3 encoder levels",
            "heads            4 (not in the file: --heads; d_k = 3)", "sizes            d_model=12 d_ff=24 D=20 positions=21 (max length 20)",
        ] {
            #expect(outcome.standardOutput.contains(line), "inspect lacks \(line):\n\(outcome.standardOutput)")
        }
    }

    /// `[model] vocab` and `heads` in a pipeline file: a checkpoint without a vocab.pkl beside it.
    @Test func pipelineKeysNameTheVocabularyAndTheHeads() throws {
        let folder = TemporaryDirectory()
        let model = folder.path("saved_models/m2_best.pth")
        try FileManager.default.createDirectory(atPath: folder.path("saved_models"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.golden("m2_zip/m2.pth"), toPath: model)
        let expected = try Self.expected("beam3")
        let pipeline = folder.path("m2.toml")
        try """
            [features]
            path = "\(Self.golden("detections.h5"))"
            [model]
            path = "saved_models/m2_best.pth"
            vocab = "\(Self.golden("m2_zip/vocab.pkl"))"
            heads = 4
            [references]
            path = "\(try references(in: folder, ids: Array(expected.keys)))"
            [decode]
            beam_size = 3
            """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let outcome = try NightcapProcess.run(["run", pipeline, "--db", folder.path("r.sqlite"), "--threads", "2", "--quiet"])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let store = try ResultDatabase(path: folder.path("r.sqlite"), readOnly: true)
        defer { try? store.close() }
        let stored = Dictionary(uniqueKeysWithValues: try store.captions(runID: 1).map { ($0.imageID, $0.caption) })
        #expect(stored == expected.mapValues(\.caption))

        // Without the vocabulary key: one message naming the option.
        let bare = try NightcapProcess.run(
            ["run", "--features", Self.golden("detections.h5"), "--model", model, "--heads", "4", "--db", folder.path("x.sqlite"), "--quiet"])
        #expect(bare.status == 1)
        #expect(bare.standardError.contains(
            "\(model): is a Meshed-Memory Transformer checkpoint, but there is no vocab.pkl beside it; pass upstream's vocabulary with --vocab FILE (or the pipeline key model.vocab)"),
            "\(bare.standardError)")
    }

    @Test func aHeadCountThatDoesNotDivideIsRefusedBeforeAnyWork() throws {
        let folder = TemporaryDirectory()
        let outcome = try NightcapProcess.run(
            ["run", "--features", Self.golden("detections.h5"), "--model", Self.golden("m2_zip/m2.pth"), "--heads", "5",
             "--db", folder.path("r.sqlite"), "--quiet"])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains(
            "model file \(Self.golden("m2_zip/m2.pth")): 5 heads do not divide the attention width h*d_k = 12"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("r.sqlite")))
    }
}
