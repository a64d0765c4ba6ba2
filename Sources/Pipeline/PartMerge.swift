import CaptionMetrics
import Foundation
import RegionFeatures
import ResultStore

/// `nightcap merge`: the part files of a partitioned run (`nightcap run --part I/N`), checked to be
/// the N parts of one run and complete, joined into one run of a results database whose corpus
/// metrics are computed as a one-machine run computes them (`RunFinalizer` over the stored rows).
public enum PartMerge {
    /// One part file as found.
    public struct PartState: Sendable {
        public var path: String
        public var part: RunPart
        public var run: RunRecord
        /// Committed shards of the part's block.
        public var shardsDone: Int
        public var slurmOwner: SlurmTask?

        public var isComplete: Bool { shardsDone == part.shards.count }
    }

    /// What the part files hold: the parts found, by index, and the indices still to do.
    public struct Survey: Sendable {
        public var parts: [PartState]
        /// N of `--part I/N`.
        public var count: Int
        public var fingerprint: String
        /// Files given that hold no part yet (absent, empty, or created by a task that died before
        /// its run started).
        public var absentPaths: [String]
        /// Parts with no file among the arguments, or with shards not committed, in index order.
        public var missing: [Int]

        public var isComplete: Bool { missing.isEmpty }
    }

    /// Merge refused because parts are missing or unfinished: `description` names each part by its
    /// index and gives the command that reruns exactly those.
    public struct Incomplete: Error, CustomStringConvertible, Sendable {
        public var survey: Survey
        public var arrayScript: String?

