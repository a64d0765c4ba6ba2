import PythonFiles

/// What a model is loaded from.
public enum ModelSource: Sendable {
    /// A nightcap model file (HDF5, schemas/model-format.md).
    case modelFile(path: String)
    /// A PyTorch or safetensors checkpoint and the infos it is read with (self-critical.pytorch's
    /// options and vocabulary).
    case checkpoint(TorchCheckpoint, infos: TrainingInfos)

    /// The file the model is read from.
    public var path: String {
        switch self {
        case .modelFile(let path): path
        case .checkpoint(let checkpoint, _): checkpoint.path
        }
    }
}

/// A model family: everything nightcap knows about one architecture, as one value registered in
/// `ModelFamilies.all`. It says how to recognise its files, how to load and check them into a
/// `CaptioningModel`, what `inspect` shows about a checkpoint of it, and whose search rules its
/// decoders follow (`searchConvention`; the stepper is its models' `makeDecoder`). Nothing outside
/// a family's folder matches its name or its tensor names: `ModelLoader`, `CheckpointDescription`,
/// `inspect` and the pipeline ask the registry.
public protocol ModelFamily: Sendable {
    /// The family's name as `inspect`, `show` and error messages print it (`updown`).
    var name: String { get }
    /// Whose search rules its decoders follow.
    var searchConvention: SearchConvention { get }
    /// Whether it reads nightcap model files (HDF5): the family `ModelLoader` hands them to.
    var readsModelFiles: Bool { get }
    /// self-critical.pytorch's `caption_model` values whose checkpoints it decodes (empty: none).
    var captionModels: [String] { get }
    /// Whether its models take a pooled feature per image (`CaptioningModel.takesPooledFeatures`).
    var takesPooledFeatures: Bool { get }
    /// Whether a checkpoint's tensor names are this family's (for `inspect` without infos).
    func recognises(tensorNames: Set<String>) -> Bool
    /// Loads and checks a model. Every problem is a `ModelFileError` naming the file, the key and the fix.
    func load(_ source: ModelSource) throws -> any CaptioningModel
    /// The infos options `inspect` shows for its checkpoints, in order.
    var shownOptions: [String] { get }
    /// The family's own lines of `inspect` for a checkpoint (sizes, layers...), printed after its
    /// family; `infos` is nil when none were found.
    func describe(checkpoint: TorchCheckpoint, infos: TrainingInfos?) -> [String]
    /// What `inspect` warns about a checkpoint of this family and its infos.
    func warnings(checkpoint: TorchCheckpoint, infos: TrainingInfos) -> [String]
}

extension ModelFamily {
    public var readsModelFiles: Bool { false }
    public var captionModels: [String] { [] }
    public var takesPooledFeatures: Bool { false }
    public func recognises(tensorNames: Set<String>) -> Bool { false }
    public var shownOptions: [String] { [] }
    public func describe(checkpoint: TorchCheckpoint, infos: TrainingInfos?) -> [String] { [] }
    public func warnings(checkpoint: TorchCheckpoint, infos: TrainingInfos) -> [String] { [] }

    /// What the family reads, for messages: `updown (caption_model updown, topdown)`.
    var reads: String {
        var what: [String] = []
        if readsModelFiles { what.append("nightcap's HDF5 model files") }
        if !captionModels.isEmpty { what.append("caption_model " + captionModels.joined(separator: ", ")) }
        return "\(name) (\(what.joined(separator: "; ")))"
    }

    /// The error for a source of the wrong kind (a checkpoint given to a family of model files, or
    /// the reverse); `ModelLoader` never makes one.
    func wrongSource(_ source: ModelSource) -> ModelFileError {
        ModelFileError(
            .wrongModelType, file: source.path,
            message: "is not a model of the \(reads) family; open it with ModelLoader.load, which asks every family")
    }
}

/// The registry: every family nightcap decodes, in the order they are asked.
public enum ModelFamilies {
    /// Adding a family is adding its value here (docs/decoder.md, "Adding a family").
    public static let all: [any ModelFamily] = [ShowAttendTellFamily(), UpDownFamily(), TransformerFamily()]

    /// The family that reads nightcap model files.
    static var modelFileFamily: (any ModelFamily)? { all.first { $0.readsModelFiles } }

    /// The family of a `caption_model` value, if any.
    public static func family(captionModel: String) -> (any ModelFamily)? {
        all.first { $0.captionModels.contains(captionModel) }
    }

    /// The family whose tensor names a checkpoint has, if any.
    public static func family(tensorNames: Set<String>) -> (any ModelFamily)? {
        all.first { $0.recognises(tensorNames: tensorNames) }
    }

    /// The family of a checkpoint read with `infos`, by their `caption_model`. Throws a
    /// `ModelFileError` naming the checkpoint, the infos, the value and the families known when none
    /// decodes it.
    public static func family(checkpoint: String, infos: TrainingInfos) throws -> any ModelFamily {
        let name = infos.options["caption_model"].flatMap { if case .string(let s) = $0 { s } else { nil } }
        if let name, let family = family(captionModel: name) { return family }
        throw unknownCaptionModel(name, infos: infos.source, checkpoint: checkpoint)
    }

    /// The error for infos whose `caption_model` (`name`, nil when absent) no family decodes.
    static func unknownCaptionModel(_ name: String?, infos: String, checkpoint: String) -> ModelFileError {
        let shown = name.map { "`\($0)`" } ?? "no caption_model"
        return ModelFileError(
            .wrongModelType, file: checkpoint,
            message: "its infos file \(infos) names \(shown), which no family of nightcap decodes; the families known are "
                + all.map(\.reads).joined(separator: ", ")
                + "; evaluate this checkpoint with self-critical.pytorch's tools/eval.py")
    }

    /// The names of the families whose models take a pooled feature per image.
    public static var takingPooledFeatures: [String] { all.filter(\.takesPooledFeatures).map(\.name) }

    /// The infos options `inspect` shows: every family's, in registry order, each once.
    public static var shownOptions: [String] {
        var seen = Set<String>()
        return all.flatMap(\.shownOptions).filter { seen.insert($0).inserted }
    }
}
