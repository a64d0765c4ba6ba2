import Foundation
import GRDB

/// The checkpoint a run evaluated (`run_checkpoints`): its file as it was when the run started, and
/// how far training had gone where the file or its infos record it.
public struct CheckpointRecord: Sendable, Hashable, Codable {
    public var path: String
    public var sizeBytes: Int64?
    /// The file's modification time, ISO-8601 UTC.
    public var modifiedAt: String?
    /// `iter` or `global_step`.
    public var trainingStep: Int?
    public var epoch: Int?
    /// `best_val_score` or `val_cider`.
    public var bestValidationScore: Double?

    public init(
        path: String, sizeBytes: Int64? = nil, modifiedAt: String? = nil, trainingStep: Int? = nil, epoch: Int? = nil,
        bestValidationScore: Double? = nil
    ) {
        self.path = path
        self.sizeBytes = sizeBytes
        self.modifiedAt = modifiedAt
        self.trainingStep = trainingStep
        self.epoch = epoch
        self.bestValidationScore = bestValidationScore
    }

    /// The file's name, for tables and charts.
    public var fileName: String { URL(fileURLWithPath: path).lastPathComponent }
}

/// One series of a results file, as `nightcap history` lists them.
public struct SeriesSummary: Sendable, Hashable {
    public var name: String
    /// Completed runs, and runs of any status.
    public var completedRuns: Int
    public var runs: Int
    /// `created_at` of its newest run.
    public var latest: String
}

/// One run of a series with what `history`, `compare --against` and the history page show.
public struct SeriesRun: Sendable, Hashable {
    public var run: RunRecord
    public var series: String
    /// Nil for runs started before schema version 4.
    public var checkpoint: CheckpointRecord?
    /// Corpus scores by pycocoevalcap's name (`run_metrics`).
    public var metrics: [String: Double]

    public var trainingStep: Int? { checkpoint?.trainingStep }
}

/// The completed runs of one series in the order of training: by training step when every run
/// records one, else by the time each run started.
public struct RunSeries: Sendable, Hashable {
    public enum Order: String, Sendable, Hashable {
        case trainingStep = "training step"
        case time
    }

    public var name: String
    public var order: Order
    /// Completed runs, in `order`.
    public var runs: [SeriesRun]
    /// Runs of the series that are not completed (running, interrupted, failed), oldest first:
    /// they have no corpus scores and are left out of `runs`.
    public var unfinished: [RunRecord]

    public init(name: String, runs: [SeriesRun], unfinished: [RunRecord]) {
        self.name = name
        self.unfinished = unfinished
        if !runs.isEmpty && runs.allSatisfy({ $0.trainingStep != nil }) {
            order = .trainingStep
            self.runs = runs.sorted {
                ($0.trainingStep!, $0.run.createdAt, $0.run.runID) < ($1.trainingStep!, $1.run.createdAt, $1.run.runID)
            }
        } else {
            order = .time
            self.runs = runs.sorted { ($0.run.createdAt, $0.run.runID) < ($1.run.createdAt, $1.run.runID) }
        }
    }

    /// The position of the run with this id in `runs`, or nil.
    public func index(of runID: Int64) -> Int? { runs.firstIndex { $0.run.runID == runID } }

    /// The run with the highest `metric` (the earliest of ties) among `runs` except `excluding`,
    /// or nil when none has the metric.
    public func best(by metric: String, excluding: Int64? = nil) -> SeriesRun? {
        var best: SeriesRun?
        for run in runs where run.run.runID != excluding {
            guard let value = run.metrics[metric] else { continue }
            if best == nil || value > best!.metrics[metric]! { best = run }
        }
        return best
    }

    /// Whether `runs[index]` holds the highest `metric` so far (ties included): it is at least
    /// every earlier run's value.
    public func isBestSoFar(_ index: Int, metric: String) -> Bool {
        guard let value = runs[index].metrics[metric] else { return false }
        return runs[..<index].allSatisfy { ($0.metrics[metric] ?? -.infinity) <= value }
    }

    /// `runs[index]`'s metric minus the previous run's, nil for the first or when one lacks it.
    public func delta(_ index: Int, metric: String) -> Double? {
        guard index > 0, let value = runs[index].metrics[metric], let previous = runs[index - 1].metrics[metric] else { return nil }
        return value - previous
    }
}

