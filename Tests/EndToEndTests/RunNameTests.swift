import Foundation
import TestSupport
import Testing

/// Run names: a default that tells checkpoints apart, unique in a database, `--name` on a run that
/// exists already, and `nightcap rename`.
@Suite(.timeLimit(.minutes(10))) struct RunNameTests {
    /// The `name` of every run of `database`, by `runs --json`.
    static func names(_ database: String) throws -> [String] {
        let outcome = try NightcapProcess.run(["runs", "--db", database, "--json"])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [[String: Any]])
        return runs.compactMap { $0["name"] as? String }
    }

    @Test func theDefaultNameIsTheModelsFolderAndStem() throws {
        let fixture = try RunFixture(images: 8)
        // A self-critical.pytorch-style training folder: every best checkpoint is `model-best`.
        try FileManager.default.createDirectory(atPath: fixture.path("log_updown"), withIntermediateDirectories: true)
        let model = fixture.path("log_updown/model-best.h5")
        try FileManager.default.copyItem(atPath: fixture.model, toPath: model)
        let db = fixture.path("r.sqlite")
        let first = try NightcapProcess.run(fixture.runArguments(database: db, replacing: "--model", with: model))
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.contains("run 1 (log_updown/model-best) completed"), "\(first.standardOutput)")

        // Another run of the same checkpoint (other settings) keeps the name unique: #2.
        let greedy = try NightcapProcess.run(
            fixture.runArguments(database: db, replacing: "--model", with: model) + ["--beam-size", "1"])
        #expect(greedy.status == 0, "\(greedy.standardError)")

        // A model in the current folder is named by its stem alone (beam 2: the same bytes as the
        // checkpoint above, so another fingerprint needs other settings).
        let here = try NightcapProcess.run(
            ["run", "--features", "features.h5", "--model", "model.h5", "--references", "references.json", "--db", "r.sqlite",
             "--shard-size", "8", "--threads", "2", "--quiet", "--beam-size", "2"],
            in: fixture.folder.url)
        #expect(here.status == 0, "\(here.standardError)")
        #expect(try Self.names(db) == ["log_updown/model-best", "log_updown/model-best#2", "model"])
    }

    @Test func aGivenNameIsNeverDroppedSilentlyAndRenameNamesAStoredRun() throws {
        let fixture = try RunFixture(images: 8)
        let db = fixture.path("r.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db)).status == 0)
        let runName = try #require(try Self.names(db).first)

        // The same inputs and settings with --name: the completed run is found, and one line says
        // the name was not used and how to give it.
        let again = try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--name", "tonight"]))
        #expect(again.status == 0, "\(again.standardError)")
        #expect(again.standardError.contains(
            "the name 'tonight' was not used: run 1 with these inputs and settings is named '\(runName)'; "
                + "`nightcap rename 1 tonight --db \(db)` renames it (--new-run starts a new run instead)"),
            "\(again.standardError)")

        let renamed = try NightcapProcess.run(["rename", "1", "tonight", "--db", db])
        #expect(renamed.status == 0, "\(renamed.standardError)")
        #expect(renamed.standardOutput == "run 1 renamed from '\(runName)' to 'tonight'\n")
        let shown = try NightcapProcess.run(["show", "tonight", "--db", db])
        #expect(shown.status == 0, "\(shown.standardError)")
        #expect(shown.standardOutput.hasPrefix("run 1: tonight\n"))

        // Names are unique: a new run, or a rename, to a name another run has is refused.
        let clash = try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--name", "tonight", "--beam-size", "1"]))
        #expect(clash.status == 1)
        #expect(clash.standardError.contains(
            "\(db): the name 'tonight' is taken by run 1 (names are unique in a database): choose another name, "
                + "or rename that run first with `nightcap rename 1 NEW --db \(db)`"),
            "\(clash.standardError)")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--name", "greedy", "--beam-size", "1"])).status == 0)
        let renameClash = try NightcapProcess.run(["rename", "greedy", "tonight", "--db", db])
        #expect(renameClash.status == 1)
        #expect(renameClash.standardError.contains("the name 'tonight' is taken by run 1"), "\(renameClash.standardError)")
        let number = try NightcapProcess.run(["rename", "2", "17", "--db", db])
        #expect(number.status == 2)
        #expect(number.standardError.contains("Please give a name that is not a number (17 would read as a run id)."))
        #expect(try Self.names(db) == ["tonight", "greedy"])
    }
}
