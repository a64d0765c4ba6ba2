import ArgumentParser
import Foundation
import ResultStore

/// Opens a results database for reading, with a message that says what to do when there is none.
func openResults(_ option: DatabaseOption) throws -> ResultDatabase {
    let path = option.path
    guard FileManager.default.fileExists(atPath: path) else {
        throw CommandFailure("no results database at \(path); run `nightcap run` first, or pass --db with the database it wrote")
    }
    return try ResultDatabase(path: path, readOnly: true)
}

/// `--db`, shared by every command that reads or writes a results database.
struct DatabaseOption: ParsableArguments {
    @Option(name: .customLong("db"), help: "The results database (SQLite). Default: the pipeline's [output] database, else ./nightcap.sqlite.")
    var db: String?

    /// The database a reading command opens.
    var path: String { db ?? "nightcap.sqlite" }
}
