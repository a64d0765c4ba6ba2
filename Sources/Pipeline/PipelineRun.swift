import CaptionMetrics
import Captioner
import ConcurrencyPrimitives
import Foundation
import HDF5
import RegionFeatures
import ResultStore

/// Plans and runs one evaluation: validate, find or create the run, stream shards through the
/// reader (`ShardReader`, this thread), the decoder workers (`ShardDecoders`) and the writer
/// (`ShardWriter`), then compute the corpus metrics.
public enum PipelineRun {
    public static func execute(_ settings: PipelineSettings, options: RunOptions = RunOptions()) throws -> RunResult {
        let started = Date()
        let settings = try settings.validated()
        installFaultGuard(settings)
        try startReadWatch(options)
        defer { if options.readTimeout != nil { HDF5ReadWatch.stop() } }
        var reader = ShardReader()
        let plan = try RunPlan(settings: settings) { features, rows in reader.readAhead(features, rows: rows, settings: settings, options: options) }
        let database = plan.database
        defer { try? database.close() }

        // A part does a contiguous block of the run's shards (its plan); shards and their decoding
        // are those of the whole run.
        let part = options.part.map { RunPart(index: $0.index, of: $0.count, shardCount: plan.shardCount) }
        let planned = part?.shards ?? 0..<plan.shardCount
        let what = part.map { "part \($0) of run" } ?? "run"
        let runID: Int64, runName: String, resumed: Bool
        switch try openRun(plan: plan, part: part, what: what, options: options) {
        case .completed(let existing):
            return try report(for: existing.runID, name: existing.name, outcome: .alreadyCompleted, plan: plan, part: part, started: started)
        case .open(let id, let name, let wasResumed):
            (runID, runName, resumed) = (id, name, wasResumed)
        }
        let done = try database.doneShards(runID: runID).intersection(planned)
        logStart(runID: runID, name: runName, plan: plan, part: part, what: what, resumedWith: resumed ? done.count : nil, options: options)

        let todo = planned.filter { !done.contains($0) }
        let progress = ProgressReporter(
            style: options.progress, totalImages: planned.reduce(0) { $0 + plan.shardImageCount($1) }, totalShards: planned.count)
        progress.start(imagesDone: done.reduce(0) { $0 + plan.shardImageCount($1) }, shardsDone: done.count)
        let failure = FirstError()
        do {
            reader.keep(todo)
            try stream(todo, reader: &reader, plan: plan, runID: runID, options: options, progress: progress, failure: failure)
        } catch {
            failure.record(error)
        }
        progress.finish()
        return try conclude(runID: runID, name: runName, plan: plan, part: part, what: what, failure: failure, options: options, started: started)
    }

    /// Reports a memory fault inside libhdf5 as a damaged input instead of a crash.
    private static func installFaultGuard(_ settings: PipelineSettings) {
        HDF5FaultGuard.install(
            message: "nightcap: the HDF5 library crashed (a memory fault) while reading \(settings.featuresPath ?? "the features") or "
                + "\(settings.modelPath ?? "the model"): the file is damaged; check each with `nightcap inspect FILE` and write or copy the "
                + "damaged one again. Shards committed before are kept: run the same command to resume.")
    }

    /// With `--read-timeout`: ends the process with a message naming the file and dataset when a
    /// read makes no progress for that long.
    private static func startReadWatch(_ options: RunOptions) throws {
        guard let timeout = options.readTimeout else { return }
        guard timeout > 0, timeout.isFinite else {
            throw PipelineError(.configuration, "--read-timeout must be a number of seconds above 0, not \(timeout)")
        }
        HDF5ReadWatch.start(timeout: timeout) { file, object, seconds in
            let place = object.map { "\(file), dataset \($0)" } ?? file
            FileHandle.standardError.write(Data((
                "\nnightcap: \(place): a read made no progress for \(String(format: "%.0f", seconds)) s (--read-timeout \(timeout.formatted())); "
                + "the file is probably damaged, or its storage is not responding. Shards committed before are kept: "
                + "fix or replace the file and run the same command to resume.\n").utf8))
            // The stuck call cannot be cancelled and holds HDF5's global lock: end the process.
            _exit(1)
        }
    }

