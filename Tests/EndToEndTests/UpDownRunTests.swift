import Foundation
import HDF5
import ResultStore
import TestSupport
import Testing

/// `nightcap run --model log_x/model-best.pth`: self-critical.pytorch checkpoints end to end, with
/// the goldens of tools/make_updown_goldens.py (captions as upstream's tools/eval.py prints them).
@Suite(.timeLimit(.minutes(5)))
struct UpDownRunTests {
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CaptionerTests/Goldens/updown")
    static func golden(_ name: String) -> String { goldens.appendingPathComponent(name).path }

    /// Upstream's captions of a golden case, by image id.
    static func expectedCaptions(_ name: String) throws -> [String: String] {
        let data = try Data(contentsOf: goldens.appendingPathComponent("\(name).expected.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let images = try #require(json["images"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: images.map { ("\($0["image_id"]!)", $0["caption"] as! String) })
    }

    func references(in folder: TemporaryDirectory) throws -> String {
        let path = folder.path("references.json")
        let annotations = (0..<10).map { ["id": $0 + 1, "image_id": 1000 + $0, "caption": "a red woman sitting on the bench"] as [String: Any] }
        let json: [String: Any] = ["images": (0..<10).map { ["id": 1000 + $0] }, "annotations": annotations]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        return path
    }

    func run(
        _ extra: [String], model: String, folder: TemporaryDirectory, database: String = "r.sqlite", references: String? = nil
    ) throws -> NightcapProcess.Outcome {
        try NightcapProcess.run(
            ["run", "--features", Self.golden("features.h5"), "--model", model, "--references", try references ?? self.references(in: folder),
             "--db", folder.path(database), "--threads", "2", "--quiet"] + extra)
    }

    func storedCaptions(_ database: String) throws -> [String: String] {
        let store = try ResultDatabase(path: database, readOnly: true)
        defer { try? store.close() }
        return Dictionary(uniqueKeysWithValues: try store.captions(runID: 1).map { ($0.imageID, $0.caption) })
    }

    @Test func zipCheckpointWithItsInfosBesideIt() throws {
        let folder = TemporaryDirectory()
        let outcome = try run([], model: Self.golden("log_zip/model-best.pth"), folder: folder)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        // nightcap's defaults: beam 3, max 20, suppress_UNK on.
        #expect(try storedCaptions(folder.path("r.sqlite")) == (try Self.expectedCaptions("beam3")))
        let store = try ResultDatabase(path: folder.path("r.sqlite"), readOnly: true)
        defer { try? store.close() }
        let attention = try store.attention(runID: 1, imageID: "1004")
        #expect(attention.count == 5 && attention.allSatisfy { $0.weights.count == 5 })
    }

    /// The workers share the model's lazily filled word-gate table: one thread or three store the
    /// same database, byte for byte.
    @Test func threadCountDoesNotChangeTheDatabase() throws {
        let folder = TemporaryDirectory()
        let model = Self.golden("log_zip/model-best.pth")
        let references = try references(in: folder)
        for threads in ["1", "3"] {
            let outcome = try NightcapProcess.run(
                ["run", "--features", Self.golden("features.h5"), "--model", model, "--references", references,
                 "--db", folder.path("t\(threads).sqlite"), "--threads", threads, "--quiet", "--shard-size", "3", "--beam-size", "5"])
            #expect(outcome.status == 0, "\(outcome.standardError)")
        }
        #expect(try RunFixture.snapshot(database: folder.path("t1.sqlite")) == (try RunFixture.snapshot(database: folder.path("t3.sqlite"))))
    }

    /// Parts of a checkpoint run (its infos found beside it) merge to the one-machine run: the merge
    /// fingerprints the same model, infos and features the parts used.
    @Test func partsOfACheckpointRunMergeToTheOneMachineRun() throws {
        let folder = TemporaryDirectory()
        let model = Self.golden("log_zip/model-best.pth")
        // One references file for all three runs (the fingerprint hashes its bytes).
        let references = try references(in: folder)
        let whole = try run(["--shard-size", "4"], model: model, folder: folder, database: "whole.sqlite", references: references)
        #expect(whole.status == 0, "\(whole.standardError)")
        for index in 0..<2 {
            let part = try run(["--shard-size", "4", "--part", "\(index)/2"], model: model, folder: folder, database: "part-\(index).sqlite", references: references)
            #expect(part.status == 0, "\(part.standardError)")
        }
        let merge = try NightcapProcess.run(
            ["merge", folder.path("part-0.sqlite"), folder.path("part-1.sqlite"), "--db", folder.path("merged.sqlite")])
        #expect(merge.status == 0, "\(merge.standardError)")
        #expect(try RunFixture.snapshot(database: folder.path("merged.sqlite")) == (try RunFixture.snapshot(database: folder.path("whole.sqlite"))))
    }

    @Test func legacyCheckpointWithProtocol0InfosAndUpstreamsOptions() throws {
        let folder = TemporaryDirectory()
        let outcome = try run(
            ["--infos", Self.golden("log_legacy/infos_small.pkl"), "--beam-size", "5", "--max-length", "6",
             "--remove-bad-endings"],
            model: Self.golden("log_legacy/model.pth"), folder: folder)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(try storedCaptions(folder.path("r.sqlite")) == (try Self.expectedCaptions("beam5_rbe_max6")))
        let wu = try run(["--length-penalty", "wu_0.7"], model: Self.golden("log_legacy/model.pth"), folder: folder, database: "wu.sqlite")
        #expect(wu.status == 0, "\(wu.standardError)")
        #expect(try storedCaptions(folder.path("wu.sqlite")) == (try Self.expectedCaptions("beam3_wu07")))
    }

    @Test func infosBytesJoinTheFingerprintAndShowPrintsTheOptions() throws {
        let folder = TemporaryDirectory()
        let model = Self.golden("log_zip/model-best.pth")
        #expect(try run(["--remove-bad-endings", "--no-suppress-unk"], model: model, folder: folder).status == 0)
        // The same options and vocabulary in other bytes (the protocol-0 pickle): a new run, not a resume.
        let other = try run(
            ["--remove-bad-endings", "--no-suppress-unk", "--infos", Self.golden("log_legacy/infos_small.pkl")], model: model, folder: folder)
        #expect(other.status == 0)
        let store = try ResultDatabase(path: folder.path("r.sqlite"), readOnly: true)
        let first = try #require(try store.run(id: 1)), second = try #require(try store.run(id: 2))
        try store.close()
        #expect(first.fingerprint != second.fingerprint)
        let show = try NightcapProcess.run(["show", "1", "--db", folder.path("r.sqlite")])
        #expect(show.status == 0)
        #expect(show.standardOutput.contains(#""lengthPenaltyRule":"power""#))
        #expect(show.standardOutput.contains(#""removeBadEndings":true"#) && show.standardOutput.contains(#""suppressUnknown":false"#))
        #expect(show.standardOutput.contains(#""beamSize":3"#) && show.standardOutput.contains(#""maxLength":20"#))
    }

    @Test func noInfosBesideTheCheckpoint() throws {
        let folder = TemporaryDirectory()
        let model = folder.path("model-best.pth")
        try FileManager.default.copyItem(atPath: Self.golden("log_zip/model-best.pth"), toPath: model)
        let outcome = try run([], model: model, folder: folder)
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("\(model)"))
        #expect(outcome.standardError.contains("there is no infos_*-best.pkl; name it with --infos (or [model] infos in the pipeline file)"))
        for name in ["infos_a-best.pkl", "infos_b-best.pkl"] {
            try FileManager.default.copyItem(atPath: Self.golden("log_zip/infos_small-best.pkl"), toPath: folder.path(name))
        }
        let several = try run([], model: model, folder: folder)
        #expect(several.status == 1)
        #expect(several.standardError.contains("there are 2: infos_a-best.pkl, infos_b-best.pkl; name it with --infos"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("r.sqlite")))
    }

    @Test func featuresOfAnotherSize() throws {
        let fixture = try RunFixture(images: 4)
        let outcome = try NightcapProcess.run(
            fixture.runArguments(database: fixture.path("r.sqlite"), replacing: "--model", with: Self.golden("log_zip/model-best.pth"))
                + ["--threads", "2"])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("expects region features of att_feat_size 20 (att_embed.0.weight is [32, 20]), but the features file \(fixture.features) holds 16 per region"))
    }

