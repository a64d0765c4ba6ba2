/// How region features are arranged in an HDF5 file.
public enum FeatureLayout: String, Sendable, CaseIterable, Codable {
    /// One `[N, R, D]` dataset, padded to R regions, with optional `num_regions [N]`.
    case packed
    /// One `[R_i, D]` dataset per image in a group, named by the image id or `<id>_features`.
    case perImage = "per-image"
    /// One `[total_regions, D]` dataset with `pos_boxes [N, 2]` giving each image's rows.
    case ragged
}

/// Which datasets hold what. Every field left nil is found automatically; a name given here must exist.
public struct FeatureDatasetNames: Sendable, Equatable, Codable {
    /// Force a layout instead of detecting it.
    public var layout: FeatureLayout?
    /// The group that holds the datasets (per-image: the images' datasets); default the root.
    public var group: String?
    /// The features dataset (packed and ragged). Default `features` or `image_features`.
    public var features: String?
    /// Valid regions per image (packed). Default `num_regions` or `num_boxes`.
    public var numRegions: String?
    /// Image ids (packed and ragged). Default `image_ids`; without it, ids are row indices.
    public var imageIDs: String?
    /// Region boxes x1, y1, x2, y2. Default `boxes` or `image_bb`.
    public var boxes: String?
    /// Region labels, strings or integer class ids. Default `region_labels`.
    public var labels: String?
    /// Class names that integer labels index. Default `label_names`.
    public var labelNames: String?
    /// Start and end row of each image (ragged). Default `pos_boxes`.
    public var positions: String?
    /// Pooled features `[N, D]`, one vector per image in row order (packed and ragged): the `fc`
    /// input of self-critical.pytorch's UpDown instead of the mean of the valid regions. Never
    /// found automatically: without it the mean is used, as upstream does without `input_fc_dir`.
    public var pooled: String?

    public init(
        layout: FeatureLayout? = nil, group: String? = nil, features: String? = nil, numRegions: String? = nil,
        imageIDs: String? = nil, boxes: String? = nil, labels: String? = nil, labelNames: String? = nil,
        positions: String? = nil, pooled: String? = nil
    ) {
        self.layout = layout
        self.group = group
        self.features = features
        self.numRegions = numRegions
        self.imageIDs = imageIDs
        self.boxes = boxes
        self.labels = labels
        self.labelNames = labelNames
        self.positions = positions
        self.pooled = pooled
    }

    static let featureCandidates = ["features", "image_features"]
    static let numRegionCandidates = ["num_regions", "num_boxes"]
    static let imageIDCandidates = ["image_ids", "image_id", "ids"]
    static let boxCandidates = ["boxes", "image_bb", "bboxes"]
    static let labelCandidates = ["region_labels", "labels"]
    static let labelNameCandidates = ["label_names", "classes"]
    static let positionCandidates = ["pos_boxes"]
}

/// The features of a list of images (a contiguous range, or the chosen rows of a split), padded to
/// a common region count.
public struct FeatureShard: Sendable {
    /// Each image's index in the file's image order, ascending.
    public var imageIndices: [Int]
    public var imageIDs: [String]
    /// Valid regions of each image; regions past this are padding (zeros).
    public var regionCounts: [Int]
    /// Regions per image in `features` (the padded extent).
    public var regionsPerImage: Int
    /// Feature dimension D.
    public var dimension: Int
    /// `imageCount x regionsPerImage x dimension` floats, row-major.
    public var features: [Float]
    /// `imageCount x regionsPerImage x 4` floats (x1, y1, x2, y2), when the file has boxes.
    public var boxes: [Float]?
    /// `imageCount x regionsPerImage` labels, when the file has them ("" for padding).
    public var labels: [String]?
    /// `imageCount x dimension` pooled features, when the file's pooled dataset is configured.
    public var pooled: [Float]? = nil

    public var imageCount: Int { imageIDs.count }
    /// Index of the first image in the file's image order.
    public var firstImage: Int { imageIndices.first ?? 0 }
}

/// Rows of a features file chosen for a shard, cut into runs of consecutive rows: each run is read
/// with one hyperslab selection.
enum ChosenRows {
    /// The runs of consecutive values of `rows` (ascending, distinct), each with the position of
    /// its first row in `rows`.
    static func runs(_ rows: [Int]) -> [(position: Int, rows: Range<Int>)] {
        var runs: [(position: Int, rows: Range<Int>)] = []
        var position = 0
        while position < rows.count {
            var end = position + 1
            while end < rows.count && rows[end] == rows[end - 1] + 1 { end += 1 }
            runs.append((position, rows[position]..<(rows[end - 1] + 1)))
            position = end
        }
        return runs
    }
}
