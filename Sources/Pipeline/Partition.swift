import Foundation
import ResultStore

/// `--part I/N`: run part `index` (0-based) of `count` of a run's shards (see `RunPart`).
public struct Partition: Sendable, Hashable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses `I/N` with `0 <= I < N`; nil for anything else.
    public init?(text: String) {
        let pieces = text.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count == 2,
            pieces.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let index = Int(pieces[0]), let count = Int(pieces[1]), count > 0, index < count
        else { return nil }
        self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }
}

/// What Slurm's queue knows about a task, for taking over a part file whose owner ran in another
/// Slurm job (a failed task rerun with `sbatch --array=...`).
public enum SlurmQueue {
    /// True when `squeue` answers and does not list the job id as pending, running, suspended or
    /// completing: that task can no longer write. False when `squeue` cannot be asked (not a Slurm
    /// node): then nothing is known and the run stays refused.
    @Sendable public static func hasEnded(_ jobID: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["squeue", "--noheader", "--jobs", jobID, "--format", "%T"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // squeue fails with "Invalid job id specified" for a job it has forgotten (MinJobAge); any
        // other failure (no controller) says nothing.
        if process.terminationStatus != 0 { return message.contains("Invalid job id") }
        let states = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        let live: Set<String> = ["PENDING", "RUNNING", "SUSPENDED", "COMPLETING", "CONFIGURING", "REQUEUED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED"]
        return !states.contains { live.contains($0) }
    }
}
