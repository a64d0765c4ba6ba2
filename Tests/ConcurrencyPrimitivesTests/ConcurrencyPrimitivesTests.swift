import ConcurrencyPrimitives
import Synchronization
import Testing

/// The bounded queue between the pipeline's threads: order, bounds, close, and no lost or
/// duplicated item under contention.
@Suite(.timeLimit(.minutes(1))) struct BlockingQueueTests {
    @Test func popsInPushOrder() {
        let queue = BlockingQueue<Int>(capacity: 3)
        for value in 1...3 { #expect(queue.push(value)) }
        #expect(queue.pop() == 1)
        #expect(queue.push(4))
        #expect([queue.pop(), queue.pop(), queue.pop()] == [2, 3, 4])
    }

    @Test func closedQueueDrainsThenReturnsNil() {
        let queue = BlockingQueue<String>(capacity: 2)
        queue.push("a")
        queue.push("b")
        queue.close()
        #expect(queue.push("c") == false)
        #expect(queue.pop() == "a")
        #expect(queue.pop() == "b")
        #expect(queue.pop() == nil)
        #expect(queue.pop() == nil)
    }

    @Test func pushWaitsForRoomAndCloseReleasesIt() {
        let queue = BlockingQueue<Int>(capacity: 1)
        queue.push(1)
        let secondPushed = Atomic<Bool>(false)
        let pusher = WorkerThread(name: "test-pusher") {
            let accepted = queue.push(2)
            secondPushed.store(accepted, ordering: .sequentiallyConsistent)
        }
        // The pusher is blocked on the full queue until an item leaves.
        #expect(queue.pop() == 1)
        pusher.join()
        let accepted = secondPushed.load(ordering: .sequentiallyConsistent)
        #expect(accepted)
        #expect(queue.pop() == 2)

        queue.push(3)
        let blocked = WorkerThread(name: "test-blocked") {
            let accepted = queue.push(4)
            secondPushed.store(accepted, ordering: .sequentiallyConsistent)
        }
        queue.close()
        blocked.join()
        let lateAccepted = secondPushed.load(ordering: .sequentiallyConsistent)
        #expect(!lateAccepted)
        // A pusher waiting when the queue closes gets false; what was queued is still drained.
        #expect(queue.pop() == 3)
        #expect(queue.pop() == nil)
    }

    @Test func popWaitsForAnItem() {
        let queue = BlockingQueue<Int>(capacity: 4)
        let popped = Mutex<[Int]>([])
        let consumer = WorkerThread(name: "test-consumer") {
            while let value = queue.pop() { popped.withLock { $0.append(value) } }
        }
        for value in 0..<10 { queue.push(value) }
        queue.close()
        consumer.join()
        let values = popped.withLock { $0 }
        #expect(values == Array(0..<10))
    }

    @Test func manyProducersAndConsumersLoseNothing() {
        let queue = BlockingQueue<Int>(capacity: 2)
        let received = Mutex<[Int]>([])
        let consumers = (0..<3).map { number in
            WorkerThread(name: "test-consumer-\(number)") {
                while let value = queue.pop() { received.withLock { $0.append(value) } }
            }
        }
        let producers = (0..<4).map { producer in
            WorkerThread(name: "test-producer-\(producer)") {
                for value in 0..<500 { queue.push(producer * 1000 + value) }
            }
        }
        for thread in producers { thread.join() }
        queue.close()
        for thread in consumers { thread.join() }
        let expected = (0..<4).flatMap { producer in (0..<500).map { producer * 1000 + $0 } }
        let values = received.withLock { $0 }
        #expect(values.sorted() == expected)
    }

    @Test func poppedItemsAreReleasedAtOnce() {
        final class Payload: Sendable {}
        let queue = BlockingQueue<Payload>(capacity: 2)
        weak var watched: Payload?
        do {
            let payload = Payload()
            watched = payload
            queue.push(payload)
            _ = queue.pop()
        }
        // The queue keeps no reference to an item it handed out.
        #expect(watched == nil)
    }
}

@Suite(.timeLimit(.minutes(1))) struct WorkerThreadTests {
    @Test func backgroundTaskReturnsItsValueOrThrowsItsError() throws {
        struct Failure: Error, Equatable {}
        let value = BackgroundTask(name: "test-value") { 6 * 7 }
        let failing = BackgroundTask<Int>(name: "test-error") { throw Failure() }
        #expect(try value.value() == 42)
        #expect(try value.value() == 42)
        #expect(throws: Failure.self) { try failing.value() }
    }

    @Test func joinWaitsForTheBody() {
        let done = Atomic<Int>(0)
        let thread = WorkerThread(name: "test-join") {
            for _ in 0..<1000 { done.add(1, ordering: .relaxed) }
        }
        thread.join()
        thread.join()
        let counted = done.load(ordering: .relaxed)
        #expect(counted == 1000)
    }

    @Test func firstErrorKeepsTheFirst() {
        struct Numbered: Error { var number: Int }
        let first = FirstError()
        #expect(first.error == nil)
        first.record(Numbered(number: 1))
        first.record(Numbered(number: 2))
        #expect((first.error as? Numbered)?.number == 1)
    }
}

@Suite struct ParallelWorkTests {
    @Test(arguments: [1, 2, 3, 8])
    func chunksJoinInOrderWhateverTheWidth(width: Int) {
        let values = ParallelWork.chunks(10_000, width: width) { range in range.map { $0 * 3 } }
        #expect(values == (0..<10_000).map { $0 * 3 })
    }

    @Test(arguments: [(1, 4096, 1), (3, 4096, 3), (8, 4096, 8), (8, 40, 2), (4, 48, 3), (3, 15, 1)])
    func widthBoundsTheChunks(width: Int, count: Int, expectedChunks: Int) {
        let chunks = Atomic<Int>(0)
        let values = ParallelWork.chunks(count, width: width, minimumChunk: 16) { range -> [Int] in
            chunks.add(1, ordering: .relaxed)
            return Array(range)
        }
        // Never more chunks (and so never more threads at work) than `width`.
        let made = chunks.load(ordering: .relaxed)
        #expect(made == expectedChunks)
        #expect(values == Array(0..<count))
    }

    @Test func oneThreadRunsInline() {
        let values = ParallelWork.map(600, width: 1) { $0 + 1 }
        #expect(values == Array(1...600))
        let (a, b) = ParallelWork.both(width: 1, { "a" }, { 2 })
        #expect(a == "a" && b == 2)
    }

    @Test func bothReturnsBoth() {
        let (a, b) = ParallelWork.both(width: 2, { (0..<1000).reduce(0, +) }, { "done" })
        #expect(a == 499_500 && b == "done")
    }
}
