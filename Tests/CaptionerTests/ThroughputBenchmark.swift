import Foundation
import TestSupport
import Testing
@testable import Captioner

/// Decoding speed on a COCO-scale random model. Not a test of speed (it asserts nothing about time):
/// run it on demand, in a release build, with
/// `NIGHTCAP_CAPTIONER_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter ThroughputBenchmark`.
/// CPU time of the process (the benchmark's BLAS runs on the calling thread): other programs on a
/// shared machine slow the wall clock, not this.
private func processorSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

@Suite("Throughput", .enabled(if: ProcessInfo.processInfo.environment["NIGHTCAP_CAPTIONER_BENCH"] != nil))
struct ThroughputBenchmark {
    @Test func cocoScaleModel() throws {
        OpenBLASCores.select()
        let directory = TemporaryDirectory()
        let environment = ProcessInfo.processInfo.environment
        let batchSize = Int(environment["NIGHTCAP_CAPTIONER_BENCH_BATCH"] ?? "") ?? 50
        let images = Int(environment["NIGHTCAP_CAPTIONER_BENCH_IMAGES"] ?? "") ?? 100
        let (V, E, D, H, A, R) = (9487, 512, 2048, 512, 512, 36)
        _ = E
        var started = Date()
        let model = try TestModelFile(V: V, E: E, D: D, H: H, A: A, seed: 5, scale: 0.05).load(in: directory)
        print(String(format: "bench: model written and loaded in %.1f s", Date().timeIntervalSince(started)))
        let batch = randomBatch(regionCounts: [Int](repeating: R, count: images), D: D, seed: 6)
        for beam in [1, 3] {
            let decoder = model.makeDecoder(settings: DecodeSettings(beamSize: beam, maxLength: 20))
            _ = decoder.decode(batch: batch.slice(0..<min(batchSize, images)))  // warm-up: buffers, pages
            started = Date()
            let cpuStart = processorSeconds()
            var words = 0
            var start = 0
            while start < images {
                let end = min(start + batchSize, images)
                for outcome in decoder.decode(batch: batch.slice(start..<end)) { words += outcome.caption?.tokens.count ?? 0 }
                start = end
            }
            let seconds = Date().timeIntervalSince(started)
            let cpu = processorSeconds() - cpuStart
            // Multiply-adds of the matrix products: image_proj and init per image, then per row and step.
            let perRowStep = 2.0 * Double(H * (A + 4 * H + D) + D * 4 * H + H * V)
            let rowSteps = Double(words + images) * Double(beam)  // an upper bound when captions end early
            let flops = Double(images) * 2 * Double(R * D * A + D * 2 * H) + rowSteps * perRowStep
            print(String(
                format: "bench: beam %d, batch %d: %d images in %.2f s wall, %.2f s CPU = %.1f images/s per CPU second (%.1f wall); %.1f words per caption; products at %.0f GFLOP/s of CPU time",
                beam, batchSize, images, seconds, cpu, Double(images) / cpu, Double(images) / seconds,
                Double(words) / Double(images), flops / cpu / 1e9))
        }
    }
}
