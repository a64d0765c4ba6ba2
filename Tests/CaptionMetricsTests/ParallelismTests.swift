import CaptionMetrics
import Foundation
import Testing

/// The parallel entry points take their width from the caller (`--threads`); the scores must not
/// depend on it, bit for bit.
@Suite struct ParallelismTests {
    @Test func scoresDoNotDependOnTheWidth() throws {
        let references = try CaptionFileReader.references(at: Fixture.path("fakecap-references.json"))
        let results = try CaptionFileReader.results(at: Fixture.path("fakecap-results.json"))
        let one = try CocoEvaluation.evaluate(results: results, references: references, parallelism: 1)
        for width in [2, 3, 7] {
            let other = try CocoEvaluation.evaluate(results: results, references: references, parallelism: width)
            #expect(other.corpus.values.map(\.bitPattern) == one.corpus.values.map(\.bitPattern), "width \(width)")
            #expect(other.images.map(\.scores.values) == one.images.map(\.scores.values), "width \(width)")
            #expect(other.images.map(\.hypothesisTokens) == one.images.map(\.hypothesisTokens), "width \(width)")
        }
    }

    @Test func ciderAndTheTokenizerDoNotDependOnTheWidth() throws {
        let references = try CaptionFileReader.references(at: Fixture.path("fakecap-references.json"))
        let lines = references.imageIDs.flatMap { references.captions[$0]! }
        let tokens = PTBTokenizer.tokenize(lines: lines, parallelism: 1)
        #expect(PTBTokenizer.tokenize(lines: lines, parallelism: 4) == tokens)
        // Each image's first reference scored against its others.
        var items: [CiderD.Item] = []
        var offset = 0
        for id in references.imageIDs {
            let count = references.captions[id]!.count
            let own = Array(tokens[offset..<(offset + count)])
            offset += count
            if own.count >= 2 { items.append(CiderD.Item(hypothesis: own[0], references: Array(own.dropFirst()))) }
        }
        let serial = CiderD.score(items, parallelism: 1)
        let parallel = CiderD.score(items, parallelism: 5)
        #expect(parallel.corpus.bitPattern == serial.corpus.bitPattern)
        #expect(parallel.perImage.map(\.bitPattern) == serial.perImage.map(\.bitPattern))
    }

    @Test func metricNamesArePycocoevalcapsInItsOrder() {
        #expect(Metric.allCases.map(\.rawValue) == ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"])
        #expect(Metric.bleu == [.bleu1, .bleu2, .bleu3, .bleu4])
        #expect(Metric.bleu(order: 4) == .bleu4)
        #expect(Metric.validNames == "Bleu_1, Bleu_2, Bleu_3, Bleu_4, ROUGE_L, CIDEr")
        let scores = MetricScores(bleu: [0.1, 0.2, 0.3, 0.4], rougeL: 0.5, cider: 0.6)
        #expect(Metric.allCases.map { scores[$0] } == scores.values)
    }

    @Test func orderedScoresFollowPycocoevalcapsOrderAndSkipTheMissing() {
        let ordered = Metric.ordered([.cider: 1.5, .bleu4: 0.25, .bleu1: 0.75])
        #expect(ordered.map(\.metric) == [.bleu1, .bleu4, .cider])
        #expect(ordered.map(\.value) == [0.75, 0.25, 1.5])
        #expect(Metric.ordered([:]).isEmpty)
        // Only CIDEr-D's per-image scores depend on the other images (its document frequencies).
        #expect(Metric.allCases.filter(\.perImageScoreDependsOnCorpus) == [.cider])
    }
}
