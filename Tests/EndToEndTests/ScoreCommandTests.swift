import Foundation
import TestSupport
import Testing

/// `nightcap score` on the real fakecap files, as a user runs it.
@Suite(.timeLimit(.minutes(10))) struct ScoreCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CaptionMetricsTests/Fixtures")
    static let results = fixtures.appendingPathComponent("fakecap-results.json").path
    static let references = fixtures.appendingPathComponent("fakecap-references.json").path

    @Test func tableMatchesPycocoevalcap() throws {
        let outcome = try NightcapProcess.run(["score", "--threads", "2", "--results", Self.results, "--references", Self.references])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("Scored 1000 images"))
        // pycocoevalcap 1.2 on these files (fakecap-expected.json), to the last digit.
        #expect(outcome.standardOutput.contains("Bleu_4   0.191  (0.1908290437674253)"))
        #expect(outcome.standardOutput.contains("ROUGE_L  0.396  (0.39625269357570847)"))
        #expect(outcome.standardOutput.contains("CIDEr    0.600  (0.5997905185184199)"))
    }

    @Test func jsonAndPerImageOutput() throws {
        let folder = TemporaryDirectory()
        let perImage = folder.path("per-image.jsonl")
        let outcome = try NightcapProcess.run(
            ["score", "--threads", "2", "--results", Self.results, "--references", Self.references, "--json", "--per-image", perImage])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let report = try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any]
        #expect(report?["images_scored"] as? Int == 1000)
        let lines = try String(contentsOfFile: perImage, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1000)
    }

    @Test func duplicateResultIsAnErrorNamingTheImage() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("twice.json")
        try #"[{"image_id": 42, "caption": "a cat"}, {"image_id": 42, "caption": "a dog"}]"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let outcome = try NightcapProcess.run(["score", "--threads", "2", "--results", path, "--references", Self.references])
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
