import Foundation
import CaptionMetrics
@testable import Pipeline
import RegionFeatures
import TestSupport
import Testing

@Suite struct PipelineFileTests {
    let folder = TemporaryDirectory()

    func write(_ text: String, name: String = "run.toml") throws -> String {
        let path = folder.path(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func selfCriticalCheckpointAndDecodeOptions() throws {
        let path = try write("""
            [model]
            path = "log_x/model-best.pth"
            infos = "log_x/infos_x-best.pkl"
            [decode]
            beam_size = 5
            length_penalty = "wu_0.7"
            remove_bad_endings = true
            suppress_unk = false
            """)
        let settings = try PipelineFile.load(path)
        let base = folder.url.standardizedFileURL.path
        #expect(settings.modelPath == base + "/log_x/model-best.pth" && settings.infosPath == base + "/log_x/infos_x-best.pkl")
        #expect(settings.lengthPenaltyRule == .wu && settings.lengthPenalty == 0.7 && settings.lengthPenaltyText == "wu_0.7")
        #expect(settings.removeBadEndings && !settings.suppressUnknown)
        let decode = settings.decodeSettings
        #expect(decode.beamSize == 5 && decode.lengthPenaltyRule == .wu && decode.removeBadEndings && !decode.suppressUnknown)
        let average = try PipelineFile.load(try write("[decode]\nlength_penalty = \"avg_0\"\n", name: "avg.toml"))
        #expect(average.lengthPenaltyRule == .average)
        #expect(throws: PipelineError.self) { try PipelineFile.load(try write("[decode]\nlength_penalty = \"wu\"\n", name: "bad.toml")) }
        do {
            _ = try PipelineFile.load(try write("[decode]\nlength_penalty = \"long\"\n", name: "bad2.toml"))
        } catch let error as PipelineError {
            #expect(error.description.hasSuffix("bad2.toml:2: [decode] length_penalty: expected a number, \"wu_A\" or \"avg_A\" (A a number), not \"long\""))
        }
    }

    @Test func everySectionAndRelativePaths() throws {
        let path = try write("""
            # nightly Karpathy test
            [features]
            path = "data/feats.h5"
            layout = "ragged"
            features = "image_features"
            positions = "pos_boxes"
            image_ids = "ids"

            [model]
            path = "/models/m.h5"

            [references]
            path = "../refs/dataset_coco.json"
            format = "karpathy"
            split = "test"

            [decode]
            beam_size = 5
            max_length = 16
            length_penalty = 0.7

            [run]
            name = "nightly"
            shard_size = 128
            threads = 2
            attention = "top-5"

            [output]
            database = "out/results.sqlite"
            """)
        let settings = try PipelineFile.load(path)
        let base = folder.url.standardizedFileURL.path
        #expect(settings.featuresPath == base + "/data/feats.h5")
        #expect(settings.featureNames == FeatureDatasetNames(layout: .ragged, features: "image_features", imageIDs: "ids", positions: "pos_boxes"))
        #expect(settings.modelPath == "/models/m.h5")
        #expect(settings.referencesPath == URL(fileURLWithPath: base).deletingLastPathComponent().path + "/refs/dataset_coco.json")
        #expect(settings.referencesFormat == .karpathy)
        #expect(settings.referencesSplit == "test")
        #expect(settings.beamSize == 5 && settings.maxLength == 16 && settings.lengthPenalty == 0.7)
        #expect(settings.name == "nightly" && settings.shardSize == 128 && settings.threads == 2)
        #expect(settings.attention == .top(5))
        #expect(settings.databasePath == base + "/out/results.sqlite")
        #expect(try settings.validated() == settings)
    }

    @Test func unknownKeyNamesKeyFileAndLine() throws {
        let path = try write("""
            [features]
            path = "f.h5"

            [decode]
            beam_size = 3
            beam_witdh = 5
            """)
        let error = #expect(throws: PipelineError.self) { try PipelineFile.load(path) }
        #expect(error?.description == "\(folder.url.standardizedFileURL.path)/run.toml:6: unknown key `beam_witdh` in [decode]; known keys: beam_size, length_penalty, max_length, remove_bad_endings, suppress_unk")
    }

    @Test func unknownSection() throws {
        let path = try write("[feature]\npath = \"x\"\n")
        let error = #expect(throws: PipelineError.self) { try PipelineFile.load(path) }
        #expect(error?.description.contains("run.toml:1: unknown section or key `feature`") == true)
    }

    @Test func wrongTypesAndValues() throws {
        let typed = try write("[decode]\nbeam_size = \"three\"\n", name: "typed.toml")
        let typedError = #expect(throws: PipelineError.self) { try PipelineFile.load(typed) }
        #expect(typedError?.description.contains("typed.toml:2: [decode] beam_size: expected a whole number") == true)

        let attention = try write("[run]\nattention = \"most\"\n", name: "attention.toml")
        let error = #expect(throws: PipelineError.self) { try PipelineFile.load(attention) }
        #expect(error?.description.contains("attention.toml:2: [run] attention: unknown attention storage \"most\"; use full, top-K (e.g. top-5) or none") == true)
    }

    /// toml++ aborts on an assertion for some malformed headers; they are refused before it parses.
    @Test func malformedSectionHeader() throws {
        for (header, line) in [("[=decode]", 3), ("[decode", 3), ("[]", 3), ("[de code]", 3)] {
            let path = try write("[model]\npath = \"m.h5\"\n\(header)\nbeam_size = 3\n")
            let error = #expect(throws: PipelineError.self) { try PipelineFile.load(path) }
            #expect(
                error?.description
                    == "\(folder.url.standardizedFileURL.path)/run.toml:\(line): malformed section header `\(header)`; a pipeline file has [decode], [features], [model], [output], [references], [run]")
        }
        let commented = try write("[decode]   # beam search\nbeam_size = 2\n", name: "commented.toml")
        #expect(try PipelineFile.load(commented).beamSize == 2)
    }

    @Test func syntaxErrorHasALine() throws {
        let path = try write("[decode]\nbeam_size = = 3\n")
        let error = #expect(throws: PipelineError.self) { try PipelineFile.load(path) }
        #expect(error?.description.contains("run.toml:2: ") == true)
    }

    @Test func missingPiecesSayWhatToSet() throws {
        var settings = PipelineSettings()
        settings.pipelineFile = "/p/run.toml"
        let error = #expect(throws: PipelineError.self) { try settings.validated() }
        #expect(error?.description == "no features file: set [features] path in /p/run.toml or pass --features FILE.h5")
        settings.featuresPath = "/f.h5"
        settings.modelPath = "/m.h5"
        settings.referencesPath = "/r.json"
        settings.beamSize = 0
        let beam = #expect(throws: PipelineError.self) { try settings.validated() }
        #expect(beam?.description == "beam_size must be at least 1 (1 is greedy), not 0")
    }

    @Test func missingFile() {
        let error = #expect(throws: PipelineError.self) { try PipelineFile.load(folder.path("absent.toml")) }
        #expect(error?.description.hasSuffix("absent.toml: cannot read the pipeline file (no such file or not readable)") == true)
    }
}

@Suite struct ShippedPipelineFileTests {
    static let pipelines = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("pipelines")

