import Foundation

/// How a run should behave beyond its settings.
public struct RunOptions: Sendable {
    /// Start a new run even when one with the same fingerprint exists.
    public var newRun = false
    public var progress = ProgressStyle.automatic
    /// Raised by SIGINT/SIGTERM (or a test) to stop taking shards.
    public var interrupt = InterruptFlag()
    /// Where status lines go (standard error by default).
    public var log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init() {}
}
