import ArgumentParser
import Foundation

/// The `nightcap` command: batch evaluation of image-captioning models.
@main
struct Nightcap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nightcap",
        abstract: "Caption images from HDF5 region features, score them like coco-caption, keep it all in SQLite.",
        discussion: "Exit codes: 0 done, 1 error, 2 usage, 3 a gate of `compare` failed, 4 `merge` found parts not done, 5 `compare` or `report --vs` of two runs that share no image, 130/143 interrupted.",
        subcommands: [Run.self, Runs.self, Show.self, Compare.self, Report.self, Export.self, Score.self, Inspect.self, Merge.self, Slurm.self])

    /// Parses and runs the command, mapping usage errors to exit code 2 (ArgumentParser's default
    /// is 64) so that scripts see 0 done, 1 error, 2 usage.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
