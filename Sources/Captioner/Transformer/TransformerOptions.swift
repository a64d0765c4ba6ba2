import PythonFiles

/// The sizes of a self-critical.pytorch Transformer (`caption_model` `transformer`), read from the
/// options of its infos file the way `TransformerModel.__init__` reads them.
public struct TransformerOptions: Sendable, Equatable, CustomStringConvertible {
    /// `N_enc` (older files: `num_layers`).
    public var encoderLayers: Int
    /// `N_dec` (older files: `num_layers`).
    public var decoderLayers: Int
    /// `d_model` (older files: `input_encoding_size`).
    public var modelWidth: Int
    /// `d_ff` (older files: `rnn_size`).
    public var feedForwardWidth: Int
    /// `num_att_heads` (8 when absent, upstream's default).
    public var heads: Int
    /// `vocab_size`: words 1...V; the model's rows are V + 1 (row 0 is the start/end token).
    public var vocabularySize: Int

    public init(encoderLayers: Int, decoderLayers: Int, modelWidth: Int, feedForwardWidth: Int, heads: Int, vocabularySize: Int) {
        self.encoderLayers = encoderLayers
        self.decoderLayers = decoderLayers
        self.modelWidth = modelWidth
        self.feedForwardWidth = feedForwardWidth
        self.heads = heads
        self.vocabularySize = vocabularySize
    }

    public var description: String {
        "N_enc=\(encoderLayers) N_dec=\(decoderLayers) d_model=\(modelWidth) d_ff=\(feedForwardWidth) heads=\(heads) vocab_size=\(vocabularySize)"
    }

    /// Reads the options from `infos`, with upstream's fallbacks: `getattr(opt, 'N_enc', opt.num_layers)`,
    /// `getattr(opt, 'd_model', opt.input_encoding_size)`, `getattr(opt, 'd_ff', opt.rnn_size)`,
    /// `getattr(opt, 'num_att_heads', 8)`. Throws a `ModelFileError` naming the infos file and the option.
    public init(infos: TrainingInfos) throws {
        func integer(_ name: String, fallback: String?, defaultValue: Int? = nil) throws -> Int {
            let chosen: String
            if infos.options[name] != nil {
                chosen = name
            } else if let fallback, infos.options[fallback] != nil {
                chosen = fallback
            } else if let defaultValue {
                return defaultValue
            } else {
                let names = [name, fallback].compactMap { $0 }.map { "`\($0)`" }.joined(separator: " or ")
                throw ModelFileError(
                    .missingAttribute, file: infos.source, object: "opt.\(name)",
                    message: "the infos options have no \(names); a Transformer needs it: use the infos_<id>.pkl written next to the checkpoint by the same training run")
            }
            guard case .int(let value) = infos.options[chosen]!, value >= 1 else {
                throw ModelFileError(
                    .invalidAttribute, file: infos.source, object: "opt.\(chosen)",
                    message: "option `\(chosen)` is \(Self.describe(infos.options[chosen]!)), expected a positive integer; use the infos file of the training run that wrote the checkpoint")
            }
            return value
        }
        if let model = infos.options["caption_model"], model != .string("transformer") {
            throw ModelFileError(
                .wrongModelType, file: infos.source, object: "opt.caption_model",
                message: "caption_model is \(Self.describe(model)), not `transformer`; this infos file belongs to another model family")
        }
        if let bn = infos.options["use_bn"], bn != .int(0), bn != .bool(false), bn != .none {
            throw ModelFileError(
                .invalidAttribute, file: infos.source, object: "opt.use_bn",
                message: "use_bn is \(Self.describe(bn)): Transformers trained with BatchNorm on the region features are not supported; only use_bn=0 (upstream's default and every zoo configuration)")
        }
        encoderLayers = try integer("N_enc", fallback: "num_layers")
        decoderLayers = try integer("N_dec", fallback: "num_layers")
        modelWidth = try integer("d_model", fallback: "input_encoding_size")
        feedForwardWidth = try integer("d_ff", fallback: "rnn_size")
        heads = try integer("num_att_heads", fallback: nil, defaultValue: 8)
        vocabularySize = try integer("vocab_size", fallback: nil)
        guard modelWidth % heads == 0 else {
            throw ModelFileError(
                .invalidAttribute, file: infos.source, object: "opt.num_att_heads",
                message: "num_att_heads=\(heads) does not divide d_model=\(modelWidth) (upstream asserts d_model % h == 0); the infos file does not describe a model upstream can build: use the infos of the training run")
        }
    }

    static func describe(_ option: TrainingOption) -> String {
        switch option {
        case .none: return "None"
        case .bool(let value): return value ? "True" : "False"
        case .int(let value): return "\(value)"
        case .double(let value): return "\(value)"
        case .string(let value): return "'\(value)'"
        case .other(let value): return value
        }
    }
}
