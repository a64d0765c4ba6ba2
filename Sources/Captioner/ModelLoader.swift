import HDF5
import PythonFiles

/// Opens a model of any family, deciding by the file's content and asking the registry
/// (`ModelFamilies`): a nightcap model file (HDF5) goes to the family that reads model files; a
/// PyTorch checkpoint (zip or legacy `torch.save`, a Lightning `.ckpt`) or a safetensors file is
/// read with its infos and goes to the family of their `caption_model`.
public enum ModelLoader {
    /// A loaded model and the infos file it was built with (nil for nightcap model files and for
    /// checkpoints that carry their own options).
    public struct Loaded: Sendable {
        public var model: any CaptioningModel
        public var infosPath: String?
    }

    /// Loads `path`. `infos` names self-critical.pytorch's infos file; without it the infos the
    /// checkpoint embeds, else the one beside it are used (`TrainingInfos.forCheckpoint`).
    public static func load(path: String, infos: String? = nil) throws -> Loaded {
        switch try CheckpointFormat.detect(path: path) {
        case .hdf5:
            guard let family = ModelFamilies.modelFileFamily else {
                throw ModelFileError(.wrongModelType, file: path, message: "is an HDF5 file, and no family of nightcap reads model files")
            }
            return Loaded(model: try family.load(.modelFile(path: path)), infosPath: nil)
        case .torchZip, .torchLegacy, .safetensors:
            let checkpoint = try TorchCheckpoint.load(path: path)
            let found = try TrainingInfos.forCheckpoint(checkpoint, given: infos)
            let family = try ModelFamilies.family(checkpoint: path, infos: found.infos)
            return Loaded(model: try family.load(.checkpoint(checkpoint, infos: found.infos)), infosPath: found.path)
        case .pickle:
            throw ModelFileError(
                .unreadable, file: path,
                message: "is a plain pickle (an infos file?), not a model; pass the checkpoint beside it with --model and the pickle with --infos")
        }
    }

    /// Whether the HDF5 file at `path` is a model file rather than, say, a features file: model files
    /// carry a `model_type` root attribute (schemas/model-format.md) and features files never do.
    /// Whether its model type is one nightcap decodes is `load`'s question, which then says what is
    /// wrong. Throws when the file cannot be opened as HDF5.
    public static func isModelFile(path: String) throws -> Bool {
        try HDF5File.open(path).root.hasAttribute("model_type")
    }
}
