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

        @Argument(help: "The HDF5 file to describe.")
        var file: String

        @OptionGroup var names: FeatureNameOptions

        func run() throws {
            print(try FileInspection.describe(path: file, names: names.datasetNames))
        }
    }
}

/// Describes an HDF5 file as a model or as features; `Captioner` decides which it is.
enum FileInspection {
    static func describe(path: String, names: FeatureDatasetNames) throws -> String {
        if try CaptionModel.isModelFile(path: path) { return try CaptionModel.load(path: path).describe.description }
        return try RegionFeatureFile(path: path, names: names).summary().description
    }
}
