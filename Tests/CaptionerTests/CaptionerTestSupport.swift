import Foundation
import HDF5
import TestSupport
@testable import Captioner

extension TestModelFile {
    /// Writes the file into `directory` and loads it.
    func load(in directory: TemporaryDirectory, name: String = "model.h5") throws -> ShowAttendTellModel {
        let path = directory.path(name)
        try write(to: path)
        return try ShowAttendTellModel.load(path: path)
    }
}

/// A batch of random images with the given region counts, padded to the largest.
func randomBatch(regionCounts: [Int], D: Int, seed: UInt64, maxRegions: Int? = nil, scale: Float = 1) -> FeatureBatch {
    var random = SeededGenerator(seed: seed)
    let R = maxRegions ?? regionCounts.max() ?? 1
    var features = [Float](repeating: 0, count: regionCounts.count * R * D)
    for (image, count) in regionCounts.enumerated() {
        for index in 0..<(count * D) {
            features[image * R * D + index] = Float.random(in: -scale...scale, using: &random)
        }
    }
    return FeatureBatch(
        imageIDs: regionCounts.indices.map { "img\($0)" }, maxRegions: R, dimension: D, features: features,
        regionCounts: regionCounts)
}

extension FeatureBatch {
    /// Images `range` of the batch, keeping R.
    func slice(_ range: Range<Int>) -> FeatureBatch {
        let stride = maxRegions * dimension
        return FeatureBatch(
            imageIDs: Array(imageIDs[range]), maxRegions: maxRegions, dimension: dimension,
            features: Array(features[(range.lowerBound * stride)..<(range.upperBound * stride)]),
            regionCounts: Array(regionCounts[range]))
    }
}
