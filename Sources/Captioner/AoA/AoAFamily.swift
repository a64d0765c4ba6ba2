import PythonFiles

/// self-critical.pytorch's AoANet (Huang et al. 2019, Attention on Attention; `caption_model` `aoa`,
/// captioning/models/AoAModel.py, the code of husthuaan/AoANet) read from its checkpoints and
/// infos, decoded with upstream's search rules.
struct AoAFamily: ModelFamily {
    var name: String { "aoa" }
    var searchConvention: SearchConvention { .selfCritical }
    var captionModels: [String] { ["aoa"] }
    /// fc, upstream's pooled feature, which an AoANet with `mean_feats` 0 reads (`AoAModel.takesPooledFeatures`).
    var takesPooledFeatures: Bool { true }

    /// The attention LSTM and the decoder's output layer: `att2ctx.0` (GLU, `decoder_type` AoA) or
    /// an LSTM cell (`decoder_type` LSTM).
    func recognises(tensorNames: Set<String>) -> Bool {
        tensorNames.contains("core.att_lstm.weight_ih")
            && (tensorNames.contains("core.att2ctx.0.weight") || tensorNames.contains("core.att2ctx.weight_ih"))
    }

    func load(_ source: ModelSource) throws -> any CaptioningModel {
        guard case .checkpoint(let checkpoint, let infos) = source else { throw wrongSource(source) }
        return try AoAModel(stateDict: checkpoint.stateDict, infos: infos, path: checkpoint.path)
    }

    /// The options `AoAOptions` reads: the sizes every self-critical family has, then AoANet's own.
    var shownOptions: [String] {
        [
            "caption_model", "input_encoding_size", "rnn_size", "att_hid_size", "vocab_size",
            "refine", "refine_aoa", "use_ff", "decoder_type", "use_multi_head", "num_heads", "multi_head_scale", "mean_feats", "ctx_drop",
            "out_res",
        ]
    }

    /// Its refiner, decoder and sizes as nightcap reads them from the infos, or why it cannot (one
    /// line each); without infos, the refiner layers from the tensor names.
    func describe(checkpoint: TorchCheckpoint, infos: TrainingInfos?) -> [String] {
        func row(_ label: String, _ value: String) -> String { label.padding(toLength: 17, withPad: " ", startingAt: 0) + value }
        let tensors = checkpoint.stateDict.tensors
        guard let infos else {
            let layers = Set(tensors.keys.compactMap { name -> Int? in
                guard name.hasPrefix("refiner.layers.") else { return nil }
                return Int(name.dropFirst("refiner.layers.".count).prefix { $0 != "." })
            }).count
            return [row("refiner", "\(layers) layers (from the tensor names; the options need the infos)")]
        }
        var lines: [String] = []
        var options: AoAOptions?
        do {
            let o = try AoAOptions(infos: infos)
            options = o
            lines.append(row("refiner", o.refine ? "6 layers, \(o.heads) heads, \(o.refineAoA ? "AoA gate" : "output layer")" : "none (refine 0)"))
            lines.append(row("decoder", "\(o.decoderType.rawValue), " + (o.multiHeadDecoder
                ? "multi-head attention, \(o.heads) heads (d_k = \(o.headWidth))" : "additive attention, att_hid_size \(o.attentionHiddenSize)")))
            lines.append(row("pooled input", o.meanFeatures ? "mean of the refined regions (mean_feats 1)" : "fc_embed of the pooled features (mean_feats 0)"))
            lines.append(row("sizes", "rnn_size=\(o.rnnSize) input_encoding_size=\(o.encodingSize) multi_head_scale=\(o.scale) vocab_size=\(o.vocabularySize)"))
        } catch let error as ModelFileError {
            lines.append(row("problem", error.message))
        } catch {
            lines.append(row("problem", "\(error)"))
        }
        if let embed = tensors["att_embed.0.weight"], embed.shape.count == 2 {
            lines.append(row("region features", "D=\(embed.shape[1]) (att_embed.0.weight)"))
        }
        let attention = options.map(AoAModel.attentionMeaning) ?? "the decoder's attention over the refined regions, averaged over heads if multi-head"
        lines.append(row("attention", "stored per word: " + attention))
        return lines
    }

    /// With `mean_feats` 0, a warning when the model did not train on bottom-up region means as fc
    /// features; and when `logit.weight` does not match the vocabulary.
    func warnings(checkpoint: TorchCheckpoint, infos: TrainingInfos) -> [String] {
        var out: [String] = []
        if !AoAOptions.ignoresFC(infos), let warning = CheckpointDescription.pooledFeaturesWarning(infos: infos) {
            out.append(warning)
        }
        if let warning = CheckpointDescription.vocabularyWarning(logit: "logit.weight", checkpoint: checkpoint, infos: infos) {
            out.append(warning)
        }
        return out
    }
}
