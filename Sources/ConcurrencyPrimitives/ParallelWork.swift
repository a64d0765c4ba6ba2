import Foundation
import Synchronization

/// Data-parallel loops whose width the caller bounds.
///
/// The library modules (`CaptionMetrics`) take a `parallelism` argument and pass it here, so that
/// `nightcap run --threads N` and `nightcap score --threads N` bound every stage; nothing here reads
/// the number of cores on its own except `ParallelWork.defaultWidth`, the default of the command line.
/// Results never depend on the width: chunks are contiguous and joined in index order.
public enum ParallelWork {
    /// One thread per core: the width when the user did not choose one.
    public static var defaultWidth: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Runs `body` on contiguous chunks of `0..<count`, at most `width` at a time (and no chunk
    /// smaller than `minimumChunk` items), and concatenates the results in order.
    public static func chunks<T: Sendable>(
        _ count: Int, width: Int, minimumChunk: Int = 256, _ body: @Sendable (Range<Int>) -> [T]
    ) -> [T] {
        let workers = min(max(1, width), max(1, count / minimumChunk))
        if workers <= 1 { return body(0..<count) }
        let chunk = (count + workers - 1) / workers
        let parts = Mutex<[[T]]>(Array(repeating: [], count: workers))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let part = body((w * chunk)..<min(count, (w + 1) * chunk))
            parts.withLock { $0[w] = part }
        }
        return Array(parts.withLock { $0 }.joined())
    }

    /// `(0..<count).map(transform)` over at most `width` threads; results are in index order.
    public static func map<T: Sendable>(_ count: Int, width: Int, _ transform: @Sendable (Int) -> T) -> [T] {
        chunks(count, width: width) { $0.map(transform) }
    }

    /// Runs two independent computations, at the same time when `width` allows two threads, and
    /// returns both results.
    public static func both<A: Sendable, B: Sendable>(
        width: Int, _ a: @Sendable () -> A, _ b: @Sendable () -> B
    ) -> (A, B) {
        guard width >= 2 else { return (a(), b()) }
        let first = Mutex<A?>(nil), second = Mutex<B?>(nil)
        DispatchQueue.concurrentPerform(iterations: 2) { k in
            if k == 0 {
                let value = a()
                first.withLock { $0 = value }
            } else {
                let value = b()
                second.withLock { $0 = value }
            }
        }
        return (first.withLock { $0 }!, second.withLock { $0 }!)
    }
}
