import CHDF5

/// The one funnel through which the wrapper reaches the C library, as swift-system's `valueOrErrno`:
/// every H5* call of the module runs through `call` (a failure is an error), `open` (an identifier
/// that an `HDF5Handle` then owns) or `query` (a question whose failure only means "no"). Each makes
/// sure the library is initialised and silent on the calling thread first, and turns a failure into
/// an `HDF5Error` carrying HDF5's own error stack, or clears that stack.
enum HDF5Library {
    /// Opens the library and silences HDF5's automatic printing of error stacks to stderr on the
    /// calling thread; errors are read with `errorStack()` and reported through `HDF5Error` instead.
    /// Every funnel entry calls it, since threads other than the first may call in.
    static func ensureInitialized() {
        // H5open fails only when the library itself cannot start; nothing after it could work.
        precondition(H5open() >= 0, "the HDF5 library failed to initialise")
        nc_silence_errors_on_this_thread()
    }

    /// Runs one C call whose result `failed` says is a failure, and throws the error (with HDF5's
    /// error stack) when it is. `kind` and `message` describe the failure to the user.
    @discardableResult
    static func call<Result>(
        _ function: String, file: String, object: String? = nil, kind: HDF5Error.Kind = .libraryCall, message: String? = nil,
        failed: (Result) -> Bool, _ body: () -> Result
    ) throws -> Result {
        ensureInitialized()
        let result = HDF5FaultGuard.insideLibrary(body)
        if failed(result) {
            let stack = errorStack()
            throw HDF5Error(
                kind, file: file, object: object, message: message ?? "the HDF5 library refused the operation",
                call: function, stack: stack)
        }
        return result
    }

    /// `call` for the C functions that report failure with a negative number (`herr_t`, `htri_t`,
    /// `hid_t`, `ssize_t`, `int`).
    @discardableResult
    static func call<Result: BinaryInteger>(
        _ function: String, file: String, object: String? = nil, kind: HDF5Error.Kind = .libraryCall, message: String? = nil,
        _ body: () -> Result
    ) throws -> Result {
        try call(function, file: file, object: object, kind: kind, message: message, failed: { $0 < 0 }, body)
    }

    /// Runs a C call that creates an identifier and hands it to an `HDF5Handle`, which closes it with
    /// `closer` when released: the only way an identifier is owned.
    static func open(
        _ function: String, file: String, object: String? = nil, kind: HDF5Error.Kind = .libraryCall, message: String? = nil,
        closer: @escaping (hid_t) -> herr_t, _ body: () -> hid_t
    ) throws -> HDF5Handle {
        HDF5Handle(try call(function, file: file, object: object, kind: kind, message: message, body), closer: closer)
    }

    /// Runs a C call whose failure is an answer rather than an error (does this link exist, is this
    /// filter available, is this chunk stored whole): nil on failure, with HDF5's error stack cleared
    /// so that it cannot leak into the next error's message.
    static func query<Result>(failed: (Result) -> Bool, _ body: () -> Result) -> Result? {
        ensureInitialized()
        let result = HDF5FaultGuard.insideLibrary(body)
        if failed(result) {
            clearErrorStack()
            return nil
        }
        return result
    }

    /// `query` for the C functions that report failure with a negative number.
    static func query<Result: BinaryInteger>(_ body: () -> Result) -> Result? {
        query(failed: { $0 < 0 }, body)
    }

    /// HDF5's current error stack as readable lines, outermost first; the stack is cleared.
    static func errorStack() -> [String] {
        final class Collector { var lines: [String] = [] }
        let collector = Collector()
        let walker: H5E_walk2_t = { _, descriptor, context in
            guard let descriptor, let context else { return 0 }
            let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
            let function = descriptor.pointee.func_name.map { String(cString: $0) } ?? "?"
            let text = descriptor.pointee.desc.map { String(cString: $0) } ?? ""
            var minor = ""
            var buffer = [CChar](repeating: 0, count: 256)
            if H5Eget_msg(descriptor.pointee.min_num, nil, &buffer, buffer.count) > 0 {
                minor = String(hdf5Buffer: buffer)
            }
            var line = "\(function): \(text)"
            if !minor.isEmpty && minor != text { line += " (\(minor))" }
            collector.lines.append(line)
            return 0
        }
        // Reading the stack is the error path itself: a walk that fails leaves fewer lines, and the
        // message stays what the caller says.
        let walked = withExtendedLifetime(collector) {
            H5Ewalk2(nc_H5E_DEFAULT(), H5E_WALK_DOWNWARD, walker, Unmanaged.passUnretained(collector).toOpaque())
        }
        clearErrorStack()
        // HDF5 lists the innermost failure first when walking downward from the API call; keep at
        // most a few lines, the API call and the innermost causes are what help.
        var lines = walked < 0 ? [] : collector.lines
        if lines.count > 4 { lines = [lines[0]] + lines.suffix(3) }
        return lines
    }

    /// Empties HDF5's error stack of the calling thread.
    static func clearErrorStack() {
        // Clearing the default stack cannot fail in a running library; there is nothing to report.
        let status = H5Eclear2(nc_H5E_DEFAULT())
        assert(status >= 0, "H5Eclear2 failed")
    }
}

/// Owns one HDF5 identifier and closes it when released: the only owner of identifiers in the module
/// (`HDF5Library.open` makes them). A close in `deinit` cannot report a failure (there is no caller
/// left to tell); HDF5 records it on the thread's error stack, which the next checked call clears.
/// Files being written are flushed explicitly (`HDF5File.flush`), so no written data depends on it.
final class HDF5Handle {
    let id: hid_t
    private let closer: (hid_t) -> herr_t

    init(_ id: hid_t, closer: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.closer = closer
    }

    deinit {
        let status = closer(id)
        if status < 0 { HDF5Library.clearErrorStack() }
    }
}

extension String {
    /// The text of a NUL-terminated C buffer filled by an HDF5 call.
    init(hdf5Buffer buffer: [CChar]) {
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Not `Sendable`: A handle belongs to the thread of the file it came from.
@available(*, unavailable)
extension HDF5Handle: Sendable {}
