import Foundation
import Synchronization

/// The flag a run polls to learn that it was asked to stop. The first SIGINT or SIGTERM sets it; a
/// second one exits at once (SQLite's transactions keep every committed shard whole, and no
/// half-written shard is ever committed).
public final class InterruptFlag: Sendable {
    /// The signal received first, or 0.
    private let received = Atomic<Int32>(0)

    public init() {}

    /// Records `number`; on a second signal exits with 128 + the first signal's number.
    public func raise(_ number: Int32, exitOnSecond: Bool = true) {
        let (exchanged, first) = received.compareExchange(expected: 0, desired: number, ordering: .sequentiallyConsistent)
        if !exchanged {
            guard exitOnSecond else { return }
            FileHandle.standardError.write(Data("\nnightcap: stopped at once (second signal)\n".utf8))
            _exit(128 + first)
        }
        FileHandle.standardError.write(
            Data("\nnightcap: stopping after the shards in progress (press Ctrl-C again to stop at once)\n".utf8))
    }

    /// The first signal received, or nil.
    public var signal: Int32? {
        let value = received.load(ordering: .sequentiallyConsistent)
        return value == 0 ? nil : value
    }

    public var isRaised: Bool { signal != nil }
}

/// Routes SIGINT and SIGTERM to an `InterruptFlag` while a run is in progress.
public final class SignalTrap {
    public let flag: InterruptFlag
    private var sources: [any DispatchSourceSignal] = []

    public init(flag: InterruptFlag = InterruptFlag()) {
        self.flag = flag
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { flag.raise(number) }
            source.resume()
            sources.append(source)
        }
    }

    /// Restores the default handlers.
    public func release() {
        for source in sources { source.cancel() }
        sources.removeAll()
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    deinit { if !sources.isEmpty { release() } }
}

/// Not `Sendable`: Installed and released by the thread that runs the command.
@available(*, unavailable)
extension SignalTrap: Sendable {}
