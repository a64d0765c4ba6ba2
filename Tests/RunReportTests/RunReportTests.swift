import CaptionMetrics
import Foundation
import Pictures
import ResultStore
import RunReport
import Testing
import TestSupport

/// A results database with two finalized runs over the same images, written by the test: run A
/// and run B differ on known images, and their references file is on disk.
final class ReportFixture {
    let directory = TemporaryDirectory()
    let database: ResultDatabase
    var runA: RunRecord!
    var runB: RunRecord!
    static let images = 30
    static func imageID(_ index: Int) -> String { String(500 + index) }
    /// Run B's caption improves on these images (CIDEr + 1), worsens on these (CIDEr - 0.5).
    static let improved: Set<Int> = [3, 7, 11], worsened: Set<Int> = [4, 20]

    init(withBoxes: Bool = true, labels: Bool = true) throws {
        database = try ResultDatabase(path: directory.path("results.sqlite"))
        let references = directory.path("references.json")
        let annotations = (0..<Self.images).flatMap { i in
            [#"{"id":\#(2 * i),"image_id":\#(500 + i),"caption":"a red cube & a <ball> \#(i)"}"#,
             #"{"id":\#(2 * i + 1),"image_id":\#(500 + i),"caption":"one cube near a ball"}"#]
        }
        // Image 502's original size is known (its picture in a test is a half-size copy).
        let images = (0..<Self.images).map { $0 == 2 ? #"{"id":502,"width":800,"height":400}"# : #"{"id":\#(500 + $0)}"# }
        try Data(#"{"images":[\#(images.joined(separator: ","))],"annotations":[\#(annotations.joined(separator: ","))]}"#.utf8)
            .write(to: URL(fileURLWithPath: references))
        runA = try makeRun(name: "tuesday", references: references, variant: 0, withBoxes: withBoxes, labels: labels)
        runB = try makeRun(name: "wednesday", references: references, variant: 1, withBoxes: withBoxes, labels: labels)
    }

    deinit { try? database.close() }

    static func cider(_ index: Int, variant: Int) -> Double {
        let base = Double(index % 10) / 5
        guard variant == 1 else { return base }
        return improved.contains(index) ? base + 1 : worsened.contains(index) ? base - 0.5 : base
    }

    private func makeRun(name: String, references: String, variant: Int, withBoxes: Bool, labels: Bool) throws -> RunRecord {
        let runID = try database.createRun(
            NewRun(
                name: name, fingerprint: "fp-\(name)", configJSON: #"{"beamSize":3}"#, imageCount: Self.images + 1,
                shardSize: 64, shardCount: 1, featuresPath: "/data/f.h5", modelPath: "/data/\(name).h5",
                referencesPath: references, ownerPID: 1, ownerHost: "test"))
        var commit = ShardCommit(runID: runID, shard: 0, firstImage: 0, numImages: Self.images + 1, seconds: 1)
        // Run B's shard as an older nightcap committed it, without its host and kernels.
        if variant == 0 {
            commit.host = "node-7"
            commit.kernels = "OpenBLAS 0.3.21 SkylakeX (library chose Prescott), vector loops avx2"
        }
        var ciders: [ImageMetricRecord] = []
        for index in 0..<Self.images {
            let id = Self.imageID(index)
            let words = variant == 1 && Self.improved.contains(index)
                ? ["a", "red", "cube", "near", "a", "ball"] : ["a", "<blue>", "cube", "left", "of", "ball"]
            commit.captions.append(
                CaptionRecord(imageID: id, imageIndex: index, caption: words.joined(separator: " "), numWords: words.count, logProb: -3))
            for (position, word) in words.enumerated() {
                // Word p looks mostly at region p % 3.
                var weights: [Float] = [0.1, 0.1, 0.1, 0.1]
                weights[position % 3] = 0.7
                commit.attention.append(AttentionRecord(imageID: id, position: position, word: word, weights: weights))
            }
            for region in 0..<4 {
                let label = labels ? ["cube", "ball", "background", "background"][region] : nil
                commit.regions.append(
                    withBoxes
                        ? RegionRecord(imageID: id, region: region, x1: Double(region * 100), y1: 10, x2: Double(region * 100 + 80), y2: 90, label: label)
                        : RegionRecord(imageID: id, region: region, label: label))
            }
            let correct = variant == 1 && Self.improved.contains(index) ? [6, 4, 2, 1] : [4, 2, 1, 0]
            commit.bleuStats.append(BleuStatsRecord(imageID: id, testlen: 6, reflen: 5, guess: [6, 5, 4, 3], correct: correct))
            let imageBleu = CorpusBleu.imageScores(BleuStatistics(testlen: 6, reflen: 5, guess: [6, 5, 4, 3], correct: correct))
            for order in 0..<4 {
                commit.imageMetrics.append(ImageMetricRecord(imageID: id, metric: Metric.bleu(order: order + 1), value: imageBleu[order]))
            }
            commit.imageMetrics.append(ImageMetricRecord(imageID: id, metric: .rougeL, value: 0.5 + Self.cider(index, variant: variant) / 10))
            ciders.append(ImageMetricRecord(imageID: id, metric: .cider, value: Self.cider(index, variant: variant)))
        }
        commit.failures.append(FailureRecord(imageID: "999", reason: "all regions are padding"))
        try database.commitShard(commit)
        let stats = commit.bleuStats.map {
            BleuStatistics(testlen: $0.testlen, reflen: $0.reflen, guess: $0.guess, correct: $0.correct)
        }
        var corpus = Dictionary(uniqueKeysWithValues: CorpusBleu.score(stats).enumerated().map { (Metric.bleu(order: $0.offset + 1), $0.element) })
        corpus[.rougeL] = commit.imageMetrics.filter { $0.metric == .rougeL }.map(\.value).reduce(0, +) / Double(Self.images)
        corpus[.cider] = ciders.map(\.value).reduce(0, +) / Double(Self.images)
        try database.writeCorpusMetrics(runID: runID, corpus: corpus, perImage: ciders)
        try database.finish(runID: runID)
        return try database.run(reference: String(runID))
    }
}

@Suite struct RunReportTests {
    @Test func theWorstAndBestImagesAreShownWithTheirCaptionsReferencesAndAttention() throws {
        let fixture = try ReportFixture()
        let html = try RunReport.html(database: fixture.database, run: fixture.runA, options: ReportOptions(worst: 3, best: 2))
        #expect(html.contains("Worst 3 by CIDEr"))
        #expect(html.contains("Best 2 by CIDEr"))
        // CIDEr of image i is (i % 10) / 5: the worst are 500, 510, 520; the best 509, 519.
        let shown = Self.cards(html)
        #expect(shown == ["500", "510", "520", "509", "519"])
        // Text is escaped, references come from the run's file, each word names its top region.
        #expect(html.contains("&lt;blue&gt;"))
        #expect(!html.contains("<blue>"))
        #expect(html.contains("a red cube &amp; a &lt;ball&gt; 9"))
        #expect(html.contains("data-top=\"region 0 (cube)\" data-tw=\"0.700\""))
        #expect(html.contains("data-top=\"region 1 (ball)\""))
        // Boxes are drawn over a frame of their extent (no pictures given).
        #expect(html.contains("viewBox=\"0 0 380.0 90.0\""))
        #expect(html.contains("<rect class=\"frame\""))
        // The summary: configuration, fingerprint, corpus metrics, histograms, grounding, failures.
        #expect(html.contains("fp-tuesday"))
        #expect(html.contains("Per-image distributions"))
        #expect(html.components(separatedBy: "<figure class=\"histogram\">").count == 7)
        #expect(html.contains("Grounding"))
        #expect(html.contains("all regions are padding"))
        #expect(!html.contains("http://") && !html.contains("https://"))
    }

    @Test func theAttentionDataHoldsEveryWordsWeightsInThousandths() throws {
        let fixture = try ReportFixture()
        let html = try RunReport.html(
            database: fixture.database, run: fixture.runA, options: ReportOptions(imageIDs: ["503"]))
        let start = try #require(html.range(of: "<script type=\"application/json\" id=\"attention-data\">"))
        let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
        let json = try JSONSerialization.jsonObject(with: Data(html[start.upperBound..<end.lowerBound].utf8)) as! [String: [[Int]]]
        #expect(json == ["c1s0": [[700, 100, 100, 100], [100, 700, 100, 100], [100, 100, 700, 100],
                                  [700, 100, 100, 100], [100, 700, 100, 100], [100, 100, 700, 100]]])
        #expect(html.contains("Selected images (1)"))
    }

