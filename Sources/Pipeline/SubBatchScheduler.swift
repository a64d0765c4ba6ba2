import ConcurrencyPrimitives
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
/// All of its state sits in one `ConditionLock`; every change that can let a waiting thread go on (a
/// shard added or removed, the close) broadcasts.
final class SubBatchScheduler: Sendable {
    /// One sub-batch to decode: images `images` of shard `index`.
    struct Task: Sendable {
        let index: Int
        let shard: FeatureShard
        let number: Int
        let images: Range<Int>
    }

    /// A shard in flight.
    private struct Entry: Sendable {
        let index: Int
        let shard: FeatureShard
        let batches: [Range<Int>]
        /// Sub-batches handed out so far; the next one to hand out.
        var taken = 0
        /// Sub-batches finished or dropped.
        var settled = 0
        var dropped = false
        var parts: [ShardCommit?]

        init(index: Int, shard: FeatureShard, imagesPerSubBatch: Int) {
            self.index = index
            self.shard = shard
            batches = ShardProcessor.subBatches(imageCount: shard.imageCount, size: imagesPerSubBatch)
            parts = Array(repeating: nil, count: batches.count)
        }

        var hasBatchLeft: Bool { taken < batches.count }
    }

    private struct State: Sendable {
        /// Oldest first.
        var entries: [Entry] = []
        var closed = false
    }

    private let lock = ConditionLock(State())
    /// The most shards held at once.
    let capacity: Int
    /// The images of a sub-batch (the last of a shard may have fewer).
    let imagesPerSubBatch: Int

    init(capacity: Int, imagesPerSubBatch: Int = ShardProcessor.decodeBatchSize) {
        precondition(capacity >= 1, "a scheduler holds at least one shard")
        precondition(imagesPerSubBatch >= 1, "a sub-batch holds at least one image")
        self.capacity = capacity
        self.imagesPerSubBatch = imagesPerSubBatch
    }

    /// Shards in flight that keep `threads` decoder threads busy on shards of `shardSize` images: as
    /// many as their sub-batches need, and one more being started while the others end.
    static func capacity(threads: Int, shardSize: Int, imagesPerSubBatch: Int = ShardProcessor.decodeBatchSize) -> Int {
        let perShard = max(1, ShardProcessor.subBatches(imageCount: shardSize, size: imagesPerSubBatch).count)
        return (threads + perShard - 1) / perShard + 1
    }

    /// Adds shard `index`, waiting while `capacity` shards are held. False (dropping it) once closed.
    @discardableResult
    func push(index: Int, shard: FeatureShard) -> Bool {
        let capacity = capacity
        return lock.withLock(waitingUntil: { $0.closed || $0.entries.count < capacity }) { state in
            if state.closed { return false }
            let entry = Entry(index: index, shard: shard, imagesPerSubBatch: imagesPerSubBatch)
            guard !entry.batches.isEmpty else { return true }
            state.entries.append(entry)
            lock.broadcast()
            return true
        }
    }

    /// The next sub-batch of the oldest shard that has one left, waiting for one; nil once closed and
    /// no sub-batch is left to hand out.
    func next() -> Task? {
        lock.withLock(waitingUntil: { $0.closed || $0.entries.contains(where: \.hasBatchLeft) }) { state in
            guard let position = state.entries.firstIndex(where: \.hasBatchLeft) else { return nil }
            let number = state.entries[position].taken
            state.entries[position].taken += 1
            let entry = state.entries[position]
            return Task(index: entry.index, shard: entry.shard, number: number, images: entry.batches[number])
        }
    }

    /// Records `task`'s decoded `part`. When it was the last of its shard (and the shard was not
    /// dropped), returns all of the shard's parts in sub-batch order.
    func finish(_ task: Task, part: ShardCommit) -> [ShardCommit]? {
        lock.withLock { state in
            guard let position = state.entries.firstIndex(where: { $0.index == task.index }) else { return nil }
            state.entries[position].settled += 1
            if !state.entries[position].dropped { state.entries[position].parts[task.number] = part }
            guard state.entries[position].settled == state.entries[position].batches.count else { return nil }
            let entry = remove(at: position, from: &state)
            return entry.dropped ? nil : entry.parts.map { $0! }
        }
    }

    /// `task` is not decoded: its shard is dropped whole, and its sub-batches not yet handed out with it.
    func drop(_ task: Task) {
        lock.withLock { state in
            guard let position = state.entries.firstIndex(where: { $0.index == task.index }) else { return }
            state.entries[position].dropped = true
            state.entries[position].parts = []
            let count = state.entries[position].batches.count
            state.entries[position].settled += 1 + (count - state.entries[position].taken)
            state.entries[position].taken = count
            if state.entries[position].settled == count { remove(at: position, from: &state) }
        }
    }

    /// No more shards; the decoder threads finish those held, then `next` returns nil.
    func close() {
        lock.withLock { state in
            state.closed = true
            lock.broadcast()
        }
    }

    /// Called with the lock held: frees the shard's room and wakes a waiting reader.
    @discardableResult
    private func remove(at position: Int, from state: inout State) -> Entry {
        let entry = state.entries.remove(at: position)
        lock.broadcast()
        return entry
    }
}
