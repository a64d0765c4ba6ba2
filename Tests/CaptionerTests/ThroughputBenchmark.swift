import Foundation
import Testing
@testable import Captioner

/// Decoding speed on a COCO-scale random model. Not a test of speed (it asserts nothing about time):
/// run it on demand, in a release build, with
/// `NIGHTCAP_CAPTIONER_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter ThroughputBenchmark`.
@Suite("Throughput", .enabled(if: ProcessInfo.processInfo.environment["NIGHTCAP_CAPTIONER_BENCH"] != nil))
struct ThroughputBenchmark {
    @Test func cocoScaleModel() throws {
        BLASThreading.useSingleThread()
        let directory = TemporaryDirectory()
        let environment = ProcessInfo.processInfo.environment
        let batchSize = Int(environment["NIGHTCAP_CAPTIONER_BENCH_BATCH"] ?? "") ?? 50
        let images = Int(environment["NIGHTCAP_CAPTIONER_BENCH_IMAGES"] ?? "") ?? 100
        let (V, E, D, H, A, R) = (9487, 512, 2048, 512, 512, 36)
        var started = Date()
        let model = try TestModelFile(V: V, E: E, D: D, H: H, A: A, seed: 5, scale: 0.05).load(in: directory)
        print(String(format: "bench: model written and loaded in %.1f s", Date().timeIntervalSince(started)))
        let batch = randomBatch(regionCounts: [Int](repeating: R, count: images), D: D, seed: 6)
        for beam in [1, 3] {
            let decoder = BatchDecoder(model: model, settings: DecodeSettings(beamSize: beam, maxLength: 20))
            _ = decoder.decode(batch: batch.slice(0..<min(batchSize, images)))  // warm-up: buffers, pages
            started = Date()
            var words = 0
            var start = 0
            while start < images {
                let end = min(start + batchSize, images)
                for outcome in decoder.decode(batch: batch.slice(start..<end)) { words += outcome.caption?.tokens.count ?? 0 }
                start = end
            }
            let seconds = Date().timeIntervalSince(started)
            print(String(
                format: "bench: beam %d, batch %d: %d images in %.2f s = %.1f images/s (%.1f words per caption)",
                beam, batchSize, images, seconds, Double(images) / seconds, Double(words) / Double(images)))
        }
    }
}
