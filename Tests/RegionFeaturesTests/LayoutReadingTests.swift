import Foundation
import HDF5
import RegionFeatures
import TestSupport
import Testing

/// Every layout must deliver the same images: ids, region counts and the valid regions' features,
/// with padding zeroed.
@Suite struct LayoutReadingTests {
    let folder = TemporaryDirectory()
    let set = SyntheticImageSet(regionCounts: [3, 1, 5, 2, 5, 4, 2], dimension: 6)

    func expectMatches(_ shard: FeatureShard, _ set: SyntheticImageSet, range: Range<Int>, ids: [String]? = nil) {
        #expect(shard.firstImage == range.lowerBound)
        #expect(shard.imageIDs == (ids ?? set.images[range].map(\.id)))
        #expect(shard.regionCounts == set.images[range].map(\.regionCount))
        #expect(shard.dimension == set.dimension)
        let r = shard.regionsPerImage
        for (offset, image) in set.images[range].enumerated() {
            let slot = Array(shard.features[(offset * r * set.dimension)..<((offset + 1) * r * set.dimension)])
            #expect(Array(slot.prefix(image.features.count)) == image.features, "image \(image.id)")
            #expect(slot.dropFirst(image.features.count).allSatisfy { $0 == 0 }, "padding of image \(image.id) is zero")
        }
    }

    @Test(arguments: [HDF5StorageType.float16, .float32, .float64])
    func packedInEveryDtype(storage: HDF5StorageType) throws {
        let path = folder.path("packed.h5")
        try set.writePacked(to: path, storage: storage)
        let file = try RegionFeatureFile(path: path)
        #expect(file.layout == .packed)
        #expect(file.imageCount == 7)
        #expect(file.maxRegions == 5)
        #expect(file.dimension == 6)
        #expect(file.regionCounts == [3, 1, 5, 2, 5, 4, 2])
        expectMatches(try file.read(0..<7), set, range: 0..<7)
        expectMatches(try file.read(2..<5), set, range: 2..<5)
    }

    @Test func packedCompressedWithBoxesLabelsAndAlternativeNames() throws {
        let path = folder.path("packed-gzip.h5")
        try set.writePacked(
            to: path, featureName: "image_features", countName: "num_boxes", ids: .strings,
            options: HDF5StorageOptions(chunks: [2, 5, 6], gzipLevel: 4, shuffle: true), withBoxes: true, withLabels: true)
        let file = try RegionFeatureFile(path: path)
        #expect(file.names.features == "image_features")
        #expect(file.names.numRegions == "num_boxes")
        #expect(file.hasBoxes && file.hasLabels)
        let shard = try file.read(1..<4)
        expectMatches(shard, set, range: 1..<4, ids: set.images[1..<4].map { "img-" + $0.id })
        // Image 2 (third) has 5 regions: its first box and label.
        #expect(Array(shard.boxes![(1 * 5 * 4)..<(1 * 5 * 4 + 4)]) == Array(set.images[2].boxes.prefix(4)))
        #expect(shard.labels![1 * 5] == set.images[2].labels[0])
        #expect(shard.labels![0 * 5 + 1] == "", "padding regions have no label")
    }

    @Test func packedWithoutCountsOrIDsUsesFullRegionsAndRowNumbers() throws {
        let full = SyntheticImageSet(regionCounts: [4, 4, 4], dimension: 3)
        let path = folder.path("bare.h5")
        try full.writePacked(to: path, countName: nil, ids: .none)
        let file = try RegionFeatureFile(path: path)
        #expect(file.imageIDs == ["0", "1", "2"])
        #expect(file.regionCounts == [4, 4, 4])
        expectMatches(try file.read(0..<3), full, range: 0..<3, ids: ["0", "1", "2"])
    }

    @Test func fixedLengthStringIDs() throws {
        let path = folder.path("fixed-ids.h5")
        try set.writePacked(to: path, ids: .fixedStrings)
        #expect(try RegionFeatureFile(path: path).imageIDs.first == "img-1000")
    }

    @Test(arguments: [false, true])
    func perImage(suffixed: Bool) throws {
        let path = folder.path("per-image.h5")
        // Ids that sort differently as text and as numbers: 1000...1006 plus 999.
        var set = self.set
        set.images[6].id = "999"
        try set.writePerImage(to: path, suffixed: suffixed, storage: .float16, withBoxes: true)
        let file = try RegionFeatureFile(path: path)
        #expect(file.layout == .perImage)
        #expect(file.imageIDs == ["999", "1000", "1001", "1002", "1003", "1004", "1005"], "numeric ids in numeric order")
        #expect(file.maxRegions == 5)
        #expect(file.hasBoxes)
        var ordered = set
        ordered.images = [set.images[6]] + set.images[0..<6]
        let shard = try file.read(1..<4)
        #expect(shard.regionsPerImage == 5)
        expectMatches(shard, ordered, range: 1..<4)
        #expect(Array(shard.boxes!.prefix(4)) == Array(ordered.images[1].boxes.prefix(4)))
    }

