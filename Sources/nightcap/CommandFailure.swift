/// The one error shape of the command line for failures that are not usage errors: the message is
/// the whole story (what failed, where, what to do). ArgumentParser prints it after `Error: ` and
/// exits with status 1. Usage errors are `ValidationError`s (exit 2); library errors
/// (`PipelineError`, `HDF5Error`, ...) carry their own message and are printed the same way.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
