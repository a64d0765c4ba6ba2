import Foundation

/// How a run should behave beyond its settings.
public struct RunOptions: Sendable {
    /// Start a new run even when one with the same fingerprint exists.
    public var newRun = false
    public var progress = ProgressStyle.automatic
    /// Raised by SIGINT/SIGTERM (or a test) to stop taking shards.
    public var interrupt = InterruptFlag()
    /// Run only this part of the run's shards (`--part I/N`), into a part run `nightcap merge` joins.
    public var part: Partition?
    /// The environment, for the Slurm task that owns the run (`SlurmTask.current`).
    public var environment = ProcessInfo.processInfo.environment
    /// Seconds an HDF5 read may make no progress before the run ends with an error naming the
    /// file and dataset (nil: wait for ever). A read stuck inside libhdf5 cannot be cancelled, so
    /// the process exits with status 1; committed shards stay, and the same command resumes.
    public var readTimeout: Double?
    /// The run's name was given on the command line (`--name`): when another run has it, the run is
    /// refused (names are unique in a database) instead of getting a numbered name (`NAME#2`) as a
    /// default or pipeline-file name does.
    public var nameGiven = false
    /// Where status lines go (standard error by default).
    public var log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init() {}
}
