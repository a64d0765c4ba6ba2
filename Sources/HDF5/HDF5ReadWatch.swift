import ConcurrencyPrimitives
import Foundation
import Synchronization

/// Watches the HDF5 calls that read a file, so that one that never returns does not hang the
/// process for ever: HDF5 1.10 can loop without end inside a damaged file (seen in fuzzing: the
/// vocabulary strings of a model file, `H5HG_read` under `H5T__conv_vlen`). A C call cannot be
/// cancelled, so after `timeout` seconds without the call returning, `onStuck` is called on the
/// watch thread with the file and object; the caller reports it and ends the process (SQLite's
/// transactions keep every committed shard).
///
/// Off until `start` is called: then every watched call costs one lock round trip.
public enum HDF5ReadWatch {
    struct Read {
        var file: String
        var object: String?
        var started: UInt64
        var reported = false
    }

    struct State {
        var timeout: UInt64 = 0
        var onStuck: (@Sendable (String, String?, Double) -> Void)?
        var reads: [Int: Read] = [:]
        var next = 0
        var watching = false
    }

    private static let state = Mutex(State())
    private static let enabled = Atomic<Bool>(false)

    /// Reports a watched call still running after `timeout` seconds to `onStuck(file, object,
    /// seconds)`, once per call, from a thread of its own.
    public static func start(timeout: Double, onStuck: @escaping @Sendable (String, String?, Double) -> Void) {
        precondition(timeout > 0)
        let startThread = state.withLock { state -> Bool in
            state.timeout = UInt64(timeout * 1e9)
            state.onStuck = onStuck
            defer { state.watching = true }
            return !state.watching
        }
        enabled.store(true, ordering: .sequentiallyConsistent)
        if startThread {
            // Never joined: released at once, it is detached and runs for the life of the process.
            _ = WorkerThread(name: "nightcap-read-watch") { watch() }
        }
    }

    /// Stops reporting (the watch thread stays, idle).
    public static func stop() {
        enabled.store(false, ordering: .sequentiallyConsistent)
        state.withLock { $0.onStuck = nil }
    }

    /// Runs `body`, an HDF5 call reading `file` (`object` inside it), under the watch. `data` marks
    /// the calls that read a dataset's values (`H5Dread`, `H5Dread_chunk`), as opposed to opening
    /// objects and reading metadata.
    static func during<T>(file: String, object: String?, data: Bool = false, _ body: () -> T) -> T {
        #if NIGHTCAP_FAULT_INJECTION
            if data { DebugReadHook.misbehaveIfAsked(file: file, object: object) }
        #endif
        return HDF5FaultGuard.insideLibrary { watched(file: file, object: object, body) }
    }

    private static func watched<T>(file: String, object: String?, _ body: () -> T) -> T {
        guard enabled.load(ordering: .relaxed) else { return body() }
        let token = state.withLock { state -> Int in
            state.next += 1
            state.reads[state.next] = Read(file: file, object: object, started: DispatchTime.now().uptimeNanoseconds)
            return state.next
        }
        defer { _ = state.withLock { $0.reads.removeValue(forKey: token) } }
        return body()
    }

    private static func watch() {
        while true {
            usleep(50_000)
            guard enabled.load(ordering: .relaxed) else { continue }
            let now = DispatchTime.now().uptimeNanoseconds
            let stuck = state.withLock { state -> (Read, @Sendable (String, String?, Double) -> Void)? in
                guard let onStuck = state.onStuck else { return nil }
                for (token, read) in state.reads.sorted(by: { $0.key < $1.key })
                // A read registered after `now` was taken has started later than it.
                where !read.reported && now > read.started && now - read.started >= state.timeout {
                    state.reads[token]?.reported = true
                    return (read, onStuck)
                }
                return nil
            }
            if let (read, onStuck) = stuck {
                onStuck(read.file, read.object, Double(now - read.started) / 1e9)  // now > started, checked above
            }
        }
    }
}

#if NIGHTCAP_FAULT_INJECTION
    /// Debug builds only (`NIGHTCAP_FAULT_INJECTION`, as Pipeline's `FaultInjection`): hooks that
    /// make the N-th (default first) data read of a dataset whose path ends with SUFFIX misbehave
    /// as a read inside libhdf5 can, so that tests can check what nightcap does then. `NIGHTCAP_DEBUG_STUCK_READ=SUFFIX[@N]`: the read never returns (for the
    /// signals and `--read-timeout`); `NIGHTCAP_DEBUG_FAULTING_READ=SUFFIX[@N]`: the read faults
    /// (SIGSEGV) inside the watched call (for `HDF5FaultGuard`).
    final class DebugReadHook: Sendable {
        static let stuck = DebugReadHook(variable: "NIGHTCAP_DEBUG_STUCK_READ")
        static let faulting = DebugReadHook(variable: "NIGHTCAP_DEBUG_FAULTING_READ")

        let suffix: String?
        let occurrence: Int
        let seen = Atomic<Int>(0)

        init(variable: String) {
            let value = ProcessInfo.processInfo.environment[variable] ?? ""
            let parts = value.split(separator: "@", maxSplits: 1)
            suffix = parts.first.map(String.init)
            occurrence = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        }

        /// True on the requested read of a matching dataset.
        func fires(object: String?) -> Bool {
            guard let suffix, let object, object.hasSuffix(suffix) else { return false }
            return seen.add(1, ordering: .sequentiallyConsistent).newValue == occurrence
        }

        static func misbehaveIfAsked(file: String, object: String?) {
            // Registered like a real call, so that the watch and the fault guard see it.
            if stuck.fires(object: object) {
                HDF5ReadWatch.during(file: file, object: object) { () -> Void in
                    while true { sleep(1) }
                }
            }
            if faulting.fires(object: object) {
                HDF5ReadWatch.during(file: file, object: object) { () -> Void in _ = raise(SIGSEGV) }
            }
        }
    }
#endif