    @Test func imagesWithoutBoxesShowTheWeightsAsBars() throws {
        let fixture = try ReportFixture(withBoxes: false, labels: false)
        let html = try RunReport.html(database: fixture.database, run: fixture.runA, options: ReportOptions(imageIDs: ["501"]))
        #expect(html.contains("<div class=\"bars\">"))
        #expect(html.contains("<div class=\"bar\" data-r=\"3\"><span class=\"name\">region 3</span>"))
        #expect(!html.contains("<svg class=\"boxes\""))
        #expect(!html.contains("Grounding"))
    }

    @Test func twoRunsSideBySideWithIntervalsAndTheMostChangedImages() throws {
        let fixture = try ReportFixture()
        let html = try RunReport.html(
            database: fixture.database, run: fixture.runA, versus: fixture.runB, options: ReportOptions(worst: 5, best: 5))
        // Improved by +1 (503, 507, 511), worsened by -0.5 (504, 520); the rest unchanged.
        #expect(html.contains("Most worsened by CIDEr (2 of 2 worse in B)"))
        #expect(html.contains("Most improved by CIDEr (3 of 3 better in B)"))
        #expect(Self.cards(html) == ["504", "520", "503", "507", "511"])
        #expect(html.contains("A: tuesday") && html.contains("B: wednesday"))
        // Where and on which kernels each run's shards were decoded, side by side.
        #expect(html.contains(
            "<tr><th>decoded on</th><td>1 shard: node-7, OpenBLAS 0.3.21 SkylakeX (library chose Prescott), vector loops avx2</td>"
                + "<td>1 shard: not recorded (committed before schema version 3)</td></tr>"), "\(html)")
        #expect(html.contains("a red cube near a ball") || html.contains(">near</button>"))
        #expect(html.contains("95% interval"))
        #expect(html.contains("paired bootstrap intervals over the 30 images"))
        let comparison = try RunComparison(
            database: fixture.database, runA: fixture.runA, runB: fixture.runB, bootstrap: PairedBootstrap())
        let cider = try #require(comparison.metrics.first { $0.metric == .cider })
        #expect(abs(cider.delta! - 2.0 / 30) < 1e-12)
        #expect(abs(cider.interval!.delta - 2.0 / 30) < 1e-12)
        let bleu4 = try #require(comparison.metrics.first { $0.metric == .bleu4 }?.interval)
        // Three of 30 images gain 4-gram matches and none loses any: no resample is worse, and a
        // resample without those three (probability 0.9^30 = 4%, above the 2.5% tail) is equal.
        #expect(bleu4.lower == 0 && bleu4.upper > 0)
    }

    @Test func aRunComparedWithItselfHasZeroWidthIntervals() throws {
        let fixture = try ReportFixture()
        let comparison = try RunComparison(
            database: fixture.database, runA: fixture.runA, runB: fixture.runA, bootstrap: PairedBootstrap(resamples: 100))
        #expect(comparison.pairedImages == ReportFixture.images)
        for metric in comparison.metrics {
            #expect(metric.interval == DeltaInterval(delta: 0, lower: 0, upper: 0), "\(metric.metric)")
        }
    }

    @Test func unknownImageIDsAreNamed() throws {
        let fixture = try ReportFixture()
        #expect {
            try RunReport.html(database: fixture.database, run: fixture.runA, options: ReportOptions(imageIDs: ["501", "77"]))
        } throws: { error in
            (error as? ReportError)?.description
                == "image 77 is not captioned in run 1 (tuesday); list ids as the captions table stores them (nightcap export gives them)"
        }
    }

    @Test func picturesAreFoundByTheDocumentedNamesAndEmbeddedScaledDown() throws {
        let fixture = try ReportFixture()
        #expect(ImageDirectory.candidateNames(for: "391895").contains("COCO_val2014_000000391895.jpg"))
        #expect(ImageDirectory.candidateNames(for: "391895").contains("000000391895.jpg"))
        #expect(ImageDirectory.candidateNames(for: "dog-7") == ["dog-7.jpg", "dog-7.jpeg", "dog-7.png"])
        // 502: a 400x200 PNG (a half-size copy of the 800x400 original the references name);
        // 503: a 1200x900 JPEG under its COCO name; 504: no picture; 505: a JPEG cut short.
        let png = TestPNG.encode(width: 400, height: 200, channels: 3, pixels: [UInt8](repeating: 120, count: 400 * 200 * 3))
        try png.write(to: fixture.directory.url.appendingPathComponent("502.png"))
        let jpeg = try Pictures.encodeJPEG(
            Pictures.RGBImage(width: 1200, height: 900, pixels: (0..<(1200 * 900 * 3)).map { UInt8(truncatingIfNeeded: $0 % 251) }),
            quality: 90)
        try jpeg.write(to: fixture.directory.url.appendingPathComponent("COCO_val2014_000000000503.jpg"))
        try jpeg.prefix(jpeg.count / 3).write(to: fixture.directory.url.appendingPathComponent("505.jpg"))
        let directory = ImageDirectory(path: fixture.directory.url.path, maxSide: 300)
        let picture502 = try #require(directory.picture(for: "502").picture)
        #expect([picture502.width, picture502.height, picture502.embeddedWidth, picture502.embeddedHeight] as [Int] == [400, 200, 300, 150])
        #expect(picture502.mimeType == "image/jpeg")
        let picture503 = try #require(directory.picture(for: "503").picture)
        #expect([picture503.width, picture503.height, picture503.embeddedWidth, picture503.embeddedHeight] as [Int] == [1200, 900, 300, 225])
        #expect(picture503.data.count * 4 < jpeg.count)
        #expect(directory.picture(for: "504") == .missing)
        guard case .unreadable(let file, let reason) = directory.picture(for: "505") else {
            Issue.record("a JPEG cut short was read")
            return
        }
        #expect(file == "505.jpg" && reason.contains("Premature end of JPEG file"))

        let html = try RunReport.html(
            database: fixture.database, run: fixture.runA,
            options: ReportOptions(imageIDs: ["502", "503", "504", "505"], images: directory))
        #expect(html.contains("href=\"data:image/jpeg;base64,\(picture502.data.base64EncodedString())\""))
        #expect(html.contains("href=\"data:image/jpeg;base64,\(picture503.data.base64EncodedString())\""))
        #expect(!html.contains(jpeg.base64EncodedString()))
        // 502: the boxes' coordinates are those of the 800x400 original the references name; the
        // scaled picture is stretched over it. 503: no size in the references, the picture's own
        // original size (not the embedded 300x225).
        #expect(html.contains("<image id=\"picture-1\" x=\"0\" y=\"0\" width=\"800\" height=\"400\""))
        #expect(html.contains("viewBox=\"0 0 800.0 400.0\""))
        #expect(html.contains("<image id=\"picture-2\" x=\"0\" y=\"0\" width=\"1200\" height=\"900\""))
        #expect(html.contains("viewBox=\"0 0 1200.0 900.0\""))
        #expect(html.contains("<use href=\"#picture-1\"/>") && html.contains("<use href=\"#picture-2\"/>"))
        #expect(!html.contains("#picture-3") && !html.contains("#picture-4"))
        #expect(html.contains(
            "<p class=\"note picture-note\">The picture 505.jpg was left out: the JPEG data cannot be decoded (Premature end of JPEG file). "
                + "The boxes are drawn over a plain frame.</p>"))
        #expect(html.components(separatedBy: "picture-note").count == 2)

        // The same report with the pictures as they are on disk would be several times larger.
        let larger = try RunReport.html(
            database: fixture.database, run: fixture.runA,
            options: ReportOptions(imageIDs: ["503"], images: ImageDirectory(path: fixture.directory.url.path, maxSide: 1200)))
        let smaller = try RunReport.html(
            database: fixture.database, run: fixture.runA, options: ReportOptions(imageIDs: ["503"], images: directory))
        #expect(larger.utf8.count > jpeg.count && smaller.utf8.count * 3 < larger.utf8.count)
    }

    /// Picture files are untrusted: random bytes and damaged JPEG and PNG files give a picture
    /// within the bound or a note, never a crash or an out-of-range read.
    @Test func damagedPicturesSurviveFuzzing() throws {
        let directory = TemporaryDirectory()
        var random = SeededGenerator(seed: 2026)
        let jpeg = [UInt8](try Pictures.encodeJPEG(
            Pictures.RGBImage(width: 96, height: 72, pixels: (0..<(96 * 72 * 3)).map { UInt8(truncatingIfNeeded: $0 * 7) }),
            quality: 80))
        let png = [UInt8](TestPNG.encode(width: 90, height: 60, channels: 3, pixels: [UInt8](repeating: 33, count: 90 * 60 * 3)))
        var found = 0, notes = 0
        for trial in 0..<300 {
            var bytes: [UInt8]
            switch trial % 3 {
            case 0: bytes = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            case 1: bytes = Array(jpeg.prefix(Int(random.next() % UInt64(jpeg.count + 1))))
            default: bytes = png
            }
            if trial % 3 != 0, !bytes.isEmpty {
                let flips = Int(random.next() % 3)
                for _ in 0..<flips { bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next()) }
            }
            let name = trial % 2 == 0 ? "\(trial).jpg" : "\(trial).png"
            try Data(bytes).write(to: directory.url.appendingPathComponent(name))
            switch ImageDirectory(path: directory.url.path, maxSide: 48).picture(for: String(trial)) {
            case .found(let picture):
                #expect(picture.width > 0 && picture.height > 0 && max(picture.embeddedWidth, picture.embeddedHeight) <= 48)
                found += 1
            case .unreadable(let file, let reason):
                #expect(file == name && !reason.isEmpty)
                notes += 1
            case .missing:
                Issue.record("\(name) exists")
            }
        }
        #expect(found > 20 && notes > 100)  // the intact and lightly damaged files still read
    }

    /// The image ids of the cards, in page order.
    static func cards(_ html: String) -> [String] {
        html.components(separatedBy: "<article class=\"image\"").dropFirst().compactMap { card in
            guard let start = card.range(of: "<h3>image "), let end = card.range(of: "</h3>") else { return nil }
            return card[start.upperBound..<end.lowerBound].split(separator: " ").first.map(String.init)
        }
    }
}
