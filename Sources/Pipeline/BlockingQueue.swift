import Foundation

/// A bounded first-in first-out queue between threads: `push` waits while the queue is full, `pop`
/// waits while it is empty, and returns nil once the queue is closed and drained.
///
/// `@unchecked Sendable`: every stored property is read and written only while `condition` is
/// locked, so no two threads touch them at once.
final class BlockingQueue<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element?] = []
    private var head = 0
    private var closed = false
    private let capacity: Int

    init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
    }

    /// Adds `item`, waiting for room. Returns false (dropping the item) when the queue was closed.
    @discardableResult
    func push(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !closed && items.count - head >= capacity { condition.wait() }
        if closed { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// The next item, waiting for one; nil when closed and empty.
    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count && !closed { condition.wait() }
        guard head < items.count else { return nil }
        let item = items[head]!
        // Drop the queue's reference now: a popped shard's features (tens of MB) must be freed when
        // its worker is done with them, not when 64 more items have gone through.
        items[head] = nil
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return item
    }

    /// No more pushes; poppers drain what is left, then get nil.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Runs `body` on a new thread; `join` waits for it.
final class WorkerThread: @unchecked Sendable {
    // `done` is a semaphore: signalled once by the thread, waited on once by `join`.
    private let done = DispatchSemaphore(value: 0)

    init(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [done] in
            body()
            done.signal()
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    func join() { done.wait() }
}
