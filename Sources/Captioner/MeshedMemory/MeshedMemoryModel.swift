import Foundation
import PythonFiles

/// aimagelab/meshed-memory-transformer's `Transformer` (`MemoryAugmentedEncoder` with
/// `ScaledDotProductAttentionMemory`, `MeshedDecoder`), read from the `state_dict` of the dict its
/// `train.py` saves, with upstream's `vocab.pkl`. Immutable; shared by all decoder workers.
///
/// Layers, memory slots, widths and the positional table come from the tensors; the head count is
/// not in the file (`test.py` uses 8; `--heads`). Weights stay in PyTorch's `[out, in]` layout.
/// The architecture and its search are described in docs/decoder.md ("Meshed-Memory Transformer").
public final class MeshedMemoryModel: CaptioningModel {
    /// The detections upstream's `ImageDetectionsField(max_detections=50)` keeps per image.
    public static let rowsPerImage = 50
    /// `test.py`'s head count.
    public static let defaultHeads = 8

    /// A Linear layer, `[outputs x inputs]` row-major, with its bias (nil: none).
    struct Linear: Sendable {
        let weight: [Float]
        let bias: [Float]?
        let inputs: Int
        let outputs: Int
    }

    /// `torch.nn.LayerNorm` (biased variance, eps 1e-5 inside the square root).
    struct Norm: Sendable {
        let gain: [Float]
        let bias: [Float]
    }

    /// A `MultiHeadAttention` (`identity_map_reordering` off): `fc_q`, `fc_k`, `fc_v`, `fc_o` and
    /// the LayerNorm after the residual.
    struct Attention: Sendable {
        let query: Linear
        let key: Linear
        let value: Linear
        let output: Linear
        let norm: Norm
    }

    struct FeedForward: Sendable {
        let inner: Linear
        let outer: Linear
        let norm: Norm
    }

    struct EncoderLayer: Sendable {
        let attention: Attention
        /// `sqrt(d_k) * m_k` and `sqrt(m) * m_v`, `[m x h*d_k]`, as upstream scales them.
        let memoryKeys: [Float]
        let memoryValues: [Float]
        let feedForward: FeedForward
    }

    struct DecoderLayer: Sendable {
        let selfAttention: Attention
        let encoderAttention: Attention
        /// `fc_alpha1...3`: `[d x 2d]`, the gate of each encoder level.
        let gates: [Linear]
        let feedForward: FeedForward
    }

    /// The encoder levels the meshed decoder reads (`enc_output[:, 0...2]` in upstream's code).
    public static let levels = 3

    public let path: String
    public let vocabulary: MeshedMemoryVocabulary
    public let heads: Int
    /// d_model.
    public let width: Int
    /// h * d_k: the rows of every `fc_q`.
    public let attentionWidth: Int
    public let feedForwardWidth: Int
    public let memorySlots: Int
    /// The positions of `decoder.pos_emb` (upstream's max_len + 1; row 0 is padding).
    public let positions: Int
    public let featureDimension: Int
    public let parameterCount: Int
    public let tensorCount: Int

    let inputProjection: Linear
    let inputNorm: Norm
    let encoderLayers: [EncoderLayer]
    let decoderLayers: [DecoderLayer]
    let wordEmbedding: [Float]  // [V x d]
    let positionalEncoding: [Float]  // [positions x d]
    let logits: Linear  // no bias

    public var tokenCount: Int { vocabulary.words.count }

    /// Whether a state dict is the Meshed-Memory Transformer's (`MeshedMemoryFamily.recognises`).
    public static func recognizes(_ stateDict: StateDict) -> Bool {
        MeshedMemoryFamily().recognises(tensorNames: Set(stateDict.tensors.keys))
    }

