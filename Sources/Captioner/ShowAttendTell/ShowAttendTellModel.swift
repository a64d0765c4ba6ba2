import HDF5

/// The nonlinearity inside the attention scorer: `e_i = w · act(image_proj(v_i) + text_proj(h)) + b`.
public enum AttentionActivation: String, Sendable, CaseIterable {
    case tanh, relu
}

/// The sizes of a model: V vocabulary, E word embedding, D region feature, H hidden, A attention.
public struct ModelSizes: Sendable, Equatable, CustomStringConvertible {
    public var vocabulary: Int
    public var embedding: Int
    public var feature: Int
    public var hidden: Int
    public var attention: Int

    public init(vocabulary: Int, embedding: Int, feature: Int, hidden: Int, attention: Int) {
        self.vocabulary = vocabulary
        self.embedding = embedding
        self.feature = feature
        self.hidden = hidden
        self.attention = attention
    }

    public var description: String {
        "V=\(vocabulary) E=\(embedding) D=\(feature) H=\(hidden) A=\(attention)"
    }
}

/// The ids of the model's special tokens.
public struct SpecialTokens: Sendable, Equatable {
    public var pad: Int
    public var start: Int
    public var end: Int
    public var unknown: Int

    public init(pad: Int, start: Int, end: Int, unknown: Int) {
        self.pad = pad
        self.start = start
        self.end = end
        self.unknown = unknown
    }
}

/// A Show-Attend-and-Tell captioning model loaded from its HDF5 file, checked, and rearranged for
/// batched decoding. Immutable; one instance is shared by all decoder workers.
///
/// Loading reorganises the PyTorch tensors so that a decoder step needs few, large matrix products:
/// - `text_proj`, `lstm.weight_hh` and `f_beta` all multiply `h`: their weights are stacked into one
///   `[A + 4H (+ D)] x H` matrix;
/// - the embedding part of `lstm.weight_ih` only ever multiplies one of V embeddings: it is folded
///   with both LSTM biases into a `[V x 4H]` table, so it costs a row lookup per step;
/// - the feature part of `lstm.weight_ih` is kept as its own `[4H x D]` matrix.
public final class ShowAttendTellModel: Sendable {
    /// The file the model was loaded from.
    public let path: String
    public let sizes: ModelSizes
    public let activation: AttentionActivation
    /// Whether the file has `f_beta` (the gate `sigmoid(f_beta(h))` on the attention context).
    public let hasContextGate: Bool
    /// The element types of the tensors on disk (`float32`, `float16`, or both).
    public let storedTypes: [String]
    /// The vocabulary: word `i` of token id `i`.
    public let vocabulary: [String]
    public let specialTokens: SpecialTokens
    /// The number of weights (all tensors of the file's contract).
    public let parameterCount: Int

    // Weights in decoding layout (row-major, PyTorch `[out, in]`).
    /// `attention.image_proj`: `[A x D]` and `[A]`.
    let imageProjection: [Float]
    let imageProjectionBias: [Float]
    /// `init_h` stacked over `init_c`: `[2H x D]` and `[2H]`.
    let initialState: [Float]
    let initialStateBias: [Float]
    /// `text_proj` over `lstm.weight_hh` over `f_beta` (when present), transposed: `[H x F]`, F = A + 4H (+ D).
    /// The three large products use `[in, out]` weights: OpenBLAS packs them faster in that layout
    /// (see docs/decoder.md).
    let hiddenProjection: [Float]
    /// `attention.text_proj.bias` `[A]`.
    let textProjectionBias: [Float]
    /// `f_beta.bias` `[D]`, empty without a gate.
    let gateBias: [Float]
    /// `attention.attn_weight` `[A]` and its bias.
    let scoreWeight: [Float]
    let scoreBias: Float
    /// `lstm.weight_ih[:, E...]`, transposed: `[D x 4H]`.
    let contextToGates: [Float]
    /// `embedding · lstm.weight_ih[:, ..<E]^T + bias_ih + bias_hh`: `[V x 4H]`.
    let wordToGates: [Float]
    /// `fc`, transposed: `[H x V]`, and its bias `[V]`.
    let output: [Float]
    let outputBias: [Float]

    /// The width of a row of the fused product of `h` with `hiddenProjection`.
    var fusedWidth: Int { sizes.attention + 4 * sizes.hidden + (hasContextGate ? sizes.feature : 0) }

