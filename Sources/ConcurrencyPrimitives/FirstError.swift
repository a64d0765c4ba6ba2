import Synchronization

/// The first error any thread hit; later ones are dropped. Safe to use from any thread.
public final class FirstError: Sendable {
    private let stored = Mutex<(any Error)?>(nil)

    public init() {}

    /// Keeps `error` unless one was recorded before.
    public func record(_ error: any Error) {
        stored.withLock { if $0 == nil { $0 = error } }
    }

    /// The first error recorded, or nil.
    public var error: (any Error)? { stored.withLock { $0 } }
}
