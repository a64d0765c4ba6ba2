import PythonFiles

/// self-critical.pytorch's Transformer (`caption_model` `transformer`, captioning/models/TransformerModel.py)
/// read from its checkpoints and infos, decoded with upstream's search rules.
struct TransformerFamily: ModelFamily {
    var name: String { "transformer" }
    var searchConvention: SearchConvention { .selfCritical }
    var captionModels: [String] { ["transformer"] }

    func recognises(tensorNames: Set<String>) -> Bool {
        tensorNames.contains("model.decoder.layers.0.src_attn.linears.0.weight")
    }

    func load(_ source: ModelSource) throws -> any CaptioningModel {
        guard case .checkpoint(let checkpoint, let infos) = source else { throw wrongSource(source) }
        return try TransformerCaptionModel(stateDict: checkpoint.stateDict, infos: infos, path: checkpoint.path)
    }

    /// The options `TransformerOptions` reads beyond those of the other self-critical families.
    var shownOptions: [String] { ["caption_model", "N_enc", "N_dec", "d_model", "d_ff", "num_att_heads"] }

    /// Its layers, heads and sizes as nightcap reads them from the infos and the tensors, or why it
    /// cannot (one line each).
    func describe(checkpoint: TorchCheckpoint, infos: TrainingInfos?) -> [String] {
        func row(_ label: String, _ value: String) -> String { label.padding(toLength: 17, withPad: " ", startingAt: 0) + value }
        let tensors = checkpoint.stateDict.tensors
        var lines: [String] = []
        if let infos {
            do {
                let o = try TransformerOptions(infos: infos)
                lines.append(row("layers", "encoder \(o.encoderLayers), decoder \(o.decoderLayers)"))
                lines.append(row("heads", "\(o.heads) (d_k = \(o.modelWidth / o.heads))"))
                lines.append(row("sizes", "d_model=\(o.modelWidth) d_ff=\(o.feedForwardWidth) vocab_size=\(o.vocabularySize)"))
            } catch let error as ModelFileError {
                lines.append(row("problem", error.message))
            } catch {
                lines.append(row("problem", "\(error)"))
            }
        } else {
            let encoder = Set(tensors.keys.compactMap { Self.layerIndex($0, "model.encoder.layers.") }).count
            let decoder = Set(tensors.keys.compactMap { Self.layerIndex($0, "model.decoder.layers.") }).count
            lines.append(row("layers", "encoder \(encoder), decoder \(decoder) (from the tensor names; heads need the infos)"))
        }
        if let embed = tensors["att_embed.0.weight"], embed.shape.count == 2 {
            lines.append(row("region features", "D=\(embed.shape[1]) (att_embed.0.weight)"))
        }
        if let pe = tensors["model.tgt_embed.1.pe"], pe.shape.count == 3 {
            lines.append(row("positions", "\(pe.shape[1]) (model.tgt_embed.1.pe): the longest max length it can decode"))
        }
        lines.append(row("attention", "stored per word: the last decoder layer's cross-attention, averaged over heads"))
        return lines
    }

    /// A warning when the logit layer does not match the vocabulary (the Transformer reads no fc features).
    func warnings(checkpoint: TorchCheckpoint, infos: TrainingInfos) -> [String] {
        CheckpointDescription.vocabularyWarning(logit: "model.generator.proj.weight", checkpoint: checkpoint, infos: infos).map { [$0] } ?? []
    }

    private static func layerIndex(_ name: String, _ prefix: String) -> Int? {
        guard name.hasPrefix(prefix) else { return nil }
        return Int(name.dropFirst(prefix.count).prefix { $0 != "." })
    }
}
