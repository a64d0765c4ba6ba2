import CaptionMetrics
import Foundation
import HDF5
@testable import Pipeline
import RegionFeatures
import ResultStore
import TestSupport
import Testing

/// Small real inputs for in-process runs: packed features, a random model of matching dimension,
/// COCO references made of the model's own words.
struct PipelineInputs {
    let folder = TemporaryDirectory()
    let features: String
    let model: String
    let references: String
    let images = 20

    init() throws {
        features = folder.path("features.h5")
        model = folder.path("model.h5")
        references = folder.path("references.json")
        let counts = (0..<images).map { 2 + $0 % 5 }
        try SyntheticImageSet(regionCounts: counts, dimension: 16, firstID: 700_000)
            .writePacked(to: features, options: HDF5StorageOptions(chunks: [4, 6, 16], gzipLevel: 4), withBoxes: true, withLabels: true)
        let modelFile = TestModelFile(V: 30, E: 8, D: 16, H: 12, A: 10, seed: 11, scale: 0.6)
        try modelFile.write(to: model)
        var random = SeededGenerator(seed: 12)
        let words = Array(modelFile.vocabulary.dropFirst(4))
        var annotations: [[String: Any]] = []
        for image in 0..<images {
            for _ in 0..<3 {
                let caption = (0..<Int.random(in: 3...7, using: &random)).map { _ in words.randomElement(using: &random)! }
                annotations.append(["id": annotations.count + 1, "image_id": 700_000 + image, "caption": caption.joined(separator: " ")])
            }
        }
        let json: [String: Any] = ["images": (0..<images).map { ["id": 700_000 + $0] }, "annotations": annotations]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: references))
    }

    func settings(database: String, threads: Int = 2) -> PipelineSettings {
        var settings = PipelineSettings()
        settings.featuresPath = features
        settings.modelPath = model
        settings.referencesPath = references
        settings.databasePath = folder.path(database)
        settings.shardSize = 4
        settings.threads = threads
        settings.name = "in-process"
        return settings
    }

    static var quiet: RunOptions {
        var options = RunOptions()
        options.progress = .quiet
        options.log = { _ in }
        return options
    }
}

/// `PipelineRun` in-process: the whole run without the command line or a subprocess.
@Suite struct PipelineRunTests {
    @Test func completesStoresEveryImageAndReportsTheMetricsInOrder() throws {
        let inputs = try PipelineInputs()
        let report = try PipelineRun.execute(inputs.settings(database: "a.sqlite"), options: PipelineInputs.quiet)
        #expect(report.outcome == .completed)
        #expect(report.imageCount == inputs.images && report.shardCount == 5 && report.shardsDone == 5)
        #expect(report.imagesScored == inputs.images && report.imagesFailed == 0)
        #expect(report.metrics.map(\.metric) == Metric.allCases)

        let database = try ResultDatabase(path: inputs.folder.path("a.sqlite"), readOnly: true)
        defer { try? database.close() }
        #expect(try database.captions(runID: report.runID).count == inputs.images)
        let stored = try database.runMetrics(runID: report.runID)
        for (metric, value) in report.metrics { #expect(stored[metric] == value) }
        let run = try #require(try database.run(id: report.runID))
        #expect(run.status == .completed)
        // The writer records a sign of life with every commit.
        #expect(run.heartbeatAt != nil)
    }

    @Test func theSameInputsAgainAreAlreadyCompleted() throws {
        let inputs = try PipelineInputs()
        let first = try PipelineRun.execute(inputs.settings(database: "a.sqlite"), options: PipelineInputs.quiet)
        let second = try PipelineRun.execute(inputs.settings(database: "a.sqlite", threads: 1), options: PipelineInputs.quiet)
        #expect(second.outcome == .alreadyCompleted)
        #expect(second.runID == first.runID)
        #expect(second.metrics.map(\.value) == first.metrics.map(\.value))
    }

    @Test func oneThreadAndTwoStoreTheSame() throws {
        let inputs = try PipelineInputs()
        let one = try PipelineRun.execute(inputs.settings(database: "one.sqlite", threads: 1), options: PipelineInputs.quiet)
        let two = try PipelineRun.execute(inputs.settings(database: "two.sqlite", threads: 2), options: PipelineInputs.quiet)
        #expect(one.metrics.map(\.value) == two.metrics.map(\.value))
        let a = try ResultDatabase(path: inputs.folder.path("one.sqlite"), readOnly: true)
        let b = try ResultDatabase(path: inputs.folder.path("two.sqlite"), readOnly: true)
        defer {
            try? a.close()
            try? b.close()
        }
        #expect(try a.captions(runID: one.runID) == b.captions(runID: two.runID))
    }

    @Test func anInterruptedRunResumesToTheSameResults() throws {
        let inputs = try PipelineInputs()
        let reference = try PipelineRun.execute(inputs.settings(database: "reference.sqlite"), options: PipelineInputs.quiet)

        var stopping = PipelineInputs.quiet
        stopping.interrupt = InterruptFlag()
        stopping.interrupt.raise(SIGTERM, exitOnSecond: false)
        let stopped = try PipelineRun.execute(inputs.settings(database: "resumed.sqlite"), options: stopping)
        #expect(stopped.outcome == .interrupted(signal: SIGTERM))
        #expect(stopped.metrics.isEmpty)

        let resumed = try PipelineRun.execute(inputs.settings(database: "resumed.sqlite"), options: PipelineInputs.quiet)
        #expect(resumed.outcome == .completed)
        #expect(resumed.runID == stopped.runID)
        #expect(resumed.metrics.map(\.value) == reference.metrics.map(\.value))
    }

    @Test func aMissingModelFailsBeforeAnyRun() throws {
        let inputs = try PipelineInputs()
        var settings = inputs.settings(database: "a.sqlite")
        settings.modelPath = inputs.folder.path("absent.h5")
        #expect(throws: (any Error).self) { try PipelineRun.execute(settings, options: PipelineInputs.quiet) }
        #expect(!FileManager.default.fileExists(atPath: inputs.folder.path("a.sqlite")))
    }
}

/// What the fingerprint covers and what it leaves out (pipeline-format.md).
@Suite struct RunFingerprintTests {
    func fingerprint(_ inputs: PipelineInputs, _ change: (inout PipelineSettings) -> Void = { _ in }) throws -> RunFingerprint {
        var settings = inputs.settings(database: "a.sqlite")
        change(&settings)
        let features = try RegionFeatureFile(path: inputs.features, names: settings.featureNames)
        return try RunFingerprint.compute(
            settings: settings, features: features, modelPath: inputs.model, referencesPath: inputs.references)
    }

