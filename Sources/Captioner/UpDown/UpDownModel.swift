import PythonFiles

/// self-critical.pytorch's UpDown model (`caption_model` `updown`, `topdown` before 2020), built from
/// its state dict and infos, checked, and rearranged for batched decoding. Immutable and shared by
/// all decoder workers.
///
/// Upstream's step (AttModel.py, `UpDownCore`): `x = ReLU(E[w])`; the attention LSTM on
/// `[h_lang; fc; x]` with state `h_att`; additive attention queried by the new `h_att` over the
/// embedded regions; the language LSTM on `[context; h_att]`; `log_softmax(logit(h_lang))`.
/// Rearranged so a step needs few, large products:
/// - the attention LSTM's input and hidden weights for the states that change every step
///   (`h_lang`, `h_att`) are stacked into one `[4R x 2R]` matrix; the `fc` part of `weight_ih`
///   with both biases becomes a per-image `[4R]` vector, computed once per image; the word part
///   becomes a per-word `[4R]` vector, computed once per word (`WordGateTable`);
/// - the language LSTM's `weight_ih` and `weight_hh` are stacked into one `[4R x 3R]` matrix;
/// - weights stay in PyTorch's `[out, in]` layout: OpenBLAS repacks a step's weights on every call,
///   and its packing of a transposed operand (`incopy`) costs about a quarter less than that of an
///   `[in, out]` one (`itcopy`) at a step's 128 to 640 rows (docs/performance.md); nothing is
///   transposed at load.
public final class UpDownModel: CaptioningModel {
    public let path: String
    /// Where the options and vocabulary came from.
    public let infosSource: String
    /// `updown` or `topdown`, as the infos file names it.
    public let captionModel: String
    /// V (the end token 0 included), E, R, A, D.
    public let sizes: ModelSizes
    /// 0, 1 (BatchNorm on the raw regions) or 2 (and on the embedded regions).
    public let batchNorm: Int
    /// Word of each token id; id 0 is the end (and start) token.
    public let vocabulary: [String]
    /// The id of `UNK` when it is the last word, as upstream's `suppress_UNK` requires; or the
    /// options' `unk_idx`.
    public let unknownToken: Int?
    /// The options' `unk_idx` (upstream lowers it by 1000 in beam search even without suppress_UNK).
    let unknownIndexOption: Int?
    /// Ids of the words of upstream's `bad_endings` list (AttModel.py).
    public let badEndingTokens: Set<Int>
    public let parameterCount: Int
    /// The training options `inspect` shows.
    public let options: [String: TrainingOption]

    // Weights in decoding layout.
    /// `embed.0.weight` `[V x E]`.
    let embedding: [Float]
    /// `fc_embed.0` `[R x D]` and `[R]`.
    let fcEmbed: [Float]
    let fcEmbedBias: [Float]
    /// Eval-mode BatchNorm as `x * scale + shift` over D (use_bn >= 1) and over R (use_bn 2).
    let inputNormScale: [Float]
    let inputNormShift: [Float]
    let embeddedNormScale: [Float]
    let embeddedNormShift: [Float]
    /// `att_embed` Linear `[R x D]`, `[R]`.
    let attEmbed: [Float]
    let attEmbedBias: [Float]
    /// `ctx2att` `[A x R]`, `[A]`.
    let contextToAttention: [Float]
    let contextToAttentionBias: [Float]
    /// `att_lstm.weight_ih` as saved, `[4R x (2R + E)]` over `[h_lang; fc; x]`: its fc columns
    /// (`R..<2R`) multiply once per image, its word columns (`2R...`) fill `wordGates`; and
    /// `bias_ih + bias_hh` `[4R]`.
    let attentionLSTMInput: [Float]
    let attentionLSTMBias: [Float]
    /// `[weight_ih[:, ..<R] | weight_hh]`: `[4R x 2R]`, multiplying the row `[h_lang | h_att]`.
    let attentionLSTMState: [Float]
    /// The word's gates, `ReLU(E[w]) · weight_ih[:, 2R...]^T`, looked up.
    let wordGates: WordGateTable
    /// `h2att` `[A x R]`, its bias `[A]`; `alpha_net` `[A]` and its bias.
    let queryProjection: [Float]
    let queryBias: [Float]
    let scoreWeight: [Float]
    let scoreBias: Float
    /// `[lang.weight_ih | lang.weight_hh]`: `[4R x 3R]` multiplying `[context | h_att | h_lang]`;
    /// `bias_ih + bias_hh` `[4R]`.
    let languageLSTM: [Float]
    let languageLSTMBias: [Float]
    /// `logit` `[V x R]`, its bias `[V]`.
    let output: [Float]
    let outputBias: [Float]

