import Foundation
import HDF5
import TestSupport
import Testing
@testable import Captioner

/// What checkpoints and infos files say of training (step, epoch, best validation score), read
/// from the fixtures torch and pickle wrote (tools/make_checkpoint_fixtures.py).
@Suite struct TrainingProgressTests {
    @Test(arguments: ["infos_protocol2.pkl", "infos_protocol0.pkl"])
    func selfCriticalInfosGiveIterEpochAndBestScore(name: String) throws {
        let infos = try TrainingInfos.load(path: CheckpointFixtures.path(name))
        let record = try #require(CheckpointFixtures.infos[name])
        #expect(infos.progress == TrainingProgress(step: 1200, epoch: 3, bestValidationScore: record["best_val_score"] as? Double))
        #expect(infos.progress.bestValidationScore == 1.0543)
    }

    @Test func aPython2InfosWithoutIterGivesOnlyItsScore() throws {
        let infos = try TrainingInfos.load(path: CheckpointFixtures.path("infos_python2.pkl"))
        let record = try #require(CheckpointFixtures.infos["infos_python2.pkl"])
        #expect(infos.progress.step == nil && infos.progress.epoch == nil)
        #expect(infos.progress.bestValidationScore == record["best_val_score"] as? Double)
    }

    @Test func lightningCheckpointsGiveGlobalStepAndEpoch() throws {
        let checkpoint = try TorchCheckpoint.load(path: CheckpointFixtures.path("lightning.ckpt"))
        #expect(checkpoint.progress == TrainingProgress(step: 300, epoch: 2))
    }

    @Test func aWrappedModelGivesItsEpochAndABareStateDictNothing() throws {
        #expect(try TorchCheckpoint.load(path: CheckpointFixtures.path("wrapped_model.pth")).progress == TrainingProgress(epoch: 4))
        #expect(try TorchCheckpoint.load(path: CheckpointFixtures.path("updown_zip.pth")).progress.isEmpty)
        #expect(try TorchCheckpoint.load(path: CheckpointFixtures.path("updown.safetensors")).progress.isEmpty)
    }

    @Test func theCheckpointComesFirstAndItsInfosFillTheRest() {
        let checkpoint = TrainingProgress(step: 300, epoch: 2)
        let infos = TrainingProgress(step: 1200, epoch: 3, bestValidationScore: 1.5)
        #expect(checkpoint.filled(from: infos) == TrainingProgress(step: 300, epoch: 2, bestValidationScore: 1.5))
        #expect(TrainingProgress().filled(from: infos) == infos)
    }

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