    @Test func threadsNameAndDatabaseDoNotChangeIt() throws {
        let inputs = try PipelineInputs()
        let base = try fingerprint(inputs)
        #expect(base.value.count == 64)
        #expect(try fingerprint(inputs) { $0.threads = 1 } == base)
        #expect(try fingerprint(inputs) { $0.name = "other" } == base)
        #expect(try fingerprint(inputs) { $0.databasePath = "/elsewhere.sqlite" } == base)
    }

    @Test func everythingThatDeterminesTheResultsChangesIt() throws {
        let inputs = try PipelineInputs()
        let base = try fingerprint(inputs)
        let changed = [
            try fingerprint(inputs) { $0.beamSize = 1 },
            try fingerprint(inputs) { $0.maxLength = 7 },
            try fingerprint(inputs) { $0.lengthPenalty = 0.5 },
            try fingerprint(inputs) { $0.shardSize = 8 },
            try fingerprint(inputs) { $0.attention = .top(2) },
            try fingerprint(inputs) { $0.referencesFormat = .coco },
        ]
        for other in changed { #expect(other != base) }
        #expect(Set(changed.map(\.value)).count == changed.count)
        #expect(base.components.keys.sorted() == [
            "attention", "decode", "features", "model", "references", "references_format", "references_split", "shard_size",
        ])
    }

    /// A split run's rows join the fingerprint, so that a split run planned over other rows (or over
    /// every row, as before splits chose rows) is another run; without a split nothing joins.
    @Test func aSplitsRowsJoinItOnlyWithASplit() throws {
        let inputs = try PipelineInputs()
        var settings = inputs.settings(database: "a.sqlite")
        settings.referencesSplit = "test"
        let features = try RegionFeatureFile(path: inputs.features, names: settings.featureNames)
        let digest = try SHA256.file(inputs.model)
        func fingerprint(_ rows: [Int]?) throws -> RunFingerprint {
            try RunFingerprint.compute(
                settings: settings, features: features, modelDigest: digest, referencesPath: inputs.references, splitRows: rows)
        }
        let split = try fingerprint([0, 2])
        #expect(split.components["images"]?.hasPrefix("2 rows of the split, sha256 ") == true)
        #expect(try fingerprint([0, 2]) == split)
        #expect(try fingerprint([0, 3]) != split)
        #expect(try fingerprint(nil) != split)
        #expect(try fingerprint(nil).components["images"] == nil)
    }

    @Test func otherModelBytesChangeIt() throws {
        let inputs = try PipelineInputs()
        let base = try fingerprint(inputs)
        try TestModelFile(V: 30, E: 8, D: 16, H: 12, A: 10, seed: 99, scale: 0.6).write(to: inputs.model)
        #expect(try fingerprint(inputs) != base)
    }
}
