@testable import Pipeline
@testable import RegionFeatures
import ResultStore
import Testing

/// The hand-out of sub-batches: fixed boundaries, oldest shard first, parts in image order whatever
/// order they finish in, a dropped sub-batch drops its whole shard.
@Suite struct SubBatchSchedulerTests {
    func shard(images: Int, first: Int = 0) -> FeatureShard {
        FeatureShard(
            imageIndices: Array(first..<(first + images)), imageIDs: (0..<images).map { String(first + $0) }, regionCounts: Array(repeating: 1, count: images),
            regionsPerImage: 1, dimension: 1, features: Array(repeating: 0, count: images), boxes: nil, labels: nil)
    }

    /// A part whose one caption names its sub-batch's first image.
    func part(_ task: SubBatchScheduler.Task) -> ShardCommit {
        ShardCommit(
            runID: 1, shard: task.index, firstImage: 0, numImages: task.shard.imageCount, seconds: 1,
            captions: [CaptionRecord(imageID: "\(task.images.lowerBound)", imageIndex: task.images.lowerBound, caption: "", numWords: 0, logProb: 0)])
    }

    @Test func boundariesDependOnlyOnTheShard() {
        let size = ShardProcessor.decodeBatchSize
        #expect(ShardProcessor.subBatches(imageCount: 0).isEmpty)
        #expect(ShardProcessor.subBatches(imageCount: size) == [0..<size])
        #expect(ShardProcessor.subBatches(imageCount: 2 * size + 3) == [0..<size, size..<(2 * size), (2 * size)..<(2 * size + 3)])
    }

    /// A model's own sub-batch size (the Transformer's greedy 256) cuts every shard the same way.
    @Test func aModelsSubBatchSizeCutsEveryShard() {
        #expect(ShardProcessor.subBatches(imageCount: 300, size: 256) == [0..<256, 256..<300])
        #expect(SubBatchScheduler.capacity(threads: 2, shardSize: 256, imagesPerSubBatch: 256) == 3)
        #expect(SubBatchScheduler.capacity(threads: 2, shardSize: 256) == 2)
        let scheduler = SubBatchScheduler(capacity: 1, imagesPerSubBatch: 256)
        #expect(scheduler.push(index: 0, shard: shard(images: 300)))
        scheduler.close()
        #expect([scheduler.next(), scheduler.next()].compactMap { $0?.images } == [0..<256, 256..<300])
        #expect(scheduler.next() == nil)
    }

    @Test func oldestShardFirstAndPartsInImageOrder() throws {
        let size = ShardProcessor.decodeBatchSize
        let scheduler = SubBatchScheduler(capacity: 2)
        #expect(scheduler.push(index: 0, shard: shard(images: 2 * size + 3)))
        #expect(scheduler.push(index: 1, shard: shard(images: 5, first: 1000)))
        scheduler.close()
        let tasks = (0..<4).compactMap { _ in scheduler.next() }
        #expect(tasks.map(\.index) == [0, 0, 0, 1])
        #expect(scheduler.next() == nil)
        // Finished in reverse: only the last of a shard returns its parts, in sub-batch order.
        #expect(scheduler.finish(tasks[2], part: part(tasks[2])) == nil)
        #expect(scheduler.finish(tasks[1], part: part(tasks[1])) == nil)
        let parts = try #require(scheduler.finish(tasks[0], part: part(tasks[0])))
        #expect(parts.map { $0.captions[0].imageIndex } == [0, size, 2 * size])
        let assembled = ShardProcessor.assemble(parts, shard: tasks[0].shard, index: 0, runID: 1)
        #expect(assembled.captions.map(\.imageIndex) == [0, size, 2 * size])
        #expect(assembled.seconds == 3)
        #expect(scheduler.finish(tasks[3], part: part(tasks[3]))?.count == 1)
    }

    @Test func aDroppedSubBatchDropsTheWholeShardAndFreesItsRoom() {
        let size = ShardProcessor.decodeBatchSize
        let scheduler = SubBatchScheduler(capacity: 1)
        #expect(scheduler.push(index: 0, shard: shard(images: 3 * size)))
        let first = scheduler.next()!, second = scheduler.next()!
        #expect(scheduler.finish(first, part: part(first)) == nil)
        scheduler.drop(second)
        // The third sub-batch is never handed out, and the shard's room is free for the next one.
        #expect(scheduler.push(index: 1, shard: shard(images: 1)))
        scheduler.close()
        #expect(scheduler.next()?.index == 1)
        #expect(scheduler.next() == nil)
    }
}
