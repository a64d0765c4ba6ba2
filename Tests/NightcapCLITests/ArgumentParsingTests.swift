import ArgumentParser
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

    @Test func validationMessagesReadLikeAdvice() {
        #expect(parseFailure(Nightcap.Run.self, ["--features", "f.h5"]) == "Please give a pipeline file, or --features and --model (and --references to score the run).")
        #expect(parseFailure(Nightcap.Run.self, ["p.toml", "--attention", "most"]) == "Please use full, top-K (for example top-5) or none for --attention, not most.")
        #expect(parseFailure(Nightcap.Compare.self, ["1", "2", "--max-drop", "CIDEr"]) == "Please write --max-drop as METRIC=NUMBER (for example CIDEr=0.02), not CIDEr.")
        #expect(parseFailure(Nightcap.Compare.self, ["1", "2", "--min", "SPICE=0.2"]) == "Please use one of Bleu_1, Bleu_2, Bleu_3, Bleu_4, ROUGE_L, CIDEr in --min, not SPICE.")
        #expect(parseFailure(Nightcap.Run.self, ["p.toml"]) == nil)
    }

    @Test func helpListsEveryCommandAndTheExitCodes() {
        let help = Nightcap.helpMessage()
        for command in ["run", "runs", "show", "compare", "export", "score", "inspect"] {
            #expect(help.contains("  \(command) "), "\(command)")
        }
        #expect(help.contains("Exit codes: 0 done, 1 error, 2 usage, 3 a gate of `compare` failed, 130/143"))
        #expect(Nightcap.Run.helpMessage().contains("--new-run"))
    }
}
