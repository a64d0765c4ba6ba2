import ArgumentParser
import Captioner
import RegionFeatures

extension Nightcap {
    /// `nightcap inspect FILE.h5`: what a features or model file holds, and how to configure it.
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Describe a features file (layout, N, R, D, storage) or a model file (sizes, activation, vocabulary).",
            discussion: """
                For a features file, prints the detected layout, the number of images, the distribution of \
                valid regions, the feature dimension, dtype, chunking and compression, the optional datasets \
                found, and the [features] block of a pipeline file that selects them.
                """)

        @Argument(help: "The file to describe: features or model HDF5, a PyTorch checkpoint (.pth, .ckpt), a .safetensors file or an infos .pkl.")
        var file: String

        @Option(help: "self-critical.pytorch's infos pickle for a PyTorch checkpoint (default: the infos_*.pkl beside it).")
        var infos: String?

        @Option(help: "The Meshed-Memory Transformer's vocab.pkl for its checkpoint (default: the vocab.pkl beside it).")
        var vocab: String?

        @Option(help: "The Meshed-Memory Transformer's head count (not in its checkpoint; default 8, as upstream's test.py).")
        var heads: Int?

        @OptionGroup var names: FeatureNameOptions

        func run() throws {
            print(try FileInspection.describe(path: file, names: names.datasetNames, infos: infos, vocab: vocab, heads: heads))
        }
    }
}

/// Decides what kind of file a path is, by content, and describes it: an HDF5 file with a
/// `model_type` root attribute is a model, any other HDF5 file is read as features; PyTorch and
/// safetensors checkpoints are described with their infos; a pickle is read as an infos file.
enum FileInspection {
    static func describe(path: String, names: FeatureDatasetNames, infos: String? = nil, vocab: String? = nil, heads: Int? = nil) throws -> String {
        switch try CheckpointFormat.detect(path: path) {
        case .hdf5:
            if try CaptionModel.isModelFile(path: path) { return try CaptionModel.load(path: path).describe.description }
            return try RegionFeatureFile(path: path, names: names).summary().description
        case .torchZip, .torchLegacy, .safetensors:
            let checkpoint = try TorchCheckpoint.load(path: path)
            if MeshedMemoryModel.recognizes(checkpoint.stateDict) {
                var description = CheckpointDescription(checkpoint: checkpoint, infos: nil)
                do {
                    // The summary without its first two lines (the path and family the description already shows).
                    let summary = try ModelLoader.load(path: path, vocab: vocab, heads: heads).model.summary
                    description.meshedMemory = summary.split(separator: "\n").dropFirst(2).joined(separator: "\n")
                } catch let error as CheckpointError {
                    description.meshedMemory = "vocabulary       \(error)"
                } catch let error as ModelFileError {
                    description.meshedMemory = "model            \(error)"
                }
                return description.description
            }
            if let infos {
                return CheckpointDescription(checkpoint: checkpoint, infos: try TrainingInfos.load(path: infos)).description
            }
            if let embedded = checkpoint.embeddedInfos {
                return CheckpointDescription(checkpoint: checkpoint, infos: embedded).description
            }
            do {
                let found = try TrainingInfos.locate(besideCheckpoint: path)
                return CheckpointDescription(checkpoint: checkpoint, infos: try TrainingInfos.load(path: found)).description
            } catch let error as CheckpointError where error.file == path {
                return CheckpointDescription(checkpoint: checkpoint, infos: nil, infosProblem: error.message).description
            }
        case .pickle:
            return try TrainingInfos.load(path: path).summary
        }
    }
}
