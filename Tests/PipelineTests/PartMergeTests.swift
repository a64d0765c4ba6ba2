import Foundation
@testable import Pipeline
import ResultStore
import TestSupport
import Testing

/// `PartMerge`'s survey of part files and its refusals, on part files written directly (a run of
/// 40 images in 10 shards of 4, split in 2 parts of 5 shards); MergeTests (end to end) merges real
/// runs' parts.
@Suite struct PartMergeTests {
    let folder = TemporaryDirectory()

    /// The configuration the parts record: `merge` reads the pipeline file's path from it.
    static let configJSON: String = {
        var settings = PipelineSettings()
        settings.pipelineFile = "/jobs/nightly.toml"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(settings), as: UTF8.self)
    }()

    /// A part file holding part `index` of `count` with its first `done` shards committed.
    func partFile(
        _ name: String, index: Int, count: Int = 2, done: Int, fingerprint: String = "fp-nightly"
    ) throws -> String {
        let path = folder.path(name)
        let database = try ResultDatabase(path: path)
        defer { try? database.close() }
        let part = RunPart(index: index, of: count, shardCount: 10)
        let runID = try database.createRun(
            NewRun(
                name: "nightly", fingerprint: fingerprint, configJSON: Self.configJSON, imageCount: 40, shardSize: 4,
                shardCount: 10, ownerPID: 1, ownerHost: "node-a", part: part))
        for shard in part.shards.prefix(done) {
            try database.commitShard(ShardCommit(runID: runID, shard: shard, firstImage: shard * 4, numImages: 4, seconds: 0))
        }
        try database.setStatus(runID: runID, status: done == part.shards.count ? .completed : .interrupted, message: nil)
        return path
    }

    func surveyError(_ paths: [String]) -> String? {
        let error = #expect(throws: PipelineError.self) { try PartMerge.survey(paths) }
        return error?.description
    }

    @Test func aSurveyListsThePartsInIndexOrderAndWhatIsMissing() throws {
        let second = try partFile("part1.sqlite", index: 1, done: 5)
        let first = try partFile("part0.sqlite", index: 0, done: 2)
        let absent = folder.path("not-started.sqlite")
        let survey = try PartMerge.survey([second, absent, first])
        #expect(survey.parts.map(\.part.index) == [0, 1])
        #expect(survey.parts.map(\.shardsDone) == [2, 5])
        #expect(survey.count == 2)
        #expect(survey.fingerprint == "fp-nightly")
        #expect(survey.absentPaths == [absent])
        #expect(survey.missing == [0])
        #expect(!survey.isComplete)
        #expect(
            PartMerge.progressLines(survey) == [
                "part 0/2: 2/5 shards done (shards 0..<5), interrupted, \(first)",
                "part 1/2: 5/5 shards done (shards 5..<10), completed, \(second)",
            ])
    }

    @Test func aPartWithNoFileIsMissing() throws {
        let survey = try PartMerge.survey([try partFile("part1.sqlite", index: 1, done: 5)])
        #expect(survey.missing == [0])
        #expect(PartMerge.progressLines(survey)[0] == "part 0/2: no file among the arguments holds it (not started, or its file was not given)")
    }

    @Test func mergingAnIncompleteSurveyNamesThePartsAndTheRerun() throws {
        let first = try partFile("part0.sqlite", index: 0, done: 2)
        let survey = try PartMerge.survey([first, try partFile("part1.sqlite", index: 1, done: 5)])
        let error = #expect(throws: PartMerge.Incomplete.self) { try PartMerge.merge(survey, into: folder.path("merged.sqlite")) }
        #expect(
            error?.description == """
                cannot merge: 1 of 2 parts are not complete:
                part 0/2: 2/5 shards done (shards 0..<5), interrupted, \(first)
                rerun exactly these parts, then merge again (merging never loses a committed shard):
                  sbatch --array=0 ARRAY_SCRIPT (the array script `nightcap slurm` wrote)
                or without Slurm, for each part I of 0:
                  nightcap run /jobs/nightly.toml --part I/2 --db PART_FILE
                """)
        let withScript = PartMerge.Incomplete(survey: survey, arrayScript: "nightly.sbatch")
        #expect(withScript.description.hasSuffix("\n  sbatch --array=0 nightly.sbatch"))
        // Nothing was written.
        #expect(!FileManager.default.fileExists(atPath: folder.path("merged.sqlite")))
    }

    @Test func partsOfAnotherRunAreRefused() throws {
        let first = try partFile("part0.sqlite", index: 0, done: 5)
        let other = try partFile("other.sqlite", index: 1, done: 5, fingerprint: "fp-other")
        #expect(
            surveyError([first, other])
                == "\(other) is part 1/2 of a different run than \(first) (fingerprint fp-other against fp-nightly): the model, features, references or decode settings differ; merge only the parts of one run")
    }

    @Test func partsOfAnotherSplitAreRefused() throws {
        let first = try partFile("part0.sqlite", index: 0, done: 5)
        let third = try partFile("third.sqlite", index: 1, count: 3, done: 3)
        #expect(
            surveyError([first, third])
                == "\(third) is part 1/3, but \(first) is part 0/2: all parts of a merge must come from the same --part I/N split of one run; merge the 2 files of one split")
    }

    @Test func aPartGivenTwiceIsRefused() throws {
        let first = try partFile("part0.sqlite", index: 0, done: 5)
        let copy = try partFile("copy.sqlite", index: 0, done: 5)
        #expect(surveyError([first, copy]) == "\(copy) and \(first) are both part 0/2: pass each part file once")
    }

    @Test func filesThatAreNoPartFilesAreRefused() throws {
        let whole = folder.path("whole.sqlite")
        do {
            let database = try ResultDatabase(path: whole)
            defer { try? database.close() }
            _ = try database.createRun(
                NewRun(
                    name: "nightly", fingerprint: "fp-nightly", configJSON: Self.configJSON, imageCount: 40, shardSize: 4,
                    shardCount: 10, ownerPID: 1, ownerHost: "node-a"))
        }
        #expect(
            surveyError([whole])
                == "\(whole) is not a part file: its runs were not started with --part I/N (a whole run needs no merge; `nightcap runs --db \(whole)` lists them)")
        let text = folder.path("notes.txt")
        try "not a database".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(
            surveyError([text])
                == "\(text) is not a part file (not an SQLite database): pass the files that `nightcap run --part I/N --db FILE` wrote")
        let nothing = [folder.path("a.sqlite"), folder.path("b.sqlite")]
        #expect(
            surveyError(nothing)
                == "no part among \(nothing.joined(separator: ", ")): none of these files holds a run of `nightcap run --part I/N` yet; run the parts first")
    }
}
