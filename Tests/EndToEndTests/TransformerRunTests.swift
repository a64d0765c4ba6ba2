import Foundation
import ResultStore
import TestSupport
import Testing

/// `nightcap run --model log_x/model-best.pth` with self-critical.pytorch's Transformer, end to end,
/// against the goldens of tools/make_transformer_goldens.py (upstream's own decoding).
@Suite(.timeLimit(.minutes(5)))
struct TransformerRunTests {
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CaptionerTests/Goldens/transformer")
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
        let ids = (100..<120)
        let annotations = ids.map { ["id": $0, "image_id": $0, "caption": "a small cat is standing near the cat"] as [String: Any] }
        let json: [String: Any] = ["images": ids.map { ["id": $0] }, "annotations": annotations]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        return path
    }

    func run(_ extra: [String], model: String, folder: TemporaryDirectory, database: String = "r.sqlite") throws -> NightcapProcess.Outcome {
        try NightcapProcess.run(
            ["run", "--features", Self.golden("features.h5"), "--model", model, "--references", try references(in: folder),
             "--db", folder.path(database), "--threads", "2", "--quiet"] + extra)
    }

    @Test func zipCheckpointBeam5WithAttention() throws {
        let folder = TemporaryDirectory()
        let outcome = try run(["--beam-size", "5", "--max-length", "16"], model: Self.golden("log_zip/model-best.pth"), folder: folder)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let expected = try Self.expected("beam5")
        #expect(try largestAttentionDifference(database: folder.path("r.sqlite"), expected: expected) <= 1e-5)
    }

    /// Greedy (sub-batches of 256 images, the Transformer's own) and beam 3 (passes, caches indexed by
    /// ancestry) store the same bytes with 1 and 2 decoder threads, over several shards.
    @Test(arguments: ["1", "3"])
    func threadCountDoesNotChangeTheDatabase(beam: String) throws {
        let folder = TemporaryDirectory()
        let references = try references(in: folder)
        for threads in ["1", "2"] {
            let outcome = try NightcapProcess.run(
                ["run", "--features", Self.golden("features.h5"), "--model", Self.golden("log_zip/model-best.pth"), "--references", references,
                 "--db", folder.path("t\(threads).sqlite"), "--threads", threads, "--quiet", "--beam-size", beam, "--max-length", "16",
                 "--shard-size", "7"])
            #expect(outcome.status == 0, "\(outcome.standardError)")
        }
        #expect(try RunFixture.snapshot(database: folder.path("t1.sqlite")) == RunFixture.snapshot(database: folder.path("t2.sqlite")))
    }

    @Test func legacyCheckpointGreedyShortWithBadEndings() throws {
        let folder = TemporaryDirectory()
        let outcome = try run(
            ["--infos", Self.golden("log_legacy/infos_tiny.pkl"), "--beam-size", "1", "--max-length", "4", "--remove-bad-endings"],
            model: Self.golden("log_legacy/model.pth"), folder: folder)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let store = try ResultDatabase(path: folder.path("r.sqlite"), readOnly: true)
        defer { try? store.close() }
        let stored = Dictionary(uniqueKeysWithValues: try store.captions(runID: 1).map { ($0.imageID, $0.caption) })
        #expect(stored == (try Self.expected("greedy_short_bad_endings")).mapValues(\.caption))
    }

    @Test func inspectDescribesTheTransformer() throws {
        let outcome = try NightcapProcess.run(["inspect", Self.golden("log_zip/model-best.pth")])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        for line in [
            "family           transformer", "layers           encoder 2, decoder 2", "heads            4 (d_k = 8)",
            "sizes            d_model=32 d_ff=64 vocab_size=29", "region features  D=20 (att_embed.0.weight)",
            "positions        5000 (model.tgt_embed.1.pe)", "vocabulary       29 words",
        ] {
            #expect(outcome.standardOutput.contains(line), "inspect lacks \(line):\n\(outcome.standardOutput)")
        }
        #expect(!outcome.standardOutput.contains("warning: input_fc_dir"), "the Transformer reads no fc features")
    }

    @Test func maxLengthBeyondThePositionalTableIsRefusedBeforeAnyWork() throws {
        let folder = TemporaryDirectory()
        let outcome = try run(["--max-length", "6000"], model: Self.golden("log_zip/model-best.pth"), folder: folder)
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains(
            "model file \(Self.golden("log_zip/model-best.pth")): the positional encoding table `model.tgt_embed.1.pe` holds 5000 positions, fewer than the max length 6000; decode with a max length of at most 5000\n"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("r.sqlite")))
    }

    @Test func infosOfAnotherSizeAreRefusedBeforeAnyWork() throws {
        let folder = TemporaryDirectory()
        let outcome = try run(
            ["--infos", UpDownRunTests.golden("log_zip/infos_small-best.pkl")], model: Self.golden("log_zip/model-best.pth"), folder: folder)
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains(Self.golden("log_zip/model-best.pth")))
        #expect(!FileManager.default.fileExists(atPath: folder.path("r.sqlite")))
    }
}
