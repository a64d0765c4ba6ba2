import Foundation
import ResultStore
import TestSupport
import Testing

/// The messages of `history`, `compare --against` and `report --history` when the series, the run
/// or the flags are not what they need.
@Suite(.timeLimit(.minutes(10))) struct SeriesCommandErrorTests {
    @Test func wrongSeriesRunsAndFlagsAreNamedWithTheFix() throws {
        let fixture = try RunFixture(images: 16)
        let db = fixture.path("r.sqlite")
        // Two series: the default one (features file and decode settings) and one named.
        #expect(try NightcapProcess.run(fixture.runArguments(database: db)).status == 0)
        #expect(try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--beam-size", "1", "--series", "greedy"])).status == 0)
        let defaultSeries = "features/beam_size=3/max_length=20/length_penalty=0.0"

        let listed = try NightcapProcess.run(["history", "--db", db])
        #expect(listed.status == 0, "\(listed.standardError)")
        #expect(listed.standardOutput.hasPrefix("\(db) holds 2 series:\nseries"), "\(listed.standardOutput)")
        #expect(listed.standardOutput.contains(defaultSeries) && listed.standardOutput.contains("greedy"))
        #expect(listed.standardOutput.hasSuffix("\n\nChoose one with --series NAME.\n"))
        let csv = try NightcapProcess.run(["history", "--db", db, "--format", "csv"])
        #expect(csv.status == 1)
        #expect(csv.standardError.contains("\(db) holds 2 series; choose one with --series NAME:"), "\(csv.standardError)")
        let one = try NightcapProcess.run(["history", "--db", db, "--series", "greedy", "--metric", "CIDEr"])
        #expect(one.status == 0 && one.standardOutput.hasPrefix("series greedy in \(db): 1 completed run, ordered by time (not every run's checkpoint records its training step)"), "\(one.standardOutput)")

        let unknown = try NightcapProcess.run(["history", "--db", db, "--series", "nope"])
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains(
            "\(db) has no series 'nope'; its series are: 'greedy', '\(defaultSeries)'. Pass one of them with --series"), "\(unknown.standardError)")
        let missing = try NightcapProcess.run(["history", "--db", fixture.path("none.sqlite")])
        #expect(missing.status == 1 && missing.standardError.contains("no results database at \(fixture.path("none.sqlite"))"))

        let noB = try NightcapProcess.run(["compare", "1", "--db", db])
        #expect(noB.status == 2 && noB.standardError.contains("Please give two runs (A B), or one run with --against best|previous."))
        let two = try NightcapProcess.run(["compare", "--against", "best", "1", "2", "--db", db])
        #expect(two.status == 2 && two.standardError.contains(
            "Please give one run with --against (it is compared with its series' best or previous run), not two (1 and 2)."))
        let seriesAlone = try NightcapProcess.run(["compare", "1", "2", "--series", "greedy", "--db", db])
        #expect(seriesAlone.status == 2 && seriesAlone.standardError.contains("Please use --series with --against best|previous."))
        let bestByPrevious = try NightcapProcess.run(["compare", "--against", "previous", "1", "--best-by", "Bleu_4", "--db", db])
        #expect(bestByPrevious.status == 2 && bestByPrevious.standardError.contains("Please use --best-by with --against best."))
        let noSuchSeries = try NightcapProcess.run(["compare", "--against", "best", "1", "--series", "nope", "--db", db])
        #expect(noSuchSeries.status == 1 && noSuchSeries.standardError.contains("\(db) has no series 'nope'; its series are: "), "\(noSuchSeries.standardError)")
        // Run 2 against the other series' best: run 1.
        let across = try NightcapProcess.run(["compare", "--against", "best", "2", "--series", defaultSeries, "--best-by", "Bleu_4", "--db", db])
        #expect(across.status == 0, "\(across.standardError)")
        #expect(across.standardOutput.hasPrefix("A is the best run of series \(defaultSeries) (by Bleu_4): run 1, model.h5, Bleu_4 "), "\(across.standardOutput)")
        let notInSeries = try NightcapProcess.run(["compare", "--against", "previous", "2", "--series", defaultSeries, "--db", db])
        #expect(notInSeries.status == 1 && notInSeries.standardError.contains(
            "run 2 (\(fixture.runName)#2, completed) is not a completed run of series \(defaultSeries), so it has no place in it"), "\(notInSeries.standardError)")

        let page = fixture.path("trend.html")
        let withRun = try NightcapProcess.run(["report", "--history", "1", "--db", db, "--out", page])
        #expect(withRun.status == 2 && withRun.standardError.contains("Please give no run with --history"))
        let nothing = try NightcapProcess.run(["report", "--db", db, "--out", page])
        #expect(nothing.status == 2 && nothing.standardError.contains("Please give the run to report on (id or name), or --history for a series."))
        let several = try NightcapProcess.run(["report", "--history", "--db", db, "--out", page])
        #expect(several.status == 1 && several.standardError.contains("\(db) holds 2 series; choose one with --series NAME:"))
        let written = try NightcapProcess.run(["report", "--history", "--series", "greedy", "--db", db, "--out", page])
        #expect(written.status == 0, "\(written.standardError)")
        #expect(try String(contentsOfFile: page, encoding: .utf8).contains("<figure class=\"trend\" data-metric=\"CIDEr\">"))

        let blank = try NightcapProcess.run(fixture.runArguments(database: db, extra: ["--series", " "]))
        #expect(blank.status == 2 && blank.standardError.contains("Please give --series a name that is not blank."))
    }
}
