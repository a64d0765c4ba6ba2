import PythonFiles

/// The options of a self-critical.pytorch AoANet (`caption_model` `aoa`,
/// captioning/models/AoAModel.py; husthuaan/AoANet's `models/AoAModel.py` is the same code), read
/// from its infos file the way `AoAModel.__init__` reads them: the options it reads as attributes
/// (`refine`, `refine_aoa`, `use_ff`, `use_multi_head`, `num_heads`, `multi_head_scale`) must be
/// there, those it reads with `getattr` take upstream's defaults (`mean_feats` 1, `ctx_drop` 0,
/// `decoder_type` 'AoA', `out_res` 0). The option names never changed: both codebases use these
/// since AoANet's first release (2019), so there are no older names to fall back to.
public struct AoAOptions: Sendable, Equatable, CustomStringConvertible {
    /// The decoder's output layer (`decoder_type`): upstream's `att2ctx`.
    public enum DecoderType: String, Sendable, Equatable {
        /// `'AoA'`: Linear to 2R, then GLU (attention on attention).
        case aoa = "AoA"
        /// `'LSTM'`: an LSTM cell whose hidden state is the context.
        case lstm = "LSTM"
    }

    /// `rnn_size` (R, upstream's d_model here).
    public var rnnSize: Int
    /// `input_encoding_size` (E, the word embedding).
    public var encodingSize: Int
    /// `att_hid_size` (A): the additive attention's width (only used with `use_multi_head` other than 2).
    public var attentionHiddenSize: Int
    /// `vocab_size`: words 1...V; the model's rows are V + 1 (row 0 is the start/end token).
    public var vocabularySize: Int
    /// `refine`: the 6-layer refiner over the embedded regions.
    public var refine: Bool
    /// `refine_aoa`: the refiner's attention ends with the AoA gate (else with an output Linear).
    public var refineAoA: Bool
    /// `use_multi_head` 2: the decoder's attention is multi-head scaled dot product (else additive).
    public var multiHeadDecoder: Bool
    /// `num_heads`.
    public var heads: Int
    /// `multi_head_scale`: the attention's width is `scale * R`.
    public var scale: Int
    /// `mean_feats`: the decoder's pooled input is the mean of the refined regions (else `fc_embed` of fc).
    public var meanFeatures: Bool
    /// `ctx_drop`: dropout on the context fed back; a no-op in evaluation, kept for `inspect`.
    public var contextDropout: Bool
    public var decoderType: DecoderType
    /// `out_res`: the logit reads `output + h_att`.
    public var outputResidual: Bool

    public init(
        rnnSize: Int, encodingSize: Int, attentionHiddenSize: Int, vocabularySize: Int, refine: Bool, refineAoA: Bool,
        multiHeadDecoder: Bool, heads: Int, scale: Int, meanFeatures: Bool, contextDropout: Bool, decoderType: DecoderType,
        outputResidual: Bool
    ) {
        self.rnnSize = rnnSize
        self.encodingSize = encodingSize
        self.attentionHiddenSize = attentionHiddenSize
        self.vocabularySize = vocabularySize
        self.refine = refine
        self.refineAoA = refineAoA
        self.multiHeadDecoder = multiHeadDecoder
        self.heads = heads
        self.scale = scale
        self.meanFeatures = meanFeatures
        self.contextDropout = contextDropout
        self.decoderType = decoderType
        self.outputResidual = outputResidual
    }

    /// The width of the attention's output (`multi_head_scale * rnn_size`).
    public var attentionWidth: Int { scale * rnnSize }
    /// The width of one head.
    public var headWidth: Int { attentionWidth / heads }

    public var description: String {
        "rnn_size=\(rnnSize) input_encoding_size=\(encodingSize) refine=\(refine ? 1 : 0) refine_aoa=\(refineAoA ? 1 : 0) "
            + "\(multiHeadDecoder ? "use_multi_head=2" : "use_multi_head other than 2 (additive attention)") num_heads=\(heads) multi_head_scale=\(scale) mean_feats=\(meanFeatures ? 1 : 0) "
            + "decoder_type=\(decoderType.rawValue) vocab_size=\(vocabularySize)"
    }

    /// Reads the options from `infos`. Every missing, malformed or unsupported option is one
    /// `ModelFileError` naming the infos file, the option and its value.
    public init(infos: TrainingInfos) throws {
        let r = AoAOptionReader(infos: infos)
        let source = infos.source
        if let model = infos.options["caption_model"], model != .string("aoa") {
            throw ModelFileError(
                .wrongModelType, file: source, object: "opt.caption_model",
                message: "caption_model is \(TransformerOptions.describe(model)), not `aoa`; this infos file belongs to another model family")
        }
        rnnSize = try r.positive("rnn_size", why: "the width of every layer")
        encodingSize = try r.positive("input_encoding_size", why: "the word embedding's width")
        vocabularySize = try r.positive("vocab_size", why: "the logit layer's rows")
        refine = try r.integer("refine", defaultValue: nil, why: "whether the regions go through the refiner") != 0
        if refine {
            refineAoA = try r.integer("refine_aoa", defaultValue: nil, why: "the refiner's attention gate") != 0
        } else {
            refineAoA = false
        }
        if refine {
            let ff = try r.integer("use_ff", defaultValue: nil, why: "the refiner's feed-forward sublayer")
            if ff != 0 {
                throw r.unsupported(
                    "use_ff", "\(ff)",
                    "nightcap decodes AoANet refiners without the feed-forward sublayer (use_ff 0, as configs/aoa.yml and AoANet's train.sh set it); evaluate this checkpoint with upstream's tools/eval.py")
            }
        }
        let multiHead = try r.integer("use_multi_head", defaultValue: nil, why: "which attention the decoder uses")
        multiHeadDecoder = multiHead == 2
        scale = try r.positive("multi_head_scale", why: "the attention's width, multi_head_scale * rnn_size")
        if refine || multiHeadDecoder {
            heads = try r.positive("num_heads", why: "the heads of the multi-head attention")
        } else {
            heads = 1
        }
        if multiHeadDecoder {
            attentionHiddenSize = 0
        } else {
            attentionHiddenSize = try r.positive("att_hid_size", defaultValue: 512, why: "the additive attention's width")
        }
        meanFeatures = try r.integer("mean_feats", defaultValue: 1, why: "the decoder's pooled input") != 0
        contextDropout = try r.integer("ctx_drop", defaultValue: 0, why: "dropout on the fed-back context") != 0
        outputResidual = try r.integer("out_res", defaultValue: 0, why: "the residual before the logit") != 0
        decoderType = try Self.decoderType(r)
        try checkSupported(r, multiHead: multiHead)
    }

