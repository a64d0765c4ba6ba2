import PythonFiles

/// self-critical.pytorch's AoANet (`caption_model` `aoa`, captioning/models/AoAModel.py, the code of
/// husthuaan/AoANet) read from a state dict and its infos, checked, and kept in PyTorch's `[out, in]`
/// layout for `BLAS.multiplyTransposed`. Immutable; one instance is shared by all decoder workers.
///
/// Per image (the encoder): `V = ReLU(att_embed(regions))`; with `refine`, six refiner layers
/// `x = x + AoA(MHA(LN(x)), LN(x))` (or the attention's output Linear without `refine_aoa`) and a
/// final LayerNorm; the pooled input `v̄` is the mean of the refined regions (`mean_feats`) or
/// `ReLU(fc_embed(fc))`; `ctx2att` projects the refined regions once (keys | values for the
/// multi-head attention, or the additive attention's keys). Per step (the decoder):
/// `h_att = LSTM([ReLU(E[w]); v̄ + ctx_prev])`, attention over the refined regions queried by `h_att`,
/// `ctx = GLU(att2ctx([att; h_att]))` (or an LSTM cell), `log_softmax(logit(ctx))`. docs/decoder.md
/// has the details.
public final class AoAModel: CaptioningModel {
    /// A LayerNorm of upstream's kind (`a_2 * (x - mean) / (std + eps) + b_2`, std unbiased).
    struct Norm: Sendable {
        let gain: [Float]
        let bias: [Float]
    }

    /// One refiner layer: `self_attn.linears.0...2` stacked `[3sR x R]` (query | key | value rows),
    /// then either the AoA gate (`aoa_layer.0`, `[2R x (s+1)R]` over `[attention | query]`) or the
    /// output Linear (`output_layer`, `[R x sR]`).
    struct RefinerLayer: Sendable {
        let norm: Norm
        let input: [Float]
        let inputBias: [Float]
        let output: [Float]
        let outputBias: [Float]
    }

    public let path: String
    public let infosSource: String
    public let options: AoAOptions
    /// The region feature size (`att_embed.0.weight` is `[R, D]`).
    public let featureDimension: Int
    /// Word of each token id; index 0 (start/end/pad) is the empty string.
    public let vocabulary: [String]
    /// The options' `unk_idx` (upstream lowers it by 1000 in beam search when UNK is not the last word).
    let unknownIndexOption: Int?
    public let parameterCount: Int
    public let tensorCount: Int

    let embedding: [Float]  // embed.0 [V1 x E]
    let regionEmbedding: [Float]  // att_embed.0 [R x D]
    let regionEmbeddingBias: [Float]
    let refinerLayers: [RefinerLayer]
    let refinerNorm: Norm?
    let fcEmbedding: [Float]  // fc_embed.0 [R x D] (mean_feats 0)
    let fcEmbeddingBias: [Float]
    let contextToAttention: [Float]  // ctx2att [2sR x R] or [A x R]
    let contextToAttentionBias: [Float]
    /// `core.att_lstm`: `[weight_ih | weight_hh]`, `[4R x (E + R + R)]` over `[x | v̄ + ctx | h_att]`,
    /// and `bias_ih + bias_hh`.
    let attentionLSTM: [Float]
    let attentionLSTMBias: [Float]
    /// Multi-head: `core.attention.norm` and `linears.0` (`[sR x R]`). Additive: `h2att` `[A x R]`,
    /// `alpha_net` `[A]` and its bias.
    let queryNorm: Norm?
    let query: [Float]
    let queryBias: [Float]
    let scoreWeight: [Float]
    let scoreBias: Float
    /// `core.att2ctx`: AoA `[2R x (sR + R)]` and `[2R]`; LSTM `[weight_ih | weight_hh]`
    /// `[4R x (sR + 2R)]` over `[att | h_att | ctx]` and `bias_ih + bias_hh`.
    let contextLayer: [Float]
    let contextLayerBias: [Float]
    let output: [Float]  // logit [V1 x R]
    let outputBias: [Float]

