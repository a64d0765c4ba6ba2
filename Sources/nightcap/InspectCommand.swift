import ArgumentParser
import Captioner
import HDF5
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

        @Argument(help: "The HDF5 file to describe.")
        var file: String

        @OptionGroup var names: FeatureNameOptions

        func run() throws {
            print(try FileInspection.describe(path: file, names: names.datasetNames))
        }
    }
}

/// Dataset-name overrides for features files, shared by the commands that read them.
struct FeatureNameOptions: ParsableArguments {
    @Option(help: "Features layout: packed, per-image or ragged (default: detected).")
    var layout: FeatureLayout?

    @Option(name: .customLong("features-dataset"), help: "Name of the features dataset (packed, ragged).")
    var featuresDataset: String?

    @Option(name: .customLong("group"), help: "Group that holds the datasets (per-image: one dataset per image).")
    var group: String?

    var datasetNames: FeatureDatasetNames {
        FeatureDatasetNames(layout: layout, group: group, features: featuresDataset)
    }
}

extension FeatureLayout: ExpressibleByArgument {}

/// Decides what kind of HDF5 file a path is and describes it: a file with a `model_type` root
/// attribute is a model, anything else is read as features.
enum FileInspection {
    static func describe(path: String, names: FeatureDatasetNames) throws -> String {
        let isModel = try HDF5File.open(path).root.hasAttribute("model_type")
        if isModel { return try CaptionModel.load(path: path).describe.description }
        return try RegionFeatureFile(path: path, names: names).summary().description
    }
}
