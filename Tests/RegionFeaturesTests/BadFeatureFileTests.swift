import Foundation
import HDF5
import RegionFeatures
import TestSupport
import Testing

/// Every kind of bad features file gives one message naming the file, the dataset and what to do.
@Suite struct BadFeatureFileTests {
    let folder = TemporaryDirectory()

    @Test func missingFile() {
        let text = errorText { _ = try RegionFeatureFile(path: folder.path("nope.h5")) }
        #expect(text.hasSuffix("nope.h5: no such file; check the path (relative paths in a pipeline file resolve against that file's folder)"))
    }

    @Test func notHDF5() throws {
        let path = folder.path("features.json")
        try "{\"features\": []}".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(errorText { _ = try RegionFeatureFile(path: path) }.contains("features.json: not an HDF5 file"))
    }

    @Test func truncated() throws {
        let path = folder.path("cut.h5")
        try SyntheticImageSet(regionCounts: Array(repeating: 10, count: 40), dimension: 64).writePacked(to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 3).write(to: URL(fileURLWithPath: path))
        let text = errorText { _ = try RegionFeatureFile(path: path).read(0..<40) }
        #expect(text.contains("cut.h5: the file is truncated"))
    }

    @Test func noRecognisableLayoutListsWhatWasFound() throws {
        let path = folder.path("odd.h5")
        do {
            let file = try HDF5File.create(path)
            try file.root.writeFloats("feats", [Float](repeating: 0, count: 12), shape: [3, 4])
            try file.root.writeIntegers("whatever", [1, 2], shape: [2])
        }
        let text = errorText { _ = try RegionFeatureFile(path: path) }
        #expect(text.contains("odd.h5, dataset /: no recognisable feature layout; found feats [3, 4], whatever [2]."))
        #expect(text.contains("features = \"my_dataset\""))
    }

    @Test func configuredDatasetMissing() throws {
        let path = folder.path("packed.h5")
        try SyntheticImageSet(regionCounts: [2, 2], dimension: 3).writePacked(to: path)
        let text = errorText { _ = try RegionFeatureFile(path: path, names: FeatureDatasetNames(layout: .packed, features: "att_feats")) }
        #expect(text.contains("packed.h5, dataset /att_feats: no such dataset (configured as the features)"))
        #expect(text.contains("Fix `features` in [features]"))
    }

    @Test func wrongRank() throws {
        let path = folder.path("rank.h5")
        do {
            let file = try HDF5File.create(path)
            try file.root.writeFloats("features", [Float](repeating: 0, count: 24), shape: [2, 3, 2, 2])
        }
        let text = errorText { _ = try RegionFeatureFile(path: path) }
        #expect(text.contains("rank.h5, dataset /features: has rank 4"))
    }

    @Test func wrongDtype() throws {
        let path = folder.path("ints.h5")
        do {
            let file = try HDF5File.create(path)
            try file.root.writeIntegers("features", [Int64](repeating: 1, count: 12), shape: [2, 3, 2])
        }
        let text = errorText { _ = try RegionFeatureFile(path: path) }
        #expect(text == "\(path), dataset /features: holds int64, but region features must be float16, float32 or float64")
    }

    @Test(arguments: [Int64(0), 6])
    func regionCountOutsideRange(bad: Int64) throws {
        let path = folder.path("counts.h5")
        do {
            let file = try HDF5File.create(path)
            try file.root.writeFloats("features", [Float](repeating: 0, count: 3 * 5 * 2), shape: [3, 5, 2])
            try file.root.writeIntegers("num_regions", [5, bad, 1], shape: [3])
        }
        let text = errorText { _ = try RegionFeatureFile(path: path) }
        #expect(text == "\(path), dataset /num_regions: image 1 has \(bad) valid regions, outside 1...5 (R of /features); fix the counts or the features")
    }

    @Test func raggedPositionsOutOfBounds() throws {
        let path = folder.path("ragged.h5")
        try SyntheticImageSet(regionCounts: [2, 3], dimension: 4).writeRagged(to: path, positions: [[0, 2], [2, 9]])
        let text = errorText { _ = try RegionFeatureFile(path: path) }
        #expect(text == "\(path), dataset /pos_boxes: image 1 spans rows 2..<9, outside 0..<5 of /features or empty; each image needs start < end <= 5")
    }

    @Test func raggedPositionsOverlapping() throws {
        let path = folder.path("overlap.h5")
        try SyntheticImageSet(regionCounts: [2, 3], dimension: 4).writeRagged(to: path, positions: [[0, 3], [2, 5]])
        let text = errorText { _ = try RegionFeatureFile(path: path) }
        #expect(text == "\(path), dataset /pos_boxes: images 0 (rows 0..<3) and 1 (rows 2..<5) overlap")
    }

    @Test func duplicateImageIDs() throws {
        let path = folder.path("dupes.h5")
        do {
            let file = try HDF5File.create(path)
            try file.root.writeFloats("features", [Float](repeating: 0, count: 3 * 2 * 2), shape: [3, 2, 2])
            try file.root.writeIntegers("image_ids", [7, 8, 7], shape: [3])
        }
        let text = errorText { _ = try RegionFeatureFile(path: path) }
        #expect(text == "\(path), dataset image_ids: image id 7 appears twice (images 0 and 2); every image needs its own id")
    }

    @Test func lzfCompressionIsRefusedWithAdvice() throws {
        let fixture = try #require(Bundle.module.url(forResource: "lzf-features", withExtension: "h5", subdirectory: "Fixtures"))
        let file = try RegionFeatureFile(path: fixture.path)
        #expect(try file.summary().filters == ["lzf (not available in this HDF5 build)"])
        let text = errorText { _ = try file.read(0..<3) }
        #expect(text.contains("lzf-features.h5, dataset /features: is compressed with lzf (filter id 32000), which this HDF5 build cannot decode"))
        #expect(text.contains("compression=\"gzip\""))
    }

    @Test func perImageWithMixedDimensions() throws {
        let path = folder.path("mixed.h5")
        do {
            let file = try HDF5File.create(path)
            try file.root.writeFloats("1", [Float](repeating: 0, count: 4), shape: [2, 2])
            try file.root.writeFloats("2", [Float](repeating: 0, count: 6), shape: [2, 3])
        }
        let text = errorText { _ = try RegionFeatureFile(path: path) }
        #expect(text == "\(path), dataset /2: has feature dimension 3, but the images before it have 2")
    }
}
