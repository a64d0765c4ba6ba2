import ArgumentParser
import CaptionMetrics
import Captioner
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
        @Option(help: "Model: a nightcap model file (HDF5, see schemas/model-format.md), or a self-critical.pytorch checkpoint (.pth, .pth.tar, .ckpt, .safetensors; decided by content).")
        var model: String?
        @Option(help: "self-critical.pytorch's infos pickle for a checkpoint (default: the infos_*.pkl beside it).")
        var infos: String?
        @Option(help: ArgumentHelp(ModelLoadOptions.Name.vocab.help))
        var vocab: String?
        @Option(help: ArgumentHelp(ModelLoadOptions.Name.heads.help))
        var heads: Int?
        @Option(help: "Reference captions (COCO annotations or Karpathy split JSON).") var references: String?
        @Option(name: .customLong("references-format"), help: "coco or karpathy (default: detected).")
        var referencesFormat: ReferenceFormat?
        @Option(help: "Karpathy split to evaluate (e.g. test).") var split: String?
        @Option(name: .customLong("id-map"), help: "An *_imgid2idx.pkl id map ({image_id: row}) naming the rows of a features file without ids.")
        var idMap: String?
        @Option(
            name: .customLong("pooled-dataset"),
            help: "A dataset [images, D] of pooled features in the features file, UpDown's fc input (default: the mean of each image's valid regions, as self-critical.pytorch without input_fc_dir).")
        var pooledDataset: String?
        @OptionGroup var database: DatabaseOption
        @Option(name: .customLong("beam-size"), help: "Beam size; 1 is greedy (default 3).") var beamSize: Int?
        // `--beam` is no flag: ArgumentParser's closest match by edit distance would be `--name`.
        @Option(name: .customLong("beam"), help: .hidden) var misspelledBeam: String?
        @Option(name: .customLong("max-length"), help: "Most words per caption (default 20).") var maxLength: Int?
        @Option(
            name: .customLong("length-penalty"),
            help: "A number alpha (score / length^alpha), or self-critical.pytorch's wu_A or avg_A (default 0: raw scores).")
        var lengthPenalty: String?
        @Flag(name: .customLong("remove-bad-endings"), help: "self-critical.pytorch's remove_bad_endings: no caption ends on 'a', 'the', 'with'... (default off).")
        var removeBadEndings = false
        @Flag(
            name: .customLong("suppress-unk"), inversion: .prefixedNo,
            help: "self-critical.pytorch's suppress_UNK in beam search (default on, as upstream's eval.py).")
        var suppressUnk: Bool?
        @Option(help: "Decoder threads (default: one per core).") var threads: Int?
        @Option(name: .customLong("shard-size"), help: "Images per shard, the unit of commit and resume (default 256).")
        var shardSize: Int?
        @Option(help: "Attention to keep per word: full, top-K or none (default full).", transform: AttentionStorage.parse)
        var attention: AttentionStorage?
        @Option(
            help: """
                A name for the run, unique in its database (default: the pipeline's [run] name, else the model's folder and \
                file stem: log_updown/model-best for log_updown/model-best.pth, the stem alone for a model in the current \
                folder; a default already taken gets #2, #3...). A name another run has is refused; `nightcap rename` \
                renames a stored run.
                """)
        var name: String?
        @Option(
            help: "The series the run belongs to, for `nightcap history` and `compare --against` (default: the pipeline's name and decode settings).")
        var series: String?
        @Flag(name: .customLong("new-run"), help: "Start a new run even if one with the same fingerprint exists.")
        var newRun = false
        @Flag(help: "No progress output.") var quiet = false
        @Flag(help: "Print the final summary as JSON (keys: docs/database.md).") var json = false
        @Option(
            help: ArgumentHelp(
                "Run only part I (0-based) of N: the I-th of N contiguous blocks of shards, into its own --db; `nightcap merge` joins the N part files.",
                valueName: "I/N"),
            transform: Partition.parse)
        var part: Partition?
        @Option(
            name: .customLong("read-timeout"),
            help: "End the run with an error when an HDF5 read makes no progress for this many seconds (default: off).")
        var readTimeout: Double?

        func validate() throws {
            if let misspelledBeam {
                throw ValidationError("Unknown option '--beam'. Did you mean '--beam-size'? (--beam-size \(misspelledBeam): the beam size; 1 is greedy)")
            }
            if pipeline == nil && (features == nil || model == nil) {
                throw ValidationError("Please give a pipeline file, or --features and --model (and --references to score the run).")
            }
            if let readTimeout, !(readTimeout > 0 && readTimeout.isFinite) {
                throw ValidationError("Please give --read-timeout a number of seconds above 0, not \(readTimeout).")
            }
            if let series, series.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("Please give --series a name that is not blank.")
            }
            if let lengthPenalty, PipelineSettings.lengthPenalty(from: lengthPenalty) == nil {
                throw ValidationError("Please use a number, wu_A or avg_A (A a number) for --length-penalty, not \(lengthPenalty).")
            }
        }

        func settings() throws -> PipelineSettings {
            var settings = try pipeline.map { try PipelineFile.load($0) } ?? PipelineSettings()
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            func absolute(_ path: String) -> String { PipelineFile.resolve(path, against: cwd) }
            if let features { settings.featuresPath = absolute(features) }
            if let idMap { settings.idMapPath = absolute(idMap) }
            if let pooledDataset { settings.featureNames.pooled = pooledDataset }
            if let model { settings.modelPath = absolute(model) }
            if let infos { settings.infosPath = absolute(infos) }
            if let vocab { settings.vocabPath = absolute(vocab) }
            if let heads { settings.heads = heads }
            if let references { settings.referencesPath = absolute(references) }
            if let referencesFormat { settings.referencesFormat = referencesFormat }
            if let split { settings.referencesSplit = split }
            if let path = database.db { settings.databasePath = absolute(path) }
            if let beamSize { settings.beamSize = beamSize }
            if let maxLength { settings.maxLength = maxLength }
            if let lengthPenalty, let (rule, alpha) = PipelineSettings.lengthPenalty(from: lengthPenalty) {
                (settings.lengthPenaltyRule, settings.lengthPenalty) = (rule, alpha)
            }
            if removeBadEndings { settings.removeBadEndings = true }
            if let suppressUnk { settings.suppressUnknown = suppressUnk }
            if let threads { settings.threads = threads }
            if let shardSize { settings.shardSize = shardSize }
            if let attention { settings.attention = attention }
            if let name { settings.name = name }
            if let series { settings.series = series }
            return settings
        }

        func run() throws {
            let settings = try settings()
            let trap = SignalTrap()
            defer { trap.release() }
            var options = RunOptions()
            options.newRun = newRun
            options.part = part
            options.readTimeout = readTimeout
            options.interrupt = trap.flag
            options.nameGiven = name != nil
            if quiet {
                options.progress = .quiet
                options.log = { _ in }
            }
            let report = try PipelineRun.execute(settings, options: options)
            if let name, report.name != name {
                // The run existed with these inputs and settings under another name (a new run takes
                // the name or is refused): said even with --quiet, since the name is not where the user
                // will look for it.
                let what = report.part.map { "part \($0) of run" } ?? "run"
                FileHandle.standardError.write(Data((
                    "the name '\(name)' was not used: \(what) \(report.runID) with these inputs and settings is named '\(report.name)'; "
                    + "`nightcap rename \(report.runID) \(name) --db \(report.databasePath)` renames it (--new-run starts a new run instead)\n").utf8))
            }
            if json { print(RunReportText.json(report)) }
            if case .interrupted(let signal) = report.outcome {
                throw ExitCode(128 + signal)
            }
            if !json { print(RunReportText.render(report)) }
        }
    }
}

extension ReferenceFormat: ExpressibleByArgument {}

extension AttentionStorage {
    /// `--attention`'s value: a wrong one is a usage error that lists the valid ones.
    static func parse(_ text: String) throws -> AttentionStorage {
        guard let value = AttentionStorage(text: text) else {
            throw ValidationError("Please use full, top-K (for example top-5) or none for --attention, not \(text).")
        }
        return value
    }
}

extension Partition {
    /// `--part`'s value: a wrong one is a usage error that shows the form.
    static func parse(_ text: String) throws -> Partition {
        guard let value = Partition(text: text) else {
            throw ValidationError("Please give --part as I/N with 0 <= I < N (for example 2/8), not \(text).")
        }
        return value
    }
}
