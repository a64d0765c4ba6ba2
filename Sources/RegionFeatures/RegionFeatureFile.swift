import Foundation
import HDF5

/// A region-features file opened for shard reads: its layout, its images and their region counts.
///
/// Opening validates what can be validated from metadata and the small index datasets (region
/// counts, ids, positions); the features themselves are read shard by shard, never all at once.
/// Not `Sendable`: it owns HDF5 handles, and one reader thread owns it.
public final class RegionFeatureFile {
    public let path: String
    public let layout: FeatureLayout
    /// The resolved dataset names (what was found or configured).
    public let names: FeatureDatasetNames
    /// The image ids in file order.
    public let imageIDs: [String]
    /// Valid regions per image, in file order.
    public let regionCounts: [Int]
    /// The padded region extent R (packed) or the largest region count (per-image, ragged).
    public let maxRegions: Int
    /// Feature dimension D.
    public let dimension: Int
    /// The on-disk element type of the features.
    public let storedType: HDF5ElementType
    public let hasBoxes: Bool
    public let hasLabels: Bool

    let file: HDF5File
    let source: any FeatureSource

    public var imageCount: Int { imageIDs.count }

    /// Opens `path`, detecting the layout unless `names.layout` is set. `externalIDs` names the
    /// rows of a packed or ragged file that has no ids of its own (an `*_imgid2idx.pkl` id map).
    public init(path: String, names: FeatureDatasetNames = FeatureDatasetNames(), externalIDs: ExternalImageIDs? = nil) throws {
        self.path = path
        file = try HDF5File.open(path)
        let group = try file.root.openGroup(path: names.group ?? "/")
        let layout = try names.layout ?? Self.detectLayout(group: group, names: names, path: path)
        let source: any FeatureSource
        switch layout {
        case .packed: source = try PackedFeatures(group: group, names: names)
        case .perImage: source = try PerImageFeatures(group: group, names: names)
        case .ragged: source = try RaggedFeatures(group: group, names: names)
        }
        self.layout = layout
        self.source = source
        var resolved = source.resolvedNames
        resolved.pooled = names.pooled
        self.names = resolved
        pooledDataset = try names.pooled.map {
            try Self.pooledDataset($0, in: group, layout: layout, images: source.imageIDs.count, dimension: source.dimension)
        }
        if let externalIDs {
            try externalIDs.check(against: source, layout: layout, path: path)
            imageIDs = externalIDs.ids
        } else {
            imageIDs = source.imageIDs
        }
        self.externalIDs = externalIDs
        regionCounts = source.regionCounts
        maxRegions = source.maxRegions
        dimension = source.dimension
        storedType = source.storedType
        hasBoxes = source.hasBoxes
        hasLabels = source.hasLabels
        try Self.checkUniqueIDs(imageIDs, path: path, dataset: externalIDs?.source ?? source.resolvedNames.imageIDs)
    }

    /// The id map the image ids came from, when they did not come from the file.
    public let externalIDs: ExternalImageIDs?
    /// The configured pooled features `[N, D]` (`FeatureDatasetNames.pooled`).
    let pooledDataset: HDF5Dataset?

    /// Opens and checks the pooled dataset `name`: floats of shape `[images, dimension]`, for a
    /// layout whose images have a row order.
    static func pooledDataset(_ name: String, in group: HDF5Group, layout: FeatureLayout, images: Int, dimension: Int) throws -> HDF5Dataset {
        guard layout != .perImage else {
            throw FeatureFileError(
                file: group.file.path, dataset: group.childPath(name),
                message: "a pooled dataset [images, D] gives one row per image in the file's image order, which a per-image file does not have; remove `pooled` from [features] (or --pooled-dataset), and nightcap pools each image's regions")
        }
        let dataset = try FeatureChecks.dataset(name, in: group, role: "pooled features", configurationKey: "pooled")
        try FeatureChecks.requireFloat(dataset, role: "pooled features")
        try FeatureChecks.requireShape(
            dataset, [images, dimension],
            described: "[\(images), \(dimension)]: one pooled vector per image (\(images) images) as long as a region (\(dimension) features, the model's att_feat_size); name the right dataset in `pooled` of [features] (or --pooled-dataset), or drop it to pool the regions")
        return dataset
    }

