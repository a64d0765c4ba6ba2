import Foundation
import CaptionMetrics
import RegionFeatures

/// Everything a run is configured with, from a pipeline file, flags, or both. Paths are absolute
/// once loaded (pipeline-file paths resolve against the file's folder, flag paths against the
/// current directory).
public struct PipelineSettings: Sendable, Equatable, Codable {
    public var featuresPath: String?
    public var featureNames = FeatureDatasetNames()
    public var modelPath: String?
    public var referencesPath: String?
    public var referencesFormat: ReferenceFormat?
    public var referencesSplit: String?
    public var beamSize = 3
    public var maxLength = 20
    public var lengthPenalty = 0.0
    public var shardSize = 256
    /// Worker threads; nil means one per core.
    public var threads: Int?
    public var attention = AttentionStorage.full
    public var databasePath: String?
    public var name: String?
    /// The pipeline file the settings came from, if any.
    public var pipelineFile: String?

    public init() {}

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
            throw PipelineError(.configuration, "length_penalty must be a finite number >= 0, not \(lengthPenalty)")
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
