/// A tensor read from a checkpoint, converted to `Float` (from float32, float16, bfloat16 or
/// float64), its values in row-major order of `shape` (a 0-d tensor has shape `[]` and one value).
public struct CheckpointTensor: Sendable, Equatable {
    public let shape: [Int]
    public let values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "a tensor holds the product of its shape's values")
        self.shape = shape
        self.values = values
    }
}

/// The named tensors of a model checkpoint: a PyTorch state dict (wrappers and `module.` prefixes
/// already removed) or a safetensors file.
public struct StateDict: Sendable {
    public var tensors: [String: CheckpointTensor]

    public init(tensors: [String: CheckpointTensor]) {
        self.tensors = tensors
    }
}

/// One training option of self-critical.pytorch's `infos['opt']` (an `argparse.Namespace`),
/// reduced to the values options take.
public enum TrainingOption: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// A list, a dict or any object the options reader does not need.
    case other(String)
}

/// What self-critical.pytorch's infos file says about a model: its training options and its
/// vocabulary (`infos['vocab']`, keys `"1"...` mapped to words; index 0 is the end/pad token).
public struct TrainingInfos: Sendable {
    /// Where the infos came from (a path), for messages.
    public var source: String
    public var options: [String: TrainingOption]
    /// Word of each vocabulary index `1...V`.
    public var vocabulary: [Int: String]

    public init(source: String, options: [String: TrainingOption], vocabulary: [Int: String]) {
        self.source = source
        self.options = options
        self.vocabulary = vocabulary
    }
}
