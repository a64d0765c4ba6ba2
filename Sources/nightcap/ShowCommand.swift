import ArgumentParser
import CaptionMetrics
import Foundation
import ResultStore

extension Nightcap {
    /// `nightcap show RUN`: one run's status, how it was decoded and scored, its metrics and failures.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a run: status, how it was decoded (family, model, beam size...), how it was scored, metrics, failed images.",
            discussion: """
                A run shown `interrupted (process gone)` is stored as running, but its process on this host no \
                longer exists (for example after a second Ctrl-C): the same `nightcap run` command resumes it.
                """)
        @Argument(help: "Run id or name.") var runReference: String
        @Option(help: "Also show this many images: caption, references, and the region each word attended most.")
        var examples = 0
        @Flag(help: "Print the run as JSON (keys: docs/database.md); --examples does not apply.") var json = false
        @OptionGroup var database: DatabaseOption

        func run() throws {
            let results = try openResults(database)
            defer { try? results.close() }
            let record = try results.run(reference: runReference)
            let progress = try results.shardProgress(runID: record.runID)
            let decoding = RunDecoding(configJSON: record.configJSON)
            let scoredImages = try results.imagesScored(runID: record.runID)
            let metrics = try results.runMetrics(runID: record.runID)
            let status = record.status.described(ownerPID: record.ownerPID, ownerHost: record.ownerHost)
            if json {
                print(JSONOutput.render(jsonObject(record, status: status, decoding: decoding, progress: progress, scoredImages: scoredImages, metrics: metrics)))
                return
            }
            var lines = [
                "run \(record.runID): \(record.name)",
                "status       \(status)" + (record.statusMessage.map { " (\($0))" } ?? ""),
                "created      \(record.createdAt)",
                "finished     \(record.finishedAt ?? "-")",
                "fingerprint  \(record.fingerprint)",
            ]
            if let part = try results.part(runID: record.runID) {
                lines.append(
                    "part         \(part) of run \(record.fingerprint.prefix(12)): shards \(part.firstShard)..<\(part.endShard) of \(record.shardCount); corpus metrics come with `nightcap merge` of the \(part.count) part files")
            }
            if record.status == .running, let pid = record.ownerPID {
                let slurm = try results.slurmOwner(runID: record.runID)
                lines.insert("owner        process \(pid) on \(record.ownerHost ?? "?")" + (slurm.map { ", \($0)" } ?? ""), at: 3)
            }
            lines += [
                "",
                "decoding",
                "  family       \(decoding.family ?? "not recorded")",
                "  model        \(record.modelPath ?? "-")",
                "  features     \(record.featuresPath ?? "-")",
                "  beam size    \(decoding.beamSize.map(String.init) ?? "-")",
                "  max length   \(decoding.maxLength.map(String.init) ?? "-")",
                "  length pen.  \(decoding.lengthPenalty ?? "-")",
                "  split        \(decoding.split ?? "none (every image of the features file)")",
                "  images       \(progress.imagesDone)/\(progress.imageCount) decoded, \(progress.imagesFailed) failed",
                "  shards       \(progress.shardsDone)/\(progress.shardCount) done (shard size \(record.shardSize))",
                "  decode time  \(String(format: "%.1f", progress.secondsSpent)) s summed over shards"
                    + (progress.secondsSpent > 0 ? String(format: ", %.1f images/s per thread", Double(progress.imagesDone) / progress.secondsSpent) : ""),
            ]
            for origin in try results.shardOrigins(runID: record.runID) { lines.append("  decoded on   \(origin.summary)") }
            lines += [
                "",
                "scoring",
                "  references   \(record.referencesPath ?? (record.isScored ? "not recorded" : "none: not scored (nightcap score \(record.runID) --references FILE)"))",
            ]
            if record.isScored {
                lines.append("  images       \(scoredImages) scored of \(progress.imagesDone) decoded")
            }
            if let seconds = record.finalizeSeconds { lines.append("  finalize     \(String(format: "%.2f", seconds)) s") }
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
            lines.append("")
            lines.append("configuration \(record.configJSON)")
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

        /// `show --json`: the same facts as the text, with stable keys.
        func jsonObject(
            _ record: RunRecord, status: String, decoding: RunDecoding, progress: ShardProgress, scoredImages: Int, metrics: [Metric: Double]
        ) -> [String: Any] {
            [
                "run_id": record.runID, "name": record.name, "status": record.status.rawValue, "status_text": status,
                "status_message": JSONOutput.orNull(record.statusMessage), "created_at": record.createdAt,
                "finished_at": JSONOutput.orNull(record.finishedAt), "fingerprint": record.fingerprint,
                "decoding": [
                    "family": JSONOutput.orNull(decoding.family), "model": JSONOutput.orNull(record.modelPath),
                    "features": JSONOutput.orNull(record.featuresPath), "beam_size": JSONOutput.orNull(decoding.beamSize),
                    "max_length": JSONOutput.orNull(decoding.maxLength), "length_penalty": JSONOutput.orNull(decoding.lengthPenalty),
                    "split": JSONOutput.orNull(decoding.split), "image_count": progress.imageCount,
                    "images_decoded": progress.imagesDone, "images_failed": progress.imagesFailed,
                    "shards_done": progress.shardsDone, "shard_count": progress.shardCount,
                ] as [String: Any],
                "scoring": [
                    "scored": record.isScored, "references": JSONOutput.orNull(record.referencesPath),
                    "images_scored": scoredImages, "images_decoded": progress.imagesDone, "metrics": JSONOutput.metrics(metrics),
                ] as [String: Any],
            ]
        }
    }
}
