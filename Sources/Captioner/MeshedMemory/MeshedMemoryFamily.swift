import PythonFiles

/// aimagelab/meshed-memory-transformer (M2, CVPR 2020): its `train.py` checkpoint, recognised by
/// its tensor names (it comes with no infos), read with upstream's `vocab.pkl` (`--vocab`, default
/// the one beside it) and a head count (`--heads`, not in the file; default 8 as `test.py`),
/// decoded with its own beam search (`MeshedMemoryBeamSearch`).
struct MeshedMemoryFamily: ModelFamily {
    var name: String { "meshed-memory" }
    var searchConvention: SearchConvention { .meshedMemory }
    var readsCheckpointsWithoutInfos: Bool { true }
    var loadOptions: [ModelLoadOptions.Name] { [.vocab, .heads] }

    /// Its decoder's level gates and its encoder's memory slots.
    func recognises(tensorNames: Set<String>) -> Bool {
        tensorNames.contains("decoder.layers.0.fc_alpha1.weight") && tensorNames.contains("encoder.layers.0.mhatt.attention.m_k")
    }

    /// The vocabulary given, else the one beside the checkpoint (`MeshedMemoryVocabulary.locate`).
    func resolve(_ options: ModelLoadOptions, checkpoint: String) throws -> ModelLoadOptions {
        var resolved = options
        if resolved.vocabularyPath == nil { resolved.vocabularyPath = try MeshedMemoryVocabulary.locate(besideCheckpoint: checkpoint) }
        return resolved
    }

    func load(_ source: ModelSource) throws -> any CaptioningModel {
        guard case .bareCheckpoint(let checkpoint, let given) = source else { throw wrongSource(source) }
        let vocabularyPath = try given.vocabularyPath ?? MeshedMemoryVocabulary.locate(besideCheckpoint: checkpoint.path)
        return try MeshedMemoryModel(
            stateDict: checkpoint.stateDict, vocabulary: try MeshedMemoryVocabulary.load(path: vocabularyPath),
            heads: given.heads ?? MeshedMemoryModel.defaultHeads, path: checkpoint.path)
    }

    /// The model's summary without its path and family (which `inspect` already shows), or why it
    /// cannot be built: the vocabulary (missing, unreadable) or the model (a tensor, the head count).
    func describe(checkpoint: TorchCheckpoint, options: ModelLoadOptions) -> [String] {
        do {
            return try load(.bareCheckpoint(checkpoint, options: options)).summary.split(separator: "\n").dropFirst(2).map(String.init)
        } catch let error as CheckpointError {
            return ["vocabulary       \(error)"]
        } catch let error as ModelFileError {
            return ["model            \(error)"]
        } catch {
            return ["problem          \(error)"]
        }
    }
}
