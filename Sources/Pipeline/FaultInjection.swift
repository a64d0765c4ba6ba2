#if NIGHTCAP_FAULT_INJECTION
import Foundation

/// Crash and signal simulation for the resume tests, so that they stop a run at an exact point:
/// with `NIGHTCAP_FAULT_KILL_AFTER_COMMITS=N` in the environment the process sends itself SIGKILL
/// right after its N-th shard commit, exactly as a pre-empted node dies; with
/// `NIGHTCAP_FAULT_INTERRUPT_AFTER_COMMITS=N` it sends itself SIGINT (or the signal number in
/// `NIGHTCAP_FAULT_INTERRUPT_SIGNAL`) there, through the same handler as a user's Ctrl-C, and with
/// `NIGHTCAP_FAULT_INTERRUPT_TWICE=1` a second one.
/// Nothing else reads these variables, and only debug builds compile this (Package.swift defines
/// `NIGHTCAP_FAULT_INJECTION` for them): a release binary has no way to kill itself on request.
enum FaultInjection {
    private static let environment = ProcessInfo.processInfo.environment
    static let killAfterCommits: Int? = environment["NIGHTCAP_FAULT_KILL_AFTER_COMMITS"].flatMap { Int($0) }
    static let interruptAfterCommits: Int? = environment["NIGHTCAP_FAULT_INTERRUPT_AFTER_COMMITS"].flatMap { Int($0) }
    static let interruptSignal: Int32 = environment["NIGHTCAP_FAULT_INTERRUPT_SIGNAL"].flatMap { Int32($0) } ?? SIGINT
    /// With `NIGHTCAP_FAULT_INTERRUPT_TWICE=1` the signal is sent a second time once the first was
    /// handled: a user pressing Ctrl-C twice.
    static let interruptTwice = environment["NIGHTCAP_FAULT_INTERRUPT_TWICE"] == "1"

    /// Called by the writer after its `commits`-th commit: dies or signals when the environment
    /// asks for it at this commit, else returns at once. `handled` tells when the signal was seen.
    static func afterCommit(_ commits: Int, handled: () -> Bool) {
        if commits == killAfterCommits { die() }
        if commits == interruptAfterCommits { signal(until: handled) }
    }

    /// Sends the signal and waits (up to 5 s) until its handler has run, so the stop point is exact.
    static func signal(until handled: () -> Bool) {
        kill(getpid(), interruptSignal)
        for _ in 0..<5000 where !handled() { usleep(1000) }
        if interruptTwice {
            kill(getpid(), interruptSignal)
            // The handler exits the process; wait for it rather than commit anything more.
            while true { pause() }
        }
    }

    static func die() -> Never {
        kill(getpid(), SIGKILL)
        while true { pause() }
    }
}
#endif
