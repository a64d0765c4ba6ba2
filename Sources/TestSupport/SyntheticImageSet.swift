import HDF5

/// Images with deterministic region features, written in any of the layouts nightcap reads.
/// Used by tests only.
public struct SyntheticImageSet: Sendable {
    public struct Image: Sendable {
        public var id: String
        /// `regions x dimension` floats.
        public var features: [Float]
        public var regionCount: Int
        public var boxes: [Float]
        public var labels: [String]
    }

    public var images: [Image]
    public var dimension: Int

    public var maxRegions: Int { images.map(\.regionCount).max() ?? 0 }

    /// `regionCounts[i]` regions for image i, ids from `firstID` upward, features a smooth function of
    /// (image, region, feature) so that every value is distinct and exact in float16.
    public init(regionCounts: [Int], dimension: Int, firstID: Int = 1000) {
        self.dimension = dimension
        images = regionCounts.enumerated().map { index, regions in
            var features: [Float] = []
            for region in 0..<regions {
                for feature in 0..<dimension {
                    // Multiples of 1/64 below 32 are exact in float16.
                    features.append(Float((index * 7 + region * 3 + feature) % 2048) / 64 - 16)
                }
            }
            let boxes = (0..<regions).flatMap { region in [Float(region), Float(index), Float(region + 10), Float(index + 20)] }
            let labels = (0..<regions).map { region in ["cube", "ball", "background", "cone"][(index + region) % 4] }
            return Image(id: String(firstID + index), features: features, regionCount: regions, boxes: boxes, labels: labels)
        }
    }

    public enum IDStorage: Sendable { case integers, strings, fixedStrings, none }

    /// Writes the packed layout: `name [N, R, D]`, `num_regions`, ids, `boxes`, `region_labels`.
    public func writePacked(
        to path: String, featureName: String = "features", countName: String? = "num_regions",
        ids: IDStorage = .integers, storage: HDF5StorageType = .float32, options: HDF5StorageOptions = .contiguous,
        withBoxes: Bool = false, withLabels: Bool = false, padding: Float = 99
    ) throws {
        let file = try HDF5File.create(path)
        let root = try file.root
        let r = maxRegions
        var packed = [Float](repeating: padding, count: images.count * r * dimension)
        var boxes = [Float](repeating: -1, count: images.count * r * 4)
        var labels = [String](repeating: "pad", count: images.count * r)
        for (index, image) in images.enumerated() {
            packed.replaceSubrange((index * r * dimension)..<(index * r * dimension + image.features.count), with: image.features)
            boxes.replaceSubrange((index * r * 4)..<(index * r * 4 + image.boxes.count), with: image.boxes)
            labels.replaceSubrange((index * r)..<(index * r + image.labels.count), with: image.labels)
        }
        try root.writeFloats(featureName, packed, shape: [images.count, r, dimension], as: storage, options: options)
        if let countName {
            try root.writeIntegers(countName, images.map { Int64($0.regionCount) }, shape: [images.count], as: .int32)
        }
        try writeIDs(ids, in: root, name: "image_ids")
        if withBoxes { try root.writeFloats("boxes", boxes, shape: [images.count, r, 4]) }
        if withLabels { try root.writeStrings("region_labels", labels, shape: [images.count, r]) }
    }

    /// Writes the per-image layout: one `[R_i, D]` dataset per image, named `<id>` or `<id>_features`.
    public func writePerImage(
        to path: String, suffixed: Bool = false, storage: HDF5StorageType = .float32, withBoxes: Bool = false,
        group: String? = nil
    ) throws {
        let file = try HDF5File.create(path)
        var target = try file.root
        if let group { target = try target.createGroup(group) }
        for image in images {
            try target.writeFloats(suffixed ? image.id + "_features" : image.id, image.features, shape: [image.regionCount, dimension], as: storage)
            if withBoxes { try target.writeFloats(image.id + "_boxes", image.boxes, shape: [image.regionCount, 4]) }
        }
    }

    /// Writes the ragged layout: `features [total, D]`, `pos_boxes [N, 2]`, ids, `image_bb`.
    /// `gap` unused rows are left between images (real converters sometimes leave none, sometimes some).
    public func writeRagged(
        to path: String, ids: IDStorage = .integers, storage: HDF5StorageType = .float32, withBoxes: Bool = false,
        gap: Int = 0, positions: [[Int64]]? = nil
    ) throws {
        let file = try HDF5File.create(path)
        let root = try file.root
        var rows: [Float] = []
        var boxRows: [Float] = []
        var spans: [Int64] = []
        for image in images {
            let start = rows.count / dimension
            rows += image.features
            boxRows += image.boxes
            spans += [Int64(start), Int64(start + image.regionCount)]
            rows += [Float](repeating: 55, count: gap * dimension)
            boxRows += [Float](repeating: 0, count: gap * 4)
        }
        let total = rows.count / dimension
        try root.writeFloats("features", rows, shape: [total, dimension], as: storage)
        try root.writeIntegers("pos_boxes", positions.map { $0.flatMap { $0 } } ?? spans, shape: [images.count, 2])
        try writeIDs(ids, in: root, name: "image_ids")
        if withBoxes { try root.writeFloats("image_bb", boxRows, shape: [total, 4]) }
    }

    private func writeIDs(_ storage: IDStorage, in root: HDF5Group, name: String) throws {
        switch storage {
        case .integers: try root.writeIntegers(name, images.map { Int64($0.id)! }, shape: [images.count])
        case .strings: try root.writeStrings(name, images.map { "img-" + $0.id })
        case .fixedStrings: try root.writeStrings(name, images.map { "img-" + $0.id }, fixedLength: 12)
        case .none: break
        }
    }
}