    public var family: String { UpDownFamily().name }
    public var featureDimension: Int { sizes.feature }
    public var takesPooledFeatures: Bool { true }

    /// Builds the model from a checkpoint's tensors and its infos. Every problem is reported here,
    /// before any decoding, as a `ModelFileError` naming the file, the key and the fix.
    public init(stateDict: StateDict, infos: TrainingInfos, path: String) throws {
        self.path = path
        infosSource = infos.source
        options = infos.options
        let checked = try Self.check(stateDict: stateDict, infos: infos, path: path)
        let (V, E, R) = (checked.sizes.vocabulary, checked.sizes.embedding, checked.sizes.hidden)
        captionModel = checked.captionModel
        parameterCount = checked.parameterCount
        sizes = checked.sizes
        batchNorm = checked.batchNorm
        let words = try Self.words(infos: infos, count: V, path: path)
        vocabulary = words
        let unk = Self.intOption("unk_idx", in: infos).flatMap { (0..<V).contains($0) ? $0 : nil }
        unknownIndexOption = unk
        unknownToken = words[V - 1] == "UNK" ? V - 1 : unk
        badEndingTokens = Set((1..<V).filter { SelfCriticalText.badEndings.contains(words[$0]) })

        func values(_ key: String) -> [Float] { stateDict.tensors[key]!.values }
        let bn = checked.batchNorm
        (inputNormScale, inputNormShift) = bn >= 1 ? Self.normalisation("att_embed.0", stateDict) : ([], [])
        (embeddedNormScale, embeddedNormShift) = bn == 2 ? Self.normalisation("att_embed.4", stateDict) : ([], [])
        embedding = values("embed.0.weight")
        fcEmbed = values("fc_embed.0.weight")
        fcEmbedBias = values("fc_embed.0.bias")
        attEmbed = values("\(checked.regionLinear).weight")
        attEmbedBias = values("\(checked.regionLinear).bias")
        contextToAttention = values("ctx2att.weight")
        contextToAttentionBias = values("ctx2att.bias")

        let ih = values("core.att_lstm.weight_ih")
        let width = E + 2 * R
        attentionLSTMInput = ih
        attentionLSTMState = Self.sideBySide(
            ih, stride: width, columns: R, values("core.att_lstm.weight_hh"), stride: R, columns: R, rows: 4 * R)
        wordGates = WordGateTable(
            embedding: embedding, weights: ih, column: 2 * R, stride: width, vocabulary: V, embeddingSize: E, width: 4 * R)
        attentionLSTMBias = zip(values("core.att_lstm.bias_ih"), values("core.att_lstm.bias_hh")).map { $0 + $1 }

        queryProjection = values("core.attention.h2att.weight")
        queryBias = values("core.attention.h2att.bias")
        scoreWeight = values("core.attention.alpha_net.weight")
        scoreBias = values("core.attention.alpha_net.bias")[0]

        languageLSTM = Self.sideBySide(
            values("core.lang_lstm.weight_ih"), stride: 2 * R, columns: 2 * R, values("core.lang_lstm.weight_hh"), stride: R, columns: R,
            rows: 4 * R)
        languageLSTMBias = zip(values("core.lang_lstm.bias_ih"), values("core.lang_lstm.bias_hh")).map { $0 + $1 }
        output = values("logit.weight")
        outputBias = values("logit.bias")
    }

