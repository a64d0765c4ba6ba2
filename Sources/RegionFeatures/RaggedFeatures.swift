import HDF5

/// `features [total_regions, D]` with `pos_boxes [N, 2]` (each image's start and end row), optional
/// `image_ids [N]`, `image_bb`/`boxes [total_regions, 4]` and `region_labels [total_regions]`, as the
/// adaptive bottom-up-attention converters write them.
struct RaggedFeatures: FeatureSource {
    let resolvedNames: FeatureDatasetNames
    let imageIDs: [String]
    let regionCounts: [Int]
    let maxRegions: Int
    let dimension: Int
    let storedType: HDF5ElementType
    var hasBoxes: Bool { boxes != nil }
    var hasLabels: Bool { labels != nil }

    let features: HDF5Dataset
    let boxes: HDF5Dataset?
    let labels: HDF5Dataset?
    let labelNames: [String]?
    let starts: [Int]

    init(group: HDF5Group, names: FeatureDatasetNames) throws {
        let path = group.file.path
        let found = try FeatureChecks.featuresDataset(in: group, names: names, rank: 2, shape: "[total_regions, D]", layout: .ragged)
        features = found.dataset
        let featureName = found.name
        let total = features.shape[0]
        dimension = features.shape[1]
        storedType = features.elementType
        var resolved = names
        resolved.layout = .ragged
        resolved.features = featureName

        guard let positionName = FeatureChecks.firstPresent(names.positions, FeatureDatasetNames.positionCandidates, in: group) else {
            throw FeatureFileError(
                file: path, dataset: group.path, message: "the ragged layout needs pos_boxes [N, 2] (start, end row of each image); set `positions` in [features]")
        }
        let positions = try FeatureChecks.dataset(positionName, in: group, role: "region positions", configurationKey: "positions")
        guard positions.shape.count == 2, positions.shape[1] == 2 else {
            throw FeatureFileError(file: path, dataset: positions.path, message: "has shape \(positions.shape), expected [N, 2] (start, end row of each image)")
        }
        resolved.positions = positionName
        let count = positions.shape[0]
        let rows = try positions.readIntegers()
        var starts: [Int] = []
        var counts: [Int] = []
        starts.reserveCapacity(count)
        counts.reserveCapacity(count)
        for index in 0..<count {
            let start = rows[2 * index], end = rows[2 * index + 1]
            guard start >= 0, end <= Int64(total), start < end else {
                throw FeatureFileError(
                    file: path, dataset: positions.path,
                    message: "image \(index) spans rows \(start)..<\(end), outside 0..<\(total) of \(features.path) or empty; each image needs start < end <= \(total)")
            }
            starts.append(Int(start))
            counts.append(Int(end - start))
        }
        // Overlap check on the images sorted by start row: two images must never share a row.
        let order = (0..<count).sorted { starts[$0] < starts[$1] }
        for (previous, next) in zip(order, order.dropFirst()) where starts[previous] + counts[previous] > starts[next] {
            throw FeatureFileError(
                file: path, dataset: positions.path,
                message: "images \(previous) (rows \(starts[previous])..<\(starts[previous] + counts[previous])) and \(next) (rows \(starts[next])..<\(starts[next] + counts[next])) overlap")
        }
        self.starts = starts
        regionCounts = counts
        maxRegions = counts.max() ?? 0

        if let name = FeatureChecks.firstPresent(names.imageIDs, FeatureDatasetNames.imageIDCandidates, in: group) {
            imageIDs = try FeatureChecks.readIDs(
                FeatureChecks.dataset(name, in: group, role: "image ids", configurationKey: "image_ids"), count: count)
            resolved.imageIDs = name
        } else {
            imageIDs = (0..<count).map { String($0) }
        }
        let annotations = try RegionAnnotations(
            in: group, names: names, resolved: &resolved, regionShape: [total], regions: "region row")
        boxes = annotations.boxes
        labels = annotations.labels
        labelNames = annotations.labelNames
        resolvedNames = resolved
    }

    func representativeDataset() throws -> HDF5Dataset { features }

    func read(rows: [Int]) throws -> FeatureShard {
        let counts = rows.map { regionCounts[$0] }
        let extent = counts.max() ?? 1
        try FeatureChecks.requireShardFits(images: rows.count, regions: extent, dimension: dimension, file: features.file.path, dataset: features.path)
        var values = [Float](repeating: 0, count: rows.count * extent * dimension)
        var shardBoxes: [Float]? = boxes == nil ? nil : [Float](repeating: 0, count: rows.count * extent * 4)
        var shardLabels: [String]? = labels == nil ? nil : [String](repeating: "", count: rows.count * extent)
        // Images stored back to back are read with one hyperslab and scattered.
        var position = 0
        while position < rows.count {
            var end = position + 1
            while end < rows.count && starts[rows[end]] == starts[rows[end - 1]] + regionCounts[rows[end - 1]] { end += 1 }
            let first = starts[rows[position]]
            let blockRows = counts[position..<end].reduce(0, +)
            let block = try features.readFloats(start: [first, 0], count: [blockRows, dimension])
            let blockBoxes = try boxes?.readFloats(start: [first, 0], count: [blockRows, 4])
            let blockLabels = try labels.map { try FeatureChecks.readLabels($0, start: [first], count: [blockRows], names: labelNames) }
            var row = 0
            for offset in position..<end {
                let regions = counts[offset], destination = offset * extent
                values.replaceSubrange(
                    (destination * dimension)..<((destination + regions) * dimension),
                    with: block[(row * dimension)..<((row + regions) * dimension)])
                if let blockBoxes {
                    shardBoxes!.replaceSubrange((destination * 4)..<((destination + regions) * 4), with: blockBoxes[(row * 4)..<((row + regions) * 4)])
                }
                if let blockLabels {
                    shardLabels!.replaceSubrange(destination..<(destination + regions), with: blockLabels[row..<(row + regions)])
                }
                row += regions
            }
            position = end
        }
        return FeatureShard(
            imageIndices: rows, imageIDs: rows.map { imageIDs[$0] }, regionCounts: counts, regionsPerImage: extent,
            dimension: dimension, features: values, boxes: shardBoxes, labels: shardLabels)
    }
}
