import Foundation
import ResultStore
import TestSupport
import Testing

/// `nightcap run --split test` with a Karpathy split file: only the split's images are read and
/// decoded, its shards are planned over them, and resume, parts and other splits follow that plan.
@Suite(.timeLimit(.minutes(20))) struct SplitRunTests {
    /// 1,000 images, 100 of them in the test split: pairs of neighbours (rows 20k and 20k + 1), so
    /// that shards hold runs of consecutive rows with gaps between them.
    static func splitOf(_ image: Int) -> String {
        switch image % 20 {
        case 0, 1: return "test"
        case 2, 3: return "val"
        default: return image % 2 == 0 ? "train" : "restval"
        }
    }

    static let testRows = (0..<1000).filter { splitOf($0) == "test" }

    static func fixture() throws -> (fixture: RunFixture, split: String) {
        let fixture = try RunFixture(images: 1000)
        let split = fixture.path("dataset_coco.json")
        try fixture.writeKarpathySplit(to: split, split: splitOf)
        return (fixture, split)
    }

    static func arguments(_ fixture: RunFixture, split: String, database: String, name: String = "test", extra: [String] = []) -> [String] {
        fixture.runArguments(database: database, replacing: "--references", with: split).filter { $0 != "--quiet" }
            + ["--references-format", "karpathy", "--split", name] + extra
    }

    @Test func decodesOnlyTheSplitsImagesAndResumesItsPlan() throws {
        let (fixture, split) = try Self.fixture()
        let whole = fixture.path("whole.sqlite")
        let outcome = try NightcapProcess.run(Self.arguments(fixture, split: split, database: whole))
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(
            outcome.standardError.contains("run 1 (\(fixture.runName)): 100 images of split \"test\" (900 other images of the features file are not read) in 13 shards of 8"),
            "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("images: 100 captioned into 13 shards; 100 scored"), "\(outcome.standardOutput)")
        #expect(!outcome.standardOutput.contains("images without references"), "\(outcome.standardOutput)")
        #expect(!outcome.standardOutput.contains("reference images not in the features file"), "\(outcome.standardOutput)")
        do {
            let database = try ResultDatabase(path: whole, readOnly: true)
            defer { try? database.close() }
            let run = try #require(try database.run(id: 1))
            #expect(run.imageCount == 100 && run.shardCount == 13)
            let captions = try database.captions(runID: 1)
            #expect(captions.count == 100)
            #expect(captions.map(\.imageIndex) == Self.testRows)
            #expect(captions.map(\.imageID) == Self.testRows.map { String(500_000 + $0) })
            #expect(try database.bleuStatistics(runID: 1).count == 100)
            #expect(try database.shards(runID: 1).map(\.firstImage) == stride(from: 0, to: 100, by: 8).map { Self.testRows[$0] })
        }
        let shown = try NightcapProcess.run(["show", "1", "--db", whole])
        #expect(shown.standardOutput.contains("images       100/100 decoded, 0 failed"), "\(shown.standardOutput)")

        // Killed after 3 shards, then resumed: the same plan, the uninterrupted result.
        let killedDB = fixture.path("killed.sqlite")
        let killed = try NightcapProcess.run(
            Self.arguments(fixture, split: split, database: killedDB), environment: ["NIGHTCAP_FAULT_KILL_AFTER_COMMITS": "3"])
        #expect(killed.wasSignalled && killed.status == SIGKILL, "\(killed.standardError)")
        let resumed = try NightcapProcess.run(Self.arguments(fixture, split: split, database: killedDB))
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(resumed.standardError.contains("resuming run 1 (\(fixture.runName)): 3/13 shards done"), "\(resumed.standardError)")
        #expect(resumed.standardOutput.contains("images: 100 captioned into 13 shards; 100 scored"))
        #expect(try RunFixture.snapshot(database: killedDB) == RunFixture.snapshot(database: whole))
        #expect(try MergeTests.layout(database: killedDB) == MergeTests.layout(database: whole))

        // Another split of the same file is another run, over its own images.
        let other = try NightcapProcess.run(Self.arguments(fixture, split: split, database: killedDB, name: "val"))
        #expect(other.status == 0, "\(other.standardError)")
        #expect(other.standardOutput.contains("run 2 (\(fixture.runName)#2) completed"), "\(other.standardOutput)")
        #expect(other.standardOutput.contains("images: 100 captioned into 13 shards; 100 scored"))
        let database = try ResultDatabase(path: killedDB, readOnly: true)
        defer { try? database.close() }
        #expect(try database.captions(runID: 2).map(\.imageIndex) == (0..<1000).filter { Self.splitOf($0) == "val" })
    }

    @Test func splitPartsMergeToTheOneMachineSplitRun() throws {
        let (fixture, split) = try Self.fixture()
        let whole = fixture.path("whole.sqlite")
        #expect(try NightcapProcess.run(Self.arguments(fixture, split: split, database: whole, extra: ["--threads", "1"])).status == 0)
        var parts: [String] = []
        for index in 0..<3 {
            let part = fixture.path("part-\(index).sqlite")
            let outcome = try NightcapProcess.run(Self.arguments(fixture, split: split, database: part, extra: ["--part", "\(index)/3"]))
            #expect(outcome.status == 0, "\(outcome.standardError)")
            parts.append(part)
        }
        let merged = fixture.path("merged.sqlite")
        let merge = try NightcapProcess.run(["merge"] + parts + ["--db", merged])
        #expect(merge.status == 0, "\(merge.standardError)")
        #expect(!merge.standardOutput.contains("images without references"), "\(merge.standardOutput)")
        #expect(try RunFixture.snapshot(database: merged) == RunFixture.snapshot(database: whole))
        #expect(try MergeTests.layout(database: merged) == MergeTests.layout(database: whole))
    }

    @Test func aSplitWithNoImageInTheFeaturesFileIsNamed() throws {
        let fixture = try RunFixture(images: 12)
        let split = fixture.path("dataset_coco.json")
        // The split file's ids are not the features file's (500000...): another image set.
        let images: [[String: Any]] = (0..<5).map { ["cocoid": 9_000 + $0, "split": "test", "sentences": [["raw": "a dog"]]] }
        try JSONSerialization.data(withJSONObject: ["images": images]).write(to: URL(fileURLWithPath: split))
        let outcome = try NightcapProcess.run(Self.arguments(fixture, split: split, database: fixture.path("r.sqlite")))
        #expect(outcome.status == 1)
        #expect(
            outcome.standardError.contains(
                "none of the 5 images of split \"test\" in \(split) is in \(fixture.features) (12 images): the features' image ids look like 500000, 500001, 500002, the split's like 9000, 9001, 9002."),
            "\(outcome.standardError)")
    }
}
