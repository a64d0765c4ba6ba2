import ArgumentParser
import CaptionMetrics
import Foundation
import ResultStore

extension Nightcap {
    /// `nightcap runs`: the runs in a database.
    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the runs in a results database: model, family, beam, images scored, BLEU-4 and CIDEr.",
            discussion: """
                A run shown `interrupted (process gone)` is stored as running, but its process on this host no \
                longer exists (for example after a second Ctrl-C): the same `nightcap run` command resumes it.
                """)
        @OptionGroup var database: DatabaseOption
        @Flag(help: "Print the runs as a JSON array (keys: docs/database.md).") var json = false

        func run() throws {
            let results = try openResults(database)
            defer { try? results.close() }
            // Part runs (`run --part I/N`) get a part column: which part of which run, by fingerprint.
            var parts: [Int64: (part: RunPart, fingerprint: String)] = [:]
            for (run, part) in try results.partRuns() { parts[run.runID] = (part, run.fingerprint) }
            let runs = try results.listRuns()
            if json {
                print(JSONOutput.render(runs.map { run -> [String: Any] in
                    let decoding = RunDecoding(configJSON: run.configJSON)
                    return [
                        "run_id": run.runID, "name": run.name, "status": run.status.rawValue,
                        "status_text": run.status.described(ownerPID: run.ownerPID, ownerHost: run.ownerHost),
                        "created_at": run.createdAt, "finished_at": JSONOutput.orNull(run.finishedAt),
                        "model": JSONOutput.orNull(decoding.modelPath), "family": JSONOutput.orNull(decoding.family),
                        "beam_size": JSONOutput.orNull(decoding.beamSize), "split": JSONOutput.orNull(decoding.split),
                        "image_count": run.imageCount, "images_done": run.imagesDone, "images_failed": run.imagesFailed,
                        "images_scored": run.imagesScored, "scored": run.isScored,
                        Metric.bleu4.rawValue: JSONOutput.orNull(run.bleu4), Metric.cider.rawValue: JSONOutput.orNull(run.cider),
                        "part": JSONOutput.orNull(parts[run.runID].map { "\($0.part)" }),
                    ]
                }))
                return
            }
            var rows = [
                ["id", "name", "status", "started", "model", "family", "beam", "images", "scored", Metric.bleu4.rawValue, Metric.cider.rawValue]
                    + (parts.isEmpty ? [] : ["part"])
            ]
            for run in runs {
                let decoding = RunDecoding(configJSON: run.configJSON)
                var row = [
                    String(run.runID), run.name, run.status.described(ownerPID: run.ownerPID, ownerHost: run.ownerHost), run.createdAt,
                    RunDecoding.shortModel(decoding.modelPath) ?? "-", decoding.family ?? "-", decoding.beamSize.map(String.init) ?? "-",
                    "\(run.imagesDone)/\(run.imageCount)", run.isScored ? String(run.imagesScored) : "-",
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
