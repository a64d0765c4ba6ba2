import ArgumentParser
import CaptionMetrics
import Foundation
import ResultStore

extension Nightcap {
    /// `nightcap history`: the runs of a series over training, with deltas and the best so far.
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a series of runs over training: one row per completed run, its metrics, the change from the previous run, and the best so far.",
            discussion: """
                A series is, by default, the runs of one pipeline with the same decode settings; `nightcap run --series NAME` \
                sets it. Rows are ordered by training step when every run's checkpoint records one (self-critical.pytorch's \
                iter, Lightning's global_step, a nightcap model file's iter attribute), else by the time each run started. \
                A * marks a value that is the best so far (ties included); the last line names the best run by the first \
                --metric (CIDEr by default). Without --series and with several series in the file, the series are listed.
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

        @Option(help: "The series to show (default: the file's only series).") var series: String?
        @Option(
            name: .customLong("metric"), parsing: .singleValue,
            help: "A metric to show; repeat for several (default: every metric the runs have). The first decides the best run (default CIDEr).")
        var metrics: [Metric] = []
        @Option(name: .customLong("format"), help: "table, csv or json.") var outputFormat: Format = .table
        @OptionGroup var database: DatabaseOption

        func run() throws {
            let results = try openResults(database)
            defer { try? results.close() }
            let chosen: RunSeries
            do {
                chosen = try chooseSeries(results, named: series, databasePath: database.path)
            } catch let several as SeveralSeries where outputFormat == .table {
                print("\(several.databasePath) holds \(several.series.count) series:\n\(several.listing)\n\nChoose one with --series NAME.")
                return
            }
            let shown = metrics.isEmpty
                ? Metric.allCases.filter { metric in chosen.runs.contains { $0.metrics[metric.rawValue] != nil } }.map(\.rawValue)
                : metrics.map(\.rawValue)
            let bestMetric = metrics.first?.rawValue ?? Metric.cider.rawValue
            switch outputFormat {
            case .table: print(Self.text(chosen, metrics: shown, bestMetric: bestMetric, databasePath: database.path))
            case .csv: print(Self.csv(chosen, metrics: shown), terminator: "")
            case .json: print(try Self.json(chosen, metrics: shown, bestMetric: bestMetric))
            }
        }

        static func text(_ series: RunSeries, metrics: [String], bestMetric: String, databasePath: String) -> String {
            var lines = ["series \(series.name) in \(databasePath): \(series.runs.count) completed run\(series.runs.count == 1 ? "" : "s"), ordered by \(series.order.rawValue)"]
            if series.order == .time && !series.runs.isEmpty {
                lines[0] += " (not every run's checkpoint records its training step)"
            }
            if !series.runs.isEmpty {
                var rows = [["run", "name", "step", "epoch", "checkpoint", "started"] + metrics.flatMap { [$0, "Δ \($0)"] }]
                for (index, entry) in series.runs.enumerated() {
                    var row = [
                        String(entry.run.runID), entry.run.name, entry.checkpoint?.trainingStep.map(String.init) ?? "-",
                        entry.checkpoint?.epoch.map(String.init) ?? "-",
                        entry.checkpoint?.fileName ?? entry.run.modelPath.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "-",
                        entry.run.createdAt,
                    ]
                    for metric in metrics {
                        let mark = series.isBestSoFar(index, metric: metric) ? "*" : ""
                        row.append(format(entry.metrics[metric]) + mark)
                        row.append(series.delta(index, metric: metric).map { String(format: "%+.3f", $0) } ?? "-")
                    }
                    rows.append(row)
                }
                lines.append("")
                lines.append(table(rows))
                lines.append("")
                lines.append("* best so far (ties included); Δ: change from the previous row")
                if let best = series.best(by: bestMetric) {
                    lines.append("best by \(bestMetric): run \(best.run.runID) (\(best.checkpointText)), \(bestMetric) \(format(best.metrics[bestMetric]))")
                }
            }
            if !series.unfinished.isEmpty {
                lines.append("not completed, left out: " + series.unfinished.map { "run \($0.runID) (\($0.status.rawValue))" }.joined(separator: ", "))
            }
            return lines.joined(separator: "\n")
        }

        static func csv(_ series: RunSeries, metrics: [String]) -> String {
            func field(_ text: String) -> String {
                text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
            }
            var lines = [
                (["series", "run_id", "name", "created_at", "checkpoint", "size_bytes", "modified_at", "training_step", "epoch", "best_val_score"]
                    + metrics.flatMap { [$0, "\($0)_delta", "\($0)_best_so_far"] }).joined(separator: ",")
            ]
            for (index, entry) in series.runs.enumerated() {
                let checkpoint = entry.checkpoint
                var fields = [
                    series.name, String(entry.run.runID), entry.run.name, entry.run.createdAt, checkpoint?.path ?? entry.run.modelPath ?? "",
                    checkpoint?.sizeBytes.map { String($0) } ?? "", checkpoint?.modifiedAt ?? "",
                    checkpoint?.trainingStep.map(String.init) ?? "", checkpoint?.epoch.map(String.init) ?? "",
                    checkpoint?.bestValidationScore.map { String($0) } ?? "",
                ]
                for metric in metrics {
                    fields.append(entry.metrics[metric].map { String($0) } ?? "")
                    fields.append(series.delta(index, metric: metric).map { String($0) } ?? "")
                    fields.append(series.isBestSoFar(index, metric: metric) ? "1" : "0")
                }
                lines.append(fields.map(field).joined(separator: ","))
            }
            return lines.joined(separator: "\n") + "\n"
        }

        static func json(_ series: RunSeries, metrics: [String], bestMetric: String) throws -> String {
            let runs: [[String: Any]] = series.runs.enumerated().map { index, entry in
                var object: [String: Any] = [
                    "run_id": entry.run.runID, "name": entry.run.name, "created_at": entry.run.createdAt,
                ]
                if let checkpoint = entry.checkpoint {
                    let fields: [String: Any] = [
                        "path": checkpoint.path, "size_bytes": checkpoint.sizeBytes.map { $0 as Any } ?? NSNull(),
                        "modified_at": checkpoint.modifiedAt.map { $0 as Any } ?? NSNull(),
                        "training_step": checkpoint.trainingStep.map { $0 as Any } ?? NSNull(),
                        "epoch": checkpoint.epoch.map { $0 as Any } ?? NSNull(),
                        "best_val_score": checkpoint.bestValidationScore.map { $0 as Any } ?? NSNull(),
                    ]
                    object["checkpoint"] = fields
                } else {
                    object["checkpoint"] = NSNull()
                }
                var values: [String: Any] = [:]
                for metric in metrics {
                    values[metric] = [
                        "value": entry.metrics[metric].map { $0 as Any } ?? NSNull(),
                        "delta": series.delta(index, metric: metric).map { $0 as Any } ?? NSNull(),
                        "best_so_far": series.isBestSoFar(index, metric: metric),
                    ]
                }
                object["metrics"] = values
                return object
            }
            let best = series.best(by: bestMetric)
            let document: [String: Any] = [
                "series": series.name, "order": series.order == .trainingStep ? "training_step" : "time", "runs": runs,
                "best": best.map { ["metric": bestMetric, "run_id": $0.run.runID] as Any } ?? NSNull(),
                "not_completed": series.unfinished.map { ["run_id": $0.runID, "status": $0.status.rawValue] as [String: Any] },
            ]
            return String(decoding: try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self)
        }
    }
}
