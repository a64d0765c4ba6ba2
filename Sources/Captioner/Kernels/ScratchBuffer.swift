/// A growable buffer of plain values owned by one decoder (a search or a family's stepper).
///
/// The decoder's hot loops work on raw pointers into several buffers at once; holding them as
/// owned allocations (freed in `deinit`) avoids nesting a `withUnsafe...` closure per buffer and
/// Swift array uniqueness checks on every step. The pointer never leaves the decoder: its owner
/// is not `Sendable` and its buffers are private.
final class ScratchBuffer<Element: BitwiseCopyable> {
    private(set) var pointer: UnsafeMutablePointer<Element>
    private(set) var capacity: Int
    private let zero: Element

    init(zero: Element) {
        self.zero = zero
        capacity = 0
        pointer = UnsafeMutablePointer<Element>.allocate(capacity: 1)
    }

    /// Makes room for `count` elements; the contents are unspecified afterwards when it grows.
    func reserve(_ count: Int) {
        guard count > capacity else { return }
        pointer.deallocate()
        pointer = UnsafeMutablePointer<Element>.allocate(capacity: count)
        pointer.initialize(repeating: zero, count: count)
        capacity = count
    }

    subscript(index: Int) -> Element {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    deinit { pointer.deallocate() }
}

/// Not `Sendable`: A buffer belongs to the one decoder that owns it.
@available(*, unavailable)
extension ScratchBuffer: Sendable {}
