import Foundation
import Pipeline

/// The text `nightcap run` prints at the end.
enum RunReportText {
    static func render(_ report: RunResult) -> String {
        var lines: [String] = []
        switch report.outcome {
        case .completed:
            lines.append("run \(report.runID) (\(report.name)) completed in \(String(format: "%.1f", report.seconds)) s")
        case .alreadyCompleted:
            lines.append("run \(report.runID) (\(report.name)) was already completed")
        case .interrupted:
            lines.append("run \(report.runID) (\(report.name)) interrupted")
        case .merged(let parts):
            lines.append("run \(report.runID) (\(report.name)) merged from \(parts) parts in \(String(format: "%.1f", report.seconds)) s")
        }
        if let part = report.part {
            lines[0] = "part \(part) of " + lines[0]
            lines.append("  shards \(part.firstShard)..<\(part.endShard): \(report.imageCount) images captioned; \(report.imagesScored) with references")
            lines.append("  corpus metrics come with `nightcap merge` of all \(part.count) part files")
        } else if report.scored {
            lines.append("  images: \(report.imageCount) captioned into \(report.shardCount) shards; \(report.imagesScored) scored")
        } else {
            lines.append("  images: \(report.imageCount) captioned into \(report.shardCount) shards; not scored (no references)")
            lines.append("  export for an evaluation server: nightcap export \(report.runID) --db \(report.databasePath) --format coco")
            lines.append("  score later: nightcap score \(report.runID) --db \(report.databasePath) --references FILE")
        }
        if report.imagesFailed > 0 {
            lines.append("  failed images: \(report.imagesFailed) (excluded from metrics; `nightcap show \(report.runID)` lists them)")
        }
        if report.imagesWithoutReferences > 0 {
            lines.append("  images without references: \(report.imagesWithoutReferences) (captioned, not scored)")
        }
        if report.referencesWithoutImages > 0 {
            lines.append("  reference images not in the features file: \(report.referencesWithoutImages)")
        }
        if !report.metrics.isEmpty {
            lines.append("")
            lines.append(MetricTable.render(report.metrics))
        }
        lines.append("")
        lines.append("results: \(report.databasePath)")
        return lines.joined(separator: "\n")
    }

    /// `run --json`: the run it made, resumed or found, and what it holds.
    static func json(_ report: RunResult) -> String {
        let status: String
        switch report.outcome {
        case .completed: status = "completed"
        case .alreadyCompleted: status = "already_completed"
        case .interrupted: status = "interrupted"
        case .merged: status = "merged"
        }
        var object: [String: Any] = [
            "run_id": report.runID, "name": report.name, "status": status, "database": report.databasePath,
            "images_captioned": report.imageCount, "images_scored": report.imagesScored, "images_failed": report.imagesFailed,
            "scored": report.scored, "seconds": report.seconds,
            "metrics": JSONOutput.metrics(Dictionary(uniqueKeysWithValues: report.metrics.map { ($0.metric, $0.value) })),
        ]
        object["part"] = JSONOutput.orNull(report.part.map { "\($0)" })
        return JSONOutput.render(object)
    }
}
