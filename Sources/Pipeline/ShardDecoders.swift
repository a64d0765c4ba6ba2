import ConcurrencyPrimitives
import ResultStore

/// The Decoder workers of ARCHITECTURE.md: `threads` threads, each with its own `ShardProcessor`
/// (single-threaded BLAS, its own buffers), taking sub-batches of the shards the reader gives the
/// scheduler, and handing each shard, once all its sub-batches are decoded, to the writer whole.
/// No I/O, no shared mutable state.
final class ShardDecoders {
    private var workers: [WorkerThread] = []

    /// Starts the workers. Stopping (`shouldStop`) between sub-batches drops the shard whole: it is
    /// done again on resume.
    init(
        threads: Int, plan: RunPlan, runID: Int64, work: SubBatchScheduler, results: BlockingQueue<ShardCommit>,
        shouldStop: @escaping @Sendable () -> Bool
    ) {
        let decode = plan.settings.decodeSettings
        let model = plan.model, references = plan.references, attention = plan.settings.attention
        for number in 0..<threads {
            workers.append(
                WorkerThread(name: "nightcap-decoder-\(number)") {
                    let processor = ShardProcessor(
                        model: model, settings: decode, references: references, attention: attention, runID: runID)
                    while let task = work.next() {
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
    }

    /// Waits for every worker to end (after the scheduler is closed).
    func join() {
        for worker in workers { worker.join() }
    }
}
