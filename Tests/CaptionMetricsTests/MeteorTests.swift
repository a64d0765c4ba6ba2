import CaptionMetrics
import Foundation
import Testing

/// METEOR's data (meteor-1.5.jar and data/paraphrase-en.gz, from pycocoevalcap): found the way
/// nightcap finds it, with the paraphrase index in nightcap's own cache folder (built once per
/// machine, by whichever of nightcap or the tests uses it first).
enum MeteorTestData {
    static let location: MeteorDataLocation? = try? MeteorDataLocation.locate(explicit: nil)
    static var available: Bool { location != nil }
    static let cacheDirectory = MeteorResources.defaultCacheDirectory()
    static let meteor: Meteor = {
        let resources = try! MeteorResources.load(location!, cacheDirectory: cacheDirectory)
        return Meteor(resources: resources)
    }()

    static func gunzip(_ path: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        process.arguments = ["-dc", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }
}

/// One golden file: per image the jar's statistics line and score, and the corpus score.
struct MeteorGolden {
    var ids: [Int]
    var stats: [String]
    var scores: [Double]
    var corpus: Double
    var rows: [[String: Any]]

    init(_ object: [String: Any]) {
        rows = object["per_image"] as! [[String: Any]]
        ids = rows.map { $0["image_id"] as! Int }
        stats = rows.map { $0["stats"] as! String }
        scores = rows.map { ($0["score"] as! NSNumber).doubleValue }
        corpus = (object["corpus"] as! NSNumber).doubleValue
    }

    /// Scores every image with nightcap and compares statistics, scores and the corpus score.
    func check(hypotheses: [String], references: [[String]], sourceLocation: SourceLocation = #_sourceLocation) {
        let meteor = MeteorTestData.meteor
        let mine = meteor.statistics(hypotheses: hypotheses, references: references, parallelism: ParallelWorkWidth.all)
        var statsMismatches: [String] = []
        var worst = 0.0
        for k in mine.indices {
            if mine[k].jarText != stats[k] {
                statsMismatches.append("image \(ids[k]): nightcap \(mine[k].jarText) jar \(stats[k])")
            }
            worst = max(worst, abs(mine[k].score - scores[k]))
        }
        #expect(statsMismatches.isEmpty, "\(statsMismatches.count) images differ, first: \(statsMismatches.prefix(5))", sourceLocation: sourceLocation)
        #expect(worst <= 1e-9, "largest per-image difference \(worst)", sourceLocation: sourceLocation)
        let corpusScore = MeteorStatistics.corpusScore(mine)
        #expect(abs(corpusScore - corpus) <= 1e-9, "corpus \(corpusScore) vs the jar's \(corpus)", sourceLocation: sourceLocation)
    }
}

enum ParallelWorkWidth {
    static var all: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}

@Suite(.enabled(if: MeteorTestData.available, "needs METEOR's data (pycocoevalcap's meteor folder): run scripts/bootstrap or \(MeteorDataLocation.installCommand)"))
struct MeteorGoldenTests {
    @Test func fakecapEqualsTheJar() throws {
        let golden = MeteorGolden(try Fixture.json("meteor/fakecap.json"))
        let tokenized = try Fixture.json("fakecap-expected.json")["tokenized"] as! [String: [String: [String]]]
        #expect(golden.ids.count == 1000)
        golden.check(
            hypotheses: golden.ids.map { tokenized["res"]![String($0)]![0] },
            references: golden.ids.map { tokenized["gts"]![String($0)]! })
        // The corpus score pycocoevalcap printed for the toolkit's example.
        let expected = try Fixture.json("fakecap-expected.json")["corpus"] as! [String: Double]
        #expect(abs(golden.corpus - expected["METEOR"]!) <= 1e-12)
    }

    @Test func hostileCaptionsEqualTheJar() throws {
        let golden = MeteorGolden(try Fixture.json("meteor/hostile.json"))
        golden.check(
            hypotheses: golden.rows.map { $0["hypothesis"] as! String },
            references: golden.rows.map { $0["references"] as! [String] })
    }

