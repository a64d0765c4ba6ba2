import PythonFiles
import Captioner
import Foundation
import ResultStore

/// What a run records about where it came from: the series it belongs to and the checkpoint file
/// it evaluated (`runs.series`, `run_checkpoints`; docs/nightly.md).
enum RunProvenance {
    /// The series of a run configured by `settings`: `[run] series` or `--series` when set; else
    /// the pipeline's name and the decode settings, e.g.
    /// `demo/beam_size=3/max_length=20/length_penalty=0.0`. The pipeline's name is the pipeline
    /// file's name, else the run's `--name`, else the features file's name, so that runs of one
    /// pipeline over successive checkpoints share a series while runs decoded differently do not.
    static func series(of settings: PipelineSettings) -> String {
        if let series = settings.series { return series }
        let pipeline = settings.pipelineFile.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
            ?? settings.name
            ?? settings.featuresPath.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
            ?? "nightcap"
        var decode = "beam_size=\(settings.beamSize)/max_length=\(settings.maxLength)/length_penalty=\(settings.lengthPenaltyText)"
        if settings.removeBadEndings { decode += "/remove_bad_endings=1" }
        if !settings.suppressUnknown { decode += "/suppress_unk=0" }
        return "\(pipeline)/\(decode)"
    }

    /// The model file at `path` as it is now (size, modification time) with what training recorded.
    static func checkpoint(path: String, progress: TrainingProgress) -> CheckpointRecord {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.int64Value
        let modified = (attributes?[.modificationDate] as? Date).map { date in
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.string(from: date)
        }
        return CheckpointRecord(
            path: path, sizeBytes: size, modifiedAt: modified, trainingStep: progress.step, epoch: progress.epoch,
            bestValidationScore: progress.bestValidationScore)
    }
}
