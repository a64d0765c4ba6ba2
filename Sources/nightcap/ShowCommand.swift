import ArgumentParser
import CaptionMetrics
import Foundation
import ResultStore

extension Nightcap {
    /// `nightcap show RUN`: one run's configuration, timings, progress, metrics and failures.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a run: configuration, timings, shard progress, metrics, failed images.")
        @Argument(help: "Run id or name (the newest run of that name).") var runReference: String
        @Option(help: "Also show this many images: caption, references, and the region each word attended most.")
        var examples = 0
        @OptionGroup var database: DatabaseOption

        func run() throws {
            let results = try openResults(database)
            defer { try? results.close() }
            let record = try results.run(reference: runReference)
            let progress = try results.shardProgress(runID: record.runID)
            var lines = [
                "run \(record.runID): \(record.name)",
                "status       \(record.status.rawValue)" + (record.statusMessage.map { " (\($0))" } ?? ""),
                "created      \(record.createdAt)",
                "finished     \(record.finishedAt ?? "-")",
                "fingerprint  \(record.fingerprint)",
                "features     \(record.featuresPath ?? "-")",
                "model        \(record.modelPath ?? "-")",
                "references   \(record.referencesPath ?? "none: not scored (nightcap score \(record.runID) --references FILE)")",
                "shards       \(progress.shardsDone)/\(progress.shardCount) done (shard size \(record.shardSize))",
                "images       \(progress.imagesDone)/\(progress.imageCount) done, \(progress.imagesFailed) failed",
                "decode time  \(String(format: "%.1f", progress.secondsSpent)) s summed over shards"
                    + (progress.secondsSpent > 0 ? String(format: ", %.1f images/s per thread", Double(progress.imagesDone) / progress.secondsSpent) : ""),
            ]
            for origin in try results.shardOrigins(runID: record.runID) { lines.append("decoded on   \(origin.summary)") }
            if let seconds = record.finalizeSeconds { lines.append("finalize     \(String(format: "%.2f", seconds)) s") }
            if let part = try results.part(runID: record.runID) {
                lines.insert(
                    "part         \(part) of run \(record.fingerprint.prefix(12)): shards \(part.firstShard)..<\(part.endShard) of \(record.shardCount); corpus metrics come with `nightcap merge` of the \(part.count) part files",
                    at: 3)
            }
            if record.status == .running, let pid = record.ownerPID {
                let slurm = try results.slurmOwner(runID: record.runID)
                lines.insert("owner        process \(pid) on \(record.ownerHost ?? "?")" + (slurm.map { ", \($0)" } ?? ""), at: 3)
            }
            lines.append("configuration \(record.configJSON)")
            let metrics = try results.runMetrics(runID: record.runID)
            if !metrics.isEmpty {
                lines.append("")
                lines.append(MetricTable.render(Metric.ordered(metrics)))
            }
            if let grounding = try results.grounding(runID: record.runID) {
                lines.append("")
                lines.append(String(
                    format: "grounding    %.1f%% of %d words naming an object of their image attended most to a region with that label",
                    grounding.rate * 100, grounding.objectWords))
            }
            if examples > 0 {
                lines.append("")
                lines += try ExampleImages.render(record, count: examples, database: results)
            }
            let failures = try results.failures(runID: record.runID)
            if !failures.isEmpty {
                lines.append("")
                lines.append("failed images (\(failures.count)):")
                for failure in failures.prefix(50) { lines.append("  \(failure.imageID) (shard \(failure.shard)): \(failure.reason)") }
                if failures.count > 50 { lines.append("  ... \(failures.count - 50) more in the failed_images table") }
            }
            print(lines.joined(separator: "\n"))
        }
    }
}
