import Foundation
import GRDB

/// A nightcap results file: one SQLite database in WAL mode holding runs, captions, attention and
/// metrics (see `schemas/results.sql` and `docs/database.md`).
///
/// A writable database is a GRDB `DatabasePool`: one writer connection, and readers that never wait
/// for it, so users can query the file with `sqlite3` while a run writes. Writes use
/// `synchronous = NORMAL`, which in WAL mode keeps the database consistent after any crash and may
/// lose only the last transactions after a power loss (a resumed run redoes those shards). Other
/// processes' locks are waited for up to `busyTimeout` seconds.
///
/// Close it with `close()`, which can fail; every method is safe to call from any thread.
public final class ResultDatabase: Sendable {
    /// The file's path, as given.
    public let path: String
    /// Seconds a write waits for another process's lock before failing.
    public static let busyTimeout: TimeInterval = 5

    let reader: any DatabaseReader
    /// nil when opened read-only.
    let writer: (any DatabaseWriter)?

    /// Opens the results file at `path`, creating and migrating it when needed.
    ///
    /// - Parameter readOnly: open an existing file for reading only: nothing is created, migrated
    ///   or changed.
    /// - Throws: `ResultStoreError` when the file is not an SQLite database, is another program's
    ///   database, has a newer schema than this build knows, or cannot be opened.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        try Self.checkHeader(path: path)
        if readOnly {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ResultStoreError.cannotOpen(path: path, reason: "no such file")
            }
            var config = Self.configuration()
            config.readonly = true
            let queue = try Self.mapping(path: path, operation: "opening") {
                try DatabaseQueue(path: path, configuration: config)
            }
            do {
                let version = try Self.mapping(path: path, operation: "reading the schema version") {
                    try queue.read { db in try Self.validate(db, path: path) }
                }
                if version == 0 {
                    throw ResultStoreError.notNightcapDatabase(path: path, tables: [])
                }
                if version < ResultSchema.currentVersion {
                    throw ResultStoreError.olderSchema(
                        path: path, found: version, known: ResultSchema.currentVersion)
                }
            } catch {
                try? queue.close()
                throw error
            }
            reader = queue
            writer = nil
        } else {
            // Look before switching the file to WAL mode: never change another program's database.
            var version = 0
            if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let size = (attributes[.size] as? NSNumber)?.intValue, size > 0
            {
                var config = Self.configuration()
                config.readonly = true
                let queue = try Self.mapping(path: path, operation: "opening") {
                    try DatabaseQueue(path: path, configuration: config)
                }
                defer { try? queue.close() }
                version = try Self.mapping(path: path, operation: "reading the schema version") {
                    try queue.read { db in try Self.validate(db, path: path) }
                }
            }
            let pool = try Self.mapping(path: path, operation: "opening") {
                try DatabasePool(path: path, configuration: Self.configuration())
            }
            do {
                // A current file needs no write lock: opening it never waits for a running writer.
                if version < ResultSchema.currentVersion {
                    try Self.mapping(path: path, operation: "migrating the schema") {
                        try pool.barrierWriteWithoutTransaction { db in try Self.migrate(db, path: path) }
                    }
                }
            } catch {
                try? pool.close()
                throw error
            }
            reader = pool
            writer = pool
        }
    }

    /// Closes the database's connections; later calls fail.
    ///
    /// A writable database first copies its WAL into the main file and empties it
    /// (`checkpointForClose()`), so that the `.sqlite` file alone holds every committed row once a
    /// command ends: a user copies, uploads or attaches that one file.
    public func close() throws {
        if writer != nil { try checkpointForClose() }
        try Self.mapping(path: path, operation: "closing") { try reader.close() }
    }

    /// Moves every committed transaction from the WAL into the main file and truncates the WAL to
    /// zero bytes (`PRAGMA wal_checkpoint(TRUNCATE)`).
    ///
    /// SQLite's own checkpoint on closing does not happen here: GRDB's pool closes its writer
    /// before its read-only readers, and the last connection to close, a reader, may not write the
    /// file. While another process reads the file, the checkpoint cannot finish (SQLITE_BUSY, after
    /// waiting `busyTimeout`): the WAL is then left as it is, which loses nothing (SQLite reads the
    /// WAL with the file, and the next writer checkpoints it), and the command does not fail.
    func checkpointForClose() throws {
        guard let writer else { return }
        do {
            try writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            return
        } catch {
            try Self.mapping(path: path, operation: "checkpointing the WAL into the file") { () throws -> Void in throw error }
        }
    }

    /// The schema version of the open file (`PRAGMA user_version`).
    public func schemaVersion() throws -> Int {
        try read("reading the schema version") { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
    }

    // MARK: - Access funnels

    /// Runs `body` in a read transaction, mapping failures to `ResultStoreError`.
    func read<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        try Self.mapping(path: path, operation: operation) { try reader.read(body) }
    }

    /// Runs `body` in one IMMEDIATE write transaction, which commits when `body` returns and rolls
    /// back when it throws.
    func write<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        guard let writer else {
            preconditionFailure("\(operation): the results database was opened read-only")
        }
        return try Self.mapping(path: path, operation: operation) {
            try writer.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        }
    }

    static func mapping<T>(path: String, operation: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ResultStoreError {
            throw error
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB:
                throw ResultStoreError.notSQLite(path: path)
            case .SQLITE_CORRUPT:
                throw ResultStoreError.damaged(path: path, detail: error.message ?? "database disk image is malformed")
            case .SQLITE_CANTOPEN:
                throw ResultStoreError.cannotOpen(path: path, reason: error.message ?? "unable to open database file")
            default:
                throw ResultStoreError.sqlite(path: path, operation: operation, message: error.message ?? "\(error)")
            }
        }
    }

    // MARK: - Opening

    private static func configuration() -> Configuration {
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.foreignKeysEnabled = true
        config.label = "nightcap results"
        return config
    }

    /// Refuses a non-empty file that lacks SQLite's header, before SQLite touches it.
    private static func checkHeader(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        if !header.isEmpty && header != Data("SQLite format 3\0".utf8) {
            throw ResultStoreError.notSQLite(path: path)
        }
    }

    /// The file's schema version; throws when the file is not a nightcap database this build can use.
    static func validate(_ db: Database, path: String) throws -> Int {
        let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        let tables = try String.fetchAll(
            db,
            sql: """
                SELECT name FROM sqlite_master
                WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                ORDER BY name
                """)
        if applicationID == ResultSchema.applicationID {
            if version > ResultSchema.currentVersion {
                throw ResultStoreError.newerSchema(path: path, found: version, known: ResultSchema.currentVersion)
            }
            return version
        }
        if applicationID == 0 && version == 0 && tables.isEmpty {
            return 0
        }
        throw ResultStoreError.notNightcapDatabase(path: path, tables: tables)
    }

    private static func migrate(_ db: Database, path: String) throws {
        // IMMEDIATE: two processes opening a new file at once migrate it one after the other.
        try db.inTransaction(.immediate) {
            let version = try validate(db, path: path)
            for migration in ResultSchema.migrations where migration.version > version {
                try db.execute(sql: migration.sql)
            }
            return .commit
        }
    }
}
