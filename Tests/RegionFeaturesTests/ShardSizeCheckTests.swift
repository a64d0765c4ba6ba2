import Foundation
import Testing

@testable import RegionFeatures

/// A shard's buffer is checked against memory before it is allocated: sizes come from the file.
@Suite struct ShardSizeCheckTests {
    @Test func anAbsurdShardIsAnErrorNotAnAbortedAllocation() {
        let error = #expect(throws: FeatureFileError.self) {
            try FeatureChecks.requireShardFits(
                images: 256, regions: 1 << 60, dimension: 40, file: "f.h5", dataset: "/features")
        }
        #expect(
            error?.description.contains(
                "a shard of 256 images of \(1 << 60) regions x 40 features needs more bytes than any computer can address; the file's sizes are probably damaged (write it again), or lower shard_size")
                == true)
        #expect(error?.description.contains("f.h5") == true)
        #expect(error?.description.contains("/features") == true)

        let memory = Int(ProcessInfo.processInfo.physicalMemory)
        let large = #expect(throws: FeatureFileError.self) {
            try FeatureChecks.requireShardFits(images: 1, regions: memory / 4, dimension: 2, file: "f.h5", dataset: "/features")
        }
        #expect(large?.description.contains("MiB, more than half of this machine's memory") == true)
    }

    @Test func aRealShardFits() {
        #expect(throws: Never.self) {
            try FeatureChecks.requireShardFits(images: 256, regions: 100, dimension: 2048, file: "f.h5", dataset: "/features")
        }
    }
}
