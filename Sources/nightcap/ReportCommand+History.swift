import ArgumentParser
import Foundation
import ResultStore
import RunReport

extension Nightcap.Report {
    func validateHistory() throws {
        if history {
            if let runReference {
                throw ValidationError("Please give no run with --history (the page shows every run of a series; choose it with --series), not \(runReference).")
            }
            if versus != nil || ids != nil || images != nil {
                throw ValidationError("Please use --vs, --ids and --images with a run's report, not with --history.")
            }
        } else {
            if runReference == nil { throw ValidationError("Please give the run to report on (id or name), or --history for a series.") }
            if series != nil { throw ValidationError("Please use --series with --history.") }
        }
    }

    /// `report --history`: the page of a series.
    func writeHistory() throws {
        let results = try openResults(database)
        defer { try? results.close() }
        let chosen = try chooseSeries(results, named: series, databasePath: database.path)
        guard !chosen.runs.isEmpty else {
            throw CommandFailure("series \(chosen.name) in \(database.path) has no completed run yet: nothing to chart; finish a run of it first (`nightcap runs` shows their status)")
        }
        let page = try HistoryPage(database: results, series: chosen, bootstrap: bootstrapOptions.pairedBootstrap)
        do {
            try page.html.write(toFile: output, atomically: true, encoding: .utf8)
        } catch {
            throw CommandFailure("\(output): cannot write the report (\(error.localizedDescription))")
        }
        print(output)
    }
}
