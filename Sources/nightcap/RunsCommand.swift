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
            // Part runs (`run --part I/N`) get a part column: which part of which run, by fingerprint.
            var parts: [Int64: (part: RunPart, fingerprint: String)] = [:]
            for (run, part) in try results.partRuns() { parts[run.runID] = (part, run.fingerprint) }
            var rows = [["id", "name", "status", "started", "images", Metric.bleu4.rawValue, Metric.cider.rawValue] + (parts.isEmpty ? [] : ["part"])]
            for run in try results.listRuns() {
                var row = [
                    String(run.runID), run.name, run.status.rawValue, run.createdAt, "\(run.imagesDone)/\(run.imageCount)",
                    run.isScored ? format(run.bleu4) : "not scored", run.isScored ? format(run.cider) : "-",
                ]
                if !parts.isEmpty {
                    row.append(parts[run.runID].map { "part \($0.part) of run \($0.fingerprint.prefix(12)), shards \($0.part.firstShard)..<\($0.part.endShard)" } ?? "-")
                }
                rows.append(row)
            }
            print(rows.count == 1 ? "no runs in \(database.path)" : table(rows))
        }
    }
}
