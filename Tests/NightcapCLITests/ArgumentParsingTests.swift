import ArgumentParser
import CaptionMetrics
import Foundation
import Pipeline
import TestSupport
import Testing
@testable import nightcap

/// The command line parsed in-process: flags over pipeline files, validation messages, help.
@Suite struct ArgumentParsingTests {
    @Test func flagsOverrideThePipelineFile() throws {
        let folder = TemporaryDirectory()
        let pipeline = folder.path("nightly.toml")
        try """
            [features]
            path = "feats.h5"
            [model]
            path = "model.h5"
            [references]
            path = "refs.json"
            [decode]
            beam_size = 5
            [run]
            threads = 2
            """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let command = try Nightcap.Run.parse([pipeline, "--beam-size", "1", "--model", "/m/other.h5", "--attention", "top-3"])
        let settings = try command.settings()
        #expect(settings.beamSize == 1)
        #expect(settings.modelPath == "/m/other.h5")
        #expect(settings.featuresPath == folder.url.standardizedFileURL.path + "/feats.h5")
        #expect(settings.threads == 2)
        #expect(settings.attention == .top(3))
    }

    @Test func relativeFlagPathsResolveAgainstTheCurrentDirectory() throws {
        let command = try Nightcap.Run.parse(["--features", "f.h5", "--model", "m.h5", "--references", "r.json", "--db", "out/r.sqlite"])
        let settings = try command.settings()
        let cwd = FileManager.default.currentDirectoryPath
        #expect(settings.featuresPath == URL(fileURLWithPath: cwd).appendingPathComponent("f.h5").standardizedFileURL.path)
        #expect(settings.databasePath == URL(fileURLWithPath: cwd).appendingPathComponent("out/r.sqlite").standardizedFileURL.path)
    }

    /// The message ArgumentParser prints when `arguments` do not parse, or nil when they do.
    func parseFailure<Command: ParsableCommand>(_ command: Command.Type, _ arguments: [String]) -> String? {
        do {
            _ = try command.parse(arguments)
            return nil
        } catch {
            return command.message(for: error)
        }
    }