    /// The run to work on: an existing run of the same fingerprint (and part), claimed, or a new one.
    private enum OpenedRun {
        /// A completed run with these inputs and settings exists: nothing to do.
        case completed(RunRecord)
        case open(runID: Int64, name: String, resumed: Bool)
    }

    private static func openRun(plan: RunPlan, part: RunPart?, what: String, options: RunOptions) throws -> OpenedRun {
        let database = plan.database, settings = plan.settings
        let pid = getpid()
        let host = ProcessInfo.processInfo.hostName
        let slurmTask = SlurmTask.current(environment: options.environment)
        if !options.newRun, let existing = try database.latestRun(fingerprint: plan.fingerprint.value, part: part) {
            if existing.status == .completed {
                options.log("\(what) \(existing.runID) (\(existing.name)) with these inputs and settings is already complete; pass --new-run to run it again")
                return .completed(existing)
            }
            switch try database.claim(
                runID: existing.runID, pid: pid, host: host, slurmTask: slurmTask, slurmJobEnded: SlurmQueue.hasEnded)
            {
            case .claimed:
                return .open(runID: existing.runID, name: existing.name, resumed: true)
            case .ownedBy(let ownerPID, let ownerHost):
                throw PipelineError(
                    .ownership,
                    "\(what) \(existing.runID) (\(existing.name)) is being processed by process \(ownerPID) on \(ownerHost)"
                        + ((try? database.slurmOwner(runID: existing.runID)).flatMap { $0 }.map { " (\($0))" } ?? "")
                        + "; wait for it to finish, or stop it (it resumes where it stopped)")
            }
        }
        // Names are unique in a database: a name given with --name that another run has is
        // refused; a default or pipeline-file name gets the first free `NAME#2`, `NAME#3`, ...
        if options.nameGiven, let other = try database.run(named: plan.name) {
            throw ResultStoreError.nameTaken(path: database.path, name: plan.name, runID: other.runID)
        }
        let runName = try database.unusedName(plan.name)
        let runID = try database.createRun(
            NewRun(
                name: runName, fingerprint: plan.fingerprint.value, configJSON: plan.configurationJSON,
                imageCount: plan.imageRows.count, shardSize: settings.shardSize, shardCount: plan.shardCount,
                featuresPath: settings.featuresPath, modelPath: settings.modelPath, referencesPath: settings.referencesPath,
                referencesDigest: plan.fingerprint.referencesDigest,
                nightcapVersion: NightcapVersion.current, ownerPID: pid, ownerHost: host, part: part,
                slurmTask: slurmTask))
        try database.recordProvenance(
            runID: runID, series: RunProvenance.series(of: settings),
            checkpoint: RunProvenance.checkpoint(path: settings.modelPath!, progress: plan.trainingProgress))
        return .open(runID: runID, name: runName, resumed: false)
    }

    /// The status line of a run that starts, or resumes with `resumedWith` shards done.
    private static func logStart(runID: Int64, name: String, plan: RunPlan, part: RunPart?, what: String, resumedWith: Int?, options: RunOptions) {
        let settings = plan.settings
        let planned = part?.shards ?? 0..<plan.shardCount
        // With a split, say that the other images of the file are left alone.
        let splitNote = settings.referencesSplit.map {
            " of split \"\($0)\" (\(plan.features.imageCount - plan.imageRows.count) other images of the features file are not read)"
        } ?? ""
        if let done = resumedWith {
            options.log("resuming \(what) \(runID) (\(name)): \(done)/\(planned.count) shards done")
        } else if let part {
            let plannedImages = planned.reduce(0) { $0 + plan.shardImageCount($1) }
            options.log("part \(part) of run \(runID) (\(name)): shards \(part.firstShard)..<\(part.endShard) of \(plan.shardCount), \(plannedImages) of \(plan.imageRows.count) images\(splitNote) in shards of \(settings.shardSize), \(settings.effectiveThreads) threads")
        } else {
            options.log("run \(runID) (\(name)): \(plan.imageRows.count) images\(splitNote) in \(plan.shardCount) shards of \(settings.shardSize), \(settings.effectiveThreads) threads")
        }
    }