extension ResultDatabase {
    /// The series a run without a stored series belongs to: its name (runs before schema version 4).
    static let seriesExpression = "coalesce(r.series, r.name)"

    /// Records the series of a run and the checkpoint it evaluates (`runs.series`, `run_checkpoints`).
    public func recordProvenance(runID: Int64, series: String, checkpoint: CheckpointRecord?) throws {
        try write("recording the series and checkpoint of run \(runID)") { db in
            try db.execute(sql: "UPDATE runs SET series = ? WHERE run_id = ?", arguments: [series, runID])
            try requireRun(db, runID)
            if let checkpoint {
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO run_checkpoints
                            (run_id, path, size_bytes, modified_at, training_step, epoch, best_val_score)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        runID, checkpoint.path, checkpoint.sizeBytes, checkpoint.modifiedAt, checkpoint.trainingStep,
                        checkpoint.epoch, checkpoint.bestValidationScore,
                    ])
            }
        }
    }

    /// The checkpoint a run evaluated, or nil (runs started before schema version 4).
    public func checkpoint(runID: Int64) throws -> CheckpointRecord? {
        try read("reading the checkpoint of run \(runID)") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM run_checkpoints WHERE run_id = ?", arguments: [runID])
                .map(CheckpointRecord.init(row:))
        }
    }

    /// The series a run belongs to (its name for runs started before schema version 4).
    public func series(runID: Int64) throws -> String {
        try read("reading the series of run \(runID)") { db in
            guard let name = try String.fetchOne(db, sql: "SELECT \(Self.seriesExpression) FROM runs r WHERE run_id = ?", arguments: [runID]) else {
                throw ResultStoreError.runNotFound(path: path, reference: String(runID))
            }
            return name
        }
    }

    /// Every series of the file, the one with the newest run first. Parts of partitioned runs are
    /// left out: their merged run is the run of the series.
    public func listSeries() throws -> [SeriesSummary] {
        try read("listing the series") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.seriesExpression) AS series, count(*) AS runs,
                        sum(r.status = 'completed') AS completed, max(r.created_at) AS latest
                    FROM runs r WHERE NOT EXISTS (SELECT 1 FROM run_parts p WHERE p.run_id = r.run_id)
                    GROUP BY 1 ORDER BY latest DESC, series
                    """
            ).map { SeriesSummary(name: $0["series"], completedRuns: $0["completed"], runs: $0["runs"], latest: $0["latest"]) }
        }
    }

    /// The runs of a series with their checkpoints and corpus scores, or nil when the file has no
    /// run of that series.
    public func runSeries(_ name: String) throws -> RunSeries? {
        try read("reading series '\(name)'") { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT r.*, c.path AS checkpoint_path, c.size_bytes, c.modified_at, c.training_step, c.epoch,
                        c.best_val_score
                    FROM runs r LEFT JOIN run_checkpoints c ON c.run_id = r.run_id
                    WHERE \(Self.seriesExpression) = ?
                        AND NOT EXISTS (SELECT 1 FROM run_parts p WHERE p.run_id = r.run_id)
                    ORDER BY r.run_id
                    """,
                arguments: [name])
            guard !rows.isEmpty else { return nil }
            var completed: [SeriesRun] = [], unfinished: [RunRecord] = []
            for row in rows {
                let run = RunRecord(row: row)
                guard run.status == .completed else {
                    unfinished.append(run)
                    continue
                }
                var metrics: [String: Double] = [:]
                for metric in try Row.fetchAll(db, sql: "SELECT metric, value FROM run_metrics WHERE run_id = ?", arguments: [run.runID]) {
                    metrics[metric["metric"]] = metric["value"]
                }
                let checkpoint = (row["checkpoint_path"] as String?).map { path in
                    CheckpointRecord(
                        path: path, sizeBytes: row["size_bytes"], modifiedAt: row["modified_at"], trainingStep: row["training_step"],
                        epoch: row["epoch"], bestValidationScore: row["best_val_score"])
                }
                completed.append(SeriesRun(run: run, series: name, checkpoint: checkpoint, metrics: metrics))
            }
            return RunSeries(name: name, runs: completed, unfinished: unfinished)
        }
    }
}

extension CheckpointRecord {
    init(row: Row) {
        self.init(
            path: row["path"], sizeBytes: row["size_bytes"], modifiedAt: row["modified_at"], trainingStep: row["training_step"],
            epoch: row["epoch"], bestValidationScore: row["best_val_score"])
    }
}
