import CaptionMetrics
import Foundation
import TestSupport
import Testing

/// `nightcap score` on the real fakecap files, as a user runs it.
@Suite(.timeLimit(.minutes(20))) struct ScoreCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CaptionMetricsTests/Fixtures")
    static let results = fixtures.appendingPathComponent("fakecap-results.json").path
    static let references = fixtures.appendingPathComponent("fakecap-references.json").path
    /// METEOR is on by default and needs its data; without it, the tests of the other metrics leave it out.
    static let meteorAvailable = (try? MeteorDataLocation.locate(explicit: nil)) != nil
    static let withoutMeteorIfAbsent = meteorAvailable ? [] : ["--metrics", "Bleu,ROUGE_L,CIDEr"]

    @Test func tableMatchesPycocoevalcap() throws {
        let outcome = try NightcapProcess.run(
            ["score", "--threads", "2", "--results", Self.results, "--references", Self.references] + Self.withoutMeteorIfAbsent)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("Scored 1000 images"))
        // pycocoevalcap 1.2 on these files (fakecap-expected.json), to the last digit.
        #expect(outcome.standardOutput.contains("Bleu_4   0.191  (0.1908290437674253)"))
        #expect(outcome.standardOutput.contains("ROUGE_L  0.396  (0.39625269357570847)"))
        #expect(outcome.standardOutput.contains("CIDEr    0.600  (0.5997905185184199)"))
    }

    @Test(.enabled(if: meteorAvailable, "needs METEOR's data: run scripts/bootstrap"))
    func meteorMatchesPycocoevalcap() throws {
        let outcome = try NightcapProcess.run(
            ["score", "--threads", "2", "--results", Self.results, "--references", Self.references, "--metrics", "METEOR,CIDEr"])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        // pycocoevalcap 1.2's Meteor() (meteor-1.5.jar) on these files, to the last digit.
        #expect(outcome.standardOutput.contains("METEOR   0.195  (0.19525467177780284)\nCIDEr    0.600  (0.5997905185184199)"))
        #expect(!outcome.standardOutput.contains("Bleu_4"))
    }

    @Test func missingMeteorDataIsAnErrorBeforeAnyWork() throws {
        let folder = TemporaryDirectory()
        let outcome = try NightcapProcess.run(
            ["score", "--results", folder.path("absent.json"), "--references", Self.references, "--meteor-data", folder.path("meteor")])
        #expect(outcome.status == 1)
        // The data is looked for before the results file is read (which does not exist either).
        #expect(outcome.standardError.contains("METEOR data: \(folder.path("meteor"))/meteor-1.5.jar and \(folder.path("meteor"))/data/paraphrase-en.gz not found"))
        #expect(outcome.standardError.contains(MeteorDataLocation.installCommand))
    }

    @Test func jsonAndPerImageOutput() throws {
        let folder = TemporaryDirectory()
        let perImage = folder.path("per-image.jsonl")
        let outcome = try NightcapProcess.run(
            ["score", "--threads", "2", "--results", Self.results, "--references", Self.references, "--json", "--per-image", perImage]
                + Self.withoutMeteorIfAbsent)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let report = try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any]
        #expect(report?["images_scored"] as? Int == 1000)
        let lines = try String(contentsOfFile: perImage, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1000)
        if Self.meteorAvailable {
            let scores = report?["scores"] as? [String: Double]
            // JSONSerialization prints 16 significant digits, so the last one can differ.
            #expect(abs((scores?["METEOR"] ?? 0) - 0.19525467177780284) < 1e-15)
            let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
            #expect((first?["meteor_stats"] as? [Int])?.count == 23)
            #expect(first?["METEOR"] is Double)
        }
    }

    @Test func duplicateResultIsAnErrorNamingTheImage() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("twice.json")
        try #"[{"image_id": 42, "caption": "a cat"}, {"image_id": 42, "caption": "a dog"}]"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let outcome = try NightcapProcess.run(["score", "--threads", "2", "--results", path, "--references", Self.references] + Self.withoutMeteorIfAbsent)
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("twice.json"))
        #expect(outcome.standardError.contains("42"))
    }

    @Test func splitWithCocoFormatIsAUsageError() throws {
        let outcome = try NightcapProcess.run(
            ["score", "--threads", "2", "--results", Self.results, "--references", Self.references, "--references-format", "coco", "--split", "test"])
        #expect(outcome.status == 2)
        #expect(outcome.standardError.contains("--split applies to Karpathy split files"))
    }
}