    @Test func karpathyExampleIsValid() throws {
        let settings = try PipelineFile.load(Self.pipelines.appendingPathComponent("coco-karpathy-test.toml").path)
        #expect(settings.featureNames.layout == .packed)
        #expect(settings.featureNames.features == "image_features")
        #expect(settings.referencesFormat == .karpathy)
        #expect(settings.referencesSplit == "test")
        #expect(settings.maxLength == 16)
        #expect(settings.attention == .full)
        #expect(try settings.validated().shardSize == 256)
    }

    @Test func demoIsValidAndPointsAtCommittedFiles() throws {
        let settings = try PipelineFile.load(Self.pipelines.appendingPathComponent("demo.toml").path)
        for path in [settings.featuresPath, settings.modelPath, settings.referencesPath] {
            #expect(FileManager.default.fileExists(atPath: try #require(path)))
        }
    }
}

@Suite struct IDMapSettingTests {
    let folder = TemporaryDirectory()

    @Test func idMapResolvesAgainstThePipelineFile() throws {
        let path = folder.path("bu.toml")
        try """
            [features]
            path = "trainval/val36.hdf5"
            id_map = "trainval/val36_imgid2idx.pkl"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let settings = try PipelineFile.load(path)
        #expect(settings.idMapPath == URL(fileURLWithPath: folder.path("trainval/val36_imgid2idx.pkl")).standardizedFileURL.path)
    }
}
