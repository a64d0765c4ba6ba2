import Foundation
import HDF5
import RegionFeatures
import TestSupport
import Testing

/// The configurable pooled-features dataset (`[features] pooled`, `--pooled-dataset`): read with
/// each shard, in the file's image order; every bad one is one message naming the file and dataset.
@Suite struct PooledFeaturesTests {
    let folder = TemporaryDirectory()
    let images = SyntheticImageSet(regionCounts: [3, 1, 4, 2, 4], dimension: 6)

    /// Row `i` of the pooled dataset the tests write: distinct values per image and feature.
    static func pooledRows(images: Int, dimension: Int) -> [Float] {
        (0..<(images * dimension)).map { Float($0) * 0.25 - 3 }
    }

    func addDataset(_ name: String, to path: String, values: [Float], shape: [Int]) throws {
        let file = try HDF5File.open(path, mode: .readWrite)
        try file.root.writeFloats(name, values, shape: shape)
    }

    @Test(arguments: ["packed", "ragged"])
    func shardsCarryTheirImagesPooledRows(layout: String) throws {
        let path = folder.path("\(layout).h5")
        if layout == "packed" { try images.writePacked(to: path) } else { try images.writeRagged(to: path, gap: 1) }
        let rows = Self.pooledRows(images: 5, dimension: 6)
        try addDataset("fc", to: path, values: rows, shape: [5, 6])
        let file = try RegionFeatureFile(path: path, names: FeatureDatasetNames(pooled: "fc"))
        #expect(file.names.pooled == "fc")
        let shard = try file.read(1..<4)
        #expect(shard.pooled == Array(rows[6..<24]))
        // Not configured: not read, even when the file has it.
        #expect(try RegionFeatureFile(path: path).read(0..<5).pooled == nil)
    }

    @Test func missingDatasetIsNamed() throws {
        let path = folder.path("packed.h5")
        try images.writePacked(to: path)
        let text = errorText { _ = try RegionFeatureFile(path: path, names: FeatureDatasetNames(pooled: "fc_feats")) }
        #expect(text.hasPrefix("\(path), dataset /fc_feats: no such dataset (configured as the pooled features)"))
        #expect(text.contains("Fix `pooled` in [features]"))
    }

    @Test(arguments: [[5, 7], [4, 6], [5, 6, 1], [30]])
    func wrongShapeNamesBothShapes(shape: [Int]) throws {
        let path = folder.path("shape.h5")
        try images.writePacked(to: path)
        try addDataset("fc", to: path, values: [Float](repeating: 1, count: shape.reduce(1, *)), shape: shape)
        let text = errorText { _ = try RegionFeatureFile(path: path, names: FeatureDatasetNames(pooled: "fc")) }
        #expect(text.hasPrefix("\(path), dataset /fc: has shape \(shape), expected [5, 6]: one pooled vector per image (5 images) as long as a region (6 features, the model's att_feat_size)"))
        #expect(text.contains("name the right dataset in `pooled` of [features] (or --pooled-dataset), or drop it to pool the regions"))
    }

    @Test func integersAreRefused() throws {
        let path = folder.path("ints.h5")
        try images.writePacked(to: path)
        do {
            let file = try HDF5File.open(path, mode: .readWrite)
            try file.root.writeIntegers("fc", [Int64](repeating: 1, count: 30), shape: [5, 6])
        }
        let text = errorText { _ = try RegionFeatureFile(path: path, names: FeatureDatasetNames(pooled: "fc")) }
        #expect(text == "\(path), dataset /fc: holds int64, but pooled features must be float16, float32 or float64")
    }

    @Test func perImageFilesHaveNoRowOrder() throws {
        let path = folder.path("per-image.h5")
        try images.writePerImage(to: path)
        let text = errorText { _ = try RegionFeatureFile(path: path, names: FeatureDatasetNames(pooled: "fc")) }
        #expect(text.hasPrefix("\(path), dataset /fc: a pooled dataset [images, D] gives one row per image in the file's image order, which a per-image file does not have"))
        #expect(text.contains("remove `pooled` from [features] (or --pooled-dataset)"))
    }
}
