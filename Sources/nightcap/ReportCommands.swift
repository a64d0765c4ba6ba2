import ArgumentParser
import CaptionMetrics
import Foundation
import ResultStore

/// A few images of a run as a reader wants to see them: caption, references, and for each word the
/// label (or number) of the region it attended most.
enum ExampleImages {
    static func render(_ run: RunRecord, count: Int, database: ResultDatabase) throws -> [String] {
        // References are read from the file the run used, when it is still there.
        let references = run.referencesPath.flatMap { try? CaptionFileReader.references(at: $0) }
        var byID: [String: [String]] = [:]
        if let references {
            for id in references.imageIDs { byID[id.value] = references.captions[id] }
        }
        var lines: [String] = []
        for caption in try database.captions(runID: run.runID).prefix(count) {
            lines.append("image \(caption.imageID)")
            lines.append("  caption     \(caption.caption)")
            for (index, reference) in (byID[caption.imageID] ?? []).enumerated() {
                lines.append((index == 0 ? "  references  " : "              ") + reference)
            }
            let regions = Dictionary(
                uniqueKeysWithValues: try database.regions(runID: run.runID, imageID: caption.imageID).map { ($0.region, $0.label) })
            let words = try database.attention(runID: run.runID, imageID: caption.imageID).map { row -> String in
                guard let region = row.topRegion else { return row.word }
                let label = (regions[region] ?? nil).map { $0.isEmpty ? "region \(region)" : $0 } ?? "region \(region)"
                return "\(row.word)→\(label)"
            }
            if !words.isEmpty { lines.append("  looked at   " + words.joined(separator: " ")) }
        }
        return lines
    }
}

/// Opens a results database for reading, with a message that says what to do when there is none.
func openResults(_ option: DatabaseOption) throws -> ResultDatabase {
    let path = option.path
    guard FileManager.default.fileExists(atPath: path) else {
        throw CommandFailure("no results database at \(path); run `nightcap run` first, or pass --db with the database it wrote")
    }
    return try ResultDatabase(path: path, readOnly: true)
}

/// An error whose message is the whole story.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func format(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }

func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: first.count)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}

extension Nightcap {
    /// `nightcap runs`: the runs in a database.
    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the runs in a results database.")
        @OptionGroup var database: DatabaseOption

        func run() throws {
            let results = try openResults(database)
            defer { try? results.close() }
            var rows = [["id", "name", "status", "started", "images", "Bleu_4", "CIDEr"]]
            for run in try results.listRuns() {
                rows.append([
                    String(run.runID), run.name, run.status.rawValue, run.createdAt, "\(run.imagesDone)/\(run.imageCount)",
                    run.isScored ? format(run.bleu4) : "not scored", run.isScored ? format(run.cider) : "-",
                ])
            }
            print(rows.count == 1 ? "no runs in \(database.path)" : table(rows))
        }
    }

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
            if let seconds = record.finalizeSeconds { lines.append("finalize     \(String(format: "%.2f", seconds)) s") }
            lines.append("configuration \(record.configJSON)")
            let metrics = try results.runMetrics(runID: record.runID)
            if !metrics.isEmpty {
                lines.append("")
                lines.append(MetricTable.render(["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"].compactMap { name in
                    metrics[name].map { (name: name, value: $0) }
                }))
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

    /// `nightcap export RUN`: captions in the COCO results format, CSV or JSON lines.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export a run's captions: coco (the results JSON pycocoevalcap and the COCO server take), csv or jsonl.",
            discussion: "Image ids made only of digits are written as JSON integers, as COCO expects; others as strings.")

        enum Format: String, ExpressibleByArgument, CaseIterable { case coco, csv, jsonl }

        @Argument(help: "Run id or name.") var runReference: String
        @Option(help: "coco, csv or jsonl.") var format: Format = .coco
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
        @OptionGroup var database: DatabaseOption

        func run() throws {
            let results = try openResults(database)
            defer { try? results.close() }
            let record = try results.run(reference: runReference)
            let rows = try results.captionsWithMetrics(runID: record.runID)
            let metricNames = ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"]
            var text = ""
            switch format {
            case .coco:
                let objects: [[String: Any]] = rows.map { ["image_id": Self.jsonID($0.imageID), "caption": $0.caption] }
                text = String(decoding: try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys]), as: UTF8.self) + "\n"
            case .csv:
                text = (["image_id", "caption", "num_words", "log_prob"] + metricNames).joined(separator: ",") + "\n"
                for row in rows {
                    let cells = [Self.csv(row.imageID), Self.csv(row.caption), String(row.numWords), String(row.logProb)]
                        + metricNames.map { row.metrics[$0].map { String($0) } ?? "" }
                    text += cells.joined(separator: ",") + "\n"
                }
            case .jsonl:
                for row in rows {
                    var object: [String: Any] = [
                        "image_id": Self.jsonID(row.imageID), "caption": row.caption, "num_words": row.numWords, "log_prob": row.logProb,
                    ]
                    for (name, value) in row.metrics { object[name] = value }
                    text += String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self) + "\n"
                }
            }
            if let output {
                do {
                    try text.write(toFile: output, atomically: true, encoding: .utf8)
                } catch {
                    throw CommandFailure("\(output): cannot write the export (\(error.localizedDescription))")
                }
            } else {
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        }

        static func jsonID(_ id: String) -> Any {
            if !id.isEmpty, id.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(id) { return number }
            return id
        }

        static func csv(_ value: String) -> String {
            guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return value }
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
    }
}