    @Test func misspelledFlagsAndHelpTopics() {
        // ArgumentParser's nearest flag to `--beam` by edit distance is `--name`.
        #expect(parseFailure(Nightcap.Run.self, ["p.toml", "--beam", "5"])
            == "Unknown option '--beam'. Did you mean '--beam-size'? (--beam-size 5: the beam size; 1 is greedy)")
        #expect(parseFailure(Nightcap.Run.self, ["p.toml", "--beam-size", "5"]) == nil)
        #expect(Nightcap.unknownHelpTopic(["help", "bogus"])?.hasPrefix("Error: 'nightcap bogus' is not a command; the commands are run, runs, show, history, rename,") == true)
        #expect(Nightcap.unknownHelpTopic(["help", "show", "extra"]) == "Error: 'nightcap show extra' is not a command; `nightcap show --help` shows its options")
        #expect(Nightcap.unknownHelpTopic(["help", "show"]) == nil)
        #expect(Nightcap.unknownHelpTopic(["help"]) == nil)
        #expect(Nightcap.unknownHelpTopic(["show", "bogus"]) == nil)
        #expect(Nightcap.Rename.configuration.discussion.contains("`nightcap rename 3 tonight`, then `nightcap show tonight`"))
    }

    @Test func validationMessagesReadLikeAdvice() {
        #expect(parseFailure(Nightcap.Run.self, ["--features", "f.h5"]) == "Please give a pipeline file, or --features and --model (and --references to score the run).")
        #expect(parseFailure(Nightcap.Run.self, ["p.toml", "--attention", "most"])
            == "The value 'most' is invalid for '--attention <attention>': Please use full, top-K (for example top-5) or none for --attention, not most.")
        #expect(parseFailure(Nightcap.Compare.self, ["1", "2", "--max-drop", "CIDEr"])
            == "The value 'CIDEr' is invalid for '--max-drop <max-drop>': Please write --max-drop as METRIC=NUMBER (for example CIDEr=0.02), not CIDEr.")
        #expect(parseFailure(Nightcap.Compare.self, ["1", "2", "--min", "SPICE=0.2"])
            == "The value 'SPICE=0.2' is invalid for '--min <min>': Please use one of Bleu_1, Bleu_2, Bleu_3, Bleu_4, ROUGE_L, CIDEr in --min, not SPICE.")
        #expect(parseFailure(Nightcap.Score.self, ["--results", "r.json", "--references", "c.json", "--threads", "0"])
            == "Please give --threads a number of at least 1, not 0.")
        #expect(parseFailure(Nightcap.Score.self, ["--results", "r.json", "--references", "c.json", "--metrics", "Bleu,SPICE"])
            == "Please list metrics from Bleu, Bleu_1, Bleu_2, Bleu_3, Bleu_4, METEOR, ROUGE_L, CIDEr in --metrics, not SPICE.")
        #expect(parseFailure(Nightcap.Score.self, ["1", "--references", "c.json", "--metrics", "CIDEr"])
            == "--metrics applies to --results; a stored run is scored with Bleu, ROUGE_L and CIDEr.")
        #expect(parseFailure(Nightcap.Score.self, ["1", "--references", "c.json", "--meteor-data", "m"])
            == "--meteor-data applies to --results; please drop it when scoring a stored run.")
        #expect((try? Nightcap.Score.parse(["--results", "r.json", "--references", "c.json", "--metrics", "bleu, cider"]))?.chosenMetrics
            == ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "CIDEr"])
        #expect((try? Nightcap.Score.parse(["--results", "r.json", "--references", "c.json"]))?.chosenMetrics.contains("METEOR") == true)
        #expect(parseFailure(Nightcap.Run.self, ["p.toml"]) == nil)
    }

    @Test func metricNamesAndGatesAreTypes() throws {
        let compare = try Nightcap.Compare.parse(["1", "2", "--by", "Bleu_4", "--max-drop", "CIDEr=0.02", "--min", "ROUGE_L=0.5"])
        #expect(compare.by == .bleu4)
        #expect(compare.maxDrop == [MetricGate(metric: .cider, value: 0.02)])
        #expect(compare.minimum == [MetricGate(metric: .rougeL, value: 0.5)])
        #expect(try Nightcap.Run.parse(["p.toml", "--attention", "top-3"]).attention == .top(3))
        #expect(try Nightcap.Run.parse(["p.toml", "--part", "2/8"]).part == Partition(index: 2, count: 8))
        let part = try #require(parseFailure(Nightcap.Run.self, ["p.toml", "--part", "8/8"]))
        #expect(part.contains("Please give --part as I/N with 0 <= I < N (for example 2/8), not 8/8."))
        // A wrong metric name lists the valid ones.
        let wrong = try #require(parseFailure(Nightcap.Compare.self, ["1", "2", "--by", "SPICE"]))
        #expect(wrong.hasPrefix("The value 'SPICE' is invalid for '--by <by>'"))
        for metric in Metric.allCases { #expect(wrong.contains(metric.rawValue)) }
    }

    @Test func helpListsEveryCommandAndTheExitCodes() {
        let help = Nightcap.helpMessage()
        for command in ["run", "runs", "show", "compare", "export", "score", "inspect", "merge", "slurm"] {
            #expect(help.contains("  \(command) "), "\(command)")
        }
        // The help wraps lines: compare with whitespace runs as single spaces.
        let flowing = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flowing.contains("Exit codes: 0 done, 1 error, 2 usage, 3 a gate of `compare` failed, 4 `merge` found parts not done, 5 `compare` or `report --vs` of two runs that share no image, 130/143"))
        #expect(Nightcap.Run.helpMessage().contains("--part <I/N>"))
        #expect(Nightcap.Run.helpMessage().contains("--new-run"))
    }
}
