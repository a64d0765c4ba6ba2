import ConcurrencyPrimitives
import Testing

/// The monitor under `SubBatchScheduler`: state changed only under the lock, waiting until the state
/// is ready, and both ways of waking a waiter. A waiter that is never woken fails by the time limit
/// (generous: on a loaded 2-core machine a test may wait minutes for a thread of the test pool).
@Suite struct ConditionLockTests {
    private struct Counter: Sendable {
        var value = 0
    }

    @Test func withLockChangesTheStateAndReturnsTheResult() {
        let lock = ConditionLock(Counter())
        let before = lock.withLock { state -> Int in
            defer { state.value += 5 }
            return state.value
        }
        #expect(before == 0)
        #expect(lock.withLock { $0.value } == 5)
    }

    @Test func withLockRethrowsAndKeepsTheChangeMadeBefore() {
        struct Stop: Error {}
        let lock = ConditionLock(Counter())
        #expect(throws: Stop.self) {
            try lock.withLock { state in
                state.value = 1
                throw Stop()
            }
        }
        // The lock was released on the throw: this would deadlock otherwise.
        #expect(lock.withLock { $0.value } == 1)
    }

    @Test(.timeLimit(.minutes(10))) func readyStateDoesNotWait() {
        let lock = ConditionLock(Counter(value: 3))
        let seen = lock.withLock(waitingUntil: { $0.value == 3 }) { $0.value }
        #expect(seen == 3)
    }

    @Test(.timeLimit(.minutes(10))) func broadcastReleasesAWaiterOnlyWhenReady() {
        struct Gate: Sendable {
            var value = 0
            var open = false
            var seen: Int?
        }
        let lock = ConditionLock(Gate())
        let waiter = WorkerThread(name: "test-waiter") {
            lock.withLock(waitingUntil: { $0.open }) { $0.seen = $0.value }
        }
        // Wake-ups while the gate is shut must not let the waiter through.
        for value in 1...3 {
            lock.withLock { $0.value = value }
            lock.broadcast()
        }
        lock.withLock { state in
            state.value = 42
            state.open = true
        }
        lock.broadcast()
        waiter.join()
        #expect(lock.withLock { $0.seen } == 42)
    }

    @Test(.timeLimit(.minutes(10))) func signalWakesAWaiter() {
        let lock = ConditionLock(Counter())
        let waiter = WorkerThread(name: "test-waiter") {
            lock.withLock(waitingUntil: { $0.value > 0 }) { $0.value *= 10 }
        }
        lock.withLock { $0.value = 4 }
        lock.signal()
        waiter.join()
        #expect(lock.withLock { $0.value } == 40)
    }

    /// Two threads take turns through the state alone: the log alternates whatever the scheduling.
    @Test(.timeLimit(.minutes(10))) func waitersTakeTurnsInStateOrder() {
        struct Turns: Sendable {
            var turn = 0
            var log: [Int] = []
        }
        let rounds = 200
        let lock = ConditionLock(Turns())
        let players = (0..<2).map { player in
            WorkerThread(name: "test-player-\(player)") {
                for _ in 0..<rounds {
                    lock.withLock(waitingUntil: { $0.turn % 2 == player }) { state in
                        state.log.append(player)
                        state.turn += 1
                    }
                    lock.broadcast()
                }
            }
        }
        for player in players { player.join() }
        let log = lock.withLock { $0.log }
        #expect(log == (0..<(2 * rounds)).map { $0 % 2 })
    }

    @Test func manyThreadsLoseNoIncrement() {
        let lock = ConditionLock(Counter())
        let threads = (0..<4).map { number in
            WorkerThread(name: "test-adder-\(number)") {
                for _ in 0..<1000 { lock.withLock { $0.value += 1 } }
            }
        }
        for thread in threads { thread.join() }
        #expect(lock.withLock { $0.value } == 4000)
    }
}