    /// Builds the model; every tensor it reads is checked (presence, shape, finite values), each
    /// problem one error naming the checkpoint, the tensor and the fix.
    public init(stateDict: StateDict, vocabulary: MeshedMemoryVocabulary, heads: Int = MeshedMemoryModel.defaultHeads, path source: String) throws {
        let tensors = stateDict.tensors
        let r = WeightReader(tensors: tensors, source: source)
        let fc = try r.matrix("encoder.fc.weight", "the detections' projection, [d_model, D]")
        let (d, D) = (fc.shape[0], fc.shape[1])
        let q0 = try r.matrix("encoder.layers.0.mhatt.attention.fc_q.weight", "the first encoder layer's query projection, [h*d_k, d_model]")
        let a = q0.shape[0]
        guard heads >= 1, a % heads == 0 else {
            throw ModelFileError(
                .invalidAttribute, file: source, object: "heads",
                message: "\(heads) heads do not divide the attention width h*d_k = \(a) (the rows of encoder.layers.0.mhatt.attention.fc_q.weight, d_model = \(d)); "
                    + "pass the head count the model was trained with (--heads N, pipeline key model.heads; upstream's test.py uses 8)")
        }
        let mk = try r.tensor("encoder.layers.0.mhatt.attention.m_k", nil, "the memory slots' keys, [1, m, h*d_k]")
        guard mk.shape.count == 3, mk.shape[0] == 1, mk.shape[2] == a, mk.shape[1] >= 1 else {
            throw ModelFileError(
                .wrongShape, file: source, object: "encoder.layers.0.mhatt.attention.m_k",
                message: "tensor `encoder.layers.0.mhatt.attention.m_k` has shape \(mk.shape), expected [1, m, \(a)]; the checkpoint is damaged")
        }
        let m = mk.shape[1]
        let ff = try r.matrix("encoder.layers.0.pwff.fc1.weight", "the first encoder layer's feed-forward, [d_ff, d_model]").shape[0]
        let encoderCount = try r.layerCount("encoder.layers")
        let decoderCount = try r.layerCount("decoder.layers")
        guard encoderCount >= Self.levels else {
            throw ModelFileError(
                .missingTensor, file: source, object: "encoder.layers.\(encoderCount)",
                message: "has \(encoderCount) encoder layers, but the meshed decoder reads \(Self.levels) encoder levels (enc_output[:, 0...2]); the checkpoint is incomplete")
        }
        guard decoderCount >= 1 else {
            throw ModelFileError(.missingTensor, file: source, object: "decoder.layers.0", message: "has no decoder layer; the checkpoint is incomplete")
        }
        let sizes = WeightReader.Sizes(width: d, attentionWidth: a, feedForwardWidth: ff, memorySlots: m, heads: heads)
        inputProjection = try r.linear("encoder.fc", inputs: D, outputs: d)
        inputNorm = try r.norm("encoder.layer_norm", width: d)
        encoderLayers = try (0..<encoderCount).map { try r.encoderLayer($0, sizes) }
        decoderLayers = try (0..<decoderCount).map { try r.decoderLayer($0, sizes) }
        let V = vocabulary.words.count
        let logitRows = try r.matrix("decoder.fc.weight", "the word output layer, [vocabulary, d_model]").shape[0]
        guard logitRows == V else {
            throw ModelFileError(
                .vocabularyMismatch, file: source, object: "decoder.fc.weight",
                message: "the word output layer `decoder.fc.weight` has \(logitRows) rows, but the vocabulary \(vocabulary.source) holds \(V) words; "
                    + "pass the vocab.pkl this model was trained with (--vocab FILE)")
        }
        logits = try r.linear("decoder.fc", inputs: d, outputs: V, bias: false)
        wordEmbedding = try r.tensor("decoder.word_emb.weight", [V, d], "the word embedding, [vocabulary, d_model]").values
        let table = try r.matrix("decoder.pos_emb.weight", "the positional table, [max_len + 1, d_model]")
        guard table.shape[1] == d, table.shape[0] >= 2 else {
            throw ModelFileError(
                .wrongShape, file: source, object: "decoder.pos_emb.weight",
                message: "tensor `decoder.pos_emb.weight` has shape \(table.shape), expected [max_len + 1, \(d)]; the checkpoint is damaged")
        }
        positions = table.shape[0]
        positionalEncoding = table.values
        for special in [vocabulary.start, vocabulary.end, vocabulary.padding, vocabulary.unknown] where special >= V {
            throw ModelFileError(.tokenOutOfRange, file: vocabulary.source, object: "itos", message: "special token \(special) is outside the vocabulary; the vocabulary is damaged")
        }
        self.vocabulary = vocabulary
        self.heads = heads
        width = d
        attentionWidth = a
        feedForwardWidth = ff
        memorySlots = m
        featureDimension = D
        path = source
        tensorCount = tensors.count
        parameterCount = tensors.values.reduce(0) { $0 + $1.values.count }
    }

