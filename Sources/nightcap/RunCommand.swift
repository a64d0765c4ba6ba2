import ArgumentParser
import CaptionMetrics
import Foundation
import Pipeline
import RegionFeatures

extension Nightcap {
    /// `nightcap run`: caption every image, store everything, compute the metrics; resumes.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Caption a features file with a model, score it against references if given, store it all in SQLite.",
            discussion: """
                Reads a pipeline file (pipelines/*.toml) and/or flags; flags override the file, and flags alone \
                are enough. The same command resumes an interrupted run: a run with the same fingerprint \
                (model, features, references, decode settings, shard size) picks up where it stopped; a \
                completed one prints its results unless --new-run is given. Without references the run \
                captions and stores everything and computes no metrics; `nightcap score RUN` scores it later.
                Exit codes: 0 done, 1 error, 2 usage, 130/143 interrupted by SIGINT/SIGTERM.
                """)

        @Argument(help: "A pipeline file (TOML). Optional when the flags name the inputs.")
        var pipeline: String?

        @Option(help: "Region features (HDF5).") var features: String?
        @Option(help: "Model file (HDF5, see schemas/model-format.md).") var model: String?
        @Option(help: "Reference captions (COCO annotations or Karpathy split JSON).") var references: String?
        @Option(name: .customLong("references-format"), help: "coco or karpathy (default: detected).")
        var referencesFormat: ReferenceFormat?
        @Option(help: "Karpathy split to evaluate (e.g. test).") var split: String?
        @OptionGroup var database: DatabaseOption
        @Option(name: .customLong("beam-size"), help: "Beam size; 1 is greedy (default 3).") var beamSize: Int?
        @Option(name: .customLong("max-length"), help: "Most words per caption (default 20).") var maxLength: Int?
        @Option(name: .customLong("length-penalty"), help: "Length normalisation exponent alpha (default 0).")
        var lengthPenalty: Double?
        @Option(help: "Decoder threads (default: one per core).") var threads: Int?
        @Option(name: .customLong("shard-size"), help: "Images per shard, the unit of commit and resume (default 256).")
        var shardSize: Int?
        @Option(help: "Attention to keep per word: full, top-K or none (default full).") var attention: String?
        @Option(help: "A name for the run (default: the pipeline file's name).") var name: String?
        @Flag(name: .customLong("new-run"), help: "Start a new run even if one with the same fingerprint exists.")
        var newRun = false
        @Flag(help: "No progress output.") var quiet = false
        @Option(
            name: .customLong("read-timeout"),
            help: "End the run with an error when an HDF5 read makes no progress for this many seconds (default: off).")
        var readTimeout: Double?

        func validate() throws {
            if pipeline == nil && (features == nil || model == nil) {
                throw ValidationError("Please give a pipeline file, or --features and --model (and --references to score the run).")
            }
            if let readTimeout, !(readTimeout > 0 && readTimeout.isFinite) {
                throw ValidationError("Please give --read-timeout a number of seconds above 0, not \(readTimeout).")
            }
            if let attention, AttentionStorage(text: attention) == nil {
                throw ValidationError("Please use full, top-K (for example top-5) or none for --attention, not \(attention).")
            }
        }

        func settings() throws -> PipelineSettings {
            var settings = try pipeline.map { try PipelineFile.load($0) } ?? PipelineSettings()
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            func absolute(_ path: String) -> String { PipelineFile.resolve(path, against: cwd) }
            if let features { settings.featuresPath = absolute(features) }
            if let model { settings.modelPath = absolute(model) }
            if let references { settings.referencesPath = absolute(references) }
            if let referencesFormat { settings.referencesFormat = referencesFormat }
            if let split { settings.referencesSplit = split }
            if let path = database.db { settings.databasePath = absolute(path) }
            if let beamSize { settings.beamSize = beamSize }
            if let maxLength { settings.maxLength = maxLength }
            if let lengthPenalty { settings.lengthPenalty = lengthPenalty }
            if let threads { settings.threads = threads }
            if let shardSize { settings.shardSize = shardSize }
            if let attention { settings.attention = AttentionStorage(text: attention)! }
            if let name { settings.name = name }
            return settings
        }

        func run() throws {
            let settings = try settings()
            let trap = SignalTrap()
            defer { trap.release() }
            var options = RunOptions()
            options.newRun = newRun
            options.readTimeout = readTimeout
            options.interrupt = trap.flag
            if quiet {
                options.progress = .quiet
                options.log = { _ in }
            }
            let report = try PipelineRun.execute(settings, options: options)
            if case .interrupted(let signal) = report.outcome {
                throw ExitCode(128 + signal)
            }
            print(RunReportText.render(report))
        }
    }
}

/// `--db`, shared by every command that reads or writes a results database.
struct DatabaseOption: ParsableArguments {
    @Option(name: .customLong("db"), help: "The results database (SQLite). Default: the pipeline's [output] database, else ./nightcap.sqlite.")
    var db: String?

    /// The database a reading command opens.
    var path: String { db ?? "nightcap.sqlite" }
}

extension ReferenceFormat: ExpressibleByArgument {}

/// The text `nightcap run` prints at the end.
enum RunReportText {
    static func render(_ report: RunReport) -> String {
        var lines: [String] = []
        switch report.outcome {
        case .completed:
            lines.append("run \(report.runID) (\(report.name)) completed in \(String(format: "%.1f", report.seconds)) s")
        case .alreadyCompleted:
            lines.append("run \(report.runID) (\(report.name)) was already completed")
        case .interrupted:
            lines.append("run \(report.runID) (\(report.name)) interrupted")
        }
        if report.scored {
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
}

/// Metric lines as pycocoevalcap prints them, with three decimals and the full value.
enum MetricTable {
    static func render(_ metrics: [(name: String, value: Double)]) -> String {
        metrics.map { "\($0.name.padding(toLength: 8, withPad: " ", startingAt: 0)) \(String(format: "%.3f", $0.value))  (\($0.value))" }
            .joined(separator: "\n")
    }
}
