import HDF5

/// What `nightcap inspect` reports about a features file.
public struct FeatureFileSummary: Sendable, CustomStringConvertible {
    public var path: String
    public var layout: FeatureLayout
    public var imageCount: Int
    public var maxRegions: Int
    public var minRegions: Int
    public var meanRegions: Double
    /// Images per valid-region count, ascending by count.
    public var regionHistogram: [(regions: Int, images: Int)]
    public var dimension: Int
    public var storedType: String
    public var chunkShape: [Int]?
    public var filters: [String]
    public var names: FeatureDatasetNames
    public var hasImageIDs: Bool
    public var hasBoxes: Bool
    public var hasLabels: Bool
    public var firstImageIDs: [String]

    /// The `[features]` block of a pipeline file that selects exactly these datasets.
    public var configurationBlock: String {
        var lines = ["[features]", "path = \(tomlString(path))", "layout = \(tomlString(layout.rawValue))"]
        func add(_ key: String, _ value: String?) { if let value { lines.append("\(key) = \(tomlString(value))") } }
        if layout == .perImage { add("group", names.group) }
        add("features", names.features)
        add("num_regions", names.numRegions)
        add("image_ids", names.imageIDs)
        add("positions", names.positions)
        add("boxes", names.boxes)
        add("labels", names.labels)
        add("label_names", names.labelNames)
        return lines.joined(separator: "\n")
    }

    public var description: String {
        var lines: [String] = []
        lines.append("features file  \(path)")
        lines.append("layout         \(layout.rawValue)")
        lines.append("images (N)     \(imageCount)")
        let mean = (meanRegions * 10).rounded() / 10
        lines.append("regions (R)    max \(maxRegions), min \(minRegions), mean \(mean)")
        let shown = regionHistogram.count <= 8
            ? regionHistogram.map { "\($0.regions): \($0.images)" }.joined(separator: ", ")
            : regionHistogram.prefix(4).map { "\($0.regions): \($0.images)" }.joined(separator: ", ") + ", ..., "
                + regionHistogram.suffix(3).map { "\($0.regions): \($0.images)" }.joined(separator: ", ")
        lines.append("               images by valid regions: \(shown)")
        lines.append("dimension (D)  \(dimension)")
        lines.append("dtype          \(storedType)")
        lines.append("storage        " + (chunkShape.map { "chunked \($0)" } ?? "contiguous")
            + (filters.isEmpty ? ", uncompressed" : ", filters: " + filters.joined(separator: ", ")))
        var optional: [String] = []
        optional.append(hasImageIDs ? "image ids (\(names.imageIDs ?? "dataset names"))" : "no image ids (ids are row numbers)")
        if let counts = names.numRegions { optional.append("region counts (\(counts))") }
        optional.append(hasBoxes ? "boxes" + (names.boxes.map { " (\($0))" } ?? "") : "no boxes")
        optional.append(hasLabels ? "region labels" + (names.labels.map { " (\($0))" } ?? "") : "no region labels")
        lines.append("optional       " + optional.joined(separator: "; "))
        if !firstImageIDs.isEmpty {
            lines.append("first ids      " + firstImageIDs.joined(separator: ", ") + (imageCount > firstImageIDs.count ? ", ..." : ""))
        }
        lines.append("")
        lines.append("pipeline configuration:")
        lines.append(configurationBlock)
        return lines.joined(separator: "\n")
    }
}

func tomlString(_ value: String) -> String {
    var escaped = ""
    for character in value {
        switch character {
        case "\"": escaped += "\\\""
        case "\\": escaped += "\\\\"
        case "\n": escaped += "\\n"
        case "\t": escaped += "\\t"
        default: escaped.append(character)
        }
    }
    return "\"\(escaped)\""
}

extension RegionFeatureFile {
    /// Describes the file: layout, sizes, region distribution, storage and the configuration block.
    public func summary() throws -> FeatureFileSummary {
        let representative = try source.representativeDataset()
        var histogram: [Int: Int] = [:]
        for count in regionCounts { histogram[count, default: 0] += 1 }
        let hasIDs = layout == .perImage || names.imageIDs != nil
        return FeatureFileSummary(
            path: path, layout: layout, imageCount: imageCount, maxRegions: maxRegions,
            minRegions: regionCounts.min() ?? 0,
            meanRegions: regionCounts.isEmpty ? 0 : Double(regionCounts.reduce(0, +)) / Double(regionCounts.count),
            regionHistogram: histogram.sorted { $0.key < $1.key }.map { (regions: $0.key, images: $0.value) },
            dimension: dimension, storedType: storedType.description, chunkShape: representative.chunkShape,
            filters: representative.filters.map(\.description), names: names, hasImageIDs: hasIDs, hasBoxes: hasBoxes,
            hasLabels: hasLabels, firstImageIDs: Array(imageIDs.prefix(5)))
    }
}