    /// What checking a checkpoint against its infos found.
    private struct Checked {
        var captionModel: String
        var batchNorm: Int
        var sizes: ModelSizes
        /// `att_embed.0` or, with BatchNorm first, `att_embed.1`: the region embedding's Linear.
        var regionLinear: String
        var parameterCount: Int
    }

    /// An integer option of the infos (a bool as 0/1, a whole float), or nil.
    private static func intOption(_ key: String, in infos: TrainingInfos) -> Int? {
        switch infos.options[key] {
        case .int(let v): v
        case .bool(let b): b ? 1 : 0
        case .double(let d) where d == d.rounded(): Int(d)
        default: nil
        }
    }

    /// Checks the options nightcap supports, then every tensor's presence, shape and values against
    /// the options (or, where the options are silent, the tensors).
    private static func check(stateDict: StateDict, infos: TrainingInfos, path: String) throws -> Checked {
        let name = infos.options["caption_model"].flatMap { if case .string(let s) = $0 { s } else { nil } }
        guard let name, UpDownFamily().captionModels.contains(name) else {
            throw ModelFamilies.unknownCaptionModel(name, infos: infos.source, checkpoint: path)
        }
        func tensor(_ key: String) throws -> CheckpointTensor {
            guard let t = stateDict.tensors[key] else {
                throw ModelFileError(
                    .missingTensor, file: path, object: key,
                    message: "has no tensor `\(key)`, which an UpDown model (\(name)) needs; "
                        + "is it a self-critical.pytorch checkpoint of this caption_model, saved whole?")
            }
            return t
        }
        let logit = try tensor("logit.weight")
        guard logit.shape.count == 2 else {
            throw ModelFileError(
                .wrongShape, file: path, object: "logit.weight",
                message: "`logit.weight` has shape \(logit.shape), expected [vocabulary + 1, rnn_size]")
        }
        let V = infos.vocabulary.count + 1
        guard logit.shape[0] == V else {
            throw ModelFileError(
                .vocabularyMismatch, file: path, object: "logit.weight",
                message: "`logit.weight` has \(logit.shape[0]) rows but the vocabulary of \(infos.source) has "
                    + "\(infos.vocabulary.count) words (+1 for the end token = \(V)); use the infos file saved with this checkpoint")
        }
        let bn = try checkOptions(infos: infos, path: path)
        // Sizes: from the options when present (then every tensor is checked against them), else from the tensors.
        let embedShape = try tensor("embed.0.weight").shape
        let fcShape = try tensor("fc_embed.0.weight").shape
        let ctxShape = try tensor("ctx2att.weight").shape
        let linear = bn >= 1 ? "att_embed.1" : "att_embed.0"
        let attShape = try tensor("\(linear).weight").shape
        let E = intOption("input_encoding_size", in: infos) ?? (embedShape.count == 2 ? embedShape[1] : 0)
        let R = intOption("rnn_size", in: infos) ?? logit.shape[1]
        let A = intOption("att_hid_size", in: infos) ?? (ctxShape.count == 2 ? ctxShape[0] : 0)
        let D = intOption("att_feat_size", in: infos) ?? (attShape.count == 2 ? attShape[1] : 0)
        let Dfc = intOption("fc_feat_size", in: infos) ?? (fcShape.count == 2 ? fcShape[1] : 0)
        var count = 0
        for (key, shape) in expectedShapes(V: V, E: E, R: R, A: A, D: D, Dfc: Dfc, batchNorm: bn) {
            let t = try tensor(key)
            guard t.shape == shape else {
                throw ModelFileError(
                    .wrongShape, file: path, object: key,
                    message: "`\(key)` has shape \(t.shape), but the options of \(infos.source) "
                        + "(vocabulary \(V - 1), input_encoding_size \(E), rnn_size \(R), att_hid_size \(A), att_feat_size \(D), "
                        + "fc_feat_size \(Dfc), use_bn \(bn)) make it \(shape); use the infos file saved with this checkpoint")
            }
            if let bad = t.values.firstIndex(where: { !$0.isFinite }) {
                throw ModelFileError(
                    .nonFiniteWeight, file: path, object: key,
                    message: "`\(key)` holds \(t.values[bad]) at element \(bad); the checkpoint is damaged (a diverged training?)")
            }
            count += t.values.count
        }
        guard Dfc == D else {
            throw ModelFileError(
                .featureDimensionMismatch, file: path, object: "fc_embed.0.weight",
                message: "expects pooled fc features of \(Dfc) values but regions of \(D); nightcap pools the regions "
                    + "(upstream's fallback without input_fc_dir), which needs fc_feat_size = att_feat_size")
        }
        return Checked(
            captionModel: name, batchNorm: bn, sizes: ModelSizes(vocabulary: V, embedding: E, feature: D, hidden: R, attention: A),
            regionLinear: linear, parameterCount: count)
    }