    /// Reads the images `range` (indices in file order) with hyperslab selections.
    public func read(_ range: Range<Int>) throws -> FeatureShard {
        precondition(range.lowerBound >= 0 && range.upperBound <= imageCount, "shard \(range) outside 0..<\(imageCount)")
        return try read(rows: Array(range))
    }

    /// Reads the images at `rows` (indices in file order, ascending, distinct) and nothing else:
    /// each run of consecutive rows is one hyperslab selection, so a whole range costs one read and
    /// a split's scattered images cost one read per run.
    public func read(rows: [Int]) throws -> FeatureShard {
        precondition(
            zip(rows, rows.dropFirst()).allSatisfy { $0 < $1 } && (rows.first ?? 0) >= 0 && (rows.last ?? 0) < imageCount,
            "shard rows must ascend within 0..<\(imageCount)")
        var shard = try source.read(rows: rows)
        if externalIDs != nil { shard.imageIDs = rows.map { imageIDs[$0] } }
        if let pooledDataset {
            var pooled = [Float](repeating: 0, count: rows.count * dimension)
            for run in ChosenRows.runs(rows) {
                let block = try pooledDataset.readFloats(start: [run.rows.lowerBound, 0], count: [run.rows.count, dimension])
                pooled.replaceSubrange((run.position * dimension)..<((run.position + run.rows.count) * dimension), with: block)
            }
            shard.pooled = pooled
        }
        return shard
    }

    static func detectLayout(group: HDF5Group, names: FeatureDatasetNames, path: String) throws -> FeatureLayout {
        let members = try group.memberNames()
        let present = Set(members)
        let featureName = names.features ?? FeatureDatasetNames.featureCandidates.first { present.contains($0) }
        if let positions = names.positions ?? FeatureDatasetNames.positionCandidates.first(where: { present.contains($0) }),
            present.contains(positions)
        {
            _ = positions
            return .ragged
        }
        if let featureName, group.kind(of: featureName) == .dataset {
            let rank = try group.dataset(featureName).shape.count
            if rank == 3 { return .packed }
            throw FeatureFileError(
                file: path, dataset: group.childPath(featureName),
                message: "has rank \(rank) (shape \(try group.dataset(featureName).shape)); a packed file needs [N, R, D], a ragged one [total_regions, D] with pos_boxes [N, 2]: add pos_boxes or set layout in [features]")
        }
        if members.contains(where: { PerImageFeatures.imageID(fromDatasetName: $0) != nil && group.kind(of: $0) == .dataset }) {
            return .perImage
        }
        var found: [String] = []
        for name in members.prefix(12) {
            switch group.kind(of: name) {
            case .dataset: found.append("\(name) \(try group.dataset(name).shape)")
            case .group: found.append("\(name)/ (group)")
            default: found.append(name)
            }
        }
        let listing = found.isEmpty ? "nothing" : found.joined(separator: ", ") + (members.count > 12 ? ", ... (\(members.count) in all)" : "")
        throw FeatureFileError(
            file: path, dataset: group.path,
            message: "no recognisable feature layout; found \(listing). nightcap reads packed files (features or image_features [N, R, D]), per-image files (one [R, D] dataset per image, named by the id or <id>_features) and ragged files (features [total, D] with pos_boxes [N, 2]); name yours in the pipeline file's [features] section, e.g. layout = \"packed\" and features = \"my_dataset\"")
    }

    static func checkUniqueIDs(_ ids: [String], path: String, dataset: String?) throws {
        var seen: [String: Int] = [:]
        seen.reserveCapacity(ids.count)
        for (index, id) in ids.enumerated() {
            if let first = seen.updateValue(index, forKey: id) {
                throw FeatureFileError(
                    file: path, dataset: dataset,
                    message: "image id \(id) appears twice (images \(first) and \(index)); every image needs its own id")
            }
        }
    }
}

