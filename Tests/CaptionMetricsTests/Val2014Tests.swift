import CaptionMetrics
import Foundation
import Testing

/// The shared val2014 data (~15 MB, not committed): `NIGHTCAP_COCO_DATA`, else `../shared/data/coco-captions`
/// beside the package root.
enum SharedData {
    static let directory: String = {
        if let env = ProcessInfo.processInfo.environment["NIGHTCAP_COCO_DATA"], !env.isEmpty { return env }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/coco-captions").path
    }()

    static var available: Bool {
        FileManager.default.fileExists(atPath: directory + "/val2014-ptb-tokenized.json.gz")
    }

    /// Decompresses with /usr/bin/gzip (Foundation has no gzip reader on Linux).
    static func gunzip(_ name: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        process.arguments = ["-dc", directory + "/" + name]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }
}

// Disabled only when the shared data directory is absent (a clone without shared/ beside it);
// CI always has it, so these run there.
@Suite(.enabled(if: SharedData.available, "needs shared/data/coco-captions beside the clone or NIGHTCAP_COCO_DATA"))
struct Val2014Tests {
    @Test func tokenizerAgreesWithCoreNLPOnAllCaptions() throws {
        let rows = try JSONSerialization.jsonObject(with: SharedData.gunzip("val2014-ptb-tokenized.json.gz")) as! [[String: Any]]
        #expect(rows.count == 202_654)
        let raw = rows.map { $0["raw"] as! String }
        let tokens = PTBTokenizer.tokenize(lines: raw)
        var agree = 0
        for (row, mine) in zip(rows, tokens) where mine.joined(separator: " ") == row["ptb"] as! String { agree += 1 }
        let rate = Double(agree) / Double(rows.count)
        #expect(rate >= 0.9995, "agreement \(rate)")
    }

    @Test func heldOutHumanCaptionsScoreLikePycocoevalcap() throws {
        let expected = try Fixture.json("val2014-heldout-expected.json")["corpus"] as! [String: Double]
        let references = try CaptionFileReader.references(
            json: SharedData.gunzip("val2014-minus-heldout.json.gz"), source: "val2014-minus-heldout.json.gz")
        let results = try CaptionFileReader.results(
            json: SharedData.gunzip("val2014-heldout-human-results.json.gz"), source: "val2014-heldout-human-results.json.gz")
        let evaluation = try CocoEvaluation.evaluate(results: results, references: references)
        #expect(evaluation.images.count == 40_504)
        #expect(evaluation.resultsWithoutReferences.isEmpty && evaluation.referencesWithoutResults.isEmpty)
        for (name, value) in evaluation.corpus.named {
            #expect(abs(value - expected[name]!) <= 1e-4, "\(name): \(value) vs \(expected[name]!)")
        }
    }
}
