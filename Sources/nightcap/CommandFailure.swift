import ArgumentParser
import Foundation
import RunReport

/// The one error shape of the command line for failures that are not usage errors: the message is
/// the whole story (what failed, where, what to do). ArgumentParser prints it after `Error: ` and
/// exits with status 1. Usage errors are `ValidationError`s (exit 2); library errors
/// (`PipelineError`, `HDF5Error`, ...) carry their own message and are printed the same way.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Exit status 5: two runs cannot be compared (they share no image). Distinct from 3 (a gate
/// failed), so that a nightly script tells a wrong pair of runs from a regression.
extension ExitCode {
    static let runsNotComparable = ExitCode(5)
}

/// Prints why two runs cannot be compared, as ArgumentParser prints an error, and returns the exit
/// status to throw.
func refusal(_ error: IncomparableRuns) -> ExitCode {
    FileHandle.standardError.write(Data("Error: \(error.description)\n".utf8))
    return .runsNotComparable
}