/// One layout's way of listing and reading images.
protocol FeatureSource {
    var resolvedNames: FeatureDatasetNames { get }
    var imageIDs: [String] { get }
    var regionCounts: [Int] { get }
    var maxRegions: Int { get }
    var dimension: Int { get }
    var storedType: HDF5ElementType { get }
    var hasBoxes: Bool { get }
    var hasLabels: Bool { get }
    /// The features dataset (per-image: the first image's), for storage details.
    func representativeDataset() throws -> HDF5Dataset
    /// Reads the images at `rows` (ascending, distinct indices in file order).
    func read(rows: [Int]) throws -> FeatureShard
}

/// Helpers the layouts share.
enum FeatureChecks {
    /// Checks, before allocating, that a shard of `images` images of `regions` x `dimension` floats
    /// fits in half of this machine's memory: sizes come from the file, and a damaged one must be
    /// an error, not an aborted allocation.
    static func requireShardFits(images: Int, regions: Int, dimension: Int, file: String, dataset: String) throws {
        let (perImage, overflow1) = regions.multipliedReportingOverflow(by: dimension)
        let (floats, overflow2) = perImage.multipliedReportingOverflow(by: images)
        let (bytes, overflow3) = floats.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        let limit = ProcessInfo.processInfo.physicalMemory / 2
        if overflow1 || overflow2 || overflow3 || UInt64(bytes) > limit {
            let size = overflow1 || overflow2 || overflow3
                ? "more bytes than any computer can address" : "\(bytes / (1 << 20)) MiB, more than half of this machine's memory"
            throw FeatureFileError(
                file: file, dataset: dataset,
                message: "a shard of \(images) images of \(regions) regions x \(dimension) features needs \(size); the file's sizes are probably damaged (write it again), or lower shard_size")
        }
    }

    static func firstPresent(_ explicit: String?, _ candidates: [String], in group: HDF5Group) -> String? {
        if let explicit { return explicit }
        return candidates.first { group.kind(of: $0) == .dataset }
    }

    /// Opens a dataset that the configuration named or that was found, with a clear error when absent.
    static func dataset(_ name: String, in group: HDF5Group, role: String, configurationKey: String) throws -> HDF5Dataset {
        guard group.kind(of: name) == .dataset else {
            throw FeatureFileError(
                file: group.file.path, dataset: group.childPath(name),
                message: "no such dataset (configured as the \(role)); members of \(group.path): \((try? group.memberNames().prefix(12).joined(separator: ", ")) ?? "?"). Fix `\(configurationKey)` in [features]")
        }
        return try group.dataset(name)
    }

    /// Finds the features dataset of the packed or ragged layout and checks its type and rank;
    /// `shape` describes the expected extents for messages (`[N, R, D]`).
    static func featuresDataset(in group: HDF5Group, names: FeatureDatasetNames, rank: Int, shape: String, layout: FeatureLayout)
        throws -> (dataset: HDF5Dataset, name: String)
    {
        guard let name = firstPresent(names.features, FeatureDatasetNames.featureCandidates, in: group) else {
            throw FeatureFileError(
                file: group.file.path, dataset: group.path,
                message: "no features dataset for the \(layout.rawValue) layout (looked for \(FeatureDatasetNames.featureCandidates.joined(separator: ", "))); set `features` in [features]")
        }
        let features = try dataset(name, in: group, role: "features", configurationKey: "features")
        try requireFloat(features, role: "region features")
        guard features.shape.count == rank else {
            throw FeatureFileError(
                file: group.file.path, dataset: features.path,
                message: "has shape \(features.shape), expected \(shape) for the \(layout.rawValue) layout")
        }
        return (features, name)
    }

    static func requireFloat(_ dataset: HDF5Dataset, role: String) throws {
        guard dataset.elementType.isFloat else {
            throw FeatureFileError(
                file: dataset.file.path, dataset: dataset.path,
                message: "holds \(dataset.elementType), but \(role) must be float16, float32 or float64")
        }
    }

