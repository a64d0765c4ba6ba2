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
    /// The model's family (`updown`, `transformer`, ...), recorded in a run's configuration once
    /// the model is loaded, for `runs` and `show`; never read from a pipeline file or flags.
    public var modelFamily: String?
    /// The series the run belongs to (`[run] series`, `--series`); nil: the pipeline's name and
    /// decode settings (docs/nightly.md).
    public var series: String?
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
        if let featuresPath, let modelPath, Self.looksLikeCheckpoint(featuresPath) {
            let flags = pipelineFile == nil ? "--features and --model" : "the features and model paths (or --features and --model)"
            throw PipelineError(
                .configuration,
                "\(featuresPath), given as the features file, is a PyTorch checkpoint (a model), not HDF5 region features: "
                    + "did you swap \(flags)? The checkpoint goes to --model, and the features file (.h5) to --features (\(modelPath) is given as the model)")
        }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: effectiveDatabasePath, isDirectory: &isFolder), isFolder.boolValue {
            let source = databasePath == nil ? "" : pipelineFile.map { " (--db, or [output] database in \($0))" } ?? " (--db)"
            throw PipelineError(
                .configuration,
                "the results database \(effectiveDatabasePath)\(source) is a folder; pass the path of a database file, for example --db "
                    + URL(fileURLWithPath: effectiveDatabasePath).appendingPathComponent(Self.defaultDatabaseName).path)
        }
        return self
    }

    /// The number of worker threads to use.
    public var effectiveThreads: Int { threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// The database path: `--db`, else the pipeline file's `[output] database`, else `nightcap.sqlite`
    /// in the current folder, the same default as every command that reads a database.
    public var effectiveDatabasePath: String {
        if let databasePath { return databasePath }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(Self.defaultDatabaseName).path
    }

    /// Whether the file starts as a PyTorch checkpoint does (a zip archive, a pickle, or a
    /// safetensors header), which no HDF5 features file does; false when it cannot be read.
    static func looksLikeCheckpoint(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 9)) ?? Data())
        guard head.count >= 2 else { return false }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head[0] == 0x80 { return true }
        // safetensors: a little-endian 64-bit header length, then the JSON header.
        return head.count == 9 && head[8] == UInt8(ascii: "{") && head[6] == 0 && head[7] == 0
    }

    /// The database file of every command when neither `--db` nor a pipeline's `[output]` names one.
    public static let defaultDatabaseName = "nightcap.sqlite"
}
