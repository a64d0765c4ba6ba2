import CaptionMetrics
import Foundation
import Testing

/// The fixtures bundled with the test target.
enum Fixture {
    static func path(_ name: String) -> String {
        Bundle.module.path(forResource: name, ofType: nil, inDirectory: "Fixtures")!
    }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name)))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
}

/// pycocoevalcap 1.2 on the toolkit's own fakecap example: tokens, statistics and scores.
@Suite struct FakecapParityTests {
    let expected: [String: Any]
    let evaluation: CocoEvaluation
    let references: CaptionReferences

    init() throws {
        expected = try Fixture.json("fakecap-expected.json")
        references = try CaptionFileReader.references(at: Fixture.path("fakecap-references.json"))
        let results = try CaptionFileReader.results(at: Fixture.path("fakecap-results.json"))
        evaluation = try CocoEvaluation.evaluate(results: results, references: references)
    }

    @Test func tokenizationMatchesEveryCaption() throws {
        let tokenized = expected["tokenized"] as! [String: [String: [String]]]
        let gts = tokenized["gts"]!, res = tokenized["res"]!
        // Tokenize in pycocoevalcap's batch order: images in reference order, their captions in order.
        let ids = evaluation.images.map(\.imageID)
        let lines = ids.flatMap { references.captions[$0]! }
        let tokens = PTBTokenizer.tokenize(lines: lines)
        var offset = 0
        var compared = 0
        for id in ids {
            let want = gts[id.value]!
            for caption in want {
                #expect(tokens[offset].joined(separator: " ") == caption, "image \(id)")
                offset += 1
                compared += 1
            }
        }
        #expect(offset == lines.count)
        for image in evaluation.images {
            #expect(image.hypothesisTokens.joined(separator: " ") == res[image.imageID.value]![0], "image \(image.imageID)")
            compared += 1
        }
        #expect(compared == 5005 + 1000)
    }

    @Test func bleuStatisticsAreEqual() {
        let stats = expected["bleu_stats"] as! [String: Any]
        let all = evaluation.images.map(\.bleuStatistics)
        #expect(all.map(\.reflen).reduce(0, +) == stats["reflen"] as! Int)
        #expect(all.map(\.testlen).reduce(0, +) == stats["testlen"] as! Int)
        #expect((0..<4).map { k in all.map { $0.guess[k] }.reduce(0, +) } == stats["guess"] as! [Int])
        #expect((0..<4).map { k in all.map { $0.correct[k] }.reduce(0, +) } == stats["correct"] as! [Int])
    }

    @Test func corpusScoresWithin1e9() {
        let corpus = expected["corpus"] as! [String: Double]
        #expect(evaluation.images.count == 1000)
        for (metric, value) in evaluation.corpus.named {
            let name = metric.rawValue
            #expect(abs(value - corpus[name]!) <= 1e-9, "\(name): \(value) vs \(corpus[name]!)")
        }
    }

    @Test func perImageScoresWithin1e9() {
        let perImage = expected["per_image"] as! [String: [String: Double]]
        var maxDelta = 0.0
        for image in evaluation.images {
            let want = perImage[image.imageID.value]!
            for (metric, value) in image.scores.named {
                let name = metric.rawValue
                let delta = abs(value - want[name]!)
                maxDelta = max(maxDelta, delta)
                #expect(delta <= 1e-9, "image \(image.imageID) \(name): \(value) vs \(want[name]!)")
            }
        }
        #expect(maxDelta <= 1e-9)
    }

    /// The image-by-image API (what a pipeline shard calls) gives the batch evaluation's numbers.
    @Test func imageByImageAPIMatchesTheBatch() {
        let ids = evaluation.images.map(\.imageID)
        let tokens = PTBTokenizer.tokenize(lines: ids.flatMap { references.captions[$0]! })
        var offset = 0
        var bleu: [BleuStatistics] = []
        for image in evaluation.images {
            let count = references.captions[image.imageID]!.count
            let refs = Array(tokens[offset..<(offset + count)])
            offset += count
            let stats = BleuStatistics(hypothesis: image.hypothesisTokens, references: refs)
            #expect(stats == image.bleuStatistics, "image \(image.imageID)")
            #expect(CorpusBleu.imageScores(stats) == image.scores.bleu)
            #expect(RougeL.score(hypothesis: image.hypothesisTokens, references: refs) == image.scores.rougeL)
            bleu.append(stats)
        }
        #expect(CorpusBleu.score(bleu) == evaluation.corpus.bleu)
    }

    @Test func corpusBleuRecomputesFromStoredStatistics() {
        // What the pipeline does: keep rows of statistics, sum them later.
        let rows = evaluation.images.map(\.bleuStatistics)
        let decoded = try! JSONDecoder().decode([BleuStatistics].self, from: JSONEncoder().encode(rows))
        #expect(CorpusBleu.score(decoded) == evaluation.corpus.bleu)
    }

    @Test func ciderOverTheWholeSetMatchesTheEvaluation() {
        let items = evaluation.images.map { image in
            CiderD.Item(
                hypothesis: image.hypothesisTokens,
                references: PTBTokenizer.tokenize(lines: references.captions[image.imageID]!))
        }
        let cider = CiderD.score(items)
        #expect(abs(cider.corpus - evaluation.corpus.cider) <= 1e-6)
    }
}
