import ArgumentParser
import CaptionMetrics
import ConcurrencyPrimitives
import Foundation
import Pipeline

extension Nightcap {
    /// `nightcap score`: coco-caption metrics of a results file against references.
    struct Score: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score a COCO results file, or a stored run, against reference captions like pycocoevalcap.",
            discussion: """
                Prints Bleu_1..4, METEOR, ROUGE_L and CIDEr (CIDEr-D) as pycocoevalcap computes them, after the \
                same PTB tokenization. Only images present in both files are scored; the others are counted. \
                METEOR (with --results) needs meteor-1.5.jar and data/paraphrase-en.gz from pycocoevalcap \
                (scripts/bootstrap installs them); leave it out with --metrics.
                With a RUN instead of --results, scores a run stored in --db (one captioned without \
                references) and writes its per-image and corpus metrics into the database, as a run with \
                references would have had them; a run already scored against other references is \
                replaced only with --replace.
                """)

        @Argument(help: "A stored run (id or name) to score and update, instead of --results.")
        var runReference: String?

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case auto, coco, karpathy
        }

        @Option(name: .long, help: "COCO results JSON: [{\"image_id\", \"caption\"}].")
        var results: String?

        @OptionGroup var database: DatabaseOption

        @Flag(name: .long, help: "With a RUN already scored against other references: replace its metrics.")
        var replace = false

        @Option(name: .long, help: "References JSON: COCO caption annotations or a Karpathy split file.")
        var references: String

        @Option(name: .long, help: "References layout (\(Format.allCases.map(\.rawValue).joined(separator: "|"))); auto detects it.")
        var referencesFormat: Format = .auto

        @Option(name: .long, help: "Karpathy split to score (for example test or val); all images when omitted.")
        var split: String?

        @Flag(name: .long, help: "Print the scores and counts as one JSON object.")
        var json = false

        @Option(name: .long, help: "Write per-image scores and BLEU statistics to this file as JSON lines.")
        var perImage: String?

        @Option(help: "Threads for tokenizing and scoring (default: one per core).")
        var threads: Int?

        @Option(
            name: .long,
            help: "With --results: metrics to print, comma-separated (Bleu, Bleu_1..Bleu_4, METEOR, ROUGE_L, CIDEr; default all). METEOR is computed only when listed.")
        var metrics: String?

        @Option(name: .long, help: "Folder holding meteor-1.5.jar and data/paraphrase-en.gz (default: where pip put pycocoevalcap).")
        var meteorData: String?

        /// Every name `--metrics` accepts, in pycocoevalcap's print order.
        static let metricNames = ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr"]

        /// The metrics chosen with `--metrics`, in print order.
        var chosenMetrics: [String] {
            guard let metrics else { return Self.metricNames }
            var chosen = Set<String>()
            for name in metrics.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                if name.caseInsensitiveCompare("Bleu") == .orderedSame {
                    chosen.formUnion(Metric.bleu.map(\.rawValue))
                } else if let known = Self.metricNames.first(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) {
                    chosen.insert(known)
                }
            }
            return Self.metricNames.filter(chosen.contains)
        }

        func validate() throws {
            if runReference == nil && results == nil {
                throw ValidationError("Please give --results FILE to score a results file, or a RUN (with --db) to score a stored run.")
            }
            if runReference != nil && results != nil {
                throw ValidationError("Please give either a RUN or --results, not both.")
            }
            if runReference == nil && (replace || database.db != nil) {
                throw ValidationError("--replace and --db apply to scoring a stored run; please give its RUN, or drop them.")
            }
            if runReference != nil && (json || perImage != nil) {
                throw ValidationError(
                    "--json and --per-image apply to --results; a scored run keeps its per-image scores in the database (nightcap export RUN --format jsonl).")
            }
            if split != nil && referencesFormat == .coco {
                throw ValidationError("--split applies to Karpathy split files; please drop it or use --references-format karpathy.")
            }
            if let threads, threads < 1 {
                throw ValidationError("Please give --threads a number of at least 1, not \(threads).")
            }
            if let metrics {
                let names = metrics.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                for name in names where name.caseInsensitiveCompare("Bleu") != .orderedSame
                    && !Self.metricNames.contains(where: { $0.caseInsensitiveCompare(name) == .orderedSame })
                {
                    throw ValidationError(
                        "Please list metrics from Bleu, \(Self.metricNames.joined(separator: ", ")) in --metrics, not \(name.isEmpty ? "an empty name" : name).")
                }
                if runReference != nil {
                    throw ValidationError("--metrics applies to --results; a stored run is scored with Bleu, ROUGE_L and CIDEr.")
                }
            }
            if meteorData != nil && runReference != nil {
                throw ValidationError("--meteor-data applies to --results; please drop it when scoring a stored run.")
            }
        }

        func run() throws {
            if let runReference {
                try scoreStoredRun(runReference)
                return
            }
            guard let results else { return }
            do {
                let chosen = chosenMetrics
                // METEOR's data is found and loaded before any caption is read: missing data fails at once.
                var meteor: Meteor? = nil
                if chosen.contains("METEOR") {
                    let location = try MeteorDataLocation.locate(explicit: meteorData)
                    meteor = Meteor(resources: try MeteorResources.load(location))
                }
                let format: ReferenceFormat? = referencesFormat == .auto ? nil : ReferenceFormat(rawValue: referencesFormat.rawValue)
                let refs = try CaptionFileReader.references(at: references, format: format, split: split)
                let res = try CaptionFileReader.results(at: results)
                let evaluation = try CocoEvaluation.evaluate(
                    results: res, references: refs, parallelism: threads ?? ParallelWork.defaultWidth, meteor: meteor)
                if let perImage { try writePerImage(evaluation, to: perImage, metrics: chosen) }
                print(json ? Self.jsonReport(evaluation, metrics: chosen) : Self.textReport(evaluation, results: results, references: references, metrics: chosen))
            } catch let error as CaptionMetricsError {
                throw CommandFailure(error.message)
            }
        }

        func scoreStoredRun(_ run: String) throws {
            let format: ReferenceFormat? = referencesFormat == .auto ? nil : ReferenceFormat(rawValue: referencesFormat.rawValue)
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            do {
                let report = try RunScoring.score(
                    run: run, databasePath: database.path, referencesPath: PipelineFile.resolve(references, against: cwd),
                    format: format, split: split, replace: replace, parallelism: threads ?? ParallelWork.defaultWidth)
                var lines = ["run \(report.runID) (\(report.name)) scored: \(report.imagesScored) images against \(references)"]
                if let replaced = report.replaced { lines.append("  replaced the scores against \(replaced)") }
                if report.imagesWithoutReferences > 0 {
                    lines.append("  images without references: \(report.imagesWithoutReferences) (not scored)")
                }
                if report.referencesWithoutImages > 0 {
                    lines.append("  reference images not in the run: \(report.referencesWithoutImages)")
                }
                lines.append("")
                lines.append(MetricTable.render(report.metrics))
                lines.append("")
                lines.append("results: \(database.path)")
                print(lines.joined(separator: "\n"))
            } catch let error as CaptionMetricsError {
                throw CommandFailure(error.message)
            }
        }

        /// The chosen corpus scores, in pycocoevalcap's order.
        static func corpusScores(_ e: CocoEvaluation, metrics: [String]) -> [(name: String, value: Double)] {
            var all: [String: Double] = [:]
            for (metric, value) in e.corpus.named { all[metric.rawValue] = value }
            if let meteor = e.meteor { all["METEOR"] = meteor }
            return metrics.compactMap { name in all[name].map { (name: name, value: $0) } }
        }

        static func textReport(_ e: CocoEvaluation, results: String, references: String, metrics: [String] = metricNames) -> String {
            var lines = [
                "Scored \(e.images.count) images: \(results) against \(references)",
                "  result images without references: \(e.resultsWithoutReferences.count)\(examples(e.resultsWithoutReferences))",
                "  reference images without results: \(e.referencesWithoutResults.count)\(examples(e.referencesWithoutResults))",
                "",
            ]
            lines.append(corpusScores(e, metrics: metrics).map { MetricTable.line(named: $0.name, $0.value) }.joined(separator: "\n"))
            return lines.joined(separator: "\n")
        }

        static func examples(_ ids: [ImageID]) -> String {
            guard !ids.isEmpty else { return "" }
            let shown = ids.prefix(5).map(\.description).joined(separator: ", ")
            return " (\(shown)\(ids.count > 5 ? ", ..." : ""))"
        }

        static func jsonReport(_ e: CocoEvaluation, metrics: [String] = metricNames) -> String {
            var scores: [String: Double] = [:]
            for (name, value) in corpusScores(e, metrics: metrics) { scores[name] = value }
            let object: [String: Any] = [
                "scores": scores,
                "images_scored": e.images.count,
                "results_without_references": e.resultsWithoutReferences.map(jsonID),
                "references_without_results": e.referencesWithoutResults.map(jsonID),
            ]
            let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }

        static func jsonID(_ id: ImageID) -> Any { id.kind == .integer ? (Int(id.value) ?? 0) as Any : id.value }

        func writePerImage(_ e: CocoEvaluation, to path: String, metrics: [String]) throws {
            var out = ""
            for image in e.images {
                var row: [String: Any] = ["image_id": Self.jsonID(image.imageID)]
                for (metric, value) in image.scores.named where metrics.contains(metric.rawValue) { row[metric.rawValue] = value }
                if let meteor = image.meteorStatistics {
                    row["METEOR"] = meteor.score
                    row["meteor_stats"] = meteor.values
                }
                let s = image.bleuStatistics
                row["bleu_stats"] = ["testlen": s.testlen, "reflen": s.reflen, "guess": s.guess, "correct": s.correct]
                row["tokens"] = image.hypothesisTokens.joined(separator: " ")
                let data = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
                out += String(decoding: data, as: UTF8.self) + "\n"
            }
            do {
                try out.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw CommandFailure("\(path): cannot write the per-image scores (\(error.localizedDescription)).")
            }
        }
    }
}
