/// A failure of the results database: what failed, in which file, and what to do about it.
public enum ResultStoreError: Error, Equatable, CustomStringConvertible {
    /// The file was written by a newer nightcap whose schema this build does not know.
    case newerSchema(path: String, found: Int, known: Int)
    /// A read-only open found a file with an older schema, which only a writable open can migrate.
    case olderSchema(path: String, found: Int, known: Int)
    /// The file is an SQLite database, but not one nightcap made.
    case notNightcapDatabase(path: String, tables: [String])
    /// The file is not an SQLite database at all.
    case notSQLite(path: String)
    /// The file is an SQLite database whose pages or schema are damaged (SQLite's `SQLITE_CORRUPT`).
    case damaged(path: String, detail: String)
    /// The file could not be opened or created.
    case cannotOpen(path: String, reason: String)
    /// No run has this id or name.
    case runNotFound(path: String, reference: String)
    /// Another run of the file already has this name (names are unique in a database).
    case nameTaken(path: String, name: String, runID: Int64)
    /// The shard already has its rows in the database.
    case shardAlreadyCommitted(path: String, runID: Int64, shard: Int)
    /// SQLite refused an operation.
    case sqlite(path: String, operation: String, message: String)

    public var description: String {
        switch self {
        case let .newerSchema(path, found, known):
            return "\(path) has schema version \(found), this nightcap knows up to \(known): upgrade nightcap"
        case let .olderSchema(path, found, known):
            return "\(path) has schema version \(found), older than this nightcap's \(known), and was opened "
                + "read-only: run `nightcap runs --db \(path)` once to upgrade it (it keeps every row)"
        case let .notNightcapDatabase(path, tables):
            let contents =
                tables.isEmpty
                ? "it has no nightcap tables"
                : "it has tables " + tables.prefix(5).joined(separator: ", ") + (tables.count > 5 ? ", ..." : "")
            return "\(path) is an SQLite database but not a nightcap results file (\(contents)): "
                + "choose another results path"
        case let .damaged(path, detail):
            return "\(path) is damaged (SQLite: \(detail)): restore it from a copy, or run into a new --db; "
                + "`sqlite3 \(path) .recover` may save what is left"
        case let .notSQLite(path):
            return "\(path) is not an SQLite database: choose another results path, or move that file away"
        case let .cannotOpen(path, reason):
            return "cannot open results database \(path): \(reason): check that its folder exists and is writable"
        case let .runNotFound(path, reference):
            return "\(path) has no run '\(reference)': `nightcap runs` lists the runs it has"
        case let .nameTaken(path, name, runID):
            return "\(path): the name '\(name)' is taken by run \(runID) (names are unique in a database): choose another name, "
                + "or rename that run first with `nightcap rename \(runID) NEW --db \(path)`"
        case let .shardAlreadyCommitted(path, runID, shard):
            return "\(path): shard \(shard) of run \(runID) is already committed: a second process may be "
                + "working on the same run; check `nightcap runs`"
        case let .sqlite(path, operation, message):
            return "\(path): \(operation) failed: \(message)"
        }
    }
}
