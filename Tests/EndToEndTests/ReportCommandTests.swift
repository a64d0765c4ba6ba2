import CaptionMetrics
import Foundation
import GRDB
import ResultStore
import TestSupport
import Testing

/// `nightcap report` and the intervals of `nightcap compare`, run as the built binary.
@Suite(.timeLimit(.minutes(10))) struct ReportCommandTests {
    @Test func compareGivesIntervalsAndSignificantGatesPassNoise() throws {
        let fixture = try RunFixture(images: 24)
        let db = fixture.path("r.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--threads", "2"])).status == 0)
        #expect(try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--threads", "2", "--beam-size", "1"])).status == 0)

        let compared = try NightcapProcess.run(["compare", "1", "2", "--db", db, "--seed", "5"])
        #expect(compared.status == 0, "\(compared.standardError)")
        #expect(compared.standardOutput.contains("95% interval"))
        #expect(compared.standardOutput.contains("95% paired bootstrap intervals over the 24 images both runs scored (1000 resamples, seed 5)"))
        let again = try NightcapProcess.run(["compare", "1", "2", "--db", db, "--seed", "5"])
        #expect(again.standardOutput == compared.standardOutput)

        // A run against itself: every delta is 0 with the interval [0, 0], and no verdict. A gate that allows no
        // drop at all (-1: B must be 1 above A) fails plainly, but passes with --significant.
        let itself = try NightcapProcess.run(["compare", "1", "1", "--db", db, "--bootstrap", "200", "--confidence", "0.9"])
        #expect(itself.standardOutput.contains("+0.000  [+0.000, +0.000]  no difference"))
        #expect(itself.standardOutput.contains("90% paired bootstrap intervals over the 24 images both runs scored (200 resamples, seed 0)"))
        let plain = try NightcapProcess.run(["compare", "1", "1", "--db", db, "--max-drop", "CIDEr=-1"])
        #expect(plain.status == 3)
        #expect(plain.standardOutput.contains("gates failed:\n  CIDEr dropped by 0.0000, more than -1.0"))
        let significant = try NightcapProcess.run(["compare", "1", "1", "--db", db, "--max-drop", "CIDEr=-1", "--significant"])
        #expect(significant.status == 0, "\(significant.standardOutput)")
        #expect(significant.standardOutput.contains(
            "gates: all passed\n  CIDEr dropped by 0.0000, more than -1.0, but its interval [+0.0000, +0.0000] includes zero: not significant, passed"))

        let usage = try NightcapProcess.run(["compare", "1", "2", "--db", db, "--significant"])
        #expect(usage.status == 2)
        #expect(usage.standardError.contains("Please use --significant with a --max-drop gate"))
        let confidence = try NightcapProcess.run(["compare", "1", "2", "--db", db, "--confidence", "95"])
        #expect(confidence.status == 2)
        #expect(confidence.standardError.contains("Please give --confidence as a level between 0 and 1 (for example 0.95), not 95.0."))
    }

    @Test func reportWritesOnePageAndNamesBadInput() throws {
        let fixture = try RunFixture(images: 12)
        let db = fixture.path("r.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--threads", "2"])).status == 0)
        let page = fixture.path("report.html")
        let outcome = try NightcapProcess.run(["report", "1", "--db", db, "--worst", "3", "--best", "3", "--out", page])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput == page + "\n")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("Worst 3 by CIDEr") && html.contains("Best 3 by CIDEr"))
        #expect(html.components(separatedBy: "<article class=\"image\"").count == 7)

        let ids = fixture.path("ids.txt")
        try "# two images\n500003\n\n500001\n".write(toFile: ids, atomically: true, encoding: .utf8)
        let chosen = try NightcapProcess.run(["report", "1", "--db", db, "--ids", ids, "--out", page])
        #expect(chosen.status == 0, "\(chosen.standardError)")
        let chosenHTML = try String(contentsOfFile: page, encoding: .utf8)
        #expect(chosenHTML.contains("Selected images (2)"))
        #expect(chosenHTML.range(of: "<h3>image 500003")!.lowerBound < chosenHTML.range(of: "<h3>image 500001")!.lowerBound)

        try "500003\n42\n".write(toFile: ids, atomically: true, encoding: .utf8)
        let unknown = try NightcapProcess.run(["report", "1", "--db", db, "--ids", ids, "--out", page])
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("\(ids): image 42 is not captioned in run 1"))
        let missing = try NightcapProcess.run(["report", "1", "--db", db, "--ids", fixture.path("none.txt"), "--out", page])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("\(fixture.path("none.txt")): cannot read the ids file; pass --ids a text file with one image id per line"))
        let noImages = try NightcapProcess.run(["report", "1", "--db", db, "--images", fixture.path("pictures"), "--out", page])
        #expect(noImages.status == 1)
        #expect(noImages.standardError.contains("\(fixture.path("pictures")): no such directory; pass --images the directory that holds the pictures"))
        let unwritable = try NightcapProcess.run(["report", "1", "--db", db, "--out", fixture.path("no/such/dir/r.html")])
        #expect(unwritable.status == 1)
        #expect(unwritable.standardError.contains("\(fixture.path("no/such/dir/r.html")): cannot write the report"))
        let negative = try NightcapProcess.run(["report", "1", "--db", db, "--worst=-1", "--out", page])
        #expect(negative.status == 2)
        #expect(negative.standardError.contains("Please give --worst and --best as counts of 0 or more."))
        let tiny = try NightcapProcess.run(["report", "1", "--db", db, "--image-size", "0", "--out", page])
        #expect(tiny.status == 2)
        #expect(tiny.standardError.contains("Please give --image-size as a number of pixels from 16 to 4096 (default 480)."))
    }

    @Test func reportAndCompareAgreeOnWhatChangedWhenCIDErTies() throws {
        let fixture = try RunFixture(images: 24)
        let db = fixture.path("r.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db)).status == 0)
        #expect(try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--new-run"])).status == 0)
        // Five captions of run 2 reworded with their scores kept: CIDEr ties on every image.
        let queue = try DatabaseQueue(path: db)
        try queue.write { db in try db.execute(sql: "UPDATE captions SET caption = caption || ' again' WHERE run_id = 2 AND image_index < 5") }
        try queue.close()

        let compared = try NightcapProcess.run(["compare", "1", "2", "--db", db])
        #expect(compared.status == 0, "\(compared.standardError)")
        #expect(compared.standardOutput.contains("5 of 24 images changed caption or CIDEr"), "\(compared.standardOutput)")
        // Identical scores: a zero delta gets no verdict.
        #expect(compared.standardOutput.contains("+0.000  [+0.000, +0.000]  no difference"), "\(compared.standardOutput)")
        #expect(!compared.standardOutput.contains("better") && !compared.standardOutput.contains("worse"))

        let page = fixture.path("vs.html")
        let report = try NightcapProcess.run(["report", "1", "--vs", "2", "--db", db, "--out", page])
        #expect(report.status == 0, "\(report.standardError)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("5 of 24 images scored in both runs changed (a different caption or a different CIDEr), as `nightcap compare` counts them."))
        #expect(html.contains("Caption changed, CIDEr equal (5 of 5)"))
        #expect(html.components(separatedBy: "<article class=\"image\"").count == 6)
    }

    @Test func worstAndBestNeverShowTheSameImage() throws {
        let fixture = try RunFixture(images: 12)
        let db = fixture.path("r.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: db)).status == 0)
        let page = fixture.path("report.html")
        // The defaults (20 worst, 20 best) on 12 images: each image once.
        let outcome = try NightcapProcess.run(["report", "1", "--db", db, "--out", page])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("Worst 12 by CIDEr") && html.contains("Best 0 by CIDEr"))
        let headings = html.components(separatedBy: "<h3>image ").dropFirst().map { $0.prefix(while: { $0 != " " && $0 != "<" }) }
        #expect(headings.count == 12 && Set(headings).count == 12, "\(headings)")
        let split = try NightcapProcess.run(["report", "1", "--db", db, "--worst", "8", "--best", "8", "--out", page])
        #expect(split.status == 0)
        let splitHTML = try String(contentsOfFile: page, encoding: .utf8)
        #expect(splitHTML.contains("Worst 8 by CIDEr") && splitHTML.contains("Best 4 by CIDEr"))
    }
}