    /// V + 1: the rows of the embedding and of the logit layer.
    public var tokenCount: Int { options.vocabularySize + 1 }
    public var family: String { AoAFamily().name }
    public var searchConvention: SearchConvention { AoAFamily().searchConvention }
    /// With `mean_feats` 0 the decoder reads `fc_embed(fc)`: the pooled features (upstream's cocobu_fc).
    public var takesPooledFeatures: Bool { !options.meanFeatures }

    /// Builds the model from a state dict and its infos. Every tensor the model reads is checked
    /// against the options (presence, shape, finite values) before anything else; each problem is
    /// one `ModelFileError` naming the checkpoint, the tensor and the fix.
    public init(stateDict: StateDict, infos: TrainingInfos, path source: String) throws {
        let o = try AoAOptions(infos: infos)
        let (R, E, s, V1) = (o.rnnSize, o.encodingSize, o.scale, o.vocabularySize + 1)
        let sR = s * R
        let tensors = stateDict.tensors
        let r = AoATensorReader(tensors: tensors, options: o, infos: infos, source: source)

        // The logit first: a vocabulary that does not match it is the likeliest wrong pairing.
        if let logit = tensors["logit.weight"], logit.shape.count == 2, logit.shape[0] != V1 {
            throw ModelFileError(
                .vocabularyMismatch, file: source, object: "logit.weight",
                message: "`logit.weight` has \(logit.shape[0]) rows but \(infos.source) gives vocab_size \(o.vocabularySize) "
                    + "(+1 for the end token = \(V1)); use the infos file saved with this checkpoint")
        }
        guard let embed = tensors["att_embed.0.weight"] else {
            throw ModelFileError(
                .missingTensor, file: source, object: "att_embed.0.weight",
                message: "has no tensor `att_embed.0.weight` (the region embedding); it is not a self-critical.pytorch AoANet checkpoint")
        }
        guard embed.shape.count == 2, embed.shape[0] == R, embed.shape[1] >= 1 else {
            throw ModelFileError(
                .wrongShape, file: source, object: "att_embed.0.weight",
                message: "tensor `att_embed.0.weight` has shape \(embed.shape), expected [rnn_size=\(R), D] from \(o.description) in \(infos.source); the checkpoint and the infos file do not belong together")
        }
        let D = embed.shape[1]
        regionEmbedding = try r.tensor("att_embed.0.weight", [R, D], "the region embedding, [rnn_size, D]")
        regionEmbeddingBias = try r.tensor("att_embed.0.bias", [R], "[rnn_size]")
        embedding = try r.tensor("embed.0.weight", [V1, E], "the word embedding, [vocab_size + 1, input_encoding_size]")

        (refinerLayers, refinerNorm) = try Self.refiner(r)
        if o.meanFeatures {
            (fcEmbedding, fcEmbeddingBias) = ([], [])
        } else {
            fcEmbedding = try r.tensor("fc_embed.0.weight", [R, D], "the pooled feature's embedding, [rnn_size, fc_feat_size = D]")
            fcEmbeddingBias = try r.tensor("fc_embed.0.bias", [R], "[rnn_size]")
        }
        (contextToAttention, contextToAttentionBias, queryNorm, query, queryBias, scoreWeight, scoreBias) = try Self.attention(r)
        (attentionLSTM, attentionLSTMBias) = try r.lstm("core.att_lstm", inputs: E + R)
        switch o.decoderType {
        case .aoa:
            contextLayer = try r.tensor("core.att2ctx.0.weight", [2 * R, sR + R], "the decoder's AoA layer, [2 rnn_size, (multi_head_scale + 1) rnn_size]")
            contextLayerBias = try r.tensor("core.att2ctx.0.bias", [2 * R], "[2 rnn_size]")
        case .lstm:
            (contextLayer, contextLayerBias) = try r.lstm("core.att2ctx", inputs: sR + R)
        }
        output = try r.tensor("logit.weight", [V1, R], "the logit layer, [vocab_size + 1, rnn_size]")
        outputBias = try r.tensor("logit.bias", [V1], "[vocab_size + 1]")

        // A refiner layer beyond the six upstream builds, or refiner tensors the options do not
        // expect, mean the infos describe another model than the checkpoint holds.
        if let name = tensors.keys.sorted().first(where: { $0.hasPrefix("refiner.layers.6.") || (!o.refine && $0.hasPrefix("refiner.")) }) {
            throw ModelFileError(
                .wrongShape, file: source, object: name,
                message: "has tensor `\(name)`, which an AoANet with \(o.description) (from \(infos.source)) does not have; the checkpoint and the infos file do not belong together")
        }

        vocabulary = try Self.words(infos: infos, count: V1)
        if case .int(let unk)? = infos.options["unk_idx"], unk >= 0, unk < V1 { unknownIndexOption = unk } else { unknownIndexOption = nil }
        featureDimension = D
        options = o
        path = source
        infosSource = infos.source
        tensorCount = tensors.count
        parameterCount = r.count
    }

