import ArgumentParser
import Foundation
import Pipeline
import ResultStore

/// Opens a results database for reading, with a message that says what to do when there is none. A
/// file from an older nightcap is upgraded to this schema first (said on standard error).
func openResults(_ option: DatabaseOption) throws -> ResultDatabase {
    let path = option.path
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
        throw CommandFailure("no results database at \(path); run `nightcap run` first, or pass --db with the database it wrote")
    }
    if isFolder.boolValue {
        throw CommandFailure(
            "--db \(path) is a folder, not a results database; pass the database file itself, for example --db "
                + URL(fileURLWithPath: path).appendingPathComponent(PipelineSettings.defaultDatabaseName).path)
    }
    do {
        return try ResultDatabase(path: path, readOnly: true)
    } catch ResultStoreError.olderSchema(_, let found, let known) {
        // A file from an older nightcap: upgrade it once (the migrations only add tables and
        // columns; every row stays), then read it as usual.
        do {
            try ResultDatabase(path: path).close()
        } catch {
            throw CommandFailure(
                "\(path) has schema version \(found), older than this nightcap's \(known), and cannot be upgraded here (\(error)); "
                    + "make it writable, or copy it somewhere writable, and run this command on it again")
        }
        FileHandle.standardError.write(Data("upgraded \(path) from schema version \(found) to \(known)\n".utf8))
        return try ResultDatabase(path: path, readOnly: true)
    }
}

/// `--db`, shared by every command that reads or writes a results database.
struct DatabaseOption: ParsableArguments {
    @Option(
        name: .customLong("db"),
        help: "The results database (SQLite). Default: nightcap.sqlite in the current folder; `run` and `slurm` use a pipeline file's [output] database when it names one.")
    var db: String?

    /// The database a reading command opens: `--db`, else `nightcap.sqlite` in the current folder.
    var path: String { db ?? PipelineSettings.defaultDatabaseName }
}
