import CaptionMetrics
import Foundation
import GRDB
import TestSupport
import Testing
@testable import ResultStore

/// A database with two finalized runs over the same 12 images, as the examples expect.
struct PopulatedDatabase {
    let folder: TemporaryDirectory
    let store: ResultDatabase
    let runA: Int64
    let runB: Int64
    var commits: [Int64: [ShardCommit]] = [:]
    var cider: [Int64: [String: Double]] = [:]

    init() throws {
        folder = TemporaryDirectory()
        store = try ResultDatabase(path: folder.path("results.sqlite"))
        runA = try store.createRun(Fixture.newRun(name: "baseline", fingerprint: "fp-a", images: 12))
        runB = try store.createRun(Fixture.newRun(name: "finetuned", fingerprint: "fp-b", images: 12))
        for (run, seed) in [(runA, UInt64(1)), (runB, UInt64(2))] {
            var random = SeededGenerator(seed: seed * 31)
            for shard in 0..<3 {
                let commit = Fixture.shard(
                    runID: run, shard: shard, firstImage: shard * 4, numImages: 4, seed: seed,
                    failedImages: run == runB ? [9] : [])
                try store.commitShard(commit)
                commits[run, default: []].append(commit)
            }
            let perImage = commits[run]!.flatMap(\.captions).map {
                ImageMetricRecord(imageID: $0.imageID, metric: .cider, value: random.unit() * 3)
            }
            cider[run] = Dictionary(uniqueKeysWithValues: perImage.map { ($0.imageID, $0.value) })
            try store.writeCorpusMetrics(
                runID: run, corpus: [.cider: perImage.map(\.value).reduce(0, +) / Double(perImage.count)],
                perImage: perImage)
            try store.finish(runID: run)
        }
    }

    func close() {
        try? store.close()
    }
}

/// pycocoevalcap's corpus BLEU (`BleuScorer.compute_score`, option 'closest') from summed statistics.
func pycocoevalcapBleu(_ stats: [BleuStatsRecord]) -> [Double] {
    let tiny = 1e-15
    let small = 1e-9
    let testlen = Double(stats.map(\.testlen).reduce(0, +))
    let reflen = Double(stats.map(\.reflen).reduce(0, +))
    var bleus: [Double] = []
    var bleu = 1.0
    for k in 0..<4 {
        let correct = Double(stats.map { $0.correct[k] }.reduce(0, +))
        let guess = Double(stats.map { $0.guess[k] }.reduce(0, +))
        bleu *= (correct + tiny) / (guess + small)
        bleus.append(pow(bleu, 1.0 / Double(k + 1)))
    }
    let ratio = (testlen + tiny) / (reflen + small)
    if ratio < 1 {
        bleus = bleus.map { $0 * exp(1 - 1 / ratio) }
    }
    return bleus
}

