import ArgumentParser
import Foundation
import ResultStore

extension Nightcap {
    /// `nightcap rename RUN NEW`: a stored run's new name, without recomputing anything.
    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a stored run a new name (unique in its database); nothing is recomputed.",
            discussion: """
                For example `nightcap rename 3 tonight`, then `nightcap show tonight`. A name another run of the \
                database has is refused.
                """)
        @Argument(help: "The run (id or name).") var runReference: String
        @Argument(help: "Its new name.") var newName: String
        @OptionGroup var database: DatabaseOption

        func validate() throws {
            let trimmed = newName.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { throw ValidationError("Please give a new name that is not empty.") }
            // A name of digits only would read as a run id in show, compare, report...
            if trimmed.allSatisfy(\.isASCII), Int64(trimmed) != nil {
                throw ValidationError("Please give a name that is not a number (\(newName) would read as a run id).")
            }
        }

        func run() throws {
            // The same checks and upgrade as the reading commands, then a writable open.
            try openResults(database).close()
            let results = try ResultDatabase(path: database.path)
            defer { try? results.close() }
            let record = try results.run(reference: runReference)
            if record.name == newName {
                print("run \(record.runID) is already named '\(newName)'")
                return
            }
            try results.rename(runID: record.runID, to: newName)
            print("run \(record.runID) renamed from '\(record.name)' to '\(newName)'")
        }
    }
}
