import Foundation
import ResultStore
import TestSupport
import Testing

/// `nightcap compare` and `report --vs` on runs that do not score, or do not caption, the same
/// images.
@Suite(.timeLimit(.minutes(10))) struct CompareCommandTests {
    /// Two runs of 64 images (beam 3 and greedy) scored against references of the first 40 only.
    @Test func intervalsCoverTheImagesBothRunsScored() throws {
        let fixture = try RunFixture(images: 64)
        let references = fixture.path("references-40.json")
        try fixture.writeReferences(to: references, images: Array(0..<40))
        let db = fixture.path("r.sqlite")
        for extra in [[String](), ["--beam-size", "1"]] {
            let outcome = try NightcapProcess.run(
                fixture.runArguments(database: db, replacing: "--references", with: references).filter { $0 != "--quiet" } + extra)
            #expect(outcome.status == 0, "\(outcome.standardError)")
            #expect(outcome.standardOutput.contains("images: 64 captioned into 8 shards; 40 scored"), "\(outcome.standardOutput)")
        }

        let compared = try NightcapProcess.run(["compare", "1", "2", "--db", db])
        #expect(compared.status == 0, "\(compared.standardError)")
        let output = compared.standardOutput
        #expect(
            output.contains(
                "95% paired bootstrap intervals over the 40 images both runs scored (1000 resamples, seed 0); 24 images both runs captioned but not both scored are not resampled"),
            "\(output)")
        // Every metric's row has an interval and a verdict.
        for metric in ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"] {
            let row = try #require(output.split(separator: "\n").first { $0.hasPrefix(metric + " ") }, "\(output)")
            #expect(row.contains("["), "\(metric) has no interval: \(row)")
        }

        // --significant decides with the interval over the 40 images.
        let gated = try NightcapProcess.run(["compare", "1", "2", "--db", db, "--max-drop", "CIDEr=-10", "--significant"])
        #expect(!gated.standardOutput.contains("share no image"), "\(gated.standardOutput)")
        #expect(gated.standardOutput.contains("CIDEr dropped by"), "\(gated.standardOutput)")
        #expect(gated.standardOutput.contains("and its interval [") || gated.standardOutput.contains("but its interval ["), "\(gated.standardOutput)")

        // The report's table has the same intervals and footer.
        let page = fixture.path("vs.html")
        let report = try NightcapProcess.run(["report", "1", "--vs", "2", "--db", db, "--out", page])
        #expect(report.status == 0, "\(report.standardError)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("95% paired bootstrap intervals over the 40 images both runs scored"))
        let cider = try #require(html.range(of: "<tr><td>CIDEr</td>"))
        let row = html[cider.lowerBound...].prefix { $0 != "\n" }.components(separatedBy: "</tr>")[0]
        #expect(row.contains("<td>["), "\(row)")
    }

    /// Runs over two different image sets are refused with exit 5, naming both sets.
    @Test func runsThatShareNoImageAreRefusedWithExitFive() throws {
        let first = try RunFixture(images: 12)
        let second = try RunFixture(images: 10, firstID: 600_000)
        let db = first.path("r.sqlite")
        #expect(try NightcapProcess.run(first.runArguments(database: db, extra: ["--name", "coco-val"])).status == 0)
        #expect(try NightcapProcess.run(second.runArguments(database: db, extra: ["--name", "other-set"])).status == 0)

        let expected = "the runs cannot be compared: they share no image. run 1 (coco-val) captioned 12 images (ids 500000, 500001, 500002, ...); "
            + "run 2 (other-set) captioned 10 images (ids 600000, 600001, 600002, ...). Compare runs over the same images"
        for arguments in [["compare", "1", "2"], ["compare", "coco-val", "other-set", "--max-drop", "CIDEr=0.01", "--min", "Bleu_1=0.9"]] {
            let refused = try NightcapProcess.run(arguments + ["--db", db])
            #expect(refused.status == 5, "\(refused.standardOutput) \(refused.standardError)")
            #expect(refused.standardError.contains(expected), "\(refused.standardError)")
            #expect(!refused.standardOutput.contains("images changed"), "no comparison is printed: \(refused.standardOutput)")
        }
        let page = first.path("vs.html")
        let report = try NightcapProcess.run(["report", "1", "--vs", "2", "--db", db, "--out", page])
        #expect(report.status == 5)
        #expect(report.standardError.contains(expected), "\(report.standardError)")
        #expect(!FileManager.default.fileExists(atPath: page))

        let help = try NightcapProcess.run(["compare", "--help"])
        #expect(help.standardOutput.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
            .contains("share no image cannot be compared: that is refused with exit code 5"), "\(help.standardOutput)")
    }
}