    @Test func perImageInAGroup() throws {
        let path = folder.path("grouped.h5")
        try set.writePerImage(to: path, group: "val2014")
        let file = try RegionFeatureFile(path: path, names: FeatureDatasetNames(group: "val2014"))
        #expect(file.imageCount == 7)
        expectMatches(try file.read(0..<7), set, range: 0..<7)
    }

    @Test(arguments: [0, 3])
    func ragged(gap: Int) throws {
        let path = folder.path("ragged.h5")
        try set.writeRagged(to: path, storage: .float64, withBoxes: true, gap: gap)
        let file = try RegionFeatureFile(path: path)
        #expect(file.layout == .ragged)
        #expect(file.imageCount == 7)
        #expect(file.maxRegions == 5)
        #expect(file.hasBoxes)
        let shard = try file.read(2..<6)
        expectMatches(shard, set, range: 2..<6)
        #expect(Array(shard.boxes!.prefix(4)) == Array(set.images[2].boxes.prefix(4)))
    }

    @Test func raggedOutOfOrderPositions() throws {
        let small = SyntheticImageSet(regionCounts: [2, 3], dimension: 4)
        let path = folder.path("swapped.h5")
        // Image 0's rows are stored after image 1's.
        try small.writeRagged(to: path, positions: [[3, 5], [0, 3]])
        let file = try RegionFeatureFile(path: path)
        let shard = try file.read(0..<2)
        #expect(shard.regionCounts == [2, 3])
        // Rows 3..<5 of the written block are the second image's last rows in writing order.
        let rows = small.images[0].features + small.images[1].features
        #expect(Array(shard.features[0..<8]) == Array(rows[12..<20]))
    }

    /// A split's shard: rows 0, 2, 3 and 6 (runs of one and two rows with gaps), in every layout,
    /// with boxes and labels where the layout has them, equal to the images read one by one.
    @Test(arguments: ["packed", "packed-chunked", "per-image", "ragged", "ragged-gap"])
    func chosenRowsAreTheImagesReadOneByOne(layout: String) throws {
        let path = folder.path("rows-\(layout).h5")
        switch layout {
        case "packed": try set.writePacked(to: path, withBoxes: true, withLabels: true)
        case "packed-chunked":
            try set.writePacked(to: path, options: HDF5StorageOptions(chunks: [2, 5, 6], gzipLevel: 4), withBoxes: true, withLabels: true)
        case "per-image": try set.writePerImage(to: path, withBoxes: true)
        case "ragged": try set.writeRagged(to: path, withBoxes: true)
        default: try set.writeRagged(to: path, withBoxes: true, gap: 3)
        }
        let file = try RegionFeatureFile(path: path)
        let rows = [0, 2, 3, 6]
        let shard = try file.read(rows: rows)
        #expect(shard.imageIndices == rows)
        #expect(shard.firstImage == 0)
        #expect(shard.imageIDs == rows.map { set.images[$0].id })
        #expect(shard.regionCounts == rows.map { set.images[$0].regionCount })
        let r = shard.regionsPerImage, d = set.dimension
        for (offset, row) in rows.enumerated() {
            let single = try file.read(row..<(row + 1))
            let image = set.images[row]
            let slot = Array(shard.features[(offset * r * d)..<((offset + 1) * r * d)])
            #expect(Array(slot.prefix(image.features.count)) == image.features, "image \(image.id)")
            #expect(slot.dropFirst(image.features.count).allSatisfy { $0 == 0 }, "padding of image \(image.id) is zero")
            if let boxes = shard.boxes, let singleBoxes = single.boxes {
                #expect(Array(boxes[(offset * r * 4)..<((offset * r + image.regionCount) * 4)]) == Array(singleBoxes.prefix(image.regionCount * 4)))
            }
            if let labels = shard.labels, let singleLabels = single.labels {
                #expect(Array(labels[(offset * r)..<(offset * r + r)]) == singleLabels + Array(repeating: "", count: r - singleLabels.count))
            }
        }
        #expect((shard.boxes != nil) == file.hasBoxes)
        #expect(try file.read(rows: Array(1..<5)).features == file.read(1..<5).features)
    }

    @Test func inspectSummaryNamesLayoutAndSizes() throws {
        let path = folder.path("summary.h5")
        try set.writePacked(to: path, options: HDF5StorageOptions(chunks: [1, 5, 6], gzipLevel: 4))
        let summary = try RegionFeatureFile(path: path).summary()
        let text = summary.description
        #expect(text.contains("layout         packed"))
        #expect(text.contains("images (N)     7"))
        #expect(text.contains("regions (R)    max 5, min 1"))
        #expect(text.contains("dimension (D)  6"))
        #expect(text.contains("chunked [1, 5, 6], filters: gzip"))
        #expect(summary.configurationBlock.contains("layout = \"packed\"\nfeatures = \"features\"\nnum_regions = \"num_regions\"\nimage_ids = \"image_ids\""))
    }
}