    /// After the stream: the run failed, was interrupted, or is finished (a whole run's corpus
    /// metrics computed).
    private static func conclude(
        runID: Int64, name: String, plan: RunPlan, part: RunPart?, what: String, failure: FirstError, options: RunOptions,
        started: Date
    ) throws -> RunResult {
        let database = plan.database
        if let error = failure.error {
            try? database.setStatus(runID: runID, status: .failed, message: "\(error)")
            throw error
        }
        if let signal = options.interrupt.signal {
            try database.setStatus(runID: runID, status: .interrupted, message: "stopped by signal \(signal)")
            let progressNow = try database.shardProgress(runID: runID)
            let planned = part?.shards.count ?? plan.shardCount
            options.log("\(what) \(runID) interrupted: \(progressNow.shardsDone)/\(planned) shards done; run the same command to resume")
            return try report(for: runID, name: name, outcome: .interrupted(signal: signal), plan: plan, part: part, started: started)
        }
        if part != nil {
            // A part has no corpus metrics of its own: CIDEr-D depends on the whole scored set.
            // `nightcap merge` computes them once every part is done, as a one-machine run does.
            try database.finish(runID: runID)
        } else {
            try RunFinalizer.finalize(
                runID: runID, database: database, references: plan.references, parallelism: plan.settings.effectiveThreads)
        }
        return try report(for: runID, name: name, outcome: .completed, plan: plan, part: part, started: started)
    }

    /// The reader loop on this thread, the decoder workers and one writer. Workers take sub-batches
    /// of a shard (`SubBatchScheduler`), so that all of them work on one shard; a shard's commit
    /// still goes to the writer whole.
    private static func stream(
        _ shards: [Int], reader: inout ShardReader, plan: RunPlan, runID: Int64, options: RunOptions, progress: ProgressReporter,
        failure: FirstError
    ) throws {
        guard !shards.isEmpty else { return }
        let size = plan.model.imagesPerSubBatch(settings: plan.settings.decodeSettings) ?? ShardProcessor.decodeBatchSize
        // Threads beyond the sub-batches there are would have nothing to do.
        let subBatches = shards.reduce(0) { $0 + ShardProcessor.subBatches(imageCount: plan.shardImageCount($1), size: size).count }
        let threads = max(1, min(plan.settings.effectiveThreads, subBatches))
        // Enough shards held to give every worker a sub-batch, and one more being read or started
        // while the others end; every shard more would be another shard of features in memory.
        let work = SubBatchScheduler(
            capacity: SubBatchScheduler.capacity(threads: threads, shardSize: plan.settings.shardSize, imagesPerSubBatch: size),
            imagesPerSubBatch: size)
        let results = BlockingQueue<ShardCommit>(capacity: threads)
        let interrupt = options.interrupt
        let shouldStop: @Sendable () -> Bool = { interrupt.isRaised || failure.error != nil }
        let decoders = ShardDecoders(threads: threads, plan: plan, runID: runID, work: work, results: results, shouldStop: shouldStop)
        let writer = ShardWriter(
            database: plan.database, runID: runID, results: results, progress: progress, failure: failure, options: options)
        defer {
            work.close()
            decoders.join()
            results.close()
            writer.join()
        }
        try reader.feed(shards, plan: plan, to: work, shouldStop: shouldStop)
    }

    private static func report(
        for runID: Int64, name: String, outcome: RunResult.Outcome, plan: RunPlan, part: RunPart?, started: Date
    ) throws -> RunResult {
        let metrics = try plan.database.runMetrics(runID: runID)
        let progress = try plan.database.shardProgress(runID: runID)
        let ordered = Metric.ordered(metrics)
        let scored = try plan.database.bleuStatistics(runID: runID).count
        return RunResult(
            outcome: outcome, runID: runID, name: name, databasePath: plan.database.path, metrics: ordered,
            imageCount: part.map { $0.shards.reduce(0) { $0 + plan.shardImageCount($1) } } ?? plan.imageRows.count, imagesScored: scored, imagesFailed: progress.imagesFailed,
            imagesWithoutReferences: plan.references?.imagesWithoutReferences.count ?? 0,
            referencesWithoutImages: plan.references?.referencesWithoutImages ?? 0, scored: plan.references != nil, shardsDone: progress.shardsDone,
            shardCount: part?.shards.count ?? plan.shardCount, part: part, seconds: Date().timeIntervalSince(started))
    }
}
