import ArgumentParser
import CaptionMetrics
import Foundation
import ResultStore

/// `compare --against`: which run of the series RUN is compared with.
enum SeriesBaseline: String, ExpressibleByArgument, CaseIterable {
    /// The run of the series with the highest --best-by metric (CIDEr by default), RUN excluded.
    case best
    /// The run just before RUN in the series' order (training step, else time).
    case previous
}

extension Nightcap.Compare {
    func validateAgainst() throws {
        if against == nil {
            if runB == nil {
                throw ValidationError("Please give two runs (A B), or one run with --against best|previous.")
            }
            if series != nil { throw ValidationError("Please use --series with --against best|previous.") }
            if bestBy != nil { throw ValidationError("Please use --best-by with --against best.") }
        } else {
            if let runB {
                throw ValidationError("Please give one run with --against (it is compared with its series' best or previous run), not two (\(runA) and \(runB)).")
            }
            if bestBy != nil && against != .best { throw ValidationError("Please use --best-by with --against best.") }
        }
    }

    /// Runs A and B, and with --against a line saying which run A is and why; nil (after saying so)
    /// when the series has no run to compare RUN with.
    func resolveRuns(_ results: ResultDatabase) throws -> (RunRecord, RunRecord, String?)? {
        guard let against else {
            return (try results.run(reference: runA), try results.run(reference: runB!), nil)
        }
        let run = try results.run(reference: runA)
        let name = try series ?? results.series(runID: run.runID)
        guard let chosen = try results.runSeries(name) else {
            let names = try results.listSeries().map { "'\($0.name)'" }.joined(separator: ", ")
            throw CommandFailure("\(database.path) has no series '\(name)'; its series are: \(names). Pass one of them with --series")
        }
        switch against {
        case .best:
            let metric = bestBy ?? .cider
            guard let best = chosen.best(by: metric.rawValue, excluding: run.runID) else {
                print("run \(run.runID) (\(run.name)): no other completed run of series \(name) has \(metric): nothing to compare against; no gate was applied")
                return nil
            }
            let how = bestBy == nil ? "by \(metric), the default; --best-by chooses another metric" : "by \(metric)"
            return (best.run, run, "A is the best run of series \(name) (\(how)): run \(best.run.runID), \(best.checkpointText), \(metric) \(format(best.metrics[metric.rawValue]))")
        case .previous:
            guard let index = chosen.index(of: run.runID) else {
                throw CommandFailure(
                    "run \(run.runID) (\(run.name), \(run.status.rawValue)) is not a completed run of series \(name), so it has no place in it: "
                        + "compare a completed run of the series, or use --against best, or name the two runs")
            }
            guard index > 0 else {
                print("run \(run.runID) (\(run.name)) is the first completed run of series \(name) (by \(chosen.order.rawValue)): nothing to compare against; no gate was applied")
                return nil
            }
            let previous = chosen.runs[index - 1]
            return (previous.run, run, "A is the run before run \(run.runID) in series \(name) (by \(chosen.order.rawValue)): run \(previous.run.runID), \(previous.checkpointText)")
        }
    }
}
