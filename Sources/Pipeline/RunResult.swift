import CaptionMetrics
import ResultStore

/// What a run did (`PipelineRun.execute`, `PartMerge.merge`): its outcome, counts and corpus metrics,
/// as `nightcap run` and `merge` print them. (The HTML report is the `RunReport` module.)
public struct RunResult: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// Every shard is done and the corpus metrics are stored.
        case completed
        /// A completed run with this fingerprint existed; nothing was done.
        case alreadyCompleted
        /// Stopped by a signal; resumable.
        case interrupted(signal: Int32)
        /// `nightcap merge` joined this many parts into the run and computed its corpus metrics.
        case merged(parts: Int)
    }

    public var outcome: Outcome
    public var runID: Int64
    public var name: String
    public var databasePath: String
    /// Corpus metrics in pycocoevalcap's order (empty unless completed).
    public var metrics: [(metric: Metric, value: Double)]
    public var imageCount: Int
    public var imagesScored: Int
    public var imagesFailed: Int
    public var imagesWithoutReferences: Int
    public var referencesWithoutImages: Int
    /// False for a run without references: it has captions and no metrics.
    public var scored: Bool
    public var shardsDone: Int
    /// The shards this run does: all of the run's, or its part's.
    public var shardCount: Int
    /// The part this run does, when it is a part of a partitioned run.
    public var part: RunPart?
    public var seconds: Double
}