@Suite struct ResultsTests {
    @Test func finalizeWritesAndReplaces() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun())
        try store.commitShard(Fixture.shard(runID: id, shard: 0, firstImage: 0, numImages: 4))
        let images = try store.captions(runID: id).map(\.imageID)
        let bleuBefore = try store.imageMetrics(runID: id, metric: .bleu4)

        try store.writeCorpusMetrics(
            runID: id, corpus: [.bleu4: 0.2, .cider: 0.9, .rougeL: 0.5],
            perImage: images.map { ImageMetricRecord(imageID: $0, metric: .cider, value: 1) })
        #expect(try store.runMetrics(runID: id) == [.bleu4: 0.2, .cider: 0.9, .rougeL: 0.5])
        #expect(try store.imageMetrics(runID: id, metric: .cider).map(\.value) == [1, 1, 1, 1])

        try store.writeCorpusMetrics(
            runID: id, corpus: [.bleu4: 0.25, .cider: 1.1],
            perImage: images.enumerated().map { ImageMetricRecord(imageID: $1, metric: .cider, value: Double($0)) })
        #expect(try store.runMetrics(runID: id) == [.bleu4: 0.25, .cider: 1.1])
        let cider = try store.imageMetrics(runID: id, metric: .cider)
        #expect(cider.map(\.imageID) == images)
        #expect(cider.map(\.value) == [0, 1, 2, 3])
        // Per-image rows of other metrics, committed with the shard, are untouched.
        #expect(try store.imageMetrics(runID: id, metric: .bleu4) == bleuBefore)
        #expect(bleuBefore.count == 4)

        let withMetrics = try store.captionsWithMetrics(runID: id)
        #expect(withMetrics.map(\.imageID) == images)
        #expect(withMetrics[2].metrics[.cider] == 2)
        #expect(withMetrics[2].metrics[.bleu4] == bleuBefore[2].value)
        #expect(Set(withMetrics[0].metrics.keys) == Set(Metric.allCases))
    }

    /// A newer nightcap may store metrics this build does not know (the `metric` columns are text):
    /// reads leave their rows out instead of failing.
    @Test func metricsThisBuildDoesNotKnowAreLeftOut() throws {
        let folder = TemporaryDirectory()
        let path = folder.path("results.sqlite")
        let id: Int64
        let image: String
        do {
            let store = try ResultDatabase(path: path)
            defer { try? store.close() }
            id = try store.createRun(Fixture.newRun())
            try store.commitShard(Fixture.shard(runID: id, shard: 0, firstImage: 0, numImages: 4))
            try store.writeCorpusMetrics(runID: id, corpus: [.bleu4: 0.25, .cider: 1.1], perImage: [])
            image = try #require(try store.captions(runID: id).first?.imageID)
        }
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO run_metrics (run_id, metric, value) VALUES (?, 'METEOR', 0.3)", arguments: [id])
            try db.execute(
                sql: "INSERT INTO image_metrics (run_id, image_id, metric, value) VALUES (?, ?, 'METEOR', 0.3)", arguments: [id, image])
        }
        try queue.close()
        let store = try ResultDatabase(path: path, readOnly: true)
        defer { try? store.close() }
        #expect(try store.runMetrics(runID: id) == [.bleu4: 0.25, .cider: 1.1])
        let captions = try store.captionsWithMetrics(runID: id)
        #expect(captions.count == 4)
        #expect(Set(captions[0].metrics.keys) == Set(Metric.bleu + [.rougeL]))
        let details = try store.imageDetails(runID: id, imageIDs: [image])
        #expect(details.map { Set($0.caption.metrics.keys) } == [Set(Metric.bleu + [.rougeL])])
    }

    @Test func finalizeOfAMissingRunFailsWithoutWriting() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        #expect(throws: ResultStoreError.runNotFound(path: store.path, reference: "3")) {
            try store.writeCorpusMetrics(runID: 3, corpus: [.cider: 1], perImage: [])
        }
    }

    @Test func sqliteHasTheMathFunctionsTheExamplesUse() throws {
        let queue = try DatabaseQueue()
        let value = try queue.read { try Double.fetchOne($0, sql: "SELECT exp(1) * pow(2, 0.5) / exp(ln(2))") }
        #expect(abs(try #require(value) - exp(1) * 2.0.squareRoot() / 2) < 1e-15)
    }

    // MARK: - The examples of docs/database.md

    static func exampleQueries() throws -> [String: String] {
        let doc = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/database.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        var queries: [String: String] = [:]
        for block in text.components(separatedBy: "```sql\n").dropFirst() {
            let sql = block.components(separatedBy: "```")[0]
            guard sql.hasPrefix("-- example: ") else { continue }
            let name = String(sql.prefix { $0 != "\n" }.dropFirst("-- example: ".count))
            queries[name] = sql
        }
        return queries
    }

    func runExample(_ name: String, on store: ResultDatabase, _ arguments: [String: any DatabaseValueConvertible]) throws -> [Row] {
        let sql = try #require(try Self.exampleQueries()[name], "docs/database.md lacks example '\(name)'")
        return try store.read("example \(name)") { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
        }
    }

    @Test func docsHaveTheFourExamples() throws {
        #expect(Set(try Self.exampleQueries().keys) == ["worst-cider", "word-regions", "corpus-bleu", "side-by-side"])
    }

    @Test func exampleWorstCIDEr() throws {
        let data = try PopulatedDatabase()
        defer { data.close() }
        let rows = try runExample("worst-cider", on: data.store, ["run": data.runA])
        let expected = data.cider[data.runA]!.sorted { $0.value < $1.value }.prefix(10)
        #expect(rows.count == 10)
        #expect(rows.map { $0["image_id"] as String } == expected.map(\.key))
        for (row, (_, value)) in zip(rows, expected) {
            #expect(abs((row["cider"] as Double) - value) < 5e-5)
        }
        let captions = Dictionary(uniqueKeysWithValues: data.commits[data.runA]!.flatMap(\.captions).map { ($0.imageID, $0.caption) })
        #expect(rows.allSatisfy { captions[$0["image_id"]] == ($0["caption"] as String) })
    }

    @Test func exampleWordRegions() throws {
        let data = try PopulatedDatabase()
        defer { data.close() }
        let image = Fixture.imageID(5)
        let rows = try runExample("word-regions", on: data.store, ["run": data.runB, "image": image])
        let commit = data.commits[data.runB]![1]
        let attention = commit.attention.filter { $0.imageID == image }
        let regions = commit.regions.filter { $0.imageID == image }
        #expect(rows.count == attention.count && rows.count == 5)
        for (row, word) in zip(rows, attention) {
            let top = AttentionWeights.top(word.weights)!
            #expect(row["position"] as Int == word.position)
            #expect(row["word"] as String == word.word)
            #expect(row["top_region"] as Int == top.region)
            #expect(row["label"] as String? == regions[top.region].label)
            #expect(row["x1"] as Double? == regions[top.region].x1)
            #expect(abs((row["weight"] as Double) - Double(top.weight)) < 5e-4)
        }
    }

    @Test func exampleCorpusBleuEqualsPycocoevalcapFormula() throws {
        let data = try PopulatedDatabase()
        defer { data.close() }
        for run in [data.runA, data.runB] {
            let rows = try runExample("corpus-bleu", on: data.store, ["run": run])
            #expect(rows.count == 1)
            let stats = try data.store.bleuStatistics(runID: run)
            #expect(stats == data.commits[run]!.flatMap(\.bleuStats))
            let expected = pycocoevalcapBleu(stats)
            let fromSQL: [Double] = [rows[0]["bleu_1"], rows[0]["bleu_2"], rows[0]["bleu_3"], rows[0]["bleu_4"]]
            for (sql, swift) in zip(fromSQL, expected) {
                #expect(abs(sql - swift) <= 1e-12, "SQL \(sql), Swift \(swift)")
            }
            #expect(expected[3] > 0 && expected[3] < 1)
        }
    }

    @Test func exampleCorpusBleuAppliesTheBrevityPenalty() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let id = try store.createRun(Fixture.newRun())
        var commit = ShardCommit(runID: id, shard: 0, firstImage: 0, numImages: 2, seconds: 0)
        commit.bleuStats = [
            BleuStatsRecord(imageID: "1", testlen: 8, reflen: 11, guess: [8, 7, 6, 5], correct: [6, 4, 2, 1]),
            BleuStatsRecord(imageID: "2", testlen: 9, reflen: 10, guess: [9, 8, 7, 6], correct: [7, 5, 3, 2]),
        ]
        try store.commitShard(commit)
        let rows = try runExample("corpus-bleu", on: store, ["run": id])
        let expected = pycocoevalcapBleu(commit.bleuStats)
        let p = [13.0 / 17, 9.0 / 15, 5.0 / 13, 3.0 / 11]
        let byHand = exp(1 - 21.0 / 17) * pow(p.reduce(1, *), 0.25)
        #expect(abs(expected[3] - byHand) < 1e-9)
        #expect(abs((rows[0]["bleu_4"] as Double) - expected[3]) <= 1e-12)
    }

    @Test func exampleSideBySide() throws {
        let data = try PopulatedDatabase()
        defer { data.close() }
        let rows = try runExample("side-by-side", on: data.store, ["run_a": data.runA, "run_b": data.runB])
        let ciderA = data.cider[data.runA]!
        let ciderB = data.cider[data.runB]!
        #expect(rows.count == 11)  // image 9 failed in run B
        #expect(!rows.contains { ($0["image_id"] as String) == Fixture.imageID(9) })
        let gains = rows.map { ciderB[$0["image_id"]]! - ciderA[$0["image_id"]]! }
        #expect(gains == gains.sorted(by: >))
        let captionsB = Dictionary(uniqueKeysWithValues: data.commits[data.runB]!.flatMap(\.captions).map { ($0.imageID, $0.caption) })
        for row in rows {
            let id: String = row["image_id"]
            #expect(row["caption_b"] as String == captionsB[id])
            #expect(abs((row["cider_a"] as Double) - ciderA[id]!) < 5e-5)
        }
    }
}