    @Test func badLengthPenaltyIsAUsageError() throws {
        let outcome = try NightcapProcess.run(
            ["run", "--features", "f.h5", "--model", "m.pth", "--references", "r.json", "--length-penalty", "wu"])
        #expect(outcome.status == 2)
        #expect(outcome.standardError.contains("Please use a number, wu_A or avg_A (A a number) for --length-penalty, not wu."))
    }

    /// The golden features with pooled datasets added: `fc_means` holds each image's mean valid
    /// region, summed in order in float32 and divided by the count (as nightcap pools without one),
    /// `fc_half` half of it.
    func featuresWithPooledDatasets(in folder: TemporaryDirectory) throws -> String {
        let source = try HDF5File.open(Self.golden("features.h5"))
        let features = try source.root.dataset("features")
        let (n, k, d) = (features.shape[0], features.shape[1], features.shape[2])
        let values = try features.readFloats()
        let counts = try source.root.dataset("num_regions").readIntegers()
        var means = [Float](repeating: 0, count: n * d)
        for image in 0..<n {
            for region in 0..<Int(counts[image]) {
                for j in 0..<d { means[image * d + j] += values[(image * k + region) * d + j] }
            }
            for j in 0..<d { means[image * d + j] /= Float(counts[image]) }
        }
        let path = folder.path("pooled.h5")
        let file = try HDF5File.create(path)
        try file.root.writeFloats("features", values, shape: [n, k, d])
        try file.root.writeIntegers("num_regions", counts, shape: [n], as: .int32)
        try file.root.writeIntegers("image_ids", try source.root.dataset("image_ids").readIntegers(), shape: [n])
        try file.root.writeFloats("fc_means", means, shape: [n, d])
        try file.root.writeFloats("fc_half", means.map { $0 * 0.5 }, shape: [n, d])
        try file.root.writeFloats("fc_wide", [Float](repeating: 0, count: n * (d + 1)), shape: [n, d + 1])
        return path
    }