    /// The options nightcap refuses (use_bn beyond 2, logit_layers, use_box, norm_att_feat); returns use_bn.
    private static func checkOptions(infos: TrainingInfos, path: String) throws -> Int {
        let bn = intOption("use_bn", in: infos) ?? 0
        guard (0...2).contains(bn) else {
            throw ModelFileError(.invalidAttribute, file: path, object: "use_bn", message: "its infos give use_bn \(bn); upstream knows 0, 1 and 2")
        }
        if let layers = intOption("logit_layers", in: infos), layers != 1 {
            throw ModelFileError(
                .invalidAttribute, file: path, object: "logit_layers",
                message: "its infos give logit_layers \(layers); upstream itself only runs logit_layers 1 on Python 3")
        }
        if let useBox = intOption("use_box", in: infos), useBox != 0 {
            throw ModelFileError(
                .invalidAttribute, file: path, object: "use_box",
                message: "was trained with use_box 1 (box geometry appended to each region); nightcap feeds the region features alone")
        }
        if let norm = intOption("norm_att_feat", in: infos), norm != 0 {
            throw ModelFileError(
                .invalidAttribute, file: path, object: "norm_att_feat",
                message: "was trained with norm_att_feat 1 (L2-normalised regions), which nightcap does not apply")
        }
        return bn
    }

    /// Every tensor the model reads and its shape, in the order they are checked.
    private static func expectedShapes(V: Int, E: Int, R: Int, A: Int, D: Int, Dfc: Int, batchNorm bn: Int) -> [(String, [Int])] {
        let linear = bn >= 1 ? "att_embed.1" : "att_embed.0"
        var expected: [(String, [Int])] = [
            ("embed.0.weight", [V, E]), ("fc_embed.0.weight", [R, Dfc]), ("fc_embed.0.bias", [R]),
            ("\(linear).weight", [R, D]), ("\(linear).bias", [R]), ("logit.weight", [V, R]), ("logit.bias", [V]),
            ("ctx2att.weight", [A, R]), ("ctx2att.bias", [A]),
            ("core.att_lstm.weight_ih", [4 * R, E + 2 * R]), ("core.att_lstm.weight_hh", [4 * R, R]),
            ("core.att_lstm.bias_ih", [4 * R]), ("core.att_lstm.bias_hh", [4 * R]),
            ("core.lang_lstm.weight_ih", [4 * R, 2 * R]), ("core.lang_lstm.weight_hh", [4 * R, R]),
            ("core.lang_lstm.bias_ih", [4 * R]), ("core.lang_lstm.bias_hh", [4 * R]),
            ("core.attention.h2att.weight", [A, R]), ("core.attention.h2att.bias", [A]),
            ("core.attention.alpha_net.weight", [1, A]), ("core.attention.alpha_net.bias", [1]),
        ]
        let norms = bn == 0 ? [] : (bn == 1 ? [("att_embed.0", D)] : [("att_embed.0", D), ("att_embed.4", R)])
        for (prefix, size) in norms {
            for part in ["weight", "bias", "running_mean", "running_var"] { expected.append(("\(prefix).\(part)", [size])) }
        }
        return expected
    }

