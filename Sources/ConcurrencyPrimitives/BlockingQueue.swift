#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bounded first-in first-out queue between threads: `push` waits while the queue is full, `pop`
/// waits while it is empty, and returns nil once the queue is closed and drained.
///
/// One mutex and two condition variables: a push wakes one waiting popper, a pop wakes one waiting
/// pusher, and only `close` wakes everyone. Items sit in a ring of `capacity` slots; a popped slot is
/// cleared at once, so a popped shard's features (tens of MB) are freed when its consumer is done with
/// them, not when the queue next moves.
///
/// `@unchecked Sendable`: every stored property except the immutable `capacity` and the pointers to
/// the pthread objects is read and written only while `mutex` is locked.
public final class BlockingQueue<Element: Sendable>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let notEmpty = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let notFull = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var slots: [Element?]
    private var head = 0
    private var count = 0
    private var closed = false
    /// The most items the queue holds at once.
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity >= 1, "a queue holds at least one item")
        self.capacity = capacity
        slots = Array(repeating: nil, count: capacity)
        precondition(pthread_mutex_init(mutex, nil) == 0 && pthread_cond_init(notEmpty, nil) == 0
            && pthread_cond_init(notFull, nil) == 0, "pthread initialisation failed")
    }

    deinit {
        pthread_cond_destroy(notFull)
        pthread_cond_destroy(notEmpty)
        pthread_mutex_destroy(mutex)
        notFull.deallocate()
        notEmpty.deallocate()
        mutex.deallocate()
    }

    /// Adds `item`, waiting for room. Returns false (dropping the item) when the queue was closed.
    @discardableResult
    public func push(_ item: Element) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !closed && count == capacity { pthread_cond_wait(notFull, mutex) }
        if closed { return false }
        slots[(head + count) % capacity] = item
        count += 1
        pthread_cond_signal(notEmpty)
        return true
    }

    /// The next item, waiting for one; nil when closed and empty.
    public func pop() -> Element? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while count == 0 && !closed { pthread_cond_wait(notEmpty, mutex) }
        guard count > 0 else { return nil }
        let item = slots[head]
        slots[head] = nil
        head = (head + 1) % capacity
        count -= 1
        pthread_cond_signal(notFull)
        return item
    }

    /// No more pushes; poppers drain what is left, then get nil. Waiting pushers return false.
    public func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(notEmpty)
        pthread_cond_broadcast(notFull)
        pthread_mutex_unlock(mutex)
    }
}