    /// `[columns x rows]` from `[rows x columns]`.
    private static func transposed(_ matrix: [Float], rows: Int, columns: Int) -> [Float] {
        var result = [Float](repeating: 0, count: matrix.count)
        for row in 0..<rows {
            for column in 0..<columns { result[column * rows + row] = matrix[row * columns + column] }
        }
        return result
    }

    /// Loads and checks a model file. Every problem with the file is reported here, before any
    /// decoding, as a `ModelFileError`.
    public static func load(path: String) throws -> ShowAttendTellModel {
        let file: HDF5File
        do {
            file = try HDF5File.open(path)
        } catch let error as HDF5Error {
            throw ModelFileError(.unreadable, file: path, message: "cannot be read: \(error.message)")
        }
        let reader = try ModelFileReader(file: file, path: path)
        return try ShowAttendTellModel(reading: reader)
    }

    private init(reading reader: ModelFileReader) throws {
        path = reader.path
        activation = reader.activation
        specialTokens = reader.tokens
        vocabulary = reader.vocabulary
        sizes = reader.sizes
        hasContextGate = reader.hasContextGate
        storedTypes = reader.storedTypes
        parameterCount = reader.tensors.values.reduce(0) { $0 + $1.count }

        let (V, E, D, H, A) = (sizes.vocabulary, sizes.embedding, sizes.feature, sizes.hidden, sizes.attention)
        let t = reader.tensors
        func tensor(_ name: String) -> [Float] { t[name]! }

        imageProjection = tensor("attention.image_proj.weight")
        imageProjectionBias = tensor("attention.image_proj.bias")
        initialState = tensor("init_h.weight") + tensor("init_c.weight")
        initialStateBias = tensor("init_h.bias") + tensor("init_c.bias")
        var hidden = tensor("attention.text_proj.weight") + tensor("lstm.weight_hh")
        if hasContextGate { hidden += tensor("f_beta.weight") }
        hiddenProjection = Self.transposed(hidden, rows: hidden.count / H, columns: H)
        textProjectionBias = tensor("attention.text_proj.bias")
        gateBias = hasContextGate ? tensor("f_beta.bias") : []
        scoreWeight = tensor("attention.attn_weight.weight")
        scoreBias = tensor("attention.attn_weight.bias")[0]
        output = Self.transposed(tensor("fc.weight"), rows: V, columns: H)
        outputBias = tensor("fc.bias")

        let inputWeight = tensor("lstm.weight_ih")  // [4H x (E + D)]
        var context = [Float](repeating: 0, count: D * 4 * H)
        for row in 0..<(4 * H) {
            for column in 0..<D { context[column * 4 * H + row] = inputWeight[row * (E + D) + E + column] }
        }
        contextToGates = context

        let embedding = tensor("embedding.weight")
        let biasIH = tensor("lstm.bias_ih")
        let biasHH = tensor("lstm.bias_hh")
        var table = [Float](repeating: 0, count: V * 4 * H)
        embedding.withUnsafeBufferPointer { x in
            inputWeight.withUnsafeBufferPointer { w in
                table.withUnsafeMutableBufferPointer { c in
                    BLAS.multiplyTransposed(
                        rows: V, outputs: 4 * H, inputs: E, x.baseAddress!, xStride: E, w.baseAddress!, wStride: E + D,
                        into: c.baseAddress!, cStride: 4 * H)
                }
            }
        }
        for word in 0..<V {
            for gate in 0..<(4 * H) { table[word * 4 * H + gate] += biasIH[gate] + biasHH[gate] }
        }
        wordToGates = table
        _ = A
    }

    /// Checks that region features of dimension `featureDimension` (from `featuresFile`) fit the model.
    public func validate(featureDimension: Int, featuresFile: String) throws {
        guard featureDimension == sizes.feature else {
            throw ModelFileError(
                .featureDimensionMismatch, file: path,
                message: "expects region features of D=\(sizes.feature) (init_h.weight is [H=\(sizes.hidden), D=\(sizes.feature)]), "
                    + "but the features file \(featuresFile) holds D=\(featureDimension); "
                    + "use features from the extractor the model was trained with, or the model trained on these features")
        }
    }

    /// The word of a token id, or `<id N>` outside the vocabulary.
    public func word(_ token: Int) -> String {
        vocabulary.indices.contains(token) ? vocabulary[token] : "<id \(token)>"
    }
}