    /// The six refiner layers and the final LayerNorm (none with `refine` 0).
    private static func refiner(_ r: AoATensorReader) throws -> ([RefinerLayer], Norm?) {
        let (o, R) = (r.options, r.options.rnnSize)
        let sR = o.attentionWidth
        var layers: [RefinerLayer] = []
        if o.refine {
            for layer in 0..<6 {
                let prefix = "refiner.layers.\(layer)"
                var input: [Float] = []
                var inputBias: [Float] = []
                for (index, role) in ["query", "key", "value"].enumerated() {
                    input += try r.tensor("\(prefix).self_attn.linears.\(index).weight", [sR, R], "the refiner's \(role) projection, [multi_head_scale * rnn_size, rnn_size]")
                    inputBias += try r.tensor("\(prefix).self_attn.linears.\(index).bias", [sR], "the \(role) projection's bias")
                }
                let output: [Float], outputBias: [Float]
                if o.refineAoA {
                    output = try r.tensor("\(prefix).self_attn.aoa_layer.0.weight", [2 * R, sR + R], "the refiner's AoA gate, [2 rnn_size, (multi_head_scale + 1) rnn_size]")
                    outputBias = try r.tensor("\(prefix).self_attn.aoa_layer.0.bias", [2 * R], "[2 rnn_size]")
                } else {
                    output = try r.tensor("\(prefix).self_attn.output_layer.weight", [R, sR], "the refiner's output layer, [rnn_size, multi_head_scale * rnn_size]")
                    outputBias = try r.tensor("\(prefix).self_attn.output_layer.bias", [R], "[rnn_size]")
                }
                layers.append(RefinerLayer(norm: try r.norm("\(prefix).sublayer.0.norm"), input: input, inputBias: inputBias, output: output, outputBias: outputBias))
            }
            return (layers, try r.norm("refiner.norm"))
        }
        return (layers, nil)
    }

    /// The decoder's attention: `ctx2att`, then the multi-head query (its LayerNorm and
    /// `linears.0`) or the additive attention's `h2att` and `alpha_net`.
    private static func attention(_ r: AoATensorReader) throws -> (
        keys: [Float], keysBias: [Float], queryNorm: Norm?, query: [Float], queryBias: [Float], scoreWeight: [Float], scoreBias: Float
    ) {
        let (o, R) = (r.options, r.options.rnnSize)
        let sR = o.attentionWidth
        if o.multiHeadDecoder {
            return (
                try r.tensor("ctx2att.weight", [2 * sR, R], "keys and values of the refined regions, [2 multi_head_scale rnn_size, rnn_size]"),
                try r.tensor("ctx2att.bias", [2 * sR], "[2 multi_head_scale rnn_size]"),
                try r.norm("core.attention.norm"),
                try r.tensor("core.attention.linears.0.weight", [sR, R], "the decoder's query projection, [multi_head_scale * rnn_size, rnn_size]"),
                try r.tensor("core.attention.linears.0.bias", [sR], "[multi_head_scale * rnn_size]"),
                [], 0)
        }
        let A = o.attentionHiddenSize
        return (
            try r.tensor("ctx2att.weight", [A, R], "the additive attention's keys, [att_hid_size, rnn_size]"),
            try r.tensor("ctx2att.bias", [A], "[att_hid_size]"),
            nil,
            try r.tensor("core.attention.h2att.weight", [A, R], "[att_hid_size, rnn_size]"),
            try r.tensor("core.attention.h2att.bias", [A], "[att_hid_size]"),
            try r.tensor("core.attention.alpha_net.weight", [1, A], "[1, att_hid_size]"),
            try r.tensor("core.attention.alpha_net.bias", [1], "[1]")[0])
    }