    /// A pooled dataset holding the regions' means gives exactly the run that pools the regions
    /// (captions, log-probabilities, attention, metrics), as a new run: its name joins the
    /// fingerprint. Other pooled values (here through the pipeline file's key) change the results.
    @Test func pooledDatasetOfTheMeansEqualsPoolingTheRegions() throws {
        let folder = TemporaryDirectory()
        let features = try featuresWithPooledDatasets(in: folder)
        let references = try references(in: folder)
        let model = Self.golden("log_zip/model-best.pth")
        func run(_ extra: [String], database: String) throws {
            let outcome = try NightcapProcess.run(
                ["run", "--features", features, "--model", model, "--references", references, "--db", folder.path(database),
                 "--threads", "2", "--quiet", "--beam-size", "2"] + extra)
            #expect(outcome.status == 0, "\(outcome.standardError)")
        }
        try run([], database: "regions.sqlite")
        try run(["--pooled-dataset", "fc_means"], database: "means.sqlite")
        let regions = try RunFixture.snapshot(database: folder.path("regions.sqlite"))
        #expect(regions.contains("caption 1000 "))
        #expect(try RunFixture.snapshot(database: folder.path("means.sqlite")) == regions)
        // In the same database: a second run, not the first one resumed.
        try run(["--pooled-dataset", "fc_means"], database: "regions.sqlite")
        let store = try ResultDatabase(path: folder.path("regions.sqlite"), readOnly: true)
        defer { try? store.close() }
        #expect(try store.runCount() == 2)

        let pipeline = folder.path("half.toml")
        try """
            [features]
            path = "\(features)"
            pooled = "fc_half"
            [model]
            path = "\(model)"
            [references]
            path = "\(references)"
            [decode]
            beam_size = 2
            """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let half = try NightcapProcess.run(["run", pipeline, "--db", folder.path("half.sqlite"), "--threads", "2", "--quiet"])
        #expect(half.status == 0, "\(half.standardError)")
        #expect(try RunFixture.snapshot(database: folder.path("half.sqlite")) != regions)
    }

    @Test func pooledDatasetOfAnotherWidthIsRefusedBeforeAnyWork() throws {
        let folder = TemporaryDirectory()
        let features = try featuresWithPooledDatasets(in: folder)
        let outcome = try NightcapProcess.run(
            ["run", "--features", features, "--model", Self.golden("log_zip/model-best.pth"), "--references", try references(in: folder),
             "--db", folder.path("r.sqlite"), "--threads", "2", "--quiet", "--pooled-dataset", "fc_wide"])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("\(features), dataset /fc_wide: has shape [10, 21], expected [10, 20]: one pooled vector per image"), "\(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: folder.path("r.sqlite")))
    }

    @Test func pooledDatasetForAModelWithoutAPooledInput() throws {
        let fixture = try RunFixture(images: 4)
        do {
            let file = try HDF5File.open(fixture.features, mode: .readWrite)
            try file.root.writeFloats("fc", [Float](repeating: 0, count: 4 * 16), shape: [4, 16])
        }
        let outcome = try NightcapProcess.run(fixture.runArguments(database: fixture.path("r.sqlite"), extra: ["--pooled-dataset", "fc"]))
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains(
            "\(fixture.features): a pooled dataset (`fc`) is configured, but the model \(fixture.model) (family show-attend-tell) has no pooled input, which only the updown family takes: remove `pooled` from [features] (or --pooled-dataset)"),
            "\(outcome.standardError)")
    }
}
