import CaptionMetrics
import Foundation
import ResultStore
import TestSupport
import Testing

/// The embedded demo (pipelines/demo.toml) as the README's first command runs it, and the README's
/// SQL run against what it wrote.
@Suite(.serialized, .timeLimit(.minutes(20))) struct DemoTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let pipeline = repository.appendingPathComponent("pipelines/demo.toml").path

    /// Runs a query with the sqlite3 command-line shell, as a user of the README would, and returns
    /// its rows as JSON objects.
    static func sqlite(_ database: String, _ sql: String, parameters: [String: String] = [:]) throws -> [[String: Any]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", "-bail", "-json", database]
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        var script = parameters.sorted { $0.key < $1.key }.map { ".parameter set \($0.key) \($0.value)\n" }.joined()
        script += sql + "\n"
        input.fileHandleForWriting.write(Data(script.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SQLiteShellError(message: message) }
        if data.isEmpty { return [] }
        return try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
    }

    struct SQLiteShellError: Error, CustomStringConvertible { var message: String; var description: String { message } }

    /// The SQL blocks of the README, by their `-- example:` name.
    static func readmeQueries() throws -> [String: String] {
        let readme = try String(contentsOf: repository.appendingPathComponent("README.md"), encoding: .utf8)
        var queries: [String: String] = [:]
        for block in readme.components(separatedBy: "```sql\n").dropFirst() {
            let sql = block.components(separatedBy: "```")[0]
            guard let first = sql.split(separator: "\n").first, first.hasPrefix("-- example: ") else { continue }
            queries[String(first.dropFirst("-- example: ".count))] = sql
        }
        return queries
    }

    @Test func demoMeetsItsThresholdsAndTheReadmeQueriesWork() throws {
        let folder = TemporaryDirectory()
        let db = folder.path("demo.sqlite")
        let started = Date()
        let outcome = try NightcapProcess.run(["run", Self.pipeline, "--threads", "2", "--db", db, "--quiet"])
        let seconds = Date().timeIntervalSince(started)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("images: 600 captioned into 10 shards; 600 scored"))
        print("demo run took \(String(format: "%.1f", seconds)) s (debug build)")

        let database = try ResultDatabase(path: db, readOnly: true)
        let metrics = try database.runMetrics(runID: 1)
        try database.close()
        #expect(metrics[.bleu4].map { $0 >= 0.5 } == true, "Bleu_4 \(metrics[.bleu4] ?? -1)")
        #expect(metrics[.cider].map { $0 >= 1.5 } == true, "CIDEr \(metrics[.cider] ?? -1)")

        let queries = try Self.readmeQueries()
        #expect(Set(queries.keys) == ["worst-cider", "word-regions", "corpus-bleu", "side-by-side", "grounding"])

        let grounding = try #require(try Self.sqlite(db, queries["grounding"]!, parameters: [":run": "1"]).first)
        let objectWords = try #require(grounding["object_words"] as? Int)
        let grounded = try #require(grounding["grounded"] as? Int)
        #expect(objectWords >= 600, "every caption names at least one object")
        #expect(Double(grounded) / Double(objectWords) >= 0.8, "grounding \(grounded)/\(objectWords)")

        let worst = try Self.sqlite(db, queries["worst-cider"]!, parameters: [":run": "1"])
        #expect(worst.count == 10)
        let ciders = worst.compactMap { $0["cider"] as? Double }
        #expect(ciders == ciders.sorted())

        let words = try Self.sqlite(db, queries["word-regions"]!, parameters: [":run": "1", ":image": "'100001'"])
        #expect(!words.isEmpty)
        #expect(words.map { $0["position"] as? Int } == Array(0..<words.count).map { $0 })
        #expect(words.allSatisfy { ($0["label"] as? String) != nil })

        let bleu = try #require(try Self.sqlite(db, queries["corpus-bleu"]!, parameters: [":run": "1"]).first)
        for order in 1...4 {
            let fromSQL = try #require(bleu["bleu_\(order)"] as? Double)
            #expect(abs(fromSQL - metrics[Metric.bleu(order: order)]!) < 1e-12, "Bleu_\(order)")
        }

        // A second run with greedy search to put beside the first.
        #expect(try NightcapProcess.run(["run", Self.pipeline, "--threads", "2", "--db", db, "--quiet", "--beam-size", "1"]).status == 0)
        let pairs = try Self.sqlite(db, queries["side-by-side"]!, parameters: [":run_a": "1", ":run_b": "2"])
        #expect(pairs.count == 600)
        let gains = pairs.compactMap { $0["gain"] as? Double }
        #expect(gains == gains.sorted(by: >))
    }

    @Test func interruptedDemoResumes() throws {
        let folder = TemporaryDirectory()
        let reference = folder.path("reference.sqlite"), db = folder.path("demo.sqlite")
        #expect(try NightcapProcess.run(["run", Self.pipeline, "--threads", "2", "--db", reference, "--quiet"]).status == 0)
        let killed = try NightcapProcess.run(
            ["run", Self.pipeline, "--threads", "2", "--db", db, "--quiet"], environment: ["NIGHTCAP_FAULT_KILL_AFTER_COMMITS": "4"])
        #expect(killed.wasSignalled)
        let resumed = try NightcapProcess.run(["run", Self.pipeline, "--threads", "2", "--db", db])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(resumed.standardError.contains("resuming run 1 (demo): 4/10 shards done"))
        #expect(try RunFixture.snapshot(database: db) == RunFixture.snapshot(database: reference))
    }
}