        public var description: String {
            var lines = ["cannot merge: \(survey.missing.count) of \(survey.count) parts are not complete:"]
            lines += PartMerge.progressLines(survey).filter { line in survey.missing.contains { line.hasPrefix("part \($0)/") } }
            let indices = survey.missing.map(String.init).joined(separator: ",")
            lines.append("rerun exactly these parts, then merge again (merging never loses a committed shard):")
            lines.append("  sbatch --array=\(indices) \(arrayScript ?? "ARRAY_SCRIPT (the array script `nightcap slurm` wrote)")")
            if arrayScript == nil {
                let settings = survey.parts.first.flatMap { try? PartMerge.settings(of: $0.run) }
                let pipeline = settings?.pipelineFile ?? "PIPELINE.toml"
                lines.append("or without Slurm, for each part I of \(indices):")
                lines.append("  nightcap run \(pipeline) --part I/\(survey.count) --db PART_FILE")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Reads the part files without writing to them.
    ///
    /// - Throws: `PipelineError(.validation)` naming the file when a file is not a part file, is a
    ///   part of another run or of another number of parts, or repeats a part; when no file holds
    ///   a part at all.
    public static func survey(_ paths: [String]) throws -> Survey {
        var parts: [PartState] = []
        var absent: [String] = []
        for path in paths {
            guard let state = try partState(path) else {
                absent.append(path)
                continue
            }
            if let first = parts.first {
                if state.run.fingerprint != first.run.fingerprint {
                    throw PipelineError(
                        .validation,
                        "\(path) is part \(state.part) of a different run than \(first.path) (fingerprint \(state.run.fingerprint.prefix(12)) against \(first.run.fingerprint.prefix(12))): the model, features, references or decode settings differ; merge only the parts of one run")
                }
                if state.part.count != first.part.count {
                    throw PipelineError(
                        .validation,
                        "\(path) is part \(state.part), but \(first.path) is part \(first.part): all parts of a merge must come from the same --part I/N split of one run; merge the \(first.part.count) files of one split")
                }
                if let twin = parts.first(where: { $0.part.index == state.part.index }) {
                    throw PipelineError(
                        .validation,
                        "\(path) and \(twin.path) are both part \(state.part): pass each part file once")
                }
            }
            parts.append(state)
        }
        guard let first = parts.first else {
            throw PipelineError(
                .validation,
                "no part among \(paths.joined(separator: ", ")): none of these files holds a run of `nightcap run --part I/N` yet; run the parts first")
        }
        parts.sort { $0.part.index < $1.part.index }
        let complete = Set(parts.filter(\.isComplete).map(\.part.index))
        return Survey(
            parts: parts, count: first.part.count, fingerprint: first.run.fingerprint, absentPaths: absent,
            missing: (0..<first.part.count).filter { !complete.contains($0) })
    }

    /// The newest part run of a file; nil when the file holds no run yet.
    private static func partState(_ path: String) throws -> PartState? {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
        guard let size, size > 0 else { return nil }
        let database: ResultDatabase
        do {
            database = try ResultDatabase(path: path, readOnly: true)
        } catch let error as ResultStoreError {
            switch error {
            case .notSQLite:
                throw PipelineError(.validation, "\(path) is not a part file (not an SQLite database): pass the files that `nightcap run --part I/N --db FILE` wrote")
            case .notNightcapDatabase(_, let tables) where tables.isEmpty:
                return nil  // an empty SQLite file: a task that died before creating its schema
            case .notNightcapDatabase, .olderSchema:
                throw PipelineError(.validation, "\(path) is not a part file (\(error)): pass the files that `nightcap run --part I/N --db FILE` wrote")
            default:
                throw error
            }
        }
        defer { try? database.close() }
        guard let (run, part) = try database.partRuns().last else {
            if try database.runCount() == 0 { return nil }
            throw PipelineError(
                .validation,
                "\(path) is not a part file: its runs were not started with --part I/N (a whole run needs no merge; `nightcap runs --db \(path)` lists them)")
        }
        let done = try database.doneShards(runID: run.runID).intersection(part.shards).count
        return PartState(path: path, part: part, run: run, shardsDone: done, slurmOwner: try database.slurmOwner(runID: run.runID))
    }

    /// One line per part, in index order, for `merge --check` and the refusal message.
    public static func progressLines(_ survey: Survey) -> [String] {
        (0..<survey.count).map { index in
            guard let state = survey.parts.first(where: { $0.part.index == index }) else {
                return "part \(index)/\(survey.count): no file among the arguments holds it (not started, or its file was not given)"
            }
            var line = "part \(state.part): \(state.shardsDone)/\(state.part.shards.count) shards done (shards \(state.part.firstShard)..<\(state.part.endShard)), \(state.run.status.rawValue)"
            if state.run.status == .running, let pid = state.run.ownerPID {
                line += " by process \(pid) on \(state.run.ownerHost ?? "?")" + (state.slurmOwner.map { ", \($0)" } ?? "")
            } else if state.run.status != .completed, let message = state.run.statusMessage {
                line += " (\(message))"
            }
            return line + ", \(state.path)"
        }
    }

    static func settings(of run: RunRecord) throws -> PipelineSettings {
        do {
            return try JSONDecoder().decode(PipelineSettings.self, from: Data(run.configJSON.utf8))
        } catch {
            throw PipelineError(.validation, "run \(run.runID) (\(run.name)) has a configuration this nightcap cannot read (\(error)): merge with the nightcap that ran the parts")
        }
    }

    /// Joins the parts of a complete survey into one run of the database at `outputPath` and
    /// computes its corpus metrics. A database that holds the merged run completed already is left
    /// as it is (`alreadyCompleted`); one that holds an unfinished merge of it (a merge that died)
    /// gets the parts it lacks.
    ///
    /// - Throws: `Incomplete` when parts are missing or unfinished; `PipelineError` when the
    ///   inputs the parts used changed since, or another process is merging into the database.
    public static func merge(
        _ survey: Survey, into outputPath: String, arrayScript: String? = nil,
        log: @Sendable (String) -> Void = { _ in }
    ) throws -> RunResult {
        let started = Date()
        guard survey.isComplete else { throw Incomplete(survey: survey, arrayScript: arrayScript) }
        let first = survey.parts[0].run
        var settings = try settings(of: first)
        guard let featuresPath = settings.featuresPath, let modelPath = settings.modelPath
        else {
            throw PipelineError(.validation, "\(survey.parts[0].path): run \(first.runID) does not record its input paths: merge with the nightcap that ran the parts")
        }
        // The references are needed for CIDEr-D (parts run without references merge into a run
        // without metrics, scored later by `nightcap score RUN`); the fingerprint proves they (and the features and
        // model) are still what the parts used.
        let referencesPath = settings.referencesPath
        let features = try RunPlan.openFeatures(settings)
        let loadReferences = { (path: String) in
            try ReferenceIndex.load(
                path: path, format: settings.referencesFormat, split: settings.referencesSplit,
                featureImageIDs: features.imageIDs, featuresPath: featuresPath)
        }
        // With a split, the references say which rows the run decoded (its plan, in the fingerprint).
        let splitPlan = settings.referencesSplit == nil ? nil : try referencesPath.map(loadReferences)
        let fingerprint = try RunFingerprint.compute(
            settings: settings, features: features, modelDigest: try SHA256.file(modelPath), referencesPath: referencesPath,
            infosDigest: try (settings.infosPath ?? settings.vocabPath).map { try SHA256.file($0) }, splitRows: splitPlan?.rows)
        guard fingerprint.value == survey.fingerprint else {
            throw PipelineError(
                .validation,
                "the inputs of the parts changed since they ran (\(featuresPath), \(modelPath), \(referencesPath ?? "no references")): their fingerprint is \(survey.fingerprint.prefix(12)), these files give \(fingerprint.value.prefix(12)); restore the files the parts used, or rerun all parts")
        }
        let references = try splitPlan?.index ?? referencesPath.map(loadReferences)?.index

        let database = try ResultDatabase(path: outputPath)
        defer { try? database.close() }
        let pid = getpid(), host = ProcessInfo.processInfo.hostName
        let runID: Int64
        var runName = first.name
        if let existing = try database.latestRun(fingerprint: survey.fingerprint) {
            if existing.status == .completed {
                log("run \(existing.runID) (\(existing.name)) of \(outputPath) holds this run already, complete: nothing to do")
                return try report(runID: existing.runID, name: existing.name, outcome: .alreadyCompleted, survey: survey, database: database, references: references, started: started)
            }
            if case .ownedBy(let ownerPID, let ownerHost) = try database.claim(runID: existing.runID, pid: pid, host: host) {
                throw PipelineError(
                    .ownership,
                    "run \(existing.runID) of \(outputPath) is being written by process \(ownerPID) on \(ownerHost) (another merge?); wait for it to finish")
            }
            runID = existing.runID
            runName = existing.name
            log("resuming the merge into run \(runID) of \(outputPath)")
        } else {
            settings.databasePath = outputPath
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            // Names are unique in a database: another run of the output file may have the parts' name.
            runName = try database.unusedName(first.name)
            runID = try database.createRun(
                NewRun(
                    name: runName, fingerprint: first.fingerprint, configJSON: String(decoding: try encoder.encode(settings), as: UTF8.self),
                    imageCount: first.imageCount, shardSize: first.shardSize, shardCount: first.shardCount,
                    featuresPath: first.featuresPath, modelPath: first.modelPath, referencesPath: first.referencesPath,
                    referencesDigest: first.referencesDigest ?? fingerprint.referencesDigest,
                    nightcapVersion: NightcapVersion.current, ownerPID: pid, ownerHost: host))
            // The merged run belongs to the parts' series and checkpoint (parts from before schema
            // version 4 record none).
            if let part = try? ResultDatabase(path: survey.parts[0].path, readOnly: true) {
                defer { try? part.close() }
                if let series = try? part.series(runID: first.runID) {
                    try database.recordProvenance(runID: runID, series: series, checkpoint: try? part.checkpoint(runID: first.runID))
                }
            }
        }
        do {
            for state in survey.parts {
                let copied = try database.copyPart(from: state.path, partRunID: state.run.runID, shards: state.part.shards, into: runID)
                log("part \(state.part): \(copied == 0 ? "already merged" : "\(copied) shards merged") from \(state.path)")
            }
            let done = try database.doneShards(runID: runID)
            guard done == Set(0..<first.shardCount) else {
                throw PipelineError(.validation, "\(outputPath): run \(runID) has \(done.count) of \(first.shardCount) shards after merging every part: the parts do not cover the run")
            }
            try RunFinalizer.finalize(
                runID: runID, database: database, references: references, parallelism: ProcessInfo.processInfo.activeProcessorCount)
        } catch {
            try? database.setStatus(runID: runID, status: .failed, message: "merge failed: \(error)")
            throw error
        }
        return try report(runID: runID, name: runName, outcome: .merged(parts: survey.count), survey: survey, database: database, references: references, started: started)
    }

    private static func report(
        runID: Int64, name: String, outcome: RunResult.Outcome, survey: Survey, database: ResultDatabase,
        references: ReferenceIndex?, started: Date
    ) throws -> RunResult {
        let metrics = try database.runMetrics(runID: runID)
        let progress = try database.shardProgress(runID: runID)
        return RunResult(
            outcome: outcome, runID: runID, name: name, databasePath: database.path,
            metrics: Metric.ordered(metrics),
            imageCount: progress.imageCount, imagesScored: try database.bleuStatistics(runID: runID).count,
            imagesFailed: progress.imagesFailed, imagesWithoutReferences: references?.imagesWithoutReferences.count ?? 0,
            referencesWithoutImages: references?.referencesWithoutImages ?? 0, scored: references != nil, shardsDone: progress.shardsDone,
            shardCount: progress.shardCount, part: nil, seconds: Date().timeIntervalSince(started))
    }
}
