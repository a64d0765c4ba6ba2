import CaptionMetrics
import Foundation
import ResultStore
import TestSupport
import Testing

/// Runs without references (COCO test2014, nocaps): captioned and stored, exported for an
/// evaluation server, scored later with `nightcap score RUN`.
@Suite(.timeLimit(.minutes(5))) struct ReferencelessRunTests {
    /// `nightcap run` arguments of the fixture without `--references`.
    static func captionOnlyArguments(_ fixture: RunFixture, database: String) -> [String] {
        var arguments = fixture.runArguments(database: database, extra: ["--threads", "2"])
        let flag = arguments.firstIndex(of: "--references")!
        arguments.removeSubrange(flag...(flag + 1))
        return arguments
    }

    @Test func captionOnlyRunStoresEverythingButMetrics() throws {
        let fixture = try RunFixture()
        let db = fixture.path("test2014.sqlite")
        let outcome = try NightcapProcess.run(Self.captionOnlyArguments(fixture, database: db))
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("images: 48 captioned into 6 shards; not scored (no references)"))
        #expect(outcome.standardOutput.contains("score later: nightcap score 1 --db \(db) --references FILE"))
        #expect(!outcome.standardOutput.contains("CIDEr"))

        let database = try ResultDatabase(path: db, readOnly: true)
        defer { try? database.close() }
        let run = try #require(try database.run(id: 1))
        #expect(run.status == .completed)
        #expect(run.referencesPath == nil && run.referencesDigest == nil && !run.isScored)
        let captions = try database.captions(runID: 1)
        #expect(captions.count == 48)
        #expect(try database.attention(runID: 1, imageID: captions[0].imageID).count == captions[0].numWords)
        #expect(!(try database.regions(runID: 1, imageID: captions[0].imageID)).isEmpty)
        #expect(try database.runMetrics(runID: 1).isEmpty)
        #expect(try database.bleuStatistics(runID: 1).isEmpty)
        #expect(try database.imageMetrics(runID: 1, metric: .bleu4).isEmpty)

        let runs = try NightcapProcess.run(["runs", "--db", db])
        #expect(runs.status == 0)
        #expect(runs.standardOutput.contains("not scored"))
        let show = try NightcapProcess.run(["show", "1", "--db", db])
        #expect(show.status == 0)
        #expect(show.standardOutput.contains("references   none: not scored (nightcap score 1 --references FILE)"))

        // The same command again finds the completed run: a reference-less run has a stable fingerprint.
        let again = try NightcapProcess.run(Self.captionOnlyArguments(fixture, database: db))
        #expect(again.status == 0)
        #expect(again.standardOutput.contains("run 1 (\(fixture.runName)) was already completed"))
    }

    @Test func partsWithoutReferencesMergeToARunScoredLater() throws {
        let fixture = try RunFixture()
        let whole = fixture.path("whole.sqlite")
        #expect(try NightcapProcess.run(Self.captionOnlyArguments(fixture, database: whole)).status == 0)
        let parts = (0..<2).map { fixture.path("part-\($0)-of-2.sqlite") }
        for (index, part) in parts.enumerated() {
            let outcome = try NightcapProcess.run(Self.captionOnlyArguments(fixture, database: part) + ["--part", "\(index)/2"])
            #expect(outcome.status == 0, "\(outcome.standardError)")
        }
        let merged = fixture.path("merged.sqlite")
        let merge = try NightcapProcess.run(["merge"] + parts + ["--db", merged])
        #expect(merge.status == 0, "\(merge.standardError)")
        #expect(merge.standardOutput.contains("images: 48 captioned into 6 shards; not scored (no references)"), "\(merge.standardOutput)")
        #expect(try RunFixture.snapshot(database: merged) == RunFixture.snapshot(database: whole))
        do {
            let database = try ResultDatabase(path: merged, readOnly: true)
            defer { try? database.close() }
            let run = try #require(try database.run(id: 1))
            #expect(run.status == .completed && !run.isScored && run.referencesDigest == nil)
        }
        // Scored later, the merged run has what the one-machine run with references has.
        let scored = fixture.path("scored.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: scored, extra: ["--threads", "2"])).status == 0)
        let score = try NightcapProcess.run(["score", "1", "--db", merged, "--references", fixture.references])
        #expect(score.status == 0, "\(score.standardError)")
        #expect(try RunFixture.snapshot(database: merged) == RunFixture.snapshot(database: scored))
    }

    @Test func exportWritesTheEvaluationServersResultsFile() throws {
        let fixture = try RunFixture(images: 12)
        let db = fixture.path("test2014.sqlite")
        #expect(try NightcapProcess.run(Self.captionOnlyArguments(fixture, database: db)).status == 0)
        let output = fixture.path("captions_test2014_nightcap_results.json")
        let export = try NightcapProcess.run(["export", "1", "--db", db, "--format", "coco", "--output", output])
        #expect(export.status == 0, "\(export.standardError)")
        let parsed = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output)))
        let rows = try #require(parsed as? [[String: Any]])
        #expect(rows.count == 12)
        let database = try ResultDatabase(path: db, readOnly: true)
        defer { try? database.close() }
        let captions = try database.captions(runID: 1)
        for (row, caption) in zip(rows, captions) {
            #expect(Set(row.keys) == ["image_id", "caption"])
            // The server wants integer ids, as in the COCO annotations.
            #expect((row["image_id"] as? NSNumber).map { $0.intValue } == Int(caption.imageID))
            #expect(!(row["image_id"] is String))
            #expect(row["caption"] as? String == caption.caption)
        }
    }

    @Test func scoringLaterStoresWhatARunWithReferencesStores() throws {
        let fixture = try RunFixture()
        let scored = fixture.path("scored.sqlite"), later = fixture.path("later.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: scored, extra: ["--threads", "2"])).status == 0)
        #expect(try NightcapProcess.run(Self.captionOnlyArguments(fixture, database: later)).status == 0)
        let score = try NightcapProcess.run(["score", "1", "--db", later, "--references", fixture.references])
        #expect(score.status == 0, "\(score.standardError)")
        #expect(score.standardOutput.contains("run 1 (\(fixture.runName)) scored: 48 images against \(fixture.references)"))
        #expect(score.standardOutput.contains("CIDEr"))
        // Captions, attention, regions, every per-image metric and BLEU statistic, corpus metrics.
        #expect(try RunFixture.snapshot(database: later) == RunFixture.snapshot(database: scored))

        let database = try ResultDatabase(path: later, readOnly: true)
        defer { try? database.close() }
        let run = try #require(try database.run(id: 1))
        #expect(run.isScored && run.referencesPath == fixture.references)
        let original = try ResultDatabase(path: scored, readOnly: true)
        defer { try? original.close() }
        let originalDigest = try original.run(id: 1)?.referencesDigest
        #expect(run.referencesDigest != nil && run.referencesDigest == originalDigest)
        let runs = try NightcapProcess.run(["runs", "--db", later])
        #expect(!runs.standardOutput.contains("not scored"))

        // Scoring again with the same references changes nothing.
        #expect(try NightcapProcess.run(["score", "1", "--db", later, "--references", fixture.references]).status == 0)
        #expect(try RunFixture.snapshot(database: later) == RunFixture.snapshot(database: scored))
    }

    @Test func otherReferencesAreRefusedUnlessReplace() throws {
        let fixture = try RunFixture(images: 16)
        let db = fixture.path("results.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--threads", "2"])).status == 0)
        // Other references: the same images, the first caption of each only.
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture.references))) as? [String: Any])
        var seen = Set<Int>()
        let firsts = (object["annotations"] as! [[String: Any]]).filter { seen.insert($0["image_id"] as! Int).inserted }
        let other = fixture.path("other.json")
        try JSONSerialization.data(withJSONObject: ["images": object["images"]!, "annotations": firsts])
            .write(to: URL(fileURLWithPath: other))

        let refused = try NightcapProcess.run(["score", "1", "--db", db, "--references", other])
        #expect(refused.status == 1)
        #expect(
            refused.standardError.contains(
                "run 1 (\(fixture.runName)) is already scored against \(fixture.references); scoring it against \(other) would replace its metrics: pass --replace to do so"))
        let before = try RunFixture.snapshot(database: db)

        let replaced = try NightcapProcess.run(["score", "1", "--db", db, "--references", other, "--replace"])
        #expect(replaced.status == 0, "\(replaced.standardError)")
        #expect(replaced.standardOutput.contains("replaced the scores against \(fixture.references)"))
        #expect(try RunFixture.snapshot(database: db) != before)
        let database = try ResultDatabase(path: db, readOnly: true)
        defer { try? database.close() }
        #expect(try database.run(id: 1)?.referencesPath == other)
        #expect(try database.bleuStatistics(runID: 1).count == 16)
    }

    @Test func scoringRefusesWhatItCannotScore() throws {
        let fixture = try RunFixture(images: 8)
        let db = fixture.path("results.sqlite")
        let missing = try NightcapProcess.run(["score", "1", "--db", db, "--references", fixture.references])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("no results database at \(db); pass --db with the database `nightcap run` wrote"))

        // An interrupted run is finished first.
        let interrupted = try NightcapProcess.run(
            Self.captionOnlyArguments(fixture, database: db), environment: ["NIGHTCAP_FAULT_INTERRUPT_AFTER_COMMITS": "1"])
        #expect(interrupted.status == 130, "\(interrupted.standardError)")
        let unfinished = try NightcapProcess.run(["score", "1", "--db", db, "--references", fixture.references])
        #expect(unfinished.status == 1)
        #expect(
            unfinished.standardError.contains(
                "run 1 (\(fixture.runName)) is interrupted, not completed: finish it first with the same `nightcap run` command (it resumes), then score it"))
        let unknown = try NightcapProcess.run(["score", "7", "--db", db, "--references", fixture.references])
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("7"))
    }

    @Test func scoreUsageErrors() throws {
        let cases: [([String], String)] = [
            (["score", "--references", "r.json"], "Please give --results FILE to score a results file, or a RUN (with --db) to score a stored run."),
            (["score", "1", "--results", "x.json", "--references", "r.json"], "Please give either a RUN or --results, not both."),
            (["score", "--results", "x.json", "--references", "r.json", "--replace"], "--replace and --db apply to scoring a stored run"),
            (["score", "1", "--references", "r.json", "--json"], "--json and --per-image apply to --results"),
            (["run", "--features", "f.h5", "--model", "m.h5", "--split", "test"], "a split is given without a references file"),
        ]
        for (arguments, message) in cases {
            let outcome = try NightcapProcess.run(arguments)
            #expect(outcome.status == (arguments[0] == "run" ? 1 : 2), "\(arguments)")
            #expect(outcome.standardError.contains(message), "\(arguments): \(outcome.standardError)")
        }
    }
}
