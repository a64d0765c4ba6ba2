import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `body` on a new thread of its own; `join` waits for it to end.
///
/// A plain POSIX thread with an 8 MiB stack (some platforms default to 512 KiB). Every thread that
/// nightcap starts itself is one of these.
public final class WorkerThread: Sendable {
    /// The thread until it is joined (or detached).
    private let thread: Mutex<pthread_t?>

    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, 8 << 20)
        let start = Unmanaged.passRetained(ThreadStart(name: name, body: body)).toOpaque()
        #if canImport(Glibc)
        var handle = pthread_t()
        let status = pthread_create(&handle, &attributes, { argument in
            let start = Unmanaged<ThreadStart>.fromOpaque(argument!).takeRetainedValue()
            start.run()
            return nil
        }, start)
        #else
        var handle: pthread_t?
        let status = pthread_create(&handle, &attributes, { argument in
            let start = Unmanaged<ThreadStart>.fromOpaque(argument).takeRetainedValue()
            start.run()
            return nil
        }, start)
        #endif
        precondition(status == 0, "cannot start thread \(name): error \(status)")
        thread = Mutex(handle)
    }

    /// Waits for the thread to end; later calls return at once.
    public func join() {
        guard let handle = thread.withLock({ value -> pthread_t? in
            defer { value = nil }
            return value
        }) else { return }
        pthread_join(handle, nil)
    }

    /// A thread never joined is detached, so that its resources are freed when it ends.
    deinit {
        if let handle = thread.withLock({ $0 }) { pthread_detach(handle) }
    }
}

/// What a new thread runs: it names itself, then runs the body.
private final class ThreadStart {
    let name: String
    let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }

    func run() {
        // Foundation names the POSIX thread (Glibc does not export pthread_setname_np to Swift).
        Thread.current.name = name
        body()
    }
}

/// `body` computed on a `WorkerThread` of its own; `value()` waits for it, then returns its result or
/// throws its error.
public final class BackgroundTask<Value: Sendable>: Sendable {
    private let result: ResultSlot<Value>
    private let thread: WorkerThread

    public init(name: String, _ body: @escaping @Sendable () throws -> Value) {
        let result = ResultSlot<Value>()
        self.result = result
        thread = WorkerThread(name: name) { result.set(Result { try body() }) }
    }

    /// Waits for `body` to end; its value, or its error thrown. Later calls return at once.
    public func value() throws -> Value {
        thread.join()
        return try result.get()
    }
}

/// The result of a `BackgroundTask`, written once by its thread.
private final class ResultSlot<Value: Sendable>: Sendable {
    private let stored = Mutex<Result<Value, any Error>?>(nil)

    func set(_ result: Result<Value, any Error>) { stored.withLock { $0 = result } }

    func get() throws -> Value {
        guard let result = stored.withLock({ $0 }) else { preconditionFailure("read before the thread ended") }
        return try result.get()
    }
}