    /// The words of ids 1...V1-1 from the infos (index 0, the end token, is the empty string).
    private static func words(infos: TrainingInfos, count V1: Int) throws -> [String] {
        var words = [String](repeating: "", count: V1)
        for index in 1..<V1 {
            guard let word = infos.vocabulary[index] else {
                throw ModelFileError(
                    .vocabularyMismatch, file: infos.source, object: "vocab['\(index)']",
                    message: "the vocabulary has no word \(index), but vocab_size is \(V1 - 1); the infos file is damaged")
            }
            words[index] = word
        }
        if infos.vocabulary.count != V1 - 1 {
            throw ModelFileError(
                .vocabularyMismatch, file: infos.source, object: "vocab",
                message: "the vocabulary has \(infos.vocabulary.count) words but vocab_size is \(V1 - 1) (logit.weight has \(V1) rows); the infos file is damaged or belongs to another model")
        }
        return words
    }

    public func validate(featureDimension: Int, featuresFile: String) throws {
        guard featureDimension == self.featureDimension else {
            throw ModelFileError(
                .featureDimensionMismatch, file: path, object: "att_embed.0.weight",
                message: "expects region features of D=\(self.featureDimension) (att_embed.0.weight is [rnn_size=\(options.rnnSize), D=\(self.featureDimension)]), "
                    + "but the features file \(featuresFile) holds D=\(featureDimension); use features from the extractor the model was trained with")
        }
    }

    /// The word of a token id (`<end>` for 0, `<id N>` outside the vocabulary).
    public func word(_ token: Int) -> String { SelfCriticalText.word(token, in: vocabulary) }

    /// self-critical.pytorch's search over AoANet's step, for one worker thread.
    public func makeDecoder(settings: DecodeSettings) -> any CaptionDecoding {
        searchConvention.decoder(
            stepper: AoAStepper(model: self), settings: settings,
            vocabulary: .selfCritical(words: vocabulary, unknownIndex: unknownIndexOption, removeBadEndings: settings.removeBadEndings))
    }

    /// What the decoder's attention is, as stored per word.
    var attentionMeaning: String { Self.attentionMeaning(options) }

    /// What the decoder's attention of an AoANet with `options` is, as stored per word.
    static func attentionMeaning(_ options: AoAOptions) -> String {
        options.multiHeadDecoder
            ? "the decoder's attention over the \(options.refine ? "refined" : "embedded") regions, averaged over the \(options.heads) heads"
            : "the decoder's additive attention over the \(options.refine ? "refined" : "embedded") regions"
    }

