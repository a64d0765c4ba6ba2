#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A monitor: state that only one thread at a time reads or writes (`withLock`), and a condition
/// variable to wait on until the state is ready (`withLock(waitingUntil:)`).
///
/// For state whose waiters wait on more than "not empty" and "not full" (those are `BlockingQueue`).
/// A change that can make a waiter's `ready` true is announced with `broadcast` (every waiter checks
/// again) or `signal` (one does), from inside or outside `withLock`; a waiter checks `ready` with the
/// lock held, before it first waits and after every wake-up, so spurious wake-ups do no harm.
///
/// `@unchecked Sendable`: `state` is read and written only while `mutex` is locked, and it is
/// `Sendable` itself; the pointers to the pthread objects never change.
public final class ConditionLock<State: Sendable>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var state: State

    public init(_ state: State) {
        self.state = state
        precondition(pthread_mutex_init(mutex, nil) == 0 && pthread_cond_init(condition, nil) == 0,
            "pthread initialisation failed")
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` on the state with the lock held.
    public func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Waits (the lock released meanwhile) until `ready` is true of the state, then runs `body` on it
    /// with the lock still held since `ready` was checked.
    public func withLock<Result>(
        waitingUntil ready: (State) -> Bool, _ body: (inout State) throws -> Result
    ) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !ready(state) { pthread_cond_wait(condition, mutex) }
        return try body(&state)
    }

    /// Wakes every waiting thread to check its `ready` again.
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }

    /// Wakes one waiting thread to check its `ready` again: only for when any one waiter can use the
    /// change and the one woken cannot be one that waits for something else.
    public func signal() {
        pthread_cond_signal(condition)
    }
}
