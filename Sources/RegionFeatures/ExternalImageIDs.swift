/// Image ids kept outside the features file, one per row: the `*_imgid2idx.pkl` maps
/// (`{image_id: row}`) that bottom-up-attention converters write beside `image_features` /
/// `image_bb` HDF5 files, which hold no ids themselves.
///
/// RegionFeatures reads HDF5 only; the pickle is read by Captioner's restricted pickle reader
/// and handed over here by Pipeline (docs/design.md, "Id maps").
public struct ExternalImageIDs: Sendable, Equatable {
    /// The id of row `i` at index `i`.
    public var ids: [String]
    /// The file they came from, for messages and the run's configuration.
    public var source: String

    public init(ids: [String], source: String) {
        self.ids = ids
        self.source = source
    }

    func check(against source: any FeatureSource, layout: FeatureLayout, path: String) throws {
        guard layout != .perImage else {
            throw FeatureFileError(
                file: path,
                message: "a per-image file names its images by its datasets; the id map \(self.source) is for packed and ragged files: remove id_map from [features]")
        }
        if let own = source.resolvedNames.imageIDs {
            throw FeatureFileError(
                file: path, dataset: own,
                message: "the file has its own image ids and an id map \(self.source) is given too; use one: remove id_map from [features], or set image_ids to another dataset")
        }
        guard ids.count == source.imageIDs.count else {
            throw FeatureFileError(
                file: path,
                message: "holds \(source.imageIDs.count) images but the id map \(self.source) has \(ids.count) rows; use the id map written with this features file (same split)")
        }
    }
}