    @Test(.enabled(if: SharedData.available, "needs shared/data/coco-captions beside the clone or NIGHTCAP_COCO_DATA"))
    func val2014HeldOutHumanCaptionsEqualTheJar() throws {
        let object = try JSONSerialization.jsonObject(with: try MeteorTestData.gunzip(Fixture.path("meteor/val2014.json.gz"))) as! [String: Any]
        let golden = MeteorGolden(object)
        #expect(golden.ids.count >= 5000)
        // The inputs as tools/make_meteor_goldens.py builds them (the first PTB form of each caption).
        var ptb: [String: String] = [:]
        for row in try JSONSerialization.jsonObject(with: try SharedData.gunzip("val2014-ptb-tokenized.json.gz")) as! [[String: Any]] {
            let key = "\(row["image_id"] as! Int)\u{1}\(row["raw"] as! String)"
            if ptb[key] == nil { ptb[key] = row["ptb"] as? String }
        }
        let references = try JSONSerialization.jsonObject(with: try SharedData.gunzip("val2014-minus-heldout.json.gz")) as! [String: Any]
        var captions: [Int: [String]] = [:]
        for annotation in references["annotations"] as! [[String: Any]] {
            captions[annotation["image_id"] as! Int, default: []].append(annotation["caption"] as! String)
        }
        var held: [Int: String] = [:]
        for result in try JSONSerialization.jsonObject(with: try SharedData.gunzip("val2014-heldout-human-results.json.gz")) as! [[String: Any]] {
            held[result["image_id"] as! Int] = result["caption"] as? String
        }
        golden.check(
            hypotheses: golden.ids.map { ptb["\($0)\u{1}\(held[$0]!)"]! },
            references: golden.ids.map { id in captions[id]!.map { ptb["\(id)\u{1}\($0)"]! } })
    }

    @Test func resultsDoNotDependOnTheThreadCount() throws {
        let golden = MeteorGolden(try Fixture.json("meteor/hostile.json"))
        let hypotheses = golden.rows.map { $0["hypothesis"] as! String }
        let references = golden.rows.map { $0["references"] as! [String] }
        let one = MeteorTestData.meteor.statistics(hypotheses: hypotheses, references: references, parallelism: 1)
        let four = MeteorTestData.meteor.statistics(hypotheses: hypotheses, references: references, parallelism: 4)
        #expect(one == four)
    }
}

@Suite struct MeteorStatisticsTests {
    @Test func corpusScoreSumsStatisticsAndLeavesOutCompleteSingleChunks() throws {
        // Two images: one matched completely in one chunk, one with 2 chunks.
        let complete = MeteorStatistics(values: [3, 3, 1, 1, 2, 2, 1, 1] + [Int](repeating: 0, count: 12) + [1, 3, 3])!
        let partial = MeteorStatistics(values: [4, 5, 0, 0, 3, 3, 0, 0] + [Int](repeating: 0, count: 12) + [2, 3, 3])!
        #expect(complete.jarText == "3.0 3.0 1.0 1.0 2.0 2.0 1.0 1.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 1.0 3.0 3.0")
        var sum = MeteorStatistics.zero
        sum.add(complete)
        sum.add(partial)
        #expect(sum.chunks == 2)
        #expect(sum.testLength == 7)
        #expect(MeteorStatistics.corpusScore([complete, partial]) == sum.score)
        // A complete single-chunk match has no fragmentation penalty: the F-mean itself (1.0).
        #expect(complete.score == 1.0)
        #expect(MeteorStatistics(values: [1, 2, 3]) == nil)
        #expect(MeteorStatistics.zero.score == 0)
    }
}

@Suite struct SnowballEnglishStemmerTests {
    @Test func stemsEveryGoldenWordAsTheJarDoes() throws {
        let text = try String(contentsOfFile: Fixture.path("meteor/stems.tsv"), encoding: .utf8)
        var mismatches: [String] = []
        var count = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
            let word = String(parts[0]), stem = String(parts[1])
            count += 1
            let mine = SnowballEnglishStemmer.stem(word)
            if mine != stem { mismatches.append("\(word): \(mine) (jar \(stem))") }
        }
        #expect(count > 5000)
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(count) differ: \(mismatches.prefix(10))")
    }

    @Test func followsThePublishedRules() {
        #expect(SnowballEnglishStemmer.stem("generously") == "generous")
        #expect(SnowballEnglishStemmer.stem("skies") == "sky")
        #expect(SnowballEnglishStemmer.stem("hoped") == "hope")
        #expect(SnowballEnglishStemmer.stem("hopping") == "hop")
        #expect(SnowballEnglishStemmer.stem("running") == "run")
        #expect(SnowballEnglishStemmer.stem("by") == "by")
        #expect(SnowballEnglishStemmer.stem("café") == "café")
    }
}

