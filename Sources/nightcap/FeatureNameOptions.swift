import ArgumentParser
import RegionFeatures

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
