import ArgumentParser
import Captioner
import PythonFiles
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

        @OptionGroup var names: FeatureNameOptions

        func run() throws {
            print(try FileInspection.describe(path: file, names: names.datasetNames, infos: infos))
        }
    }
}

/// Decides what kind of file a path is, by content, and describes it: an HDF5 file with a
/// `model_type` root attribute is a model (described by its family), any other HDF5 file is read as
/// features; PyTorch and safetensors checkpoints are described with their infos; a pickle is read
/// as an infos file.
enum FileInspection {
    static func describe(path: String, names: FeatureDatasetNames, infos: String? = nil) throws -> String {
        switch try CheckpointFormat.detect(path: path) {
        case .hdf5:
            if try ModelLoader.isModelFile(path: path) { return try ModelLoader.load(path: path).model.summary }
            return try RegionFeatureFile(path: path, names: names).summary().description
        case .torchZip, .torchLegacy, .safetensors:
            return try CheckpointDescription.describe(path: path, given: infos).description
        case .pickle:
            return try TrainingInfos.load(path: path).summary
        }
    }
}
