import Foundation
import GRDB
import TestSupport
import Testing

/// `runs`, `show` and the `--json` of `run`, `runs`, `show` and `compare`; the default database;
/// a run whose process is gone.
@Suite(.timeLimit(.minutes(10))) struct ReadingCommandTests {
    static func json(_ outcome: NightcapProcess.Outcome) throws -> Any {
        #expect(outcome.status == 0, "\(outcome.standardError)")
        return try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8))
    }

    @Test func runsAndShowSayHowEachRunWasDecodedAndScored() throws {
        let fixture = try RunFixture(images: 16)
        let db = fixture.path("r.sqlite")
        let first = try #require(try Self.json(NightcapProcess.run(fixture.runArguments(database: db, extra: ["--json"]))) as? [String: Any])
        #expect(first["run_id"] as? Int == 1)
        #expect(first["status"] as? String == "completed")
        #expect(first["images_scored"] as? Int == 16)
        let cider = try #require((first["metrics"] as? [String: Any])?["CIDEr"] as? Double)
        // The same command again finds the completed run: its id, not a new one.
        let found = try #require(try Self.json(NightcapProcess.run(fixture.runArguments(database: db, extra: ["--json"]))) as? [String: Any])
        #expect(found["run_id"] as? Int == 1 && found["status"] as? String == "already_completed")
        let greedy = try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--beam-size", "1"]))
        #expect(greedy.status == 0, "\(greedy.standardError)")

        let runs = try NightcapProcess.run(["runs", "--db", db])
        #expect(runs.status == 0, "\(runs.standardError)")
        let header = try #require(runs.standardOutput.split(separator: "\n").first)
        for column in ["model", "family", "beam", "images", "scored", "Bleu_4", "CIDEr"] { #expect(header.contains(column), "\(header)") }
        let folder = URL(fileURLWithPath: fixture.model).deletingLastPathComponent().lastPathComponent
        #expect(runs.standardOutput.contains("\(folder)/model.h5  show-attend-tell  3     16/16   16"), "\(runs.standardOutput)")
        #expect(runs.standardOutput.contains("\(folder)/model.h5  show-attend-tell  1     16/16   16"), "\(runs.standardOutput)")
        let listed = try #require(try Self.json(NightcapProcess.run(["runs", "--db", db, "--json"])) as? [[String: Any]])
        #expect(listed.map { $0["beam_size"] as? Int } == [3, 1])
        #expect(listed.allSatisfy { $0["family"] as? String == "show-attend-tell" && $0["images_scored"] as? Int == 16 })
        #expect(listed.first?["CIDEr"] as? Double == cider)

        let show = try NightcapProcess.run(["show", "2", "--db", db])
        #expect(show.status == 0, "\(show.standardError)")
        for line in [
            "\ndecoding\n  family       show-attend-tell\n  model        \(fixture.model)\n  features     \(fixture.features)\n",
            "  beam size    1\n  max length   20\n  length pen.  0.0\n  split        none (every image of the features file)\n",
            "  images       16/16 decoded, 0 failed\n",
            "\nscoring\n  references   \(fixture.references)\n  images       16 scored of 16 decoded\n",
        ] {
            #expect(show.standardOutput.contains(line), "\(line) in \(show.standardOutput)")
        }
        let shown = try #require(try Self.json(NightcapProcess.run(["show", "1", "--db", db, "--json"])) as? [String: Any])
        let decoding = try #require(shown["decoding"] as? [String: Any]), scoring = try #require(shown["scoring"] as? [String: Any])
        #expect(decoding["beam_size"] as? Int == 3 && decoding["max_length"] as? Int == 20 && decoding["family"] as? String == "show-attend-tell")
        #expect(decoding["images_decoded"] as? Int == 16 && decoding["images_failed"] as? Int == 0)
        #expect(scoring["images_scored"] as? Int == 16 && scoring["references"] as? String == fixture.references)
        #expect((scoring["metrics"] as? [String: Any])?["CIDEr"] as? Double == cider)

        let compared = try #require(try Self.json(NightcapProcess.run(["compare", "1", "2", "--db", db, "--json", "--top", "3"])) as? [String: Any])
        #expect((compared["a"] as? [String: Any])?["run_id"] as? Int == 1 && (compared["b"] as? [String: Any])?["run_id"] as? Int == 2)
        let metrics = try #require(compared["metrics"] as? [[String: Any]])
        let ciderRow = try #require(metrics.first { $0["metric"] as? String == "CIDEr" })
        #expect(ciderRow["a"] as? Double == cider)
        #expect(ciderRow["verdict"] is String)
        #expect((compared["changed"] as? [Any])?.count == min(3, compared["images_changed"] as? Int ?? -1))
        #expect(compared["gates"] is NSNull)
    }

    @Test func showSaysHowManyOfTheDecodedImagesWereScored() throws {
        let fixture = try RunFixture(images: 16)
        // References for 12 of the 16 images: every image is decoded, 12 are scored.
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture.references))
        var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let kept = Set((500_000..<500_012).map { $0 })
        json["images"] = (json["images"] as? [[String: Any]])?.filter { kept.contains($0["id"] as? Int ?? -1) }
        json["annotations"] = (json["annotations"] as? [[String: Any]])?.filter { kept.contains($0["image_id"] as? Int ?? -1) }
        let partial = fixture.path("partial.json")
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: partial))
        let db = fixture.path("r.sqlite")
        let run = try NightcapProcess.run(fixture.runArguments(database: db, replacing: "--references", with: partial))
        #expect(run.status == 0, "\(run.standardError)")
        let show = try NightcapProcess.run(["show", "1", "--db", db])
        #expect(show.standardOutput.contains("  images       16/16 decoded, 0 failed\n"), "\(show.standardOutput)")
        #expect(show.standardOutput.contains("\nscoring\n  references   \(partial)\n  images       12 scored of 16 decoded\n"), "\(show.standardOutput)")
        let runs = try #require(try Self.json(NightcapProcess.run(["runs", "--db", db, "--json"])) as? [[String: Any]])
        #expect(runs.first?["images_scored"] as? Int == 12 && runs.first?["images_done"] as? Int == 16)
    }

    @Test func aRunWhoseProcessIsGoneIsNotShownRunning() throws {
        let fixture = try RunFixture(images: 8)
        let db = fixture.path("r.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db)).status == 0)
        // What a second Ctrl-C leaves: status running, owned by a process of this host that is gone.
        let ended = try NightcapProcess.start(["help"])
        #expect(ended.wait().status == 0)
        let deadPID = ended.pid
        let queue = try DatabaseQueue(path: db)
        try queue.write { db in
            try db.execute(
                sql: "UPDATE runs SET status = 'running', owner_pid = ?, owner_host = ?, finished_at = NULL WHERE run_id = 1",
                arguments: [deadPID, ProcessInfo.processInfo.hostName])
        }
        try queue.close()
        let runs = try NightcapProcess.run(["runs", "--db", db])
        #expect(runs.standardOutput.contains("interrupted (process gone)"), "\(runs.standardOutput)")
        let show = try NightcapProcess.run(["show", "1", "--db", db])
        #expect(show.standardOutput.contains("status       interrupted (process gone)"), "\(show.standardOutput)")
        let json = try #require(try Self.json(NightcapProcess.run(["show", "1", "--db", db, "--json"])) as? [String: Any])
        #expect(json["status"] as? String == "running" && json["status_text"] as? String == "interrupted (process gone)")

        // A live owner (this test process) reads running.
        let live = try DatabaseQueue(path: db)
        try live.write { db in try db.execute(sql: "UPDATE runs SET owner_pid = ? WHERE run_id = 1", arguments: [getpid()]) }
        try live.close()
        let running = try NightcapProcess.run(["runs", "--db", db])
        #expect(!running.standardOutput.contains("process gone") && running.standardOutput.contains(" running "), "\(running.standardOutput)")
    }

    @Test func theDefaultDatabaseIsNightcapSqliteInTheCurrentFolder() throws {
        let fixture = try RunFixture(images: 8)
        // The pipeline in one folder, without [output]; the commands run from another.
        try FileManager.default.createDirectory(atPath: fixture.path("pipelines"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: fixture.path("work"), withIntermediateDirectories: true)
        let pipeline = fixture.path("pipelines/nightly.toml")
        try """
            [features]
            path = "\(fixture.features)"
            [model]
            path = "\(fixture.model)"
            [references]
            path = "\(fixture.references)"
            [run]
            shard_size = 8
            threads = 2
            """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let work = URL(fileURLWithPath: fixture.path("work"))
        let run = try NightcapProcess.run(["run", pipeline, "--quiet"], in: work)
        #expect(run.status == 0, "\(run.standardError)")
        #expect(FileManager.default.fileExists(atPath: fixture.path("work/nightcap.sqlite")))
        #expect(!FileManager.default.fileExists(atPath: fixture.path("pipelines/nightcap.sqlite")))
        #expect(run.standardOutput.hasSuffix("results: \(work.resolvingSymlinksInPath().path)/nightcap.sqlite\n") || run.standardOutput.hasSuffix("results: \(work.path)/nightcap.sqlite\n"), "\(run.standardOutput)")
        // Every reading command finds it without --db, from the same folder.
        for command in [["runs"], ["show", "1"], ["export", "1", "--format", "csv"]] {
            let outcome = try NightcapProcess.run(command, in: work)
            #expect(outcome.status == 0, "\(command): \(outcome.standardError)")
        }
        // The help says the same rule everywhere.
        for command in ["run", "runs", "show", "compare", "report", "export", "score", "rename"] {
            // Help text wraps at the terminal width: compare with single spaces.
            let help = try NightcapProcess.run([command, "--help"]).standardOutput
                .split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(help.contains("Default: nightcap.sqlite in the current folder"), "\(command): \(help)")
            #expect(!help.contains("Default: the pipeline's [output] database"), "\(command)")
        }
    }
}
