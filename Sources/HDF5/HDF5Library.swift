import CHDF5

/// The one funnel through which the wrapper reaches the C library: it turns negative results into
/// `HDF5Error`s carrying HDF5's own error stack.
enum HDF5Library {
    /// Opens the library and silences HDF5's automatic printing of error stacks to stderr on the
    /// calling thread; errors are read with `errorStack()` and reported through `HDF5Error` instead.
    /// Called at every entry point, since threads other than the first may call in.
    static func ensureInitialized() {
        _ = H5open()
        nc_silence_errors_on_this_thread()
    }

    /// HDF5's current error stack as readable lines, outermost first.
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
        withExtendedLifetime(collector) {
            _ = H5Ewalk2(nc_H5E_DEFAULT(), H5E_WALK_DOWNWARD, walker, Unmanaged.passUnretained(collector).toOpaque())
        }
        _ = H5Eclear2(nc_H5E_DEFAULT())
        // HDF5 lists the innermost failure first when walking downward from the API call; keep at
        // most a few lines, the API call and the innermost causes are what help.
        var lines = collector.lines
        if lines.count > 4 { lines = [lines[0]] + lines.suffix(3) }
        return lines
    }

    /// Returns `id` when it is a valid identifier, throws with the error stack otherwise.
    @discardableResult
    static func check(_ id: hid_t, _ call: String, file: String, object: String? = nil, message: String? = nil) throws -> hid_t {
        if id < 0 {
            let stack = errorStack()
            throw HDF5Error(
                .libraryCall, file: file, object: object, message: message ?? "the HDF5 library refused the operation",
                call: call, stack: stack)
        }
        return id
    }

    static func check(_ status: herr_t, _ call: String, file: String, object: String? = nil, message: String? = nil) throws {
        if status < 0 {
            let stack = errorStack()
            throw HDF5Error(
                .libraryCall, file: file, object: object, message: message ?? "the HDF5 library refused the operation",
                call: call, stack: stack)
        }
    }
}

/// Owns one HDF5 identifier and closes it when released.
final class HDF5Handle {
    let id: hid_t
    private let closer: (hid_t) -> herr_t

    init(_ id: hid_t, closer: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.closer = closer
    }

    deinit { _ = closer(id) }
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
