import CaptionMetrics
import Foundation
import HDF5
import ResultStore
import TestSupport

/// Inputs for a small but real run: a packed features file with boxes and labels, a random model of
/// matching dimension, and COCO references written from the model's own vocabulary (so scores are
/// neither all zero nor perfect).
struct RunFixture {
    let folder = TemporaryDirectory()
    let features: String
    let model: String
    let references: String
    let imageCount: Int
    /// The id of image 0; image i has id `firstID + i`.
    let firstID: Int
    /// Three reference captions of each image, in file order.
    let captions: [[String]]

    init(images: Int = 48, dimension: Int = 16, seed: UInt64 = 3, firstID: Int = 500_000) throws {
        imageCount = images
        self.firstID = firstID
        features = folder.path("features.h5")
        model = folder.path("model.h5")
        references = folder.path("references.json")
        let counts = (0..<images).map { 3 + ($0 * 5) % 6 }
        try SyntheticImageSet(regionCounts: counts, dimension: dimension, firstID: firstID)
            .writePacked(to: features, options: HDF5StorageOptions(chunks: [min(8, images), 8, dimension], gzipLevel: 4), withBoxes: true, withLabels: true)
        let modelFile = TestModelFile(V: 30, E: 8, D: dimension, H: 12, A: 10, seed: seed, scale: 0.6)
        try modelFile.write(to: model)
        var random = SeededGenerator(seed: seed + 100)
        let words = Array(modelFile.vocabulary.dropFirst(4))
        captions = (0..<images).map { _ in
            (0..<3).map { _ in
                let length = Int.random(in: 3...8, using: &random)
                return (0..<length).map { _ in words.randomElement(using: &random)! }.joined(separator: " ")
            }
        }
        try writeReferences(to: references)
    }

    func path(_ name: String) -> String { folder.path(name) }

    /// The default name of a run of this fixture's model (`nightcap run` without `--name`): the
    /// model's folder and stem.
    var runName: String { URL(fileURLWithPath: model).deletingLastPathComponent().resolvingSymlinksInPath().lastPathComponent + "/model" }

    /// Writes COCO caption annotations of the images `images` (all by default) to `path`.
    func writeReferences(to path: String, images: [Int]? = nil) throws {
        var annotations: [[String: Any]] = []
        let chosen = images ?? Array(0..<imageCount)
        for image in chosen {
            for caption in captions[image] {
                annotations.append(["id": annotations.count + 1, "image_id": firstID + image, "caption": caption])
            }
        }
        let json: [String: Any] = ["images": chosen.map { ["id": firstID + $0] }, "annotations": annotations]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    }

    /// Writes a Karpathy split file (`dataset_coco.json`'s form) of every image to `path`, image i
    /// in the split `split(i)`.
    func writeKarpathySplit(to path: String, split: (Int) -> String) throws {
        let images: [[String: Any]] = (0..<imageCount).map { image in
            [
                "cocoid": firstID + image, "filename": "COCO_val2014_\(firstID + image).jpg", "split": split(image),
                "sentences": captions[image].map { ["raw": $0] },
            ]
        }
        try JSONSerialization.data(withJSONObject: ["images": images]).write(to: URL(fileURLWithPath: path))
    }

    /// `nightcap run` arguments for these inputs.
    func runArguments(database: String, extra: [String] = []) -> [String] {
        // Two decoder threads unless a test chooses: parallel suites must not oversubscribe the cores.
        ["run", "--features", features, "--model", model, "--references", references, "--db", database, "--shard-size", "8", "--quiet"]
            + (extra.contains("--threads") ? [] : ["--threads", "2"]) + extra
    }

    /// `runArguments` with the value of `flag` (`--features`, `--model`, `--references`) replaced.
    func runArguments(database: String, replacing flag: String, with value: String) -> [String] {
        var arguments = runArguments(database: database)
        arguments[arguments.firstIndex(of: flag)! + 1] = value
        return arguments
    }

    /// Everything a run stored that must not depend on threads, interruptions or timing, as text.
    static func snapshot(database path: String, runID: Int64 = 1) throws -> String {
        let database = try ResultDatabase(path: path, readOnly: true)
        defer { try? database.close() }
        var lines: [String] = []
        let captions = try database.captions(runID: runID)
        for caption in captions {
            lines.append("caption \(caption.imageID) \(caption.imageIndex) \(caption.numWords) \(caption.logProb) \(caption.caption)")
            for row in try database.attention(runID: runID, imageID: caption.imageID) {
                lines.append("  attention \(row.position) \(row.word) \(row.topRegion ?? -1) \(row.weights.map { String($0) }.joined(separator: ","))")
            }
            for region in try database.regions(runID: runID, imageID: caption.imageID) {
                lines.append("  region \(region.region) \(region.label ?? "-") \(region.x1 ?? -1) \(region.y2 ?? -1)")
            }
        }
        for metric in Metric.allCases {
            for row in try database.imageMetrics(runID: runID, metric: metric) {
                lines.append("metric \(row.imageID) \(metric) \(row.value)")
            }
        }
        for stats in try database.bleuStatistics(runID: runID) {
            lines.append("bleu \(stats.imageID) \(stats.testlen) \(stats.reflen) \(stats.guess) \(stats.correct)")
        }
        for (metric, value) in try database.runMetrics(runID: runID).sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            lines.append("corpus \(metric) \(value)")
        }
        for failure in try database.failures(runID: runID) {
            lines.append("failed \(failure.imageID) \(failure.reason)")
        }
        return lines.joined(separator: "\n")
    }
}
