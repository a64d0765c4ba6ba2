import Foundation
import Synchronization

/// Turns a memory fault inside libhdf5 into one message and exit status 1. HDF5 1.10 can
/// dereference garbage in a damaged file (scripts/fuzz finds about one such file in a hundred
/// damaged ones); nothing but the file is wrong then, and the user needs to know which input to
/// replace, not a crash dump. Only a fault while an HDF5 call is in progress on some thread (every
/// call of the `HDF5Library` funnel, and the reads `HDF5ReadWatch.during` watches) is handled this
/// way (fuzzing found faults in metadata calls too, `H5Aexists` on a damaged attribute message); any other goes to the handler that was installed
/// before (Swift's backtracer), as it would have. The process ends at once: SQLite's transactions
/// keep every committed shard, and the same command resumes.
public enum HDF5FaultGuard {
    /// HDF5 calls in progress, counted by the `HDF5Library` funnel and `HDF5ReadWatch.during`.
    static let callsInProgress = Atomic<Int>(0)

    /// Runs `body`, a call into libhdf5, counted as in progress.
    @inline(__always)
    static func insideLibrary<Result>(_ body: () -> Result) -> Result {
        callsInProgress.add(1, ordering: .relaxed)
        defer { callsInProgress.subtract(1, ordering: .relaxed) }
        return body()
    }

    // Written once by `install` before the handlers are installed, read only by the handler
    // afterwards: no concurrent writes.
    nonisolated(unsafe) private static var message: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) private static var messageLength = 0
    nonisolated(unsafe) private static var previous: [Int32: sigaction] = [:]

    /// Installs the handler for SIGSEGV and SIGBUS with `text` as the message; later calls do nothing.
    public static func install(message text: String) {
        guard message == nil else { return }
        let line = "\n" + text + "\n"
        messageLength = line.utf8.count
        message = strdup(line)
        for number in [SIGSEGV, SIGBUS] {
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { number, _, _ in HDF5FaultGuard.handle(number) }
            action.sa_flags = SA_SIGINFO | SA_ONSTACK
            sigemptyset(&action.sa_mask)
            var old = sigaction()
            sigaction(number, &action, &old)
            previous[number] = old
        }
    }

    private static func handle(_ number: Int32) {
        if callsInProgress.load(ordering: .relaxed) > 0, let message {
            _ = write(2, message, messageLength)
            _exit(1)
        }
        // Not inside HDF5: the earlier handler takes the fault when the instruction runs again.
        if var old = previous[number] {
            sigaction(number, &old, nil)
        } else {
            signal(number, SIG_DFL)
        }
    }
}
