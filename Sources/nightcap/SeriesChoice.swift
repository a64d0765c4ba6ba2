import Foundation
import ResultStore

/// The series a command reads: the one named with `--series`, or the file's only series. With
/// several series and none named, the error lists them and says how to choose.
func chooseSeries(_ results: ResultDatabase, named requested: String?, databasePath: String) throws -> RunSeries {
    let all = try results.listSeries()
    if let requested {
        guard let series = try results.runSeries(requested) else {
            throw CommandFailure(
                "\(databasePath) has no series '\(requested)'; its series are: \(all.map { "'\($0.name)'" }.joined(separator: ", "))"
                    + (all.isEmpty ? "none (no runs yet)" : "") + ". Pass one of them with --series (`nightcap history --db \(databasePath)` lists them)")
        }
        return series
    }
    guard let only = all.first else {
        throw CommandFailure("no runs in \(databasePath); run `nightcap run` first, or pass --db with the database it wrote")
    }
    guard all.count == 1 else { throw SeveralSeries(series: all, databasePath: databasePath) }
    return try results.runSeries(only.name)!
}

/// The file has several series and the command was not told which: their list, and how to choose.
struct SeveralSeries: Error, CustomStringConvertible {
    var series: [SeriesSummary]
    var databasePath: String

    var listing: String {
        var rows = [["series", "completed runs", "runs", "newest run started"]]
        for entry in series { rows.append([entry.name, String(entry.completedRuns), String(entry.runs), entry.latest]) }
        return table(rows)
    }

    var description: String {
        "\(databasePath) holds \(series.count) series; choose one with --series NAME:\n\(listing)"
    }
}

extension SeriesRun {
    /// `model-3000.pth (step 3000)`, for lines that name a run's checkpoint.
    var checkpointText: String {
        guard let checkpoint else { return run.modelPath.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "-" }
        return checkpoint.fileName + (checkpoint.trainingStep.map { " (step \($0))" } ?? "")
    }
}
