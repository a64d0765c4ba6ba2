import Foundation
import ResultStore
import TestSupport
import Testing

/// A checkpoint evaluated in parts (`run --part I/N`, as `nightcap slurm` runs it) joins its series
/// once merged: the merged run keeps the parts' series and checkpoint.
@Suite(.timeLimit(.minutes(10))) struct MergedSeriesTests {
    @Test func theMergedRunKeepsThePartsSeriesAndCheckpoint() throws {
        let fixture = try RunFixture(images: 24)
        let series = fixture.path("series.sqlite")
        #expect(try NightcapProcess.run(fixture.runArguments(database: series, extra: ["--series", "run7"])).status == 0)
        for index in 0..<2 {
            let part = try NightcapProcess.run(
                fixture.runArguments(database: fixture.path("part-\(index).sqlite"), extra: ["--part", "\(index)/2", "--series", "run7", "--beam-size", "2"]))
            #expect(part.status == 0, "\(part.standardError)")
        }
        let merged = try NightcapProcess.run(["merge", fixture.path("part-0.sqlite"), fixture.path("part-1.sqlite"), "--db", series, "--quiet"])
        #expect(merged.status == 0, "\(merged.standardError)")

        let database = try ResultDatabase(path: series, readOnly: true)
        defer { try? database.close() }
        #expect(try database.series(runID: 2) == "run7")
        #expect(try database.checkpoint(runID: 2)?.path == fixture.model)
        #expect(try database.runSeries("run7")?.runs.map(\.run.runID) == [1, 2])
        let history = try NightcapProcess.run(["history", "--db", series])
        #expect(history.status == 0 && history.standardOutput.hasPrefix("series run7 in \(series): 2 completed runs"), "\(history.standardOutput)")
    }
}
