import ArgumentParser
import CaptionMetrics
import Foundation
import ResultStore

extension Nightcap {
    /// `nightcap runs`: the runs in a database.
    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the runs in a results database.")
        @OptionGroup var database: DatabaseOption

        func run() throws {
            let results = try openResults(database)
            defer { try? results.close() }
            var rows = [["id", "name", "status", "started", "images", Metric.bleu4.rawValue, Metric.cider.rawValue]]
            for run in try results.listRuns() {
                rows.append([
                    String(run.runID), run.name, run.status.rawValue, run.createdAt, "\(run.imagesDone)/\(run.imageCount)",
                    run.isScored ? format(run.bleu4) : "not scored", run.isScored ? format(run.cider) : "-",
                ])
            }
            print(rows.count == 1 ? "no runs in \(database.path)" : table(rows))
        }
    }
}
