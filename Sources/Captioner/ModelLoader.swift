/// Opens a model of any family, deciding by the file's content: a nightcap model file (HDF5) is the
/// Show-Attend-and-Tell family; a PyTorch checkpoint (zip or legacy `torch.save`, a Lightning
/// `.ckpt`) or a safetensors file is a self-critical.pytorch model whose family its infos name
/// (`caption_model` `transformer`, `aoa`, or `updown`/`topdown`).
public enum ModelLoader {
    /// A loaded model and the infos file it was built with (nil for nightcap model files and for
    /// checkpoints that carry their own options).
    public struct Loaded: Sendable {
        public var model: any CaptioningModel
        public var infosPath: String?
    }

    /// Loads `path`. `infos` names self-critical.pytorch's infos file; without it the one beside the
    /// checkpoint is used (`model-best.pth` -> the single `infos_*-best.pkl`, `model.pth` -> the
    /// single `infos_*.pkl` without `-best`).
    public static func load(path: String, infos: String? = nil) throws -> Loaded {
        switch try CheckpointFormat.detect(path: path) {
        case .hdf5:
            return Loaded(model: try CaptionModel.load(path: path), infosPath: nil)
        case .torchZip, .torchLegacy, .safetensors:
            let checkpoint = try TorchCheckpoint.load(path: path)
            let trainingInfos: TrainingInfos
            var infosPath: String?
            if let infos {
                trainingInfos = try TrainingInfos.load(path: infos)
                infosPath = infos
            } else if let embedded = checkpoint.embeddedInfos {
                trainingInfos = embedded
            } else {
                let found = try TrainingInfos.locate(besideCheckpoint: path)
                trainingInfos = try TrainingInfos.load(path: found)
                infosPath = found
            }
            let model: any CaptioningModel
            if trainingInfos.options["caption_model"] == .string("transformer") {
                model = try TransformerCaptionModel(stateDict: checkpoint.stateDict, infos: trainingInfos, path: path)
            } else if trainingInfos.options["caption_model"] == .string("aoa") {
                model = try AoAModel(stateDict: checkpoint.stateDict, infos: trainingInfos, path: path)
            } else {
                model = try UpDownModel(stateDict: checkpoint.stateDict, infos: trainingInfos, path: path)
            }
            return Loaded(model: model, infosPath: infosPath)
        case .pickle:
            throw ModelFileError(
                .unreadable, file: path,
                message: "is a plain pickle (an infos file?), not a model; pass the checkpoint beside it with --model and the pickle with --infos")
        }
    }
}
