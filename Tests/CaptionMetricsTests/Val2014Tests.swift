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

/// The 202,654 val2014 captions with CoreNLP's tokenization and ours, loaded and tokenized once
/// for both tests (tokenizing twice would double the debug-build time).
struct Val2014Captions: Sendable {
    var imageIDs: [Int]
    var raw: [String]
    var corenlp: [String]
    var ours: [[String]]

    static let shared: Val2014Captions = {
        let data = try! SharedData.gunzip("val2014-ptb-tokenized.json.gz")
        let rows = try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        let raw = rows.map { $0["raw"] as! String }
        return Val2014Captions(
            imageIDs: rows.map { $0["image_id"] as! Int }, raw: raw, corenlp: rows.map { $0["ptb"] as! String },
            // In file order, so each caption sees the same next line as when the file was tokenized.
            ours: PTBTokenizer.tokenize(lines: raw))
    }()
}

// Disabled only when the shared data directory is absent (a clone without shared/ beside it);
// CI always has it, so these run there.
@Suite(.enabled(if: SharedData.available, "needs shared/data/coco-captions beside the clone or NIGHTCAP_COCO_DATA"))
struct Val2014Tests {
    @Test func tokenizerAgreesWithCoreNLPOnAllCaptions() {
        let captions = Val2014Captions.shared
        #expect(captions.raw.count == 202_654)
        var agree = 0
        for (mine, theirs) in zip(captions.ours, captions.corenlp) where mine.joined(separator: " ") == theirs { agree += 1 }
        let rate = Double(agree) / Double(captions.raw.count)
        #expect(rate >= 0.9995, "agreement \(rate)")
    }

    /// The held-out human caption of each image against the image's other references, scored on our
    /// tokens. (The file readers and `CocoEvaluation.evaluate` are covered on fakecap and by the benchmark.)
    @Test func heldOutHumanCaptionsScoreLikePycocoevalcap() throws {
        let expected = try Fixture.json("val2014-heldout-expected.json")["corpus"] as! [String: Double]
        let results = try CaptionFileReader.results(
            json: SharedData.gunzip("val2014-heldout-human-results.json.gz"), source: "val2014-heldout-human-results.json.gz")
        let captions = Val2014Captions.shared
        var order: [Int] = []
        var rowsOfImage: [Int: [Int]] = [:]
        for (row, id) in captions.imageIDs.enumerated() {
            if rowsOfImage[id] == nil { order.append(id) }
            rowsOfImage[id, default: []].append(row)
        }
        var hypotheses: [[String]] = []
        var references: [[[String]]] = []
        for id in order {
            let held = results.captions[ImageID(id)]!
            var rows = rowsOfImage[id]!
            let h = rows.firstIndex { captions.raw[$0] == held }!
            hypotheses.append(captions.ours[rows.remove(at: h)])
            references.append(rows.map { captions.ours[$0] })
        }
        let evaluation = CocoEvaluation.score(imageIDs: order.map { ImageID($0) }, hypotheses: hypotheses, references: references)
        #expect(evaluation.images.count == 40_504)
        for (metric, value) in evaluation.corpus.named {
            let name = metric.rawValue
            #expect(abs(value - expected[name]!) <= 1e-4, "\(name): \(value) vs \(expected[name]!)")
        }
    }
}
