import ConcurrencyPrimitives
import ResultStore

/// The Writer stage of ARCHITECTURE.md: the only code that writes a run's shards, on a thread of
/// its own with the database's one writer connection. A shard's rows and its done mark commit
/// together (`commitShard`), so a crash loses at most the shards in flight; each commit records the
/// owner's sign of life (`runs.heartbeat_at`, database.md) and advances the progress line.
final class ShardWriter {
    private let thread: WorkerThread

    /// Starts writing the shards that arrive on `results` until it is closed. The first failure is
    /// recorded in `failure`; shards arriving after it are dropped. A shard decoded before an
    /// interrupt is whole, and kept.
    init(
        database: ResultDatabase, runID: Int64, results: BlockingQueue<ShardCommit>, progress: ProgressReporter,
        failure: FirstError, options: RunOptions
    ) {
        #if NIGHTCAP_FAULT_INJECTION
        let partIndex = options.part?.index
        let interrupt = options.interrupt
        #endif
        thread = WorkerThread(name: "nightcap-writer") {
            #if NIGHTCAP_FAULT_INJECTION
            var commits = 0
            #endif
            while let commit = results.pop() {
                guard failure.error == nil else { continue }
                do {
                    try database.commitShard(commit)
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
    }

    /// Waits for the last shard to be written (after `results` is closed).
    func join() {
        thread.join()
    }
}