/// Reports of the demo run rendered by a real browser.
@Suite(.serialized, .timeLimit(.minutes(20))) struct ReportBrowserTests {
    static let repository = DemoTests.repository
    static let pictures = repository.appendingPathComponent("pipelines/demo/images").path

    /// Text of the page without its tags, spaces collapsed: what a reader sees.
    static func visibleText(_ html: String) -> String {
        let noTags = html.replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
        return noTags.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    @Test(.enabled(if: HeadlessChromium.installed != nil, Comment(rawValue: HeadlessChromium.skipMessage)))
    func theDemoReportRendersInChromium() throws {
        let chromium = try #require(HeadlessChromium.installed)
        let folder = TemporaryDirectory()
        let db = folder.path("demo.sqlite")
        #expect(try NightcapProcess.run(["run", DemoTests.pipeline, "--db", db, "--quiet", "--threads", "2"]).status == 0)
        #expect(try NightcapProcess.run(["run", DemoTests.pipeline, "--db", db, "--quiet", "--threads", "2", "--beam-size", "1"]).status == 0)

        let page = folder.path("demo.html")
        let written = try NightcapProcess.run(
            ["report", "1", "--db", db, "--images", Self.pictures, "--worst", "4", "--best", "4", "--out", page])
        #expect(written.status == 0, "\(written.standardError)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        // Nothing is loaded from the network: no http:// or https:// anywhere in the file.
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(html.components(separatedBy: "href=\"data:image/png;base64,").count == 9)

        // The listed images: the 4 worst and 4 best by CIDEr, read from the database.
        let database = try ResultDatabase(path: db, readOnly: true)
        let ciders = try database.imageMetrics(runID: 1, metric: .cider)
        let captions = Dictionary(uniqueKeysWithValues: try database.captions(runID: 1).map { ($0.imageID, $0.caption) })
        try database.close()
        let indexed = ciders.enumerated().map { (offset: $0.offset, id: $0.element.imageID, cider: $0.element.value) }
        let worst = indexed.sorted { ($0.cider, $0.offset) < ($1.cider, $1.offset) }.prefix(4)
        let best = indexed.sorted { ($1.cider, $0.offset) < ($0.cider, $1.offset) }.prefix(4)

        let dom = try chromium.dumpDOM(page)
        #expect(!dom.timedOut && dom.status == 0, "\(dom.standardError.suffix(2000))")
        #expect(dom.standardOutput.contains("data-js=\"ok\""), "the report's script did not finish")
        #expect(!dom.standardOutput.contains("<li>script error"), "\(dom.standardOutput.components(separatedBy: "js-errors").dropFirst().first ?? "")")
        let text = Self.visibleText(dom.standardOutput)
        for image in worst + best {
            #expect(text.contains("image \(image.id)"))
            #expect(text.contains(captions[image.id]!), "caption of \(image.id)")
        }
        // The script named each shown caption's first word's top region.
        #expect(dom.standardOutput.components(separatedBy: "looked most at region").count == 9)

        let png = folder.path("demo.png")
        let shot = try chromium.screenshot(page, to: png)
        #expect(!shot.timedOut && shot.status == 0, "\(shot.standardError.suffix(2000))")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(bytes.count > 10_000)

        // The demo's 320x240 pictures scaled to 160 pixels: re-encoded as JPEG, still drawn over the
        // 640x480 frame of the originals its references file names (the boxes' coordinates), and
        // the page still renders.
        let scaledPage = folder.path("scaled.html")
        let scaled = try NightcapProcess.run(
            ["report", "1", "--db", db, "--images", Self.pictures, "--image-size", "160", "--worst", "4", "--best", "4",
             "--out", scaledPage])
        #expect(scaled.status == 0, "\(scaled.standardError)")
        let scaledHTML = try String(contentsOfFile: scaledPage, encoding: .utf8)
        #expect(scaledHTML.components(separatedBy: "href=\"data:image/jpeg;base64,").count == 9)
        #expect(scaledHTML.components(separatedBy: "width=\"640\" height=\"480\" preserveAspectRatio=\"none\"").count == 9)
        let scaledDOM = try chromium.dumpDOM(scaledPage)
        #expect(scaledDOM.standardOutput.contains("data-js=\"ok\""))

        // Two runs side by side: both captions, the intervals, and the script ran.
        let versus = folder.path("versus.html")
        let compared = try NightcapProcess.run(
            ["report", "1", "--vs", "2", "--db", db, "--images", Self.pictures, "--worst", "3", "--best", "3", "--out", versus])
        #expect(compared.status == 0, "\(compared.standardError)")
        let versusDOM = try chromium.dumpDOM(versus)
        #expect(versusDOM.standardOutput.contains("data-js=\"ok\""))
        #expect(Self.visibleText(versusDOM.standardOutput).contains("95% interval"))
        #expect(versusDOM.standardOutput.components(separatedBy: "looked most at region").count > 6)

        // The check can fail: a page whose data is broken reports the error in the page.
        let broken = folder.path("broken.html")
        try html.replacingOccurrences(of: "id=\"attention-data\">{", with: "id=\"attention-data\">{{")
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let brokenDOM = try chromium.dumpDOM(broken)
        #expect(brokenDOM.standardOutput.contains("data-js=\"error\""))
        #expect(brokenDOM.standardOutput.contains("<li>script error: "))
    }
}