    /// `decoder_type`: 'AoA' (upstream's default) or 'LSTM'.
    private static func decoderType(_ r: AoAOptionReader) throws -> DecoderType {
        let source = r.source
        switch r.value("decoder_type") {
        case nil: return .aoa
        case .string(let name)?:
            guard let type = DecoderType(rawValue: name) else {
                throw r.unsupported(
                    "decoder_type", "'\(name)'",
                    "nightcap decodes decoder_type 'AoA' (the paper's and every config's) and 'LSTM'; upstream builds a plain Linear + ReLU for any other value, which nightcap does not decode")
            }
            return type
        case let other?:
            throw ModelFileError(
                .invalidAttribute, file: source, object: "opt.decoder_type",
                message: "option `decoder_type` is \(TransformerOptions.describe(other)), expected a string ('AoA' or 'LSTM')")
        }
    }

    /// The options and combinations nightcap (or upstream) cannot decode, refused once every option is read.
    private func checkSupported(_ r: AoAOptionReader, multiHead: Int) throws {
        let source = r.source
        if !multiHeadDecoder && scale != 1 {
            throw r.unsupported(
                "multi_head_scale", "\(scale)",
                "with use_multi_head=\(multiHead) the decoder's additive attention returns rnn_size values while att2ctx expects multi_head_scale * rnn_size; upstream cannot run this model either")
        }
        if (refine || multiHeadDecoder) && (scale * rnnSize) % heads != 0 {
            throw ModelFileError(
                .invalidAttribute, file: source, object: "opt.num_heads",
                message: "num_heads=\(heads) does not divide multi_head_scale * rnn_size = \(scale * rnnSize) (upstream asserts d_model * scale % h == 0); the infos file does not describe a model upstream can build")
        }
        for (name, why) in [
            ("use_bn", "BatchNorm on the region features"), ("use_box", "box geometry appended to each region"),
            ("norm_att_feat", "L2-normalised regions"),
        ] {
            let v = try r.integer(name, defaultValue: 0, why: why)
            if v != 0 { throw r.unsupported(name, "\(v)", "nightcap feeds AoANet the region features as they are, without \(why)") }
        }
        let logitLayers = try r.integer("logit_layers", defaultValue: 1, why: "the logit layers")
        if logitLayers != 1 {
            throw r.unsupported("logit_layers", "\(logitLayers)", "upstream itself only runs logit_layers 1 on Python 3")
        }
    }
}

extension AoAOptions {
    /// Whether `infos` describe an AoANet whose decoder never reads the fc features (`mean_feats` 1,
    /// upstream's default): then where they came from does not matter.
    static func ignoresFC(_ infos: TrainingInfos) -> Bool {
        guard infos.options["caption_model"] == .string("aoa") else { return false }
        switch infos.options["mean_feats"] {
        case nil, .some(TrainingOption.none): return true
        case .int(let v)?: return v != 0
        case .bool(let b)?: return b
        default: return false
        }
    }
}

/// Reads the options of one infos file as `AoAModel.__init__` does; every problem is one
/// `ModelFileError` naming the infos file and the option.
private struct AoAOptionReader {
    let infos: TrainingInfos
    var source: String { infos.source }

    func value(_ name: String) -> TrainingOption? {
        guard let v = infos.options[name], v != .none else { return nil }
        return v
    }
    func integer(_ name: String, defaultValue: Int?, why: String) throws -> Int {
        guard let option = value(name) else {
            if let defaultValue { return defaultValue }
            throw ModelFileError(
                .missingAttribute, file: source, object: "opt.\(name)",
                message: "the infos options have no `\(name)`, which AoAModel reads (\(why)); use the infos_<id>.pkl written next to the checkpoint by the same training run")
        }
        switch option {
        case .int(let v): return v
        case .bool(let b): return b ? 1 : 0
        case .double(let d) where d == d.rounded() && abs(d) < 1e9: return Int(d)
        default:
            throw ModelFileError(
                .invalidAttribute, file: source, object: "opt.\(name)",
                message: "option `\(name)` is \(TransformerOptions.describe(option)), expected an integer; use the infos file of the training run that wrote the checkpoint")
        }
    }
    func positive(_ name: String, defaultValue: Int? = nil, why: String) throws -> Int {
        let v = try integer(name, defaultValue: defaultValue, why: why)
        guard v >= 1 else {
            throw ModelFileError(
                .invalidAttribute, file: source, object: "opt.\(name)",
                message: "option `\(name)` is \(v), expected a positive integer; the infos file does not describe a model upstream can build")
        }
        return v
    }
    func unsupported(_ name: String, _ shown: String, _ why: String) -> ModelFileError {
        ModelFileError(.invalidAttribute, file: source, object: "opt.\(name)", message: "option \(name)=\(shown) is not supported: \(why)")
    }
}