@Suite struct MeteorDataErrorTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nightcap-meteor-\(UUID().uuidString)").path

    @Test func missingDataNamesWhereNightcapLookedAndTheFix() throws {
        let error = #expect(throws: CaptionMetricsError.self) {
            try MeteorDataLocation.locate(
                explicit: nil, environment: ["HOME": folder, "NIGHTCAP_METEOR_NO_PYTHON": "1"], currentDirectory: folder)
        }
        #expect(error?.kind == .meteorDataMissing)
        let message = error?.message ?? ""
        #expect(message.contains(folder + "/.nightcap/python/pycocoevalcap/meteor"))
        #expect(message.contains("/usr/lib/"))
        #expect(message.contains(MeteorDataLocation.installCommand))
        #expect(message.contains("--metrics"))
    }

    @Test func aGivenFolderWithoutTheDataSaysWhatIsMissing() throws {
        let error = #expect(throws: CaptionMetricsError.self) { try MeteorDataLocation.locate(explicit: folder) }
        #expect(error?.kind == .meteorDataMissing)
        #expect(error?.message.contains(folder + "/meteor-1.5.jar and " + folder + "/data/paraphrase-en.gz not found") == true)
        #expect(error?.message.contains("--meteor-data") == true)
    }

    /// A copy of the data folder with the jar as given and the table's first `tableBytes` bytes.
    private func damagedCopy(jar: Data, table: Data) throws -> MeteorDataLocation {
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        try jar.write(to: URL(fileURLWithPath: folder + "/meteor-1.5.jar"))
        try table.write(to: URL(fileURLWithPath: folder + "/data/paraphrase-en.gz"))
        return MeteorDataLocation(folder: folder)
    }

    @Test(.enabled(if: MeteorTestData.available, "needs METEOR's data"))
    func aTruncatedParaphraseTableIsAnError() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = MeteorTestData.location!
        let jar = try Data(contentsOf: URL(fileURLWithPath: source.jarPath))
        let table = try Data(contentsOf: URL(fileURLWithPath: source.paraphrasePath))
        let location = try damagedCopy(jar: jar, table: table.prefix(1 << 20))
        let error = #expect(throws: CaptionMetricsError.self) {
            try MeteorResources.load(location, cacheDirectory: folder + "/cache")
        }
        #expect(error?.kind == .meteorDataDamaged)
        #expect(error?.message.contains(location.paraphrasePath + " is damaged") == true)
        #expect(error?.message.contains("truncated") == true)
        #expect(error?.message.contains("--force-reinstall") == true)
    }

    @Test(.enabled(if: MeteorTestData.available, "needs METEOR's data"))
    func aTableEndingInsideAnEntryIsAnError() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = MeteorTestData.location!
        let jar = try Data(contentsOf: URL(fileURLWithPath: source.jarPath))
        // A whole gzip file whose text stops after the first line of the second entry.
        let text = "0.5\ndog\ncanine\n0.25\n"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try text.write(toFile: folder + "/table.txt", atomically: true, encoding: .utf8)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        gzip.arguments = ["-kn", folder + "/table.txt"]
        try gzip.run()
        gzip.waitUntilExit()
        let location = try damagedCopy(jar: jar, table: try Data(contentsOf: URL(fileURLWithPath: folder + "/table.txt.gz")))
        let error = #expect(throws: CaptionMetricsError.self) {
            try MeteorResources.load(location, cacheDirectory: folder + "/cache")
        }
        #expect(error?.message.contains(location.paraphrasePath + " is damaged: it ends inside the entry that starts at line 4") == true)
    }

    @Test(.enabled(if: MeteorTestData.available, "needs METEOR's data"))
    func aJarWithoutItsSynonymEntriesIsAnError() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = MeteorTestData.location!
        var jar = try Data(contentsOf: URL(fileURLWithPath: source.jarPath))
        // Rename the entry in its local and central headers (same length): the jar no longer has it.
        let name = Data("synonym/english.synsets".utf8), other = Data("synonym/english.synsetX".utf8)
        var renamed = 0
        while let range = jar.range(of: name) {
            jar.replaceSubrange(range, with: other)
            renamed += 1
        }
        #expect(renamed == 2)
        // The jar is read before the table, so any table will do.
        let location = try damagedCopy(jar: jar, table: Data([0x1f, 0x8b]))
        let error = #expect(throws: CaptionMetricsError.self) {
            try MeteorResources.load(location, cacheDirectory: MeteorTestData.cacheDirectory)
        }
        #expect(error?.kind == .meteorDataDamaged)
        #expect(error?.message == "METEOR data: \(location.jarPath) has no entry synonym/english.synsets (not the meteor-1.5.jar pycocoevalcap ships, or damaged); reinstall it (\(MeteorDataLocation.installCommand) --force-reinstall) or point --meteor-data at an intact copy")
    }
}
