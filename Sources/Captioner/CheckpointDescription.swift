import PythonFiles

/// What `nightcap inspect model-best.pth` shows about a PyTorch checkpoint and its infos: the
/// parts every checkpoint has here, the family's own lines and warnings from its `ModelFamily`.
public struct CheckpointDescription: Sendable, CustomStringConvertible {
    public var checkpoint: TorchCheckpoint
    /// The infos used: embedded (Lightning), found beside the checkpoint, or given.
    public var infos: TrainingInfos?
    /// Why there are no infos (none beside the checkpoint, several...).
    public var infosProblem: String?

    /// The training options `inspect` prints, in this order: every family's (`ModelFamilies.shownOptions`).
    public static var shownOptions: [String] { ModelFamilies.shownOptions }

    public init(checkpoint: TorchCheckpoint, infos: TrainingInfos?, infosProblem: String? = nil) {
        self.checkpoint = checkpoint
        self.infos = infos
        self.infosProblem = infosProblem
    }

    /// Describes the checkpoint at `path` with the infos `ModelLoader` would use (`given`, embedded
    /// or beside it); when none are found beside it, says why instead of failing.
    public static func describe(path: String, given infos: String?) throws -> CheckpointDescription {
        let checkpoint = try TorchCheckpoint.load(path: path)
        do {
            return CheckpointDescription(checkpoint: checkpoint, infos: try TrainingInfos.forCheckpoint(checkpoint, given: infos).infos)
        } catch let error as CheckpointError where error.file == path {
            return CheckpointDescription(checkpoint: checkpoint, infos: nil, infosProblem: error.message)
        }
    }

    /// `caption_model` from the infos, if they name one.
    private var captionModel: String? {
        if case .string(let name)? = infos?.options["caption_model"] { return name }
        return nil
    }

    /// The family the checkpoint belongs to: by the infos' `caption_model`, else by the tensor names.
    public var modelFamily: (any ModelFamily)? {
        if let captionModel { return ModelFamilies.family(captionModel: captionModel) }
        return ModelFamilies.family(tensorNames: Set(checkpoint.tensorNames))
    }

    /// The model family as `inspect` prints it: `caption_model` from the infos, else the family
    /// recognised from the tensor names.
    public var family: String {
        if let captionModel { return captionModel }
        if let family = modelFamily { return "\(family.name) (from the tensor names; no infos)" }
        return "unknown (no infos; tensor names of no known family)"
    }

    /// The family's warnings about the checkpoint and its infos.
    public var warnings: [String] {
        guard let infos, let family = modelFamily else { return [] }
        return family.warnings(checkpoint: checkpoint, infos: infos)
    }

    /// A family's warning when the rows of its logit layer `logit` do not match the vocabulary of
    /// the infos (+1 for the end token), or nil.
    public static func vocabularyWarning(logit name: String, checkpoint: TorchCheckpoint, infos: TrainingInfos) -> String? {
        guard let logit = checkpoint.stateDict.tensors[name], logit.shape.count == 2, logit.shape[0] != infos.vocabulary.count + 1 else {
            return nil
        }
        return "\(name) has \(logit.shape[0]) rows but the vocabulary has \(infos.vocabulary.count) words (+1 for the end token): the infos file belongs to another model"
    }

    public var description: String {
        var lines: [String] = []
        func row(_ label: String, _ value: String) {
            lines.append(label.padding(toLength: 17, withPad: " ", startingAt: 0) + value)
        }
        row("checkpoint", checkpoint.path)
        row("family", family)
        lines += modelFamily?.describe(checkpoint: checkpoint, infos: infos) ?? []
        lines += storageLines
        if let infos {
            lines += Self.infosLines(infos)
        } else {
            row("infos", infosProblem ?? "none")
        }
        for warning in warnings { lines.append("warning: \(warning)") }
        return lines.joined(separator: "\n")
    }

    /// Format, container, and the tensors (the first 40 by name).
    private var storageLines: [String] {
        let c = checkpoint
        var lines: [String] = []
        func row(_ label: String, _ value: String) {
            lines.append(label.padding(toLength: 17, withPad: " ", startingAt: 0) + value)
        }
        switch c.format {
        case .safetensors: row("format", "safetensors")
        case .zip, .legacy:
            row("format", "PyTorch \(c.format.rawValue) (\(c.format == .zip ? "torch >= 1.6" : "torch <= 1.5 or _use_new_zipfile_serialization=False")), pickle protocol \(c.pickleProtocol.map(String.init) ?? "?")")
        }
        var container: String
        switch c.container {
        case "state dict": container = "the whole file (torch.save(model.state_dict()))"
        case "safetensors": container = "the whole file"
        default: container = "checkpoint\(c.container)"
        }
        if let prefix = c.removedPrefix { container += ", '\(prefix)' prefix removed" }
        row("state dict", container)
        let parameters = c.tensorNames.reduce(0) { $0 + (c.stateDict.tensors[$1]?.values.count ?? 0) }
        var byType: [String: Int] = [:]
        for name in c.tensorNames { byType[c.storedTypes[name] ?? "?", default: 0] += 1 }
        let types = byType.keys.sorted().map { "\(byType[$0]!) \($0)" }.joined(separator: ", ")
        row("tensors", "\(c.tensorNames.count) (\(types)), \(parameters) values")
        let shown = 40
        for name in c.tensorNames.prefix(shown) {
            let shape = c.stateDict.tensors[name]?.shape ?? []
            lines.append("  \(name.padding(toLength: max(34, name.count), withPad: " ", startingAt: 0)) (\(shape.map(String.init).joined(separator: ", "))) \(c.storedTypes[name] ?? "")")
        }
        if c.tensorNames.count > shown { lines.append("  ... \(c.tensorNames.count - shown) more") }
        if !c.skippedEntries.isEmpty {
            row("not tensors", c.skippedEntries.prefix(10).joined(separator: ", ") + " (ignored)")
        }
        return lines
    }

    /// The infos file, its vocabulary, special tokens and the shown options.
    private static func infosLines(_ infos: TrainingInfos) -> [String] {
        func row(_ label: String, _ value: String) -> String { label.padding(toLength: 17, withPad: " ", startingAt: 0) + value }
        var lines = [row("infos", infos.source), row("vocabulary", "\(infos.vocabulary.count) words")]
        let unk = infos.vocabulary.first { $0.value == "UNK" }.map { "unk=\($0.key) \"UNK\"" } ?? "no UNK word"
        let index = { (name: String) -> String in
            if case .int(let v)? = infos.options[name] { return String(v) }
            return "0"
        }
        lines.append(row("special tokens", "bos=\(index("bos_idx")) eos=\(index("eos_idx")) pad=\(index("pad_idx")) (the end token), \(unk)"))
        lines.append("training options")
        for name in shownOptions {
            guard let value = infos.options[name] else { continue }
            lines.append("  \(name.padding(toLength: 21, withPad: " ", startingAt: 0))\(value.text)")
        }
        return lines
    }
}

extension TrainingInfos {
    /// What `nightcap inspect infos_<id>-best.pkl` shows: vocabulary and the options that matter.
    public var summary: String {
        var lines = [
            "infos            \(source)",
            "vocabulary       \(vocabulary.count) words",
            "options          \(options.count)",
        ]
        for name in CheckpointDescription.shownOptions {
            guard let value = options[name] else { continue }
            lines.append("  \(name.padding(toLength: 21, withPad: " ", startingAt: 0))\(value.text)")
        }
        return lines.joined(separator: "\n")
    }
}
