import PythonFiles

/// self-critical.pytorch's UpDown (Anderson et al. 2018; `caption_model` `updown`, `topdown` before
/// 2020) read from its checkpoints and infos, decoded with upstream's search rules.
struct UpDownFamily: ModelFamily {
    var name: String { "updown" }
    var searchConvention: SearchConvention { .selfCritical }
    var captionModels: [String] { ["updown", "topdown"] }
    /// fc, upstream's pooled feature (`input_fc_dir`).
    var takesPooledFeatures: Bool { true }

    func recognises(tensorNames: Set<String>) -> Bool {
        tensorNames.contains("core.att_lstm.weight_ih") && tensorNames.contains("core.lang_lstm.weight_ih")
    }

    func load(_ source: ModelSource) throws -> any CaptioningModel {
        guard case .checkpoint(let checkpoint, let infos) = source else { throw wrongSource(source) }
        return try UpDownModel(stateDict: checkpoint.stateDict, infos: infos, path: checkpoint.path)
    }

    /// The options `UpDownModel` reads, and the data options every self-critical family has.
    var shownOptions: [String] {
        [
            "caption_model", "input_encoding_size", "rnn_size", "att_hid_size", "att_feat_size", "fc_feat_size",
            "num_layers", "use_bn", "use_box", "norm_att_feat", "vocab_size", "seq_length", "max_length",
            "input_fc_dir", "input_att_dir",
        ]
    }

    /// A warning when the model did not train on bottom-up region means as fc features, and when
    /// `logit.weight` does not match the vocabulary.
    func warnings(checkpoint: TorchCheckpoint, infos: TrainingInfos) -> [String] {
        var out: [String] = []
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
        if let warning = CheckpointDescription.vocabularyWarning(logit: "logit.weight", checkpoint: checkpoint, infos: infos) {
            out.append(warning)
        }
        return out
    }
}