    static func requireShape(_ dataset: HDF5Dataset, _ expected: [Int?], described: String) throws {
        let matches = dataset.shape.count == expected.count
            && zip(dataset.shape, expected).allSatisfy { actual, wanted in wanted.map { $0 == actual } ?? true }
        guard matches else {
            throw FeatureFileError(
                file: dataset.file.path, dataset: dataset.path,
                message: "has shape \(dataset.shape), expected \(described)")
        }
    }

    /// Reads image ids: integers become their decimal text, strings are kept.
    static func readIDs(_ dataset: HDF5Dataset, count: Int) throws -> [String] {
        try requireShape(dataset, [count], described: "[\(count)] (one id per image)")
        switch dataset.elementType {
        case .integer: return try dataset.readIntegers().map { String($0) }
        case .string: return try dataset.readStrings()
        default:
            throw FeatureFileError(
                file: dataset.file.path, dataset: dataset.path,
                message: "holds \(dataset.elementType); image ids must be integers or strings")
        }
    }

    /// Reads labels `[count]` (strings, or integer class ids mapped through `names` when given).
    static func readLabels(_ dataset: HDF5Dataset, start: [Int], count: [Int], names: [String]?) throws -> [String] {
        switch dataset.elementType {
        case .string:
            return try dataset.readStrings(start: start, count: count)
        case .integer:
            let ids = try dataset.readIntegers(start: start, count: count)
            return ids.map { id in
                if let names, id >= 0, Int(id) < names.count { return names[Int(id)] }
                return String(id)
            }
        default:
            throw FeatureFileError(
                file: dataset.file.path, dataset: dataset.path,
                message: "holds \(dataset.elementType); region labels must be strings or integer class ids")
        }
    }
}

/// The optional boxes and labels of the packed and ragged layouts: found by name, shape-checked.
struct RegionAnnotations {
    var boxes: HDF5Dataset?
    var labels: HDF5Dataset?
    /// Names of integer class ids, when the file has them.
    var labelNames: [String]?

    /// `boxShape` is the shape of the region axes (`[N, R]` packed, `[total]` ragged), described
    /// for messages as `regions`.
    init(in group: HDF5Group, names: FeatureDatasetNames, resolved: inout FeatureDatasetNames, regionShape: [Int], regions: String) throws {
        let described = regionShape.map(String.init).joined(separator: ", ")
        if let name = FeatureChecks.firstPresent(names.boxes, FeatureDatasetNames.boxCandidates, in: group) {
            let dataset = try FeatureChecks.dataset(name, in: group, role: "boxes", configurationKey: "boxes")
            try FeatureChecks.requireShape(dataset, regionShape + [4], described: "[\(described), 4] (x1, y1, x2, y2 of each \(regions))")
            guard dataset.elementType.isFloat || dataset.elementType.isInteger else {
                throw FeatureFileError(file: group.file.path, dataset: dataset.path, message: "holds \(dataset.elementType); boxes must be numbers")
            }
            boxes = dataset
            resolved.boxes = name
        }
        if let name = FeatureChecks.firstPresent(names.labels, FeatureDatasetNames.labelCandidates, in: group) {
            let dataset = try FeatureChecks.dataset(name, in: group, role: "region labels", configurationKey: "labels")
            try FeatureChecks.requireShape(dataset, regionShape, described: "[\(described)] (a label per \(regions))")
            labels = dataset
            resolved.labels = name
            if let namesDataset = FeatureChecks.firstPresent(names.labelNames, FeatureDatasetNames.labelNameCandidates, in: group) {
                labelNames = try FeatureChecks.dataset(namesDataset, in: group, role: "label names", configurationKey: "label_names").readStrings()
                resolved.labelNames = namesDataset
            }
        }
    }
}

/// Not `Sendable`: It owns HDF5 handles: the run reads every shard on the thread that opened it.
@available(*, unavailable)
extension RegionFeatureFile: Sendable {}
