import Foundation
import Testing
@testable import PythonFiles

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
}