    /// What `nightcap inspect` prints about the model.
    public var summary: String {
        let o = options
        let refiner = o.refine ? "6 layers, \(o.heads) heads, \(o.refineAoA ? "AoA gate" : "output layer") (refine 1, refine_aoa \(o.refineAoA ? 1 : 0))" : "none (refine 0)"
        let attention = o.multiHeadDecoder
            ? "multi-head, \(o.heads) heads (d_k = \(o.headWidth)), multi_head_scale \(o.scale) (use_multi_head 2)"
            : "additive, att_hid_size \(o.attentionHiddenSize) (use_multi_head 1)"
        return [
            "model            \(path)",
            "family           aoa (self-critical.pytorch caption_model aoa, AoANet)",
            "infos            \(infosSource)",
            "refiner          \(refiner)",
            "decoder          \(o.decoderType.rawValue), attention \(attention)",
            "pooled input     \(o.meanFeatures ? "mean of the refined regions (mean_feats 1)" : "fc_embed of the pooled features (mean_feats 0)")",
            "sizes            rnn_size=\(o.rnnSize) input_encoding_size=\(o.encodingSize) D=\(featureDimension)",
            "parameters       \(parameterCount) in \(tensorCount) tensors",
            "vocabulary       \(o.vocabularySize) words + end token 0\(vocabulary.last == "UNK" ? ", UNK = \(o.vocabularySize)" : "")",
            "attention stored \(attentionMeaning)",
        ].joined(separator: "\n")
    }
}

/// Reads the tensors of one AoANet state dict, each checked against the options (presence, shape,
/// finite values) and counted; every problem is one `ModelFileError` naming the checkpoint, the
/// tensor and the fix.
private final class AoATensorReader {
    let tensors: [String: CheckpointTensor]
    let options: AoAOptions
    let infos: TrainingInfos
    let source: String
    /// The values read so far.
    var count = 0
    var R: Int { options.rnnSize }

    init(tensors: [String: CheckpointTensor], options: AoAOptions, infos: TrainingInfos, source: String) {
        (self.tensors, self.options, self.infos, self.source) = (tensors, options, infos, source)
    }

    func tensor(_ name: String, _ shape: [Int], _ meaning: String) throws -> [Float] {
        let o = options
        guard let found = tensors[name] else {
            throw ModelFileError(
                .missingTensor, file: source, object: name,
                message: "has no tensor `\(name)` (\(meaning)), which an AoANet with \(o.description) (from \(infos.source)) has; "
                    + "the checkpoint and the infos file do not belong together, or the checkpoint is incomplete: use the infos_<id>.pkl of the run that saved this checkpoint")
        }
        guard found.shape == shape else {
            throw ModelFileError(
                .wrongShape, file: source, object: name,
                message: "tensor `\(name)` has shape \(found.shape), expected \(shape) (\(meaning)) from \(o.description) in \(infos.source); "
                    + "the checkpoint and the infos file do not belong together")
        }
        if let index = found.values.firstIndex(where: { !$0.isFinite }) {
            throw ModelFileError(
                .nonFiniteWeight, file: source, object: name,
                message: "tensor `\(name)` holds \(found.values[index]) at flat index \(index); the checkpoint is damaged (training diverged or the file is corrupt)")
        }
        count += found.values.count
        return found.values
    }
    func norm(_ prefix: String) throws -> AoAModel.Norm {
        AoAModel.Norm(gain: try tensor("\(prefix).a_2", [R], "LayerNorm gain, [rnn_size]"), bias: try tensor("\(prefix).b_2", [R], "LayerNorm bias, [rnn_size]"))
    }
    func lstm(_ prefix: String, inputs: Int) throws -> ([Float], [Float]) {
        let ih = try tensor("\(prefix).weight_ih", [4 * R, inputs], "LSTMCell input weights, [4 rnn_size, \(inputs)]")
        let hh = try tensor("\(prefix).weight_hh", [4 * R, R], "LSTMCell hidden weights, [4 rnn_size, rnn_size]")
        let bias = zip(try tensor("\(prefix).bias_ih", [4 * R], "[4 rnn_size]"), try tensor("\(prefix).bias_hh", [4 * R], "[4 rnn_size]")).map { $0 + $1 }
        var stacked = [Float](repeating: 0, count: 4 * R * (inputs + R))
        for row in 0..<(4 * R) {
            stacked[(row * (inputs + R))..<(row * (inputs + R) + inputs)] = ih[(row * inputs)..<(row * inputs + inputs)]
            stacked[(row * (inputs + R) + inputs)..<((row + 1) * (inputs + R))] = hh[(row * R)..<(row * R + R)]
        }
        return (stacked, bias)
    }
}
