/// What `nightcap inspect model-best.pth` shows about a PyTorch checkpoint and its infos.
public struct CheckpointDescription: Sendable, CustomStringConvertible {
    public var checkpoint: TorchCheckpoint
    /// The infos used: embedded (Lightning), found beside the checkpoint, or given.
    public var infos: TrainingInfos?
    /// Why there are no infos (none beside the checkpoint, several...).
    public var infosProblem: String?

    /// The training options `inspect` prints, in this order.
    public static let shownOptions = [
        "caption_model", "input_encoding_size", "rnn_size", "att_hid_size", "att_feat_size", "fc_feat_size",
        "num_layers", "use_bn", "use_box", "norm_att_feat", "vocab_size", "seq_length", "max_length",
        "input_fc_dir", "input_att_dir", "N_enc", "N_dec", "d_model", "d_ff", "num_att_heads",
    ] + AoAOptions.shownOptions

    public init(checkpoint: TorchCheckpoint, infos: TrainingInfos?, infosProblem: String? = nil) {
        self.checkpoint = checkpoint
        self.infos = infos
        self.infosProblem = infosProblem
    }

    /// The model family: `caption_model` from the infos, else recognised from the tensor names.
    public var family: String {
        if case .string(let name)? = infos?.options["caption_model"] { return name }
        let names = Set(checkpoint.tensorNames)
        if names.contains("core.att_lstm.weight_ih") && names.contains("core.lang_lstm.weight_ih") {
            return "updown (from the tensor names; no infos)"
        }
        if names.contains("model.decoder.layers.0.src_attn.linears.0.weight") {
            return "transformer (from the tensor names; no infos)"
        }
        if names.contains("core.att_lstm.weight_ih") && names.contains("core.att2ctx.0.weight") || names.contains("core.att2ctx.weight_ih") {
            return "aoa (from the tensor names; no infos)"
        }
        return "unknown (no infos; tensor names of no known family)"
    }

    /// A warning when the model did not train on bottom-up region means as fc features.
    public var warnings: [String] {
        var out: [String] = []
        if let infos, infos.options["caption_model"] != .string("transformer"), !AoAOptions.ignoresFC(infos) {  // the Transformer reads no fc
            switch infos.options["input_fc_dir"] {
            case .string(let dir)?:
                let last = dir.split(separator: "/").last.map(String.init) ?? dir
                if !last.lowercased().contains("bu") {
                    out.append(
                        "input_fc_dir is '\(dir)', not a bottom-up fc folder (cocobu_fc): the model trained on other fc features (ResNet's, by upstream's default data/cocotalk_fc), while nightcap feeds it the mean of the regions unless the run names a pooled dataset of those features (--pooled-dataset, [features] pooled); its captions may differ from upstream's")
                }
            case nil:
                out.append("the infos have no input_fc_dir: nightcap uses the mean of the regions as fc, as upstream does without an fc folder")
            default:
                break
            }
        }
        if let infos {
            if let logit = checkpoint.stateDict.tensors["logit.weight"] ?? checkpoint.stateDict.tensors["model.generator.proj.weight"], logit.shape.count == 2,
                logit.shape[0] != infos.vocabulary.count + 1
            {
                out.append("logit.weight has \(logit.shape[0]) rows but the vocabulary has \(infos.vocabulary.count) words (+1 for the end token): the infos file belongs to another model")
            }
        }
        return out
    }

    public var description: String {
        let c = checkpoint
        var lines: [String] = []
        func row(_ label: String, _ value: String) {
            lines.append(label.padding(toLength: 17, withPad: " ", startingAt: 0) + value)
        }
        row("checkpoint", c.path)
        row("family", family)
        lines += transformerLines
        lines += aoaLines
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
        if let infos {
            row("infos", infos.source)
            row("vocabulary", "\(infos.vocabulary.count) words")
            let unk = infos.vocabulary.first { $0.value == "UNK" }.map { "unk=\($0.key) \"UNK\"" } ?? "no UNK word"
            let index = { (name: String) -> String in
                if case .int(let v)? = infos.options[name] { return String(v) }
                return "0"
            }
            row("special tokens", "bos=\(index("bos_idx")) eos=\(index("eos_idx")) pad=\(index("pad_idx")) (the end token), \(unk)")
            lines.append("training options")
            for name in Self.shownOptions {
                guard let value = infos.options[name] else { continue }
                lines.append("  \(name.padding(toLength: 21, withPad: " ", startingAt: 0))\(value.text)")
            }
        } else {
            row("infos", infosProblem ?? "none")
        }
        for warning in warnings { lines.append("warning: \(warning)") }
        return lines.joined(separator: "\n")
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
