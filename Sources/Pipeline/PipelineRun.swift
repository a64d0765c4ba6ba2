import CaptionMetrics
import Captioner
import ConcurrencyPrimitives
import Foundation
import HDF5
import RegionFeatures
import ResultStore

/// Plans and runs one evaluation: validate, find or create the run, stream shards through the
/// reader (this thread), the decoder workers and the writer, then compute the corpus metrics.
public enum PipelineRun {
    public static func execute(_ settings: PipelineSettings, options: RunOptions = RunOptions()) throws -> RunReport {
        let started = Date()
        let settings = try settings.validated()
        HDF5FaultGuard.install(
            message: "nightcap: the HDF5 library crashed (a memory fault) while reading \(settings.featuresPath ?? "the features") or "
                + "\(settings.modelPath ?? "the model"): the file is damaged; check each with `nightcap inspect FILE` and write or copy the "
                + "damaged one again. Shards committed before are kept: run the same command to resume.")
        if let timeout = options.readTimeout {
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
        defer { if options.readTimeout != nil { HDF5ReadWatch.stop() } }
        // The first shards are read while the model and the references load (RunPlan), so that
        // decoding starts as soon as the plan is validated. Which shards a run still needs is known
        // only later (a resumed run may have done them): shards not needed are dropped unread by
        // anyone. A read error here only ends the early reading; the shard is read again in
        // `stream`, which reports the error as it would have.
        var early: [Int: FeatureShard] = [:]
        let plan = try RunPlan(settings: settings) { features, rows in
            let shardSize = settings.shardSize
            let shardCount = RunPlan.shardCount(images: rows.count, shardSize: shardSize)
            let planned = options.part.map { RunPart(index: $0.index, of: $0.count, shardCount: shardCount).shards } ?? 0..<shardCount
            // As many shards as the decoder threads will hold at once (SubBatchScheduler), not one per
            // thread: with every thread on the same shard, `--threads 64` needs two shards, not 64.
            for index in planned.prefix(SubBatchScheduler.capacity(threads: settings.effectiveThreads, shardSize: shardSize)) {
                let positions = RunPlan.shardPositions(index, images: rows.count, shardSize: shardSize)
                guard !options.interrupt.isRaised, let shard = try? features.read(rows: Array(rows[positions])) else { break }
                early[index] = shard
            }
        }
        let database = plan.database
        defer { try? database.close() }

        let pid = getpid()
        let host = ProcessInfo.processInfo.hostName
        // A part does a contiguous block of the run's shards (its plan); shards and their decoding
        // are those of the whole run.
        let part = options.part.map { RunPart(index: $0.index, of: $0.count, shardCount: plan.shardCount) }
        let planned = part?.shards ?? 0..<plan.shardCount
        let slurmTask = SlurmTask.current(environment: options.environment)
        let what = part.map { "part \($0) of run" } ?? "run"
        let runID: Int64
        var resumed = false
        if !options.newRun, let existing = try database.latestRun(fingerprint: plan.fingerprint.value, part: part) {
            if existing.status == .completed {
                options.log("\(what) \(existing.runID) (\(existing.name)) with these inputs and settings is already complete; pass --new-run to run it again")
                return try report(for: existing.runID, name: existing.name, outcome: .alreadyCompleted, plan: plan, part: part, started: started)
            }
            switch try database.claim(
                runID: existing.runID, pid: pid, host: host, slurmTask: slurmTask, slurmJobEnded: SlurmQueue.hasEnded)
            {
            case .claimed:
                break
            case .ownedBy(let ownerPID, let ownerHost):
                throw PipelineError(
                    .ownership,
                    "\(what) \(existing.runID) (\(existing.name)) is being processed by process \(ownerPID) on \(ownerHost)"
                        + ((try? database.slurmOwner(runID: existing.runID)).flatMap { $0 }.map { " (\($0))" } ?? "")
                        + "; wait for it to finish, or stop it (it resumes where it stopped)")
            }
            runID = existing.runID
            resumed = true
        } else {
            runID = try database.createRun(
                NewRun(
                    name: plan.name, fingerprint: plan.fingerprint.value, configJSON: plan.configurationJSON,
                    imageCount: plan.imageRows.count, shardSize: settings.shardSize, shardCount: plan.shardCount,
                    featuresPath: settings.featuresPath, modelPath: settings.modelPath, referencesPath: settings.referencesPath,
                    referencesDigest: plan.fingerprint.referencesDigest,
                    nightcapVersion: NightcapVersion.current, ownerPID: pid, ownerHost: host, part: part,
                    slurmTask: slurmTask))
        }

        // With a split, say that the other images of the file are left alone.
        let splitNote = settings.referencesSplit.map {
            " of split \"\($0)\" (\(plan.features.imageCount - plan.imageRows.count) other images of the features file are not read)"
        } ?? ""
        let done = try database.doneShards(runID: runID).intersection(planned)
        let todo = planned.filter { !done.contains($0) }
        let plannedImages = planned.reduce(0) { $0 + plan.shardImageCount($1) }
        if resumed {
            options.log("resuming \(what) \(runID) (\(plan.name)): \(done.count)/\(planned.count) shards done")
        } else if let part {
            options.log("part \(part) of run \(runID) (\(plan.name)): shards \(part.firstShard)..<\(part.endShard) of \(plan.shardCount), \(plannedImages) of \(plan.imageRows.count) images\(splitNote) in shards of \(settings.shardSize), \(settings.effectiveThreads) threads")
        } else {
            options.log("run \(runID) (\(plan.name)): \(plan.imageRows.count) images\(splitNote) in \(plan.shardCount) shards of \(settings.shardSize), \(settings.effectiveThreads) threads")
        }

        let imagesDone = done.reduce(0) { $0 + plan.shardImageCount($1) }
        let progress = ProgressReporter(style: options.progress, totalImages: plannedImages, totalShards: planned.count)
        progress.start(imagesDone: imagesDone, shardsDone: done.count)
        let failure = FirstError()
        do {
            early = early.filter { todo.contains($0.key) }
            try stream(todo, early: &early, plan: plan, runID: runID, options: options, progress: progress, failure: failure)
        } catch {
            failure.record(error)
        }
        progress.finish()

        if let error = failure.error {
            try? database.setStatus(runID: runID, status: .failed, message: "\(error)")
            throw error
        }
        if let signal = options.interrupt.signal {
            try database.setStatus(runID: runID, status: .interrupted, message: "stopped by signal \(signal)")
            let progressNow = try database.shardProgress(runID: runID)
            options.log("\(what) \(runID) interrupted: \(progressNow.shardsDone)/\(planned.count) shards done; run the same command to resume")
            return try report(for: runID, name: plan.name, outcome: .interrupted(signal: signal), plan: plan, part: part, started: started)
        }
        if part != nil {
            // A part has no corpus metrics of its own: CIDEr-D depends on the whole scored set.
            // `nightcap merge` computes them once every part is done, as a one-machine run does.
            try database.finish(runID: runID)
        } else {
            try RunFinalizer.finalize(
                runID: runID, database: database, references: plan.references, parallelism: settings.effectiveThreads)
        }
        return try report(for: runID, name: plan.name, outcome: .completed, plan: plan, part: part, started: started)
    }

    /// The reader loop on this thread, `threads` decoder workers and one writer. `early` holds
    /// shards already read; each leaves it as it goes to the workers, so that its memory is freed
    /// with the workers' use of it. Workers take sub-batches of a shard (`SubBatchScheduler`), so
    /// that all of them work on one shard; a shard's commit still goes to the writer whole.
    private static func stream(
        _ shards: [Int], early: inout [Int: FeatureShard], plan: RunPlan, runID: Int64, options: RunOptions, progress: ProgressReporter, failure: FirstError
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
        let decode = plan.settings.decodeSettings
        let model = plan.model, references = plan.references, attention = plan.settings.attention

        var workers: [WorkerThread] = []
        for number in 0..<threads {
            workers.append(
                WorkerThread(name: "nightcap-decoder-\(number)") {
                    let processor = ShardProcessor(
                        model: model, settings: decode, references: references, attention: attention, runID: runID)
                    while let task = work.next() {
                        // Stopping between sub-batches drops the shard whole (done again on resume).
                        if shouldStop() {
                            work.drop(task)
                            continue
                        }
                        let part = processor.process(task.shard, index: task.index, images: task.images)
                        if let parts = work.finish(task, part: part) {
                            results.push(ShardProcessor.assemble(parts, shard: task.shard, index: task.index, runID: runID))
                        }
                    }
                })
        }
        let database = plan.database
        #if NIGHTCAP_FAULT_INJECTION
        let partIndex = options.part?.index
        #endif
        let writer = WorkerThread(name: "nightcap-writer") {
            #if NIGHTCAP_FAULT_INJECTION
            var commits = 0
            #endif
            while let commit = results.pop() {
                // A shard decoded before an interrupt is whole: keep it.
                guard failure.error == nil else { continue }
                do {
                    try database.commitShard(commit)
                    // The owner's sign of life that `runs.heartbeat_at` documents (database.md).
                    try database.heartbeat(runID: runID)
                    progress.shardCommitted(images: commit.numImages)
                    #if NIGHTCAP_FAULT_INJECTION
                    commits += 1
                    FaultInjection.afterCommit(commits, part: partIndex, handled: { interrupt.isRaised })
                    #endif
                } catch {
                    failure.record(error)
                }
            }
        }

        defer {
            work.close()
            for worker in workers { worker.join() }
            results.close()
            writer.join()
        }
        for index in shards {
            if shouldStop() { break }
            let shard = try early.removeValue(forKey: index) ?? plan.features.read(rows: plan.shardRows(index))
            if !work.push(index: index, shard: shard) { break }
        }
    }

    private static func report(
        for runID: Int64, name: String, outcome: RunReport.Outcome, plan: RunPlan, part: RunPart?, started: Date
    ) throws -> RunReport {
        let metrics = try plan.database.runMetrics(runID: runID)
        let progress = try plan.database.shardProgress(runID: runID)
        let ordered = Metric.allCases.compactMap { metric in metrics[metric.rawValue].map { (metric: metric, value: $0) } }
        let scored = try plan.database.bleuStatistics(runID: runID).count
        return RunReport(
            outcome: outcome, runID: runID, name: name, databasePath: plan.database.path, metrics: ordered,
            imageCount: part.map { $0.shards.reduce(0) { $0 + plan.shardImageCount($1) } } ?? plan.imageRows.count, imagesScored: scored, imagesFailed: progress.imagesFailed,
            imagesWithoutReferences: plan.references?.imagesWithoutReferences.count ?? 0,
            referencesWithoutImages: plan.references?.referencesWithoutImages ?? 0, scored: plan.references != nil, shardsDone: progress.shardsDone,
            shardCount: part?.shards.count ?? plan.shardCount, part: part, seconds: Date().timeIntervalSince(started))
    }
}
