import ArgumentParser
import CaptionMetrics
import Foundation
import ResultStore

extension Nightcap {
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
            var text = ""
            switch format {
            case .coco:
                let objects: [[String: Any]] = rows.map { ["image_id": Self.jsonID($0.imageID), "caption": $0.caption] }
                text = String(decoding: try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys]), as: UTF8.self) + "\n"
            case .csv:
                text = (["image_id", "caption", "num_words", "log_prob"] + Metric.allCases.map(\.rawValue)).joined(separator: ",") + "\n"
                for row in rows {
                    let cells = [Self.csv(row.imageID), Self.csv(row.caption), String(row.numWords), String(row.logProb)]
                        + Metric.allCases.map { row.metrics[$0].map { String($0) } ?? "" }
                    text += cells.joined(separator: ",") + "\n"
                }
            case .jsonl:
                for row in rows {
                    var object: [String: Any] = [
                        "image_id": Self.jsonID(row.imageID), "caption": row.caption, "num_words": row.numWords, "log_prob": row.logProb,
                    ]
                    for (metric, value) in row.metrics { object[metric.rawValue] = value }
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
