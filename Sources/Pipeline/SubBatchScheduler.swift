import Foundation
import RegionFeatures
import ResultStore

/// The shards between the reader and the decoder threads, handed out as sub-batches so that every
/// decoder thread can work on the same shard.
///
/// The reader `push`es whole shards; each is cut into `ShardProcessor.subBatches` (boundaries fixed
/// by the shard alone). A decoder thread takes the next sub-batch of the oldest shard that has one
/// left (`next`), decodes it, and hands its partial commit back (`finish`); whoever finishes a shard's
/// last sub-batch gets all of the shard's parts, in sub-batch order, to assemble into its one commit.
/// A sub-batch not decoded because the run is stopping (`drop`) drops its whole shard: the shard is
/// done again on resume, as a shard only partly decoded always was.
///
/// Memory: at most `capacity` shards are held at once (`push` waits for room), each with the parts
/// decoded so far.
///
/// `@unchecked Sendable`: every stored property except the immutable `capacity` and `condition` is
/// read and written only while `condition` is locked.
final class SubBatchScheduler: @unchecked Sendable {
    /// One sub-batch to decode: images `images` of shard `index`.
    struct Task: Sendable {
        let index: Int
        let shard: FeatureShard
        let number: Int
        let images: Range<Int>
    }

    /// A shard in flight.
    private final class Entry {
        let index: Int
        let shard: FeatureShard
        let batches: [Range<Int>]
        /// Sub-batches handed out so far; the next one to hand out.
        var taken = 0
        /// Sub-batches finished or dropped.
        var settled = 0
        var dropped = false
        var parts: [ShardCommit?]

        init(index: Int, shard: FeatureShard) {
            self.index = index
            self.shard = shard
            batches = ShardProcessor.subBatches(imageCount: shard.imageCount)
            parts = Array(repeating: nil, count: batches.count)
        }
    }

    private let condition = NSCondition()
    /// Oldest first.
    private var entries: [Entry] = []
    private var closed = false
    /// The most shards held at once.
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity >= 1, "a scheduler holds at least one shard")
        self.capacity = capacity
    }

    /// Shards in flight that keep `threads` decoder threads busy on shards of `shardSize` images: as
    /// many as their sub-batches need, and one more being started while the others end.
    static func capacity(threads: Int, shardSize: Int) -> Int {
        let perShard = max(1, ShardProcessor.subBatches(imageCount: shardSize).count)
        return (threads + perShard - 1) / perShard + 1
    }

    /// Adds shard `index`, waiting while `capacity` shards are held. False (dropping it) once closed.
    @discardableResult
    func push(index: Int, shard: FeatureShard) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !closed && entries.count >= capacity { condition.wait() }
        if closed { return false }
        let entry = Entry(index: index, shard: shard)
        guard !entry.batches.isEmpty else { return true }
        entries.append(entry)
        condition.broadcast()
        return true
    }

    /// The next sub-batch of the oldest shard that has one left, waiting for one; nil once closed and
    /// no sub-batch is left to hand out.
    func next() -> Task? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let entry = entries.first(where: { $0.taken < $0.batches.count }) {
                let number = entry.taken
                entry.taken += 1
                return Task(index: entry.index, shard: entry.shard, number: number, images: entry.batches[number])
            }
            if closed { return nil }
            condition.wait()
        }
    }

    /// Records `task`'s decoded `part`. When it was the last of its shard (and the shard was not
    /// dropped), returns all of the shard's parts in sub-batch order.
    func finish(_ task: Task, part: ShardCommit) -> [ShardCommit]? {
        condition.lock()
        defer { condition.unlock() }
        guard let entry = entries.first(where: { $0.index == task.index }) else { return nil }
        entry.settled += 1
        if !entry.dropped { entry.parts[task.number] = part }
        guard entry.settled == entry.batches.count else { return nil }
        remove(entry)
        return entry.dropped ? nil : entry.parts.map { $0! }
    }

    /// `task` is not decoded: its shard is dropped whole, and its sub-batches not yet handed out with it.
    func drop(_ task: Task) {
        condition.lock()
        defer { condition.unlock() }
        guard let entry = entries.first(where: { $0.index == task.index }) else { return }
        entry.dropped = true
        entry.parts = []
        entry.settled += 1 + (entry.batches.count - entry.taken)
        entry.taken = entry.batches.count
        if entry.settled == entry.batches.count { remove(entry) }
    }

    /// No more shards; the decoder threads finish those held, then `next` returns nil.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Called with the lock held: frees the shard's room and wakes a waiting reader.
    private func remove(_ entry: Entry) {
        entries.removeAll { $0 === entry }
        condition.broadcast()
    }
}
