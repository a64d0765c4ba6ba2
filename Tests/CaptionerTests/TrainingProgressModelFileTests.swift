import Foundation
import PythonFiles
import TestSupport
import Testing
@testable import Captioner

/// What a nightcap model file says of training (its root attributes), as `ModelLoader` reports it.
@Suite struct TrainingProgressModelFileTests {
    @Test func nightcapModelFilesGiveTheirRootAttributes() throws {
        let folder = TemporaryDirectory()
        var model = TestModelFile()
        model.attributes["iter"] = .integer(42_000)
        model.attributes["epoch"] = .integer(7)
        model.attributes["best_val_score"] = .float(1.125)
        try model.write(to: folder.path("with.h5"))
        #expect(TrainingProgress.read(nightcapModelFile: folder.path("with.h5")) == TrainingProgress(step: 42_000, epoch: 7, bestValidationScore: 1.125))
        let loaded = try ModelLoader.load(path: folder.path("with.h5"))
        #expect(loaded.progress.step == 42_000)

        // An attribute of another type is not read; a model without them records nothing.
        model.attributes["iter"] = .string("42k")
        model.attributes["epoch"] = nil
        model.attributes["best_val_score"] = nil
        try model.write(to: folder.path("text.h5"))
        #expect(TrainingProgress.read(nightcapModelFile: folder.path("text.h5")).isEmpty)
        try TestModelFile().write(to: folder.path("plain.h5"))
        #expect(try ModelLoader.load(path: folder.path("plain.h5")).progress.isEmpty)
    }
}
