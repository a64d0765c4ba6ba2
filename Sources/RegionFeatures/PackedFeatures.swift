import HDF5

/// `features [N, R, D]` with optional `num_regions [N]`, `image_ids [N]`, `boxes [N, R, 4]` and
/// `region_labels [N, R]`.
struct PackedFeatures: FeatureSource {
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

    init(group: HDF5Group, names: FeatureDatasetNames) throws {
        let path = group.file.path
        let found = try FeatureChecks.featuresDataset(in: group, names: names, rank: 3, shape: "[N, R, D]", layout: .packed)
        features = found.dataset
        let featureName = found.name
        let count = features.shape[0]
        maxRegions = features.shape[1]
        dimension = features.shape[2]
        storedType = features.elementType
        var resolved = names
        resolved.layout = .packed
        resolved.features = featureName

        if let name = FeatureChecks.firstPresent(names.numRegions, FeatureDatasetNames.numRegionCandidates, in: group) {
            let dataset = try FeatureChecks.dataset(name, in: group, role: "region counts", configurationKey: "num_regions")
            try FeatureChecks.requireShape(dataset, [count], described: "[\(count)] (valid regions of each image)")
            let counts = try dataset.readIntegers()
            for (index, value) in counts.enumerated() where value < 1 || value > Int64(maxRegions) {
                throw FeatureFileError(
                    file: path, dataset: dataset.path,
                    message: "image \(index) has \(value) valid regions, outside 1...\(maxRegions) (R of \(features.path)); fix the counts or the features")
            }
            regionCounts = counts.map { Int($0) }
            resolved.numRegions = name
        } else {
            regionCounts = Array(repeating: maxRegions, count: count)
        }

        if let name = FeatureChecks.firstPresent(names.imageIDs, FeatureDatasetNames.imageIDCandidates, in: group) {
            let dataset = try FeatureChecks.dataset(name, in: group, role: "image ids", configurationKey: "image_ids")
            imageIDs = try FeatureChecks.readIDs(dataset, count: count)
            resolved.imageIDs = name
        } else {
            imageIDs = (0..<count).map { String($0) }
        }

        let annotations = try RegionAnnotations(
            in: group, names: names, resolved: &resolved, regionShape: [count, maxRegions], regions: "region")
        boxes = annotations.boxes
        labels = annotations.labels
        labelNames = annotations.labelNames
        resolvedNames = resolved
    }

    func representativeDataset() throws -> HDF5Dataset { features }

    func read(rows: [Int]) throws -> FeatureShard {
        let n = rows.count
        try FeatureChecks.requireShardFits(images: n, regions: maxRegions, dimension: dimension, file: features.file.path, dataset: features.path)
        var values = [Float](repeating: 0, count: n * maxRegions * dimension)
        var shardBoxes: [Float]? = boxes == nil ? nil : []
        var shardLabels: [String]? = labels == nil ? nil : []
        let image = maxRegions * dimension
        for run in ChosenRows.runs(rows) {
            try values.withUnsafeMutableBufferPointer { buffer in
                let slot = UnsafeMutableBufferPointer(rebasing: buffer[(run.position * image)..<((run.position + run.rows.count) * image)])
                try features.readFloats(start: [run.rows.lowerBound, 0, 0], count: [run.rows.count, maxRegions, dimension], into: slot)
            }
            if let boxes {
                shardBoxes! += try boxes.readFloats(start: [run.rows.lowerBound, 0, 0], count: [run.rows.count, maxRegions, 4])
            }
            if let labels {
                shardLabels! += try FeatureChecks.readLabels(
                    labels, start: [run.rows.lowerBound, 0], count: [run.rows.count, maxRegions], names: labelNames)
            }
        }
        let counts = rows.map { regionCounts[$0] }
        // Padding beyond each image's valid regions is zeroed, so that whatever a file stores there
        // (often garbage or repeated rows) cannot reach any computation.
        for (offset, valid) in counts.enumerated() where valid < maxRegions {
            let start = (offset * maxRegions + valid) * dimension
            let end = (offset + 1) * maxRegions * dimension
            values.replaceSubrange(start..<end, with: repeatElement(0, count: end - start))
        }
        if shardLabels != nil {
            for (offset, valid) in counts.enumerated() where valid < maxRegions {
                for region in valid..<maxRegions { shardLabels![offset * maxRegions + region] = "" }
            }
        }
        return FeatureShard(
            imageIndices: rows, imageIDs: rows.map { imageIDs[$0] }, regionCounts: counts,
            regionsPerImage: maxRegions, dimension: dimension, features: values, boxes: shardBoxes, labels: shardLabels)
    }
}