    /// The word of each id 1...count-1 (id 0, the end token, is the empty string).
    private static func words(infos: TrainingInfos, count V: Int, path: String) throws -> [String] {
        var words = [String](repeating: "", count: V)
        for (index, word) in infos.vocabulary where index >= 1 && index < V { words[index] = word }
        if let missing = (1..<V).first(where: { infos.vocabulary[$0] == nil }) {
            throw ModelFileError(
                .vocabularyMismatch, file: path, object: "vocab",
                message: "the vocabulary of \(infos.source) has no word \(missing) (it should map '1'...'\(V - 1)')")
        }
        return words
    }

    /// `rows` rows `[a[g, ..<aColumns] | b[g, ..<bColumns]]` (row strides `aStride`, `bStride`):
    /// the first columns of two `[out, in]` weights side by side.
    private static func sideBySide(
        _ a: [Float], stride aStride: Int, columns aColumns: Int, _ b: [Float], stride bStride: Int, columns bColumns: Int, rows: Int
    ) -> [Float] {
        let width = aColumns + bColumns
        return [Float](unsafeUninitializedCapacity: rows * width) { r, count in
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    for row in 0..<rows {
                        (r.baseAddress! + row * width).initialize(from: a.baseAddress! + row * aStride, count: aColumns)
                        (r.baseAddress! + row * width + aColumns).initialize(from: b.baseAddress! + row * bStride, count: bColumns)
                    }
                }
            }
            count = rows * width
        }
    }

    /// PyTorch's eval-mode batch_norm on CPU as `x * scale + shift`: alpha = weight / sqrt(var + eps),
    /// beta = bias - mean * alpha.
    private static func normalisation(_ prefix: String, _ stateDict: StateDict) -> ([Float], [Float]) {
        func values(_ key: String) -> [Float] { stateDict.tensors[key]!.values }
        let w = values("\(prefix).weight"), b = values("\(prefix).bias")
        let mean = values("\(prefix).running_mean"), variance = values("\(prefix).running_var")
        var scale = [Float](repeating: 0, count: w.count), shift = scale
        for i in w.indices {
            let invstd = 1 / (variance[i] + 1e-5).squareRoot()
            scale[i] = w[i] * invstd
            shift[i] = b[i] - mean[i] * scale[i]
        }
        return (scale, shift)
    }

    public func validate(featureDimension: Int, featuresFile: String) throws {
        guard featureDimension == sizes.feature else {
            throw ModelFileError(
                .featureDimensionMismatch, file: path,
                message: "expects region features of att_feat_size \(sizes.feature) (\(batchNorm >= 1 ? "att_embed.1" : "att_embed.0").weight is "
                    + "[\(sizes.hidden), \(sizes.feature)]), but the features file \(featuresFile) holds \(featureDimension) per region; "
                    + "use the bottom-up features the model was trained on (2048 for the self-critical.pytorch zoo)")
        }
    }

    public func word(_ token: Int) -> String { SelfCriticalText.word(token, in: vocabulary) }

    /// self-critical.pytorch's search over UpDown's step, for one worker thread.
    public func makeDecoder(settings: DecodeSettings) -> any CaptionDecoding {
        UpDownFamily().searchConvention.decoder(
            stepper: UpDownStepper(model: self), settings: settings,
            vocabulary: .selfCritical(words: vocabulary, unknownIndex: unknownIndexOption, removeBadEndings: settings.removeBadEndings))
    }

    public var summary: String {
        func option(_ key: String) -> String {
            switch options[key] {
            case .string(let s): s
            case .int(let i): "\(i)"
            case .bool(let b): b ? "1" : "0"
            case .double(let d): "\(d)"
            default: "-"
            }
        }
        return [
            "model            \(path)",
            "family           updown (self-critical.pytorch caption_model \(captionModel))",
            "infos            \(infosSource)",
            "sizes            \(sizes)",
            "use_bn           \(batchNorm)",
            "parameters       \(parameterCount)",
            "vocabulary       \(sizes.vocabulary - 1) words + end token 0\(unknownToken.map { ", UNK = \($0)" } ?? "")",
            "input_fc_dir     \(option("input_fc_dir"))",
        ].joined(separator: "\n")
    }
}
