import Foundation
import CaptionMetrics
import Captioner
import RegionFeatures

/// Everything a run is configured with, from a pipeline file, flags, or both. Paths are absolute
/// once loaded (pipeline-file paths resolve against the file's folder, flag paths against the
/// current directory).
public struct PipelineSettings: Sendable, Equatable, Codable {
    public var featuresPath: String?
    public var featureNames = FeatureDatasetNames()
    /// An `*_imgid2idx.pkl` id map naming the rows of a packed or ragged features file without ids.
    public var idMapPath: String?
    public var modelPath: String?
    /// self-critical.pytorch's infos file for a checkpoint model (default: the one beside it).
    public var infosPath: String?
    /// The Meshed-Memory Transformer's `vocab.pkl` (default: the one beside the checkpoint).
    public var vocabPath: String?
    /// The Meshed-Memory Transformer's head count (default 8).
    public var heads: Int?
    public var referencesPath: String?
    public var referencesFormat: ReferenceFormat?
    public var referencesSplit: String?
    public var beamSize = 3
    public var maxLength = 20
    public var lengthPenalty = 0.0
    /// `power` (nightcap's `score / length^alpha`), or upstream's `wu` / `average`.
    public var lengthPenaltyRule = LengthPenaltyRule.power
    /// self-critical.pytorch's `remove_bad_endings` (default off, as upstream).
    public var removeBadEndings = false
    /// self-critical.pytorch's `suppress_UNK` (default on, as upstream's eval).
    public var suppressUnknown = true
    public var shardSize = 256
    /// Worker threads; nil means one per core.
    public var threads: Int?
    public var attention = AttentionStorage.full
    public var databasePath: String?
    public var name: String?
    /// The pipeline file the settings came from, if any.
    public var pipelineFile: String?

    public init() {}

    /// Reads a length penalty as `--length-penalty` and `[decode] length_penalty` take it:
    /// `wu_A`, `avg_A` (self-critical.pytorch's) or a plain number (nightcap's exponent).
    public static func lengthPenalty(from text: String) -> (LengthPenaltyRule, Double)? {
        if text.hasPrefix("wu_"), let alpha = Double(text.dropFirst(3)) { return (.wu, alpha) }
        if text.hasPrefix("avg_"), let alpha = Double(text.dropFirst(4)) { return (.average, alpha) }
        if let alpha = Double(text) { return (.power, alpha) }
        return nil
    }

    /// The length penalty as it is written in configuration (`0.7`, `wu_0.7`, `avg_0`).
    public var lengthPenaltyText: String {
        switch lengthPenaltyRule {
        case .power: "\(lengthPenalty)"
        case .wu: "wu_\(lengthPenalty)"
        case .average: "avg_\(lengthPenalty)"
        }
    }

    /// What the decoder is given.
    public var decodeSettings: DecodeSettings {
        var settings = DecodeSettings(beamSize: beamSize, maxLength: maxLength, lengthPenalty: lengthPenalty)
        settings.lengthPenaltyRule = lengthPenaltyRule
        settings.removeBadEndings = removeBadEndings
        settings.suppressUnknown = suppressUnknown
        return settings
    }

    /// Checks ranges and presence; the message says which key or flag to fix.
    public func validated() throws -> PipelineSettings {
        let origin = pipelineFile.map { " in \($0) or" } ?? ""
        guard featuresPath != nil else {
            throw PipelineError(.configuration, "no features file: set [features] path\(origin) pass --features FILE.h5")
        }
        guard modelPath != nil else {
            throw PipelineError(.configuration, "no model file: set [model] path\(origin) pass --model FILE.h5")
        }
        // Without references the run captions and stores everything and computes no metrics
        // (test splits whose references are private); a format or split then has nothing to apply to.
        if referencesPath == nil && (referencesFormat != nil || referencesSplit != nil) {
            let what = referencesSplit != nil ? "a split" : "a references format"
            throw PipelineError(
                .configuration, "\(what) is given without a references file: set [references] path\(origin) pass --references FILE.json, or drop it")
        }
        guard beamSize >= 1 else { throw PipelineError(.configuration, "beam_size must be at least 1 (1 is greedy), not \(beamSize)") }
        guard maxLength >= 1 else { throw PipelineError(.configuration, "max_length must be at least 1, not \(maxLength)") }
        guard lengthPenalty >= 0, lengthPenalty.isFinite else {
            throw PipelineError(.configuration, "length_penalty must be a finite number >= 0 (or wu_A, avg_A), not \(lengthPenaltyText)")
        }
        guard shardSize >= 1 else { throw PipelineError(.configuration, "shard_size must be at least 1, not \(shardSize)") }
        if let threads, threads < 1 { throw PipelineError(.configuration, "threads must be at least 1, not \(threads)") }
        return self
    }

    /// The number of worker threads to use.
    public var effectiveThreads: Int { threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// The database path, defaulting to `nightcap.sqlite` beside the pipeline file or in the current directory.
    public var effectiveDatabasePath: String {
        if let databasePath { return databasePath }
        let folder = pipelineFile.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
            ?? FileManager.default.currentDirectoryPath
        return URL(fileURLWithPath: folder).appendingPathComponent("nightcap.sqlite").path
    }
}
