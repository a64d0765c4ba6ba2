import Captioner
import Foundation
import TestSupport

/// The decoder on a Show-Attend-and-Tell model of COCO's sizes with random weights (vocabulary
/// 9,487, 2,048-float regions, 512 hidden units, 36 regions per image), greedy and beam 3: images
/// per CPU second and the matrix products' rate. Loaded and decoded through the pipeline's seam
/// (`ModelLoader`, `makeDecoder`), on the calling thread.
enum DecodeBenchmark {
    static func run(images: Int, batchSize: Int) throws {
        OpenBLASCores.select()
        let directory = TemporaryDirectory()
        let (V, E, D, H, A, R) = (9487, 512, 2048, 512, 512, 36)
        var started = Date()
        let path = directory.path("model.h5")
        try TestModelFile(V: V, E: E, D: D, H: H, A: A, seed: 5, scale: 0.05).write(to: path)
        let model = try ModelLoader.load(path: path).model
        print(String(format: "decode: model written and loaded in %.1f s", Date().timeIntervalSince(started)))
        let batches = stride(from: 0, to: images, by: batchSize).map { start in
            randomBatch(first: start, count: min(batchSize, images - start), regions: R, dimension: D)
        }
        for beam in [1, 3] {
            let decoder = model.makeDecoder(settings: DecodeSettings(beamSize: beam, maxLength: 20))
            _ = decoder.decode(batch: batches[0])  // warm-up: buffers, pages
            started = Date()
            let cpuStart = processorSeconds()
            var words = 0
            for batch in batches {
                for outcome in decoder.decode(batch: batch) { words += outcome.caption?.tokens.count ?? 0 }
            }
            let seconds = Date().timeIntervalSince(started)
            let cpu = processorSeconds() - cpuStart
            // Multiply-adds of the matrix products: image_proj and init per image, then per row and step.
            let perRowStep = 2.0 * Double(H * (A + 4 * H + D) + D * 4 * H + H * V)
            let rowSteps = Double(words + images) * Double(beam)  // an upper bound when captions end early
            let flops = Double(images) * 2 * Double(R * D * A + D * 2 * H) + rowSteps * perRowStep
            print(String(
                format: "decode: beam %d, batch %d: %d images in %.2f s wall, %.2f s CPU = %.1f images/s per CPU second (%.1f wall); %.1f words per caption; products at %.0f GFLOP/s of CPU time",
                beam, batchSize, images, seconds, cpu, Double(images) / cpu, Double(images) / seconds,
                Double(words) / Double(images), flops / cpu / 1e9))
        }
    }

    /// `count` images of `regions` random regions each, named from `first` on.
    static func randomBatch(first: Int, count: Int, regions: Int, dimension: Int) -> FeatureBatch {
        var random = SeededGenerator(seed: UInt64(first) &+ 6)
        return FeatureBatch(
            imageIDs: (first..<(first + count)).map { "img\($0)" }, maxRegions: regions, dimension: dimension,
            features: random.floats(count * regions * dimension, scale: 1), regionCounts: Array(repeating: regions, count: count))
    }
}
