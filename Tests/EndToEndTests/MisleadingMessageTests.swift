import Foundation
import GRDB
import TestSupport
import Testing

/// Messages that once said something false or unhelpful, each pinned by its text.
@Suite(.timeLimit(.minutes(10))) struct MisleadingMessageTests {
    @Test func aDatabaseThatIsAFolder() throws {
        let fixture = try RunFixture(images: 4)
        let folder = fixture.path("results")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let runs = try NightcapProcess.run(["runs", "--db", folder])
        #expect(runs.status == 1)
        #expect(runs.standardError.contains(
            "--db \(folder) is a folder, not a results database; pass the database file itself, for example --db \(folder)/nightcap.sqlite"),
            "\(runs.standardError)")
        let run = try NightcapProcess.run(fixture.runArguments(database: folder))
        #expect(run.status == 1)
        #expect(run.standardError.contains(
            "the results database \(folder) (--db) is a folder; pass the path of a database file, for example --db \(folder)/nightcap.sqlite"),
            "\(run.standardError)")
        #expect(!run.standardError.contains("disk I/O error"))
    }

    @Test func modelAndFeaturesSwapped() throws {
        let checkpoint = UpDownRunTests.golden("log_zip/model-best.pth"), features = UpDownRunTests.golden("features.h5")
        let folder = TemporaryDirectory()
        let outcome = try NightcapProcess.run(["run", "--features", checkpoint, "--model", features, "--db", folder.path("r.sqlite")])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains(
            "\(checkpoint), given as the features file, is a PyTorch checkpoint (a model), not HDF5 region features: did you swap "
                + "--features and --model? The checkpoint goes to --model, and the features file (.h5) to --features (\(features) is given as the model)"),
            "\(outcome.standardError)")
        #expect(!outcome.standardError.contains("HDF5 (.h5) files"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("r.sqlite")))
    }

    @Test func beamSuggestsBeamSize() throws {
        let outcome = try NightcapProcess.run(["run", "--features", "f.h5", "--model", "m.h5", "--beam", "3"])
        #expect(outcome.status == 2)
        #expect(outcome.standardError.contains("Unknown option '--beam'. Did you mean '--beam-size'? (--beam-size 3: the beam size; 1 is greedy)"))
        #expect(!outcome.standardError.contains("--name"))
    }

    @Test func helpOfACommandThatDoesNotExist() throws {
        let outcome = try NightcapProcess.run(["help", "bogus"])
        #expect(outcome.status == 2)
        #expect(outcome.standardError.contains(
            "Error: 'nightcap bogus' is not a command; the commands are run, runs, show, history, rename, compare, report, export, score, inspect, merge, slurm (`nightcap help COMMAND`)"),
            "\(outcome.standardError)")
        #expect(outcome.standardOutput.isEmpty)
        let known = try NightcapProcess.run(["help", "show"])
        #expect(known.status == 0 && known.standardOutput.contains("USAGE: nightcap show"))
    }

    @Test func reportIdsGivenAJSONFile() throws {
        let fixture = try RunFixture(images: 4)
        let db = fixture.path("r.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db)).status == 0)
        let outcome = try NightcapProcess.run(["report", "1", "--db", db, "--ids", fixture.references, "--out", fixture.path("r.html")])
        #expect(outcome.status == 1)
        // The fixture's key order is JSONSerialization's: the excerpt is checked by its shape.
        #expect(outcome.standardError.contains("\(fixture.references) looks like a JSON file (it starts with '{\""), "\(outcome.standardError)")
        #expect(outcome.standardError.contains(
            "...'), not a list of image ids; pass --ids a text file with one image id per line (`nightcap export RUN --format csv` shows the ids a run has)"))
        #expect(outcome.standardError.count < 600, "the file is not pasted into the message")
        // A text file with one huge line is cut as well.
        let long = fixture.path("long.txt")
        try String(repeating: "500000,", count: 1000).write(toFile: long, atomically: true, encoding: .utf8)
        let cut = try NightcapProcess.run(["report", "1", "--db", db, "--ids", long, "--out", fixture.path("r.html")])
        #expect(cut.status == 1)
        #expect(cut.standardError.contains("\(long): a line of 7000 characters ('500000,500000,500000,500000,500000,50000...') is not an image id"))
        #expect(cut.standardError.count < 600)
    }

    @Test func aGateOnAMetricOneRunLacks() throws {
        let fixture = try RunFixture(images: 8)
        let db = fixture.path("r.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db)).status == 0)
        #expect(try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--beam-size", "1"])).status == 0)
        // Run 2 as an interrupted run leaves it: no corpus metrics.
        let queue = try DatabaseQueue(path: db)
        try queue.write { db in
            try db.execute(sql: "UPDATE runs SET status = 'interrupted' WHERE run_id = 2")
            try db.execute(sql: "DELETE FROM run_metrics WHERE run_id = 2")
        }
        try queue.close()
        let names = try RunNameTests.names(db)
        let outcome = try NightcapProcess.run(["compare", "1", "2", "--db", db, "--max-drop", "CIDEr=0.1"])
        #expect(outcome.status == 3)
        #expect(outcome.standardOutput.contains(
            "  CIDEr: not computed for run B = 2 (\(names[1])): it is interrupted; finish it with the same `nightcap run` command"),
            "\(outcome.standardOutput)")
        #expect(!outcome.standardOutput.contains("for both runs"))
        let minimum = try NightcapProcess.run(["compare", "2", "1", "--db", db, "--max-drop", "Bleu_4=0.1"])
        #expect(minimum.standardOutput.contains("  Bleu_4: not computed for run A = 2 (\(names[1])): it is interrupted"), "\(minimum.standardOutput)")
    }
}
