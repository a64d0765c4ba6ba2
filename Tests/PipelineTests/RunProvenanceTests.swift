import PythonFiles
import Foundation
@testable import Pipeline
import TestSupport
import Testing

/// The series a run joins by default or by name, and what it records of its checkpoint file.
@Suite struct RunProvenanceTests {
    @Test func theDefaultSeriesIsThePipelineAndItsDecodeSettings() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("nightly.toml")
        try """
            [features]
            path = "f.h5"
            [model]
            path = "m.h5"
            [decode]
            beam_size = 5
            length_penalty = "wu_0.7"
            remove_bad_endings = true
            [run]
            name = "tonight"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        var settings = try PipelineFile.load(path)
        #expect(RunProvenance.series(of: settings) == "nightly/beam_size=5/max_length=20/length_penalty=wu_0.7/remove_bad_endings=1")

        // Without a pipeline file: the run's name, else the features file's name.
        settings.pipelineFile = nil
        #expect(RunProvenance.series(of: settings).hasPrefix("tonight/beam_size=5/"))
        settings.name = nil
        settings.suppressUnknown = false
        #expect(RunProvenance.series(of: settings) == "f/beam_size=5/max_length=20/length_penalty=wu_0.7/remove_bad_endings=1/suppress_unk=0")
        settings.series = "run7"
        #expect(RunProvenance.series(of: settings) == "run7")
    }

    @Test func theSeriesKeyOfThePipelineFileSetsIt() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("p.toml")
        try "[run]\nseries = \"run7-beam3\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try PipelineFile.load(path).series == "run7-beam3")
    }

    @Test func theCheckpointIsRecordedAsTheFileIsNow() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("model.h5")
        try Data(count: 1234).write(to: URL(fileURLWithPath: path))
        let modified = Date(timeIntervalSince1970: 1_800_000_000.25)
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
        let record = RunProvenance.checkpoint(path: path, progress: TrainingProgress(step: 9, epoch: 1, bestValidationScore: 0.5))
        #expect(record.path == path && record.sizeBytes == 1234)
        #expect(record.modifiedAt == "2027-01-15T08:00:00.250Z")
        #expect(record.trainingStep == 9 && record.epoch == 1 && record.bestValidationScore == 0.5)
    }
}
