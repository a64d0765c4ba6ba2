/// A model file that nightcap cannot use, found while loading it (before any decoding starts).
///
/// The message names the file, the dataset or attribute at fault, what was expected and what to do.
public struct ModelFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The file cannot be opened or read as HDF5.
        case unreadable
        /// `model_type` is absent or not `show-attend-tell`.
        case wrongModelType
        /// `format_version` is absent or not 1.
        case unsupportedFormatVersion
        case missingTensor
        case wrongShape
        /// A tensor is not stored as float16 or float32, or `vocab` is not a string dataset.
        case wrongElementType
        /// `vocab` does not hold one word per row of `fc.weight`.
        case vocabularyMismatch
        case missingAttribute
        case invalidAttribute
        /// A special token id lies outside the vocabulary.
        case tokenOutOfRange
        /// A weight is NaN or infinite.
        case nonFiniteWeight
        /// A features file's region dimension differs from the model's.
        case featureDimensionMismatch
    }

    public var kind: Kind
    /// The model file.
    public var file: String
    /// The dataset or attribute (`/fc.weight`, `/@end_token`) at fault, if any.
    public var object: String?
    /// What went wrong and what to do.
    public var message: String

    public init(_ kind: Kind, file: String, object: String? = nil, message: String) {
        self.kind = kind
        self.file = file
        self.object = object
        self.message = message
    }

    public var description: String { "model file \(file): \(message)" }
}
