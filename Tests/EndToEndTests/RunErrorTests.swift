import Foundation
import HDF5
import ResultStore
import TestSupport
import Testing

/// What `nightcap run` says when its inputs do not fit, before any work starts.
@Suite(.timeLimit(.minutes(20))) struct RunErrorTests {
    @Test func flagsAloneMustNameTheInputs() throws {
        let outcome = try NightcapProcess.run(["run", "--features", "f.h5"])
        #expect(outcome.status == 2)
        #expect(outcome.standardError.contains("Please give a pipeline file, or --features and --model (and --references to score the run)."))
    }

    @Test func modelAndFeaturesDimensionsDiffer() throws {
        let fixture = try RunFixture(images: 4)
        let other = fixture.path("wide.h5")
        try TestModelFile(V: 30, E: 8, D: 20, H: 12, A: 10).write(to: other)
        let arguments = fixture.runArguments(database: fixture.path("r.sqlite"), replacing: "--model", with: other)
        let outcome = try NightcapProcess.run(arguments)
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("wide.h5"))
        #expect(outcome.standardError.contains("features.h5"))
        #expect(outcome.standardError.contains("20"))
        #expect(!FileManager.default.fileExists(atPath: fixture.path("r.sqlite")), "validation happens before the database is created")
    }

    @Test func referencesForOtherImages() throws {
        let fixture = try RunFixture(images: 4)
        let references = fixture.path("other.json")
        try #"{"images": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "caption": "a cat"}]}"#
            .write(toFile: references, atomically: true, encoding: .utf8)
        let arguments = fixture.runArguments(database: fixture.path("r.sqlite"), replacing: "--references", with: references)
        let outcome = try NightcapProcess.run(arguments)
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("no image of \(fixture.features) has reference captions in \(references): the features' image ids look like 500000, 500001, 500002, the references' like 1."))
    }

    @Test func malformedReferences() throws {
        let fixture = try RunFixture(images: 4)
        let references = fixture.path("broken.json")
        try #"{"annotations": [{"image_id": 1, "caption": "a cat"}"#.write(toFile: references, atomically: true, encoding: .utf8)
        let arguments = fixture.runArguments(database: fixture.path("r.sqlite"), replacing: "--references", with: references)
        let outcome = try NightcapProcess.run(arguments)
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("broken.json: not valid JSON"))
    }

    @Test func unknownKeyInPipelineFile() throws {
        let fixture = try RunFixture(images: 4)
        let pipeline = fixture.path("nightly.toml")
        try """
            [features]
            path = "features.h5"
            [model]
            path = "model.h5"
            [references]
            path = "references.json"
            [decode]
            beam = 3
            """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let outcome = try NightcapProcess.run(["run", pipeline, "--threads", "2"])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("nightly.toml:8: unknown key `beam` in [decode]; known keys: beam_size, length_penalty, max_length, remove_bad_endings, suppress_unk"))
    }

    @Test func pipelineFileWithRelativePathsRuns() throws {
        let fixture = try RunFixture(images: 6)
        let pipeline = fixture.path("nightly.toml")
        try """
            [features]
            path = "features.h5"
            [model]
            path = "model.h5"
            [references]
            path = "references.json"
            format = "coco"
            [run]
            name = "nightly"
            shard_size = 4
            [output]
            database = "out.sqlite"
            """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let outcome = try NightcapProcess.run(["run", pipeline, "--threads", "2", "--quiet"], in: URL(fileURLWithPath: "/"))
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("run 1 (nightly) completed"))
        #expect(FileManager.default.fileExists(atPath: fixture.path("out.sqlite")))
    }

    @Test func imageWithNaNFeaturesFailsAloneAndIsReported() throws {
        let fixture = try RunFixture(images: 8)
        // Rewrite the features with a NaN in image 3.
        let file = try HDF5File.open(fixture.features)
        var values = try file.root.dataset("features").readFloats()
        let shape = try file.root.dataset("features").shape
        values[3 * shape[1] * shape[2] + 5] = .nan
        let counts = try file.root.dataset("num_regions").readIntegers()
        let ids = try file.root.dataset("image_ids").readIntegers()
        let broken = fixture.path("nan.h5")
        do {
            let out = try HDF5File.create(broken)
            try out.root.writeFloats("features", values, shape: shape)
            try out.root.writeIntegers("num_regions", counts, shape: [counts.count])
            try out.root.writeIntegers("image_ids", ids, shape: [ids.count])
        }
        let arguments = fixture.runArguments(database: fixture.path("r.sqlite"), replacing: "--features", with: broken)
        let outcome = try NightcapProcess.run(arguments)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("failed images: 1 (excluded from metrics"))
        #expect(outcome.standardOutput.contains("7 scored"))
        let show = try NightcapProcess.run(["show", "1", "--db", fixture.path("r.sqlite")])
        #expect(show.standardOutput.contains("failed images (1):\n  500003 (shard 0): "))
        #expect(show.standardOutput.contains("NaN"))
    }

    @Test func readingCommandsWithoutADatabase() throws {
        let folder = TemporaryDirectory()
        let outcome = try NightcapProcess.run(["runs", "--db", folder.path("none.sqlite")])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("no results database at \(folder.path("none.sqlite")); run `nightcap run` first"))
    }

    @Test func compareGatesExitWithThree() throws {
        let fixture = try RunFixture(images: 8)
        let db = fixture.path("r.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db)).status == 0)
        #expect(try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--beam-size", "1"])).status == 0)
        let pass = try NightcapProcess.run(["compare", "1", "2", "--db", db, "--max-drop", "CIDEr=100", "--min", "Bleu_1=0"])
        #expect(pass.status == 0, "\(pass.standardError)")
        #expect(pass.standardOutput.contains("gates: all passed"))
        let fail = try NightcapProcess.run(["compare", "1", "2", "--db", db, "--min", "CIDEr=100"])
        #expect(fail.status == 3)
        #expect(fail.standardOutput.contains("gates failed:\n  CIDEr is "))
        let bad = try NightcapProcess.run(["compare", "1", "2", "--db", db, "--min", "CIDEr"])
        #expect(bad.status == 2)
        #expect(bad.standardError.contains("Please write --min as METRIC=NUMBER"))
    }

    @Test func exportFormats() throws {
        let fixture = try RunFixture(images: 5)
        let db = fixture.path("r.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db)).status == 0)
        let coco = try NightcapProcess.run(["export", "1", "--db", db])
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(coco.standardOutput.utf8)) as? [[String: Any]])
        #expect(objects.count == 5)
        #expect(objects.first?["image_id"] as? Int == 500_000)
        let csv = try NightcapProcess.run(["export", "1", "--db", db, "--format", "csv"])
        #expect(csv.standardOutput.hasPrefix("image_id,caption,num_words,log_prob,Bleu_1,Bleu_2,Bleu_3,Bleu_4,ROUGE_L,CIDEr\n500000,"))
        let jsonl = try NightcapProcess.run(["export", "1", "--db", db, "--format", "jsonl"])
        #expect(jsonl.standardOutput.split(separator: "\n").count == 5)
    }
}
