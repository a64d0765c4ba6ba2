import Foundation
import RegionFeatures
import ResultStore

/// The Reader stage of ARCHITECTURE.md: the only code that reads the features file, on the calling
/// thread (HDF5 is serialised by a global lock, so one reader a shard ahead is simple and fast).
///
/// The first shards are read while the model and the references load (`readAhead`, from
/// `RunPlan`'s `whileLoading`), so that decoding starts as soon as the plan is validated. Which
/// shards a run still needs is known only later (a resumed run may have done them): shards not
/// needed are dropped unread by anyone (`keep`). A read error while reading ahead only ends the
/// reading ahead; the shard is read again by `feed`, which reports the error as it would have.
struct ShardReader {
    /// Shards read ahead, by index; each leaves as it goes to the workers, so that its memory is
    /// freed with the workers' use of it.
    private var early: [Int: FeatureShard] = [:]

    /// Reads the first shards of the run (or of its part) from `features`, as many as the decoder
    /// threads will hold at once (`SubBatchScheduler`), not one per thread: with every thread on the
    /// same shard, `--threads 64` needs two shards, not 64. Stops at an interrupt or a read error.
    /// `rows` are the file rows the run decodes (all of them, or a split's).
    mutating func readAhead(_ features: RegionFeatureFile, rows: [Int], settings: PipelineSettings, options: RunOptions) {
        let shardSize = settings.shardSize
        let shardCount = RunPlan.shardCount(images: rows.count, shardSize: shardSize)
        let planned = options.part.map { RunPart(index: $0.index, of: $0.count, shardCount: shardCount).shards } ?? 0..<shardCount
        for index in planned.prefix(SubBatchScheduler.capacity(threads: settings.effectiveThreads, shardSize: shardSize)) {
            let positions = RunPlan.shardPositions(index, images: rows.count, shardSize: shardSize)
            guard !options.interrupt.isRaised, let shard = try? features.read(rows: Array(rows[positions])) else { break }
            early[index] = shard
        }
    }

    /// Drops the shards read ahead that the run does not need.
    mutating func keep(_ shards: [Int]) {
        early = early.filter { shards.contains($0.key) }
    }

    /// Gives `shards` to the decoder workers in order, reading those not read ahead, until
    /// `shouldStop` says so or the scheduler is closed.
    mutating func feed(_ shards: [Int], plan: RunPlan, to work: SubBatchScheduler, shouldStop: () -> Bool) throws {
        for index in shards {
            if shouldStop() { break }
            let shard = try early.removeValue(forKey: index) ?? plan.features.read(rows: plan.shardRows(index))
            if !work.push(index: index, shard: shard) { break }
        }
    }
}
