/// A checkpoint, infos or id-map file that nightcap cannot read, found while loading it.
///
/// The message names the file, the entry or key at fault, what was found and what to do.
public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The file cannot be opened or read.
        case unreadable
        /// The content is none of the formats nightcap reads.
        case unknownFormat
        /// A TorchScript archive (`torch.jit.save`), which holds code rather than a state dict.
        case torchScript
        /// A zip archive that is truncated, corrupt or uses a feature torch never writes.
        case corruptArchive
        /// A pickle that is truncated, corrupt or malformed.
        case corruptPickle
        /// A tensor needs a global that is not on the allow-list (a quantized or sparse tensor, a
        /// storage type nightcap does not read).
        case globalNotAllowed
        /// A tensor's shape, strides or storage do not fit together, or its storage is missing.
        case badTensor
        /// The pickle holds no state dict where one was expected.
        case noStateDict
        /// An infos file without `vocab` or `opt`, or with them in a shape nightcap does not know.
        case badInfos
        /// An image-id map that is not `{image_id: row}`.
        case badIDMap
    }

    public var kind: Kind
    /// The file at fault.
    public var file: String
    /// The archive entry, tensor name or key at fault, if any.
    public var object: String?
    /// What went wrong and what to do.
    public var message: String

    public init(_ kind: Kind, file: String, object: String? = nil, message: String) {
        self.kind = kind
        self.file = file
        self.object = object
        self.message = message
    }

    public var description: String {
        if let object { return "\(file): \(object): \(message)" }
        return "\(file): \(message)"
    }
}
