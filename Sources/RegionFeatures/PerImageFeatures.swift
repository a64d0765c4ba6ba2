import HDF5

/// One `[R_i, D]` dataset per image, named by the image id (`391895`) or `<id>_features`, with
/// optional `<id>_boxes [R_i, 4]` and `<id>_labels [R_i]`, as self-critical.pytorch and
/// meshed-memory-transformer dump them.
struct PerImageFeatures: FeatureSource {
    let resolvedNames: FeatureDatasetNames
    let imageIDs: [String]
    let regionCounts: [Int]
    let maxRegions: Int
    let dimension: Int
    let storedType: HDF5ElementType
    let hasBoxes: Bool
    let hasLabels: Bool

    let group: HDF5Group
    let datasetNames: [String]

    static let auxiliarySuffixes = ["_boxes", "_labels", "_cls_prob", "_num_boxes", "_bbox", "_size", "_hw"]

    /// The image id a dataset name stands for: `391895` or `391895_features` (any id with `_features`).
    static func imageID(fromDatasetName name: String) -> String? {
        if name.hasSuffix("_features") {
            let id = String(name.dropLast("_features".count))
            return id.isEmpty ? nil : id
        }
        if !name.isEmpty, name.allSatisfy(\.isASCII), name.allSatisfy(\.isNumber) { return name }
        return nil
    }

    init(group: HDF5Group, names: FeatureDatasetNames) throws {
        self.group = group
        let path = group.file.path
        let members = try group.memberNames()
        let explicit = names.layout == .perImage
        var entries: [(id: String, dataset: String)] = []
        for name in members where group.kind(of: name) == .dataset {
            if let id = Self.imageID(fromDatasetName: name) {
                entries.append((id, name))
            } else if explicit, !Self.auxiliarySuffixes.contains(where: { name.hasSuffix($0) }) {
                entries.append((name, name))
            }
        }
        guard !entries.isEmpty else {
            throw FeatureFileError(
                file: path, dataset: group.path,
                message: "no per-image feature datasets (named by the image id, like 391895, or <id>_features)")
        }
        if entries.allSatisfy({ Int64($0.id) != nil }) {
            entries.sort { Int64($0.id)! < Int64($1.id)! }
        }

        var counts: [Int] = []
        counts.reserveCapacity(entries.count)
        var dimension: Int?
        var storedType: HDF5ElementType?
        for entry in entries {
            let dataset = try group.dataset(entry.dataset)
            try FeatureChecks.requireFloat(dataset, role: "region features")
            guard dataset.shape.count == 2 else {
                throw FeatureFileError(
                    file: path, dataset: dataset.path,
                    message: "has shape \(dataset.shape), expected [regions, D] for the per-image layout")
            }
            guard dataset.shape[0] >= 1 else {
                throw FeatureFileError(file: path, dataset: dataset.path, message: "has no regions (shape \(dataset.shape)); every image needs at least one")
            }
            if let dimension, dataset.shape[1] != dimension {
                throw FeatureFileError(
                    file: path, dataset: dataset.path,
                    message: "has feature dimension \(dataset.shape[1]), but the images before it have \(dimension)")
            }
            dimension = dataset.shape[1]
            storedType = storedType ?? dataset.elementType
            counts.append(dataset.shape[0])
        }
        imageIDs = entries.map(\.id)
        datasetNames = entries.map(\.dataset)
        regionCounts = counts
        maxRegions = counts.max() ?? 0
        self.dimension = dimension ?? 0
        self.storedType = storedType ?? .float(bits: 32)

        let withBoxes = entries.filter { group.contains($0.id + "_boxes") }.count
        if withBoxes != 0 && withBoxes != entries.count {
            throw FeatureFileError(
                file: path, dataset: group.path,
                message: "\(withBoxes) of \(entries.count) images have <id>_boxes; give every image its boxes or none")
        }
        hasBoxes = withBoxes == entries.count
        hasLabels = entries.allSatisfy { group.contains($0.id + "_labels") }
        var resolved = names
        resolved.layout = .perImage
        resolved.group = group.path
        resolvedNames = resolved
    }

    func representativeDataset() throws -> HDF5Dataset { try group.dataset(datasetNames[0]) }

    func read(rows: [Int]) throws -> FeatureShard {
        let ids = rows.map { imageIDs[$0] }
        let counts = rows.map { regionCounts[$0] }
        let extent = counts.max() ?? 1
        try FeatureChecks.requireShardFits(
            images: rows.count, regions: extent, dimension: dimension, file: group.file.path, dataset: group.path)
        var values = [Float](repeating: 0, count: rows.count * extent * dimension)
        var boxes: [Float]? = hasBoxes ? [Float](repeating: 0, count: rows.count * extent * 4) : nil
        var labels: [String]? = hasLabels ? [String](repeating: "", count: rows.count * extent) : nil
        for (offset, index) in rows.enumerated() {
            let regions = counts[offset]
            let dataset = try group.dataset(datasetNames[index])
            let base = offset * extent * dimension
            try values.withUnsafeMutableBufferPointer { buffer in
                let slot = UnsafeMutableBufferPointer(rebasing: buffer[base..<(base + regions * dimension)])
                try dataset.readFloats(into: slot)
            }
            if hasBoxes {
                let boxDataset = try group.dataset(ids[offset] + "_boxes")
                try FeatureChecks.requireShape(boxDataset, [regions, 4], described: "[\(regions), 4] (one box per region of \(dataset.path))")
                let read = try boxDataset.readFloats()
                boxes!.replaceSubrange((offset * extent * 4)..<(offset * extent * 4 + read.count), with: read)
            }
            if hasLabels {
                let labelDataset = try group.dataset(ids[offset] + "_labels")
                try FeatureChecks.requireShape(labelDataset, [regions], described: "[\(regions)] (one label per region)")
                let read = try FeatureChecks.readLabels(labelDataset, start: [0], count: [regions], names: nil)
                labels!.replaceSubrange((offset * extent)..<(offset * extent + regions), with: read)
            }
        }
        return FeatureShard(
            imageIndices: rows, imageIDs: ids, regionCounts: counts, regionsPerImage: extent,
            dimension: dimension, features: values, boxes: boxes, labels: labels)
    }
}
