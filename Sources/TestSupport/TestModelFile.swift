import HDF5

/// SplitMix64: a small seeded generator, so that test models and features are the same on every run.
public struct SeededGenerator: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func floats(_ count: Int, scale: Float) -> [Float] {
        (0..<count).map { _ in Float.random(in: -scale...scale, using: &self) }
    }
}

/// The content of a model file (schemas/model-format.md), editable before it is written, so that
/// tests can make good and bad files.
public struct TestModelFile {
    public var tensors: [String: (values: [Float], shape: [Int])] = [:]
    public var vocabulary: [String]
    public var attributes: [String: HDF5AttributeValue]
    public var storage: HDF5StorageType = .float32

    /// A random model with the given sizes; weights uniform in ±`scale`. Tokens: pad 0, start 1,
    /// end 2, unk 3, then `w4`, `w5`, ...
    public init(
        V: Int = 12, E: Int = 5, D: Int = 7, H: Int = 6, A: Int = 4, activation: String? = "tanh", gate: Bool = true,
        seed: UInt64 = 1, scale: Float = 0.5
    ) {
        var random = SeededGenerator(seed: seed)
        let shapes: [(String, [Int])] = [
            ("embedding.weight", [V, E]),
            ("attention.image_proj.weight", [A, D]), ("attention.image_proj.bias", [A]),
            ("attention.text_proj.weight", [A, H]), ("attention.text_proj.bias", [A]),
            ("attention.attn_weight.weight", [1, A]), ("attention.attn_weight.bias", [1]),
            ("init_h.weight", [H, D]), ("init_h.bias", [H]), ("init_c.weight", [H, D]), ("init_c.bias", [H]),
            ("f_beta.weight", [D, H]), ("f_beta.bias", [D]),
            ("lstm.weight_ih", [4 * H, E + D]), ("lstm.weight_hh", [4 * H, H]),
            ("lstm.bias_ih", [4 * H]), ("lstm.bias_hh", [4 * H]),
            ("fc.weight", [V, H]), ("fc.bias", [V]),
        ]
        for (name, shape) in shapes where gate || !name.hasPrefix("f_beta") {
            tensors[name] = (random.floats(shape.reduce(1, *), scale: scale), shape)
        }
        vocabulary = ["<pad>", "<start>", "<end>", "<unk>"] + (4..<max(V, 4)).map { "w\($0)" }
        vocabulary = Array(vocabulary.prefix(V))
        attributes = [
            "model_type": .string("show-attend-tell"), "format_version": .integer(1),
            "pad_token": .integer(0), "start_token": .integer(1), "end_token": .integer(2), "unk_token": .integer(3),
        ]
        if let activation { attributes["attention_activation"] = .string(activation) }
    }

    public func write(to path: String) throws {
        let file = try HDF5File.create(path)
        let root = try file.root
        for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) {
            try root.writeFloats(name, tensor.values, shape: tensor.shape, as: storage)
        }
        try root.writeStrings("vocab", vocabulary)
        for (name, value) in attributes.sorted(by: { $0.key < $1.key }) {
            try root.setAttribute(name, value)
        }
        try file.flush()
    }
}
