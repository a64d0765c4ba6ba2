/// What `nightcap inspect model.h5` shows about a model file.
public struct ModelDescription: Sendable, Equatable, CustomStringConvertible {
    public struct Token: Sendable, Equatable {
        public var role: String
        public var id: Int
        public var word: String
    }

    public var file: String
    public var sizes: ModelSizes
    public var activation: AttentionActivation
    /// Whether the model has `f_beta`, the sigmoid gate on the attention context.
    public var hasContextGate: Bool
    /// `float32`, `float16`, or both.
    public var storedTypes: [String]
    public var vocabularySize: Int
    public var parameterCount: Int
    public var specialTokens: [Token]

    public var description: String {
        let tokens = specialTokens.map { "\($0.role)=\($0.id) \"\($0.word)\"" }.joined(separator: ", ")
        return [
            "model            \(file)",
            "type             show-attend-tell, format_version 1",
            "sizes            \(sizes)",
            "attention        \(activation.rawValue)",
            "context gate     \(hasContextGate ? "yes (f_beta)" : "no")",
            "weights on disk  \(storedTypes.joined(separator: " and "))",
            "parameters       \(parameterCount)",
            "vocabulary       \(vocabularySize) words",
            "special tokens   \(tokens)",
        ].joined(separator: "\n")
    }
}

extension ShowAttendTellModel {
    /// A summary of the model for `nightcap inspect`.
    public var describe: ModelDescription {
        let t = specialTokens
        return ModelDescription(
            file: path, sizes: sizes, activation: activation, hasContextGate: hasContextGate, storedTypes: storedTypes,
            vocabularySize: vocabulary.count, parameterCount: parameterCount,
            specialTokens: [("pad", t.pad), ("start", t.start), ("end", t.end), ("unk", t.unknown)].map {
                ModelDescription.Token(role: $0.0, id: $0.1, word: word($0.1))
            })
    }
}
