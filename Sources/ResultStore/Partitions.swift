/// Which part of a partitioned run a run does: part `index` (0-based) of `count`, the shards
/// `firstShard..<endShard` of the whole run (a row of `run_parts`).
public struct RunPart: Sendable, Hashable, CustomStringConvertible {
    public var index: Int
    public var count: Int
    public var firstShard: Int
    public var endShard: Int

    public init(index: Int, count: Int, firstShard: Int, endShard: Int) {
        self.index = index
        self.count = count
        self.firstShard = firstShard
        self.endShard = endShard
    }

    /// Part `index` of `count` of a run of `shardCount` shards: the contiguous block
    /// `[floor(index * shardCount / count), floor((index + 1) * shardCount / count))`. The blocks of
    /// the `count` parts cover every shard once, in order; their sizes differ by at most one, and a
    /// part is empty when there are more parts than shards.
    public init(index: Int, of count: Int, shardCount: Int) {
        precondition(count > 0 && (0..<count).contains(index) && shardCount >= 0)
        self.init(
            index: index, count: count, firstShard: index * shardCount / count,
            endShard: (index + 1) * shardCount / count)
    }

    public var shards: Range<Int> { firstShard..<endShard }

    /// `I/N`, as `--part` takes it.
    public var description: String { "\(index)/\(count)" }
}

/// A Slurm task as the owner of a run: `jobID` names the task (`<array job>_<task>` for an array
/// task, else the job id), `restartCount` is its `SLURM_RESTART_COUNT`. Slurm starts a requeued
/// task again with the same job id and a higher restart count, only after the previous attempt
/// ended: such an attempt takes its run over, on whichever node it lands.
public struct SlurmTask: Sendable, Hashable, CustomStringConvertible {
    public var jobID: String
    public var restartCount: Int

    public init(jobID: String, restartCount: Int) {
        self.jobID = jobID
        self.restartCount = restartCount
    }

    /// The task this process runs as, from Slurm's environment variables; nil outside Slurm.
    public static func current(environment: [String: String]) -> SlurmTask? {
        let restarts = environment["SLURM_RESTART_COUNT"].flatMap { Int($0) } ?? 0
        if let array = environment["SLURM_ARRAY_JOB_ID"], let task = environment["SLURM_ARRAY_TASK_ID"],
            !array.isEmpty, !task.isEmpty
        {
            return SlurmTask(jobID: "\(array)_\(task)", restartCount: restarts)
        }
        if let job = environment["SLURM_JOB_ID"], !job.isEmpty {
            return SlurmTask(jobID: job, restartCount: restarts)
        }
        return nil
    }

    public var description: String { "Slurm job \(jobID) (restart \(restartCount))" }
}
