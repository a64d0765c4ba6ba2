import Foundation
import GRDB

/// The SQL expression of the current time, as stored in every timestamp column.
let sqlNow = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

extension ResultDatabase {
    // MARK: - Creating and finding runs

    /// Inserts a run with status `running`, owned by `run.ownerPID` on `run.ownerHost`; returns its id.
    public func createRun(_ run: NewRun) throws -> Int64 {
        try write("creating run '\(run.name)'") { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (name, status, fingerprint, config, features_path, model_path,
                        references_path, references_digest, image_count, shard_size, shard_count,
                        nightcap_version, owner_pid, owner_host, heartbeat_at)
                    VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \(sqlNow))
                    """,
                arguments: [
                    run.name, run.fingerprint, run.configJSON, run.featuresPath, run.modelPath,
                    run.referencesPath, run.referencesDigest, run.imageCount, run.shardSize, run.shardCount, run.nightcapVersion,
                    run.ownerPID, run.ownerHost,
                ])
            return db.lastInsertedRowID
        }
    }

    /// The run with this id, or nil.
    public func run(id: Int64) throws -> RunRecord? {
        try read("reading run \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE run_id = ?", arguments: [id]).map(RunRecord.init(row:))
        }
    }

    /// The newest run with this name, or nil.
    public func run(named name: String) throws -> RunRecord? {
        try read("reading run '\(name)'") { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM runs WHERE name = ? ORDER BY run_id DESC LIMIT 1", arguments: [name]
            ).map(RunRecord.init(row:))
        }
    }

    /// The run a user means by `reference`: a run id (all digits), or else the newest run of that name.
    ///
    /// - Throws: `ResultStoreError.runNotFound` when there is none.
    public func run(reference: String) throws -> RunRecord {
        let trimmed = reference.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty, trimmed.allSatisfy(\.isASCII), let id = Int64(trimmed), let found = try run(id: id) {
            return found
        }
        if let found = try run(named: reference) {
            return found
        }
        throw ResultStoreError.runNotFound(path: path, reference: reference)
    }

    /// The newest run with this fingerprint, whatever its status, or nil.
    public func latestRun(fingerprint: String) throws -> RunRecord? {
        try read("looking up runs by fingerprint") { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM runs WHERE fingerprint = ? ORDER BY run_id DESC LIMIT 1",
                arguments: [fingerprint]
            ).map(RunRecord.init(row:))
        }
    }

    /// Every run, oldest first, with its progress and headline scores.
    public func listRuns() throws -> [RunSummary] {
        try read("listing runs") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT s.*, (r.references_path IS NOT NULL OR r.references_digest IS NOT NULL) AS scored
                    FROM run_summary s JOIN runs r ON r.run_id = s.run_id ORDER BY s.run_id
                    """
            ).map { row in
                RunSummary(
                    runID: row["run_id"], name: row["name"], status: RunStatus(stored: row["status"]),
                    createdAt: row["created_at"], finishedAt: row["finished_at"], imageCount: row["image_count"],
                    imagesDone: row["images_done"], imagesFailed: row["images_failed"],
                    shardsDone: row["shards_done"], shardCount: row["shard_count"], bleu4: row["bleu_4"],
                    cider: row["cider"], isScored: row["scored"])
            }
        }
    }

    // MARK: - Status and ownership

    /// Sets a run's status and message. Leaving `running` also releases ownership and stamps
    /// `finished_at`.
    public func setStatus(runID: Int64, status: RunStatus, message: String? = nil) throws {
        try write("setting the status of run \(runID)") { db in
            if status == .running {
                try db.execute(
                    sql: "UPDATE runs SET status = 'running', status_message = ?, finished_at = NULL WHERE run_id = ?",
                    arguments: [message, runID])
            } else {
                try db.execute(
                    sql: """
                        UPDATE runs SET status = ?, status_message = ?, owner_pid = NULL, owner_host = NULL,
                            finished_at = \(sqlNow)
                        WHERE run_id = ?
                        """,
                    arguments: [status.rawValue, message, runID])
            }
            try requireRun(db, runID)
        }
    }

    /// Marks a run completed and releases it.
    public func finish(runID: Int64, finalizeSeconds: Double? = nil) throws {
        try write("finishing run \(runID)") { db in
            try db.execute(
                sql: """
                    UPDATE runs SET status = 'completed', status_message = NULL, owner_pid = NULL,
                        owner_host = NULL, finished_at = \(sqlNow),
                        finalize_seconds = coalesce(?, finalize_seconds)
                    WHERE run_id = ?
                    """,
                arguments: [finalizeSeconds, runID])
            try requireRun(db, runID)
        }
    }

    /// Records that the run's owner is alive (`heartbeat_at`), for users watching a run from
    /// another host.
    public func heartbeat(runID: Int64) throws {
        try write("recording a heartbeat of run \(runID)") { db in
            try db.execute(sql: "UPDATE runs SET heartbeat_at = \(sqlNow) WHERE run_id = ?", arguments: [runID])
        }
    }

    /// Makes process `pid` on `host` the owner of a run, unless another live process owns it.
    ///
    /// In one IMMEDIATE transaction, so two processes claiming at once cannot both win:
    /// - a `running` run owned by another pid on the same host that `isAlive` reports alive:
    ///   `.ownedBy(pid, host)`, nothing changes;
    /// - a `running` run owned by a process on another host: `.ownedBy` too, because its liveness
    ///   cannot be checked from here. No forced takeover is offered; when that process is known to
    ///   be dead, `nightcap` tells the user to mark the run interrupted
    ///   (`UPDATE runs SET status = 'interrupted' WHERE run_id = ...`) and claim again;
    /// - otherwise (not running, no owner, owned by `pid` itself, or its owner died, e.g. by
    ///   SIGKILL): `pid`/`host` become the owner, the status becomes `running` (whatever it was,
    ///   completed included: callers decide beforehand whether a completed run should be resumed),
    ///   and `.claimed` is returned.
    ///
    /// - Parameter isAlive: whether a pid of this host is alive; `ProcessLiveness.isAlive` by default.
    public func claim(
        runID: Int64, pid: Int32, host: String, isAlive: (Int32) -> Bool = ProcessLiveness.isAlive
    ) throws -> ClaimOutcome {
        try write("claiming run \(runID)") { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT status, owner_pid, owner_host FROM runs WHERE run_id = ?", arguments: [runID])
            else {
                throw ResultStoreError.runNotFound(path: path, reference: String(runID))
            }
            let status: String = row["status"]
            let ownerPID: Int32? = row["owner_pid"]
            let ownerHost: String? = row["owner_host"]
            if status == RunStatus.running.rawValue, let ownerPID, let ownerHost {
                if ownerHost != host {
                    return .ownedBy(pid: ownerPID, host: ownerHost)
                }
                if ownerPID != pid && isAlive(ownerPID) {
                    return .ownedBy(pid: ownerPID, host: ownerHost)
                }
            }
            try db.execute(
                sql: """
                    UPDATE runs SET status = 'running', status_message = NULL, finished_at = NULL,
                        owner_pid = ?, owner_host = ?, heartbeat_at = \(sqlNow)
                    WHERE run_id = ?
                    """,
                arguments: [pid, host, runID])
            return .claimed
        }
    }

    func requireRun(_ db: Database, _ runID: Int64) throws {
        if try !Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM runs WHERE run_id = ?)", arguments: [runID])! {
            throw ResultStoreError.runNotFound(path: path, reference: String(runID))
        }
    }
}

extension RunStatus {
    init(stored: String) {
        // The CHECK constraint admits only the four statuses.
        guard let status = RunStatus(rawValue: stored) else {
            preconditionFailure("runs.status holds '\(stored)', which its CHECK constraint forbids")
        }
        self = status
    }
}

extension RunRecord {
    init(row: Row) {
        self.init(
            runID: row["run_id"], name: row["name"], status: RunStatus(stored: row["status"]),
            statusMessage: row["status_message"], fingerprint: row["fingerprint"], configJSON: row["config"],
            imageCount: row["image_count"], shardSize: row["shard_size"], shardCount: row["shard_count"],
            featuresPath: row["features_path"], modelPath: row["model_path"], referencesPath: row["references_path"],
            referencesDigest: row["references_digest"], nightcapVersion: row["nightcap_version"], ownerPID: row["owner_pid"], ownerHost: row["owner_host"],
            heartbeatAt: row["heartbeat_at"], createdAt: row["created_at"], finishedAt: row["finished_at"],
            finalizeSeconds: row["finalize_seconds"])
    }
}
