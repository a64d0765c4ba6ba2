/// A failure reported by the HDF5 library or found while checking what a file holds.
///
/// The message names the file, the object inside it and what to do; `stack` keeps HDF5's own
/// error-stack lines (innermost last) for the cases where the library itself refused.
public struct HDF5Error: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case fileNotFound
        case notHDF5
        case libraryCall
        case missingObject
        case wrongType
        case wrongShape
        case unsupportedFilter
        case invalidArgument
    }

    public var kind: Kind
    /// The file the failure is about.
    public var file: String
    /// The object inside the file (`/features`, `/vocab@pad_token`), if any.
    public var object: String?
    /// What went wrong and, where we know it, what to do.
    public var message: String
    /// The HDF5 call that failed, if a library call failed.
    public var call: String?
    /// HDF5's own error stack, outermost first.
    public var stack: [String]

    public init(
        _ kind: Kind, file: String, object: String? = nil, message: String, call: String? = nil,
        stack: [String] = []
    ) {
        self.kind = kind
        self.file = file
        self.object = object
        self.message = message
        self.call = call
        self.stack = stack
    }

    public var description: String { "\(file)\(object == nil ? ": " : ", ")\(detail)" }

    /// The description without the file's name, for an error that names the file itself (a model
    /// file's error): "dataset /x: message (call failed: ...)", or the message alone without an object.
    public var detail: String {
        var text = object.map { "dataset \($0): " } ?? ""
        text += message
        if let call {
            let stackDetail = stack.isEmpty ? "" : ": " + stack.joined(separator: "; ")
            text += " (\(call) failed\(stackDetail))"
        }
        return text
    }
}
