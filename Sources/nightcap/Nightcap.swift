import ArgumentParser
import Foundation

/// The `nightcap` command: batch evaluation of image-captioning models.
@main
struct Nightcap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nightcap",
        abstract: "Caption images from HDF5 region features, score them like coco-caption, keep it all in SQLite.",
        discussion: "Exit codes: 0 done, 1 error, 2 usage, 3 a gate of `compare` failed, 4 `merge` found parts not done, 5 `compare` or `report --vs` of two runs that share no image, 130/143 interrupted.",
        subcommands: [Run.self, Runs.self, Show.self, History.self, Rename.self, Compare.self, Report.self, Export.self, Score.self, Inspect.self, Merge.self, Slurm.self])

    /// Parses and runs the command, mapping usage errors to exit code 2 (ArgumentParser's default
    /// is 64) so that scripts see 0 done, 1 error, 2 usage.
    static func main() {
        if let message = unknownHelpTopic(Array(CommandLine.arguments.dropFirst())) {
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(2)
        }
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

    /// The message for `nightcap help NAME` when NAME is no command (ArgumentParser would print the
    /// top-level help and exit 0, as if it had answered), or nil.
    static func unknownHelpTopic(_ arguments: [String]) -> String? {
        guard arguments.first == "help", arguments.count > 1 else { return nil }
        var subcommands: [ParsableCommand.Type] = configuration.subcommands
        var path = "nightcap"
        for name in arguments.dropFirst() where !name.hasPrefix("-") {
            var names: [String] = []
            for subcommand in subcommands { names.append(subcommand._commandName) }
            guard let index = names.firstIndex(of: name) else {
                return "Error: '\(path) \(name)' is not a command"
                    + (names.isEmpty ? "; `\(path) --help` shows its options" : "; the commands are \(names.joined(separator: ", ")) (`nightcap help COMMAND`)")
            }
            path += " " + name
            subcommands = subcommands[index].configuration.subcommands
        }
        return nil
    }
}
