import Foundation
import CaptionMetrics
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
            let runID = db.lastInsertedRowID
            if let part = run.part {
                try RunPartRow(runID: runID, part: part).insert(db)
            }
            try setSlurmOwner(db, runID: runID, run.slurmTask)
            return runID
        }
    }

    /// The run with this id, or nil.
    public func run(id: Int64) throws -> RunRecord? {
        try read("reading run \(id)") { db in
            try RunRecord.filter(RunRecord.Columns.runID == id).fetchOne(db)
        }
    }

    /// The newest run with this name, or nil.
    public func run(named name: String) throws -> RunRecord? {
        try read("reading run '\(name)'") { db in
            typealias Columns = RunRecord.Columns
            return try RunRecord.filter(Columns.name == name).order(Columns.runID.desc).fetchOne(db)
        }
    }

    /// `name` when no run of this file has it, else the first of `name#2`, `name#3`, ... that none has:
    /// a default name (the model's, or a pipeline file's) stays unique when several runs share it.
    public func unusedName(_ name: String) throws -> String {
        try read("choosing a name for '\(name)'") { db in
            func taken(_ candidate: String) throws -> Bool {
                try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM runs WHERE name = ?)", arguments: [candidate])!
            }
            guard try taken(name) else { return name }
            var number = 2
            while try taken("\(name)#\(number)") { number += 1 }
            return "\(name)#\(number)"
        }
    }

    /// Gives a run a new name, unique in the file.
    ///
    /// - Throws: `ResultStoreError.nameTaken` when another run has it, `runNotFound` when there is
    ///   no such run.
    public func rename(runID: Int64, to name: String) throws {
        try write("renaming run \(runID)") { db in
            try requireRun(db, runID)
            if let other = try Int64.fetchOne(
                db, sql: "SELECT run_id FROM runs WHERE name = ? AND run_id != ? ORDER BY run_id DESC LIMIT 1", arguments: [name, runID])
            {
                throw ResultStoreError.nameTaken(path: path, name: name, runID: other)
            }
            try db.execute(sql: "UPDATE runs SET name = ? WHERE run_id = ?", arguments: [name, runID])
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

    /// The newest run with this fingerprint, whatever its status, or nil: with `part`, the newest
    /// that does part `part.index` of `part.count`; without, the newest whole run (a part of a
    /// partitioned run shares the whole run's fingerprint but is not it).
    public func latestRun(fingerprint: String, part: RunPart? = nil) throws -> RunRecord? {
        try read("looking up runs by fingerprint") { db in
            if let part {
                return try RunRecord.fetchOne(
                    db,
                    sql: """
                        SELECT r.* FROM runs r JOIN run_parts p ON p.run_id = r.run_id
                        WHERE r.fingerprint = ? AND p.part_index = ? AND p.part_count = ?
                        ORDER BY r.run_id DESC LIMIT 1
                        """,
                    arguments: [fingerprint, part.index, part.count])
            }
            return try RunRecord.fetchOne(
                db,
                sql: """
                    SELECT * FROM runs WHERE fingerprint = ?
                        AND NOT EXISTS (SELECT 1 FROM run_parts p WHERE p.run_id = runs.run_id)
                    ORDER BY run_id DESC LIMIT 1
                    """,
                arguments: [fingerprint])
        }
    }

    /// Every run, oldest first, with its progress and headline scores.
    public func listRuns() throws -> [RunSummary] {
        try read("listing runs") { db in
            try RunSummary.fetchAll(
                db,
                sql: """
                    SELECT s.*, (r.references_path IS NOT NULL OR r.references_digest IS NOT NULL) AS scored,
                        r.owner_pid, r.owner_host, r.config,
                        (SELECT count(*) FROM image_metrics m WHERE m.run_id = r.run_id AND m.metric = ?) AS images_scored
                    FROM run_summary s JOIN runs r ON r.run_id = s.run_id ORDER BY s.run_id
                    """, arguments: [Metric.cider.rawValue])
        }
    }

    /// How many images of a run have per-image scores (CIDEr rows): 0 for a run not scored.
    public func imagesScored(runID: Int64) throws -> Int {
        try read("counting the scored images of run \(runID)") { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM image_metrics WHERE run_id = ? AND metric = ?", arguments: [runID, Metric.cider.rawValue]) ?? 0
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
    /// Under Slurm (`slurmTask` given) a run owned from another host is taken over, too, when its
    /// owner recorded a Slurm task and either it is the same task with a lower restart count (Slurm
    /// requeued the task, which it does only after the previous attempt ended) or `slurmJobEnded`
    /// says the owner's task is no longer running (a rerun of a failed task in a new job). On the
    /// same host the pid check comes first, so two live writers are refused whatever Slurm says.
    ///
    /// - Parameter isAlive: whether a pid of this host is alive; `ProcessLiveness.isAlive` by default.
    /// - Parameter slurmJobEnded: whether the Slurm task with this job id has ended (asked of
    ///   `squeue` by the pipeline); by default nothing is known to have ended.
    public func claim(
        runID: Int64, pid: Int32, host: String, slurmTask: SlurmTask? = nil,
        isAlive: (Int32) -> Bool = ProcessLiveness.isAlive, slurmJobEnded: (String) -> Bool = { _ in false }
    ) throws -> ClaimOutcome {
        try write("claiming run \(runID)") { db in
            guard let run = try RunRecord.filter(RunRecord.Columns.runID == runID).fetchOne(db) else {
                throw ResultStoreError.runNotFound(path: path, reference: String(runID))
            }
            if run.status == .running, let ownerPID = run.ownerPID, let ownerHost = run.ownerHost {
                if ownerHost != host {
                    let owner = try slurmOwner(db, runID: runID)
                    let requeued =
                        slurmTask != nil && owner != nil && owner!.jobID == slurmTask!.jobID
                        && owner!.restartCount < slurmTask!.restartCount
                    let ended = owner != nil && owner!.jobID != slurmTask?.jobID && slurmJobEnded(owner!.jobID)
                    if !requeued && !ended {
                        return .ownedBy(pid: ownerPID, host: ownerHost)
                    }
                }
                // A pid is only meaningful on its own host: another host's owner was settled above.
                if ownerHost == host && ownerPID != pid && isAlive(ownerPID) {
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
            try setSlurmOwner(db, runID: runID, slurmTask)
            return .claimed
        }
    }

    /// The Slurm task recorded as the owner of a run, if any.
    public func slurmOwner(runID: Int64) throws -> SlurmTask? {
        try read("reading the Slurm owner of run \(runID)") { db in try slurmOwner(db, runID: runID) }
    }

    func slurmOwner(_ db: Database, runID: Int64) throws -> SlurmTask? {
        try SlurmOwnerRow.filter(SlurmOwnerRow.Columns.runID == runID).fetchOne(db)?.task
    }

    private func setSlurmOwner(_ db: Database, runID: Int64, _ task: SlurmTask?) throws {
        if let task {
            try SlurmOwnerRow(runID: runID, task: task).insert(db, onConflict: .replace)
        } else {
            try SlurmOwnerRow.filter(SlurmOwnerRow.Columns.runID == runID).deleteAll(db)
        }
    }

    /// The part a run does, or nil for a whole run.
    public func part(runID: Int64) throws -> RunPart? {
        try read("reading the part of run \(runID)") { db in
            try RunPartRow.filter(RunPartRow.Columns.runID == runID).fetchOne(db)?.part
        }
    }

    /// Every part run of this file with its part, oldest first.
    public func partRuns() throws -> [(run: RunRecord, part: RunPart)] {
        try read("listing the part runs") { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT r.*, p.part_index, p.part_count, p.first_shard, p.end_shard
                    FROM runs r JOIN run_parts p ON p.run_id = r.run_id ORDER BY r.run_id
                    """)
            var result: [(run: RunRecord, part: RunPart)] = []
            for row in rows {
                result.append((run: RunRecord(row: row), part: RunPartRow(row: row).part))
            }
            return result
        }
    }

    /// How many runs the file holds.
    public func runCount() throws -> Int {
        try read("counting runs") { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM runs") ?? 0 }
    }

    func requireRun(_ db: Database, _ runID: Int64) throws {
        if try !Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM runs WHERE run_id = ?)", arguments: [runID])! {
            throw ResultStoreError.runNotFound(path: path, reference: String(runID))
        }
    }
}