    public var family: String { "meshed-memory" }
    public var searchConvention: SearchConvention { MeshedMemoryFamily().searchConvention }

    public func word(_ token: Int) -> String {
        vocabulary.words.indices.contains(token) ? vocabulary.words[token] : "<id \(token)>"
    }

    public func validate(featureDimension: Int, featuresFile: String) throws {
        guard featureDimension == self.featureDimension else {
            throw ModelFileError(
                .featureDimensionMismatch, file: path, object: "encoder.fc.weight",
                message: "expects detection features of D=\(self.featureDimension) (encoder.fc.weight is [d_model=\(width), D=\(self.featureDimension)]), "
                    + "but the features file \(featuresFile) holds D=\(featureDimension); use features from the detector the model was trained with")
        }
    }

    /// Word t (from 0) is fed at position t + 1 of `decoder.pos_emb`: the max length must fit the table.
    public func validate(settings: DecodeSettings) throws {
        guard settings.lengthPenaltyRule == .power, settings.lengthPenalty == 0, !settings.removeBadEndings else {
            throw ModelFileError(
                .invalidAttribute, file: path, object: settings.removeBadEndings ? "remove_bad_endings" : "length_penalty",
                message: "the Meshed-Memory Transformer's beam search (test.py) has no \(settings.removeBadEndings ? "bad-endings rule" : "length penalty"): it ranks by the summed log-probabilities; "
                    + "drop \(settings.removeBadEndings ? "--remove-bad-endings ([decode] remove_bad_endings)" : "--length-penalty ([decode] length_penalty)")")
        }
        guard settings.beamSize <= tokenCount else {
            throw ModelFileError(
                .invalidAttribute, file: path, object: "beam_size",
                message: "the beam size \(settings.beamSize) exceeds the vocabulary's \(tokenCount) words (upstream's first step keeps the beam's best words of one hypothesis); use a beam size of at most \(tokenCount)")
        }
        guard settings.maxLength <= positions - 1 else {
            throw ModelFileError(
                .wrongShape, file: path, object: "decoder.pos_emb.weight",
                message: "the positional table `decoder.pos_emb.weight` holds \(positions) rows (upstream's max_len \(positions - 1) + 1), too few for the max length \(settings.maxLength); decode with a max length of at most \(positions - 1)")
        }
    }

    public func makeDecoder(settings: DecodeSettings) -> any CaptionDecoding {
        MeshedMemoryBeamSearch(model: self, settings: settings)
    }

    public var summary: String {
        [
            "model            \(path)",
            "family           meshed-memory (aimagelab/meshed-memory-transformer, M2)",
            "vocabulary       \(vocabulary.source): \(tokenCount) words (<unk> \(vocabulary.unknown), <pad> \(vocabulary.padding), <bos> \(vocabulary.start), <eos> \(vocabulary.end))",
            "encoder          \(encoderLayers.count) layers, \(memorySlots) memory slots",
            "decoder          \(decoderLayers.count) layers, meshed over \(Self.levels) encoder levels",
            "heads            \(heads) (not in the file: --heads; d_k = \(attentionWidth / heads))",
            "sizes            d_model=\(width) d_ff=\(feedForwardWidth) D=\(featureDimension) positions=\(positions) (max length \(positions - 1))",
            "detections       first \(Self.rowsPerImage) per image, zero rows to \(Self.rowsPerImage) (ImageDetectionsField)",
            "parameters       \(parameterCount) in \(tensorCount) tensors",
            "attention stored last decoder layer's cross-attention, mean over the \(Self.levels) encoder levels and the \(heads) heads; the zero rows' share is 1 - the sum",
        ].joined(separator: "\n")
    }
}
