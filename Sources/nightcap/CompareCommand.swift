import ArgumentParser
import CaptionMetrics
import Foundation
import ResultStore
import RunReport

extension Nightcap {
    /// `nightcap compare A B`: metric deltas, the images that changed most, and gates for nightly jobs.
    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare two runs: metric deltas (B - A) and the images whose captions or scores changed most.",
            discussion: """
                Gates for a nightly job: --max-drop CIDEr=0.02 fails when B's CIDEr is more than 0.02 below A's; \
                --min Bleu_4=0.30 fails when B's Bleu_4 is below 0.30. A failed gate exits with code 3. \
                Each delta has a paired bootstrap confidence interval over the images both runs scored \
                (BLEU from the per-image n-gram statistics, CIDEr and ROUGE_L from the per-image scores); \
                with --significant a drop beyond --max-drop fails only when its interval excludes zero. \
                Two runs that share no image cannot be compared: that is refused with exit code 5.
                """)

        @Argument(help: "The baseline run (id or name).") var runA: String
        @Argument(help: "The run compared with it (id or name).") var runB: String
        @Option(help: "Images to list, ordered by the change of --by (default 10).") var top = 10
        @Option(help: "The per-image metric that orders the changed images (default CIDEr).") var by = Metric.cider
        @Option(
            name: .customLong("max-drop"), parsing: .singleValue, help: "METRIC=DELTA: fail if B is more than DELTA below A.",
            transform: { try MetricGate(parsing: $0, flag: "--max-drop") })
        var maxDrop: [MetricGate] = []
        @Option(
            name: .customLong("min"), parsing: .singleValue, help: "METRIC=VALUE: fail if B is below VALUE.",
            transform: { try MetricGate(parsing: $0, flag: "--min") })
        var minimum: [MetricGate] = []
        @Flag(help: "A --max-drop gate fails only when the drop's confidence interval excludes zero.")
        var significant = false
        @OptionGroup var bootstrapOptions: BootstrapOptions
        @OptionGroup var database: DatabaseOption

        func validate() throws {
            if significant && maxDrop.isEmpty {
                throw ValidationError("Please use --significant with a --max-drop gate (it decides when a drop fails).")
            }
        }

        func run() throws {
            let results = try openResults(database)
            defer { try? results.close() }
            let a = try results.run(reference: runA), b = try results.run(reference: runB)
            let metricsA = try results.runMetrics(runID: a.runID), metricsB = try results.runMetrics(runID: b.runID)
            var lines = ["A = run \(a.runID) (\(a.name), \(a.status.rawValue)), B = run \(b.runID) (\(b.name), \(b.status.rawValue))", ""]
            let comparison: RunComparison
            do {
                comparison = try RunComparison(database: results, runA: a, runB: b, bootstrap: bootstrapOptions.pairedBootstrap)
            } catch let error as IncomparableRuns {
                throw refusal(error)
            }
            let intervals = Dictionary(uniqueKeysWithValues: comparison.metrics.map { ($0.metric.rawValue, $0.interval) })
            let percent = bootstrapOptions.confidence * 100
            let level = percent == percent.rounded() ? String(Int(percent)) : String(format: "%.1f", percent)
            var rows = [["metric", "A", "B", "B - A", "\(level)% interval", "verdict"]]
            for metric in Metric.allCases {
                let name = metric.rawValue
                guard metricsA[name] != nil || metricsB[name] != nil else { continue }
                let delta = metricsA[name].flatMap { x in metricsB[name].map { $0 - x } }
                let interval = intervals[name] ?? nil
                rows.append([
                    name, format(metricsA[name]), format(metricsB[name]), delta.map { String(format: "%+.3f", $0) } ?? "-",
                    interval.map { String(format: "[%+.3f, %+.3f]", $0.lower, $0.upper) } ?? "-",
                    interval.map { $0.excludesZero ? ($0.upper < 0 ? "worse" : "better") : "within noise" } ?? "",
                ])
            }
            lines.append(table(rows))
            lines.append(comparison.methodDescription)

            let imagesA = Dictionary(uniqueKeysWithValues: try results.captionsWithMetrics(runID: a.runID).map { ($0.imageID, $0) })
            let imagesB = try results.captionsWithMetrics(runID: b.runID)
            let changed = imagesB.compactMap { image -> (id: String, a: CaptionWithMetrics, b: CaptionWithMetrics, delta: Double)? in
                guard let before = imagesA[image.imageID] else { return nil }
                let delta = (image.metrics[by.rawValue] ?? 0) - (before.metrics[by.rawValue] ?? 0)
                guard delta != 0 || before.caption != image.caption else { return nil }
                return (image.imageID, before, image, delta)
            }.sorted { abs($0.delta) > abs($1.delta) || (abs($0.delta) == abs($1.delta) && $0.id < $1.id) }
            lines.append("")
            lines.append("\(changed.count) of \(imagesB.count) images changed caption or \(by); the \(min(top, changed.count)) that changed most:")
            for item in changed.prefix(top) {
                lines.append("  \(item.id)  \(by) \(format(item.a.metrics[by.rawValue])) -> \(format(item.b.metrics[by.rawValue])) (\(String(format: "%+.3f", item.delta)))")
                lines.append("    A: \(item.a.caption)")
                lines.append("    B: \(item.b.caption)")
            }

            var failed: [String] = [], notes: [String] = []
            for gate in maxDrop {
                guard let before = metricsA[gate.metric.rawValue], let after = metricsB[gate.metric.rawValue] else {
                    failed.append("\(gate.metric): not computed for both runs")
                    continue
                }
                if before - after > gate.value {
                    let drop = "\(gate.metric) dropped by \(String(format: "%.4f", before - after)), more than \(gate.value)"
                    if significant {
                        guard let interval = intervals[gate.metric.rawValue] ?? nil else {
                            failed.append("\(drop); no interval (the runs share no image with per-image scores)")
                            continue
                        }
                        let bounds = String(format: "[%+.4f, %+.4f]", interval.lower, interval.upper)
                        if interval.upper < 0 {
                            failed.append("\(drop), and its interval \(bounds) excludes zero")
                        } else {
                            notes.append("\(drop), but its interval \(bounds) includes zero: not significant, passed")
                        }
                    } else {
                        failed.append(drop)
                    }
                }
            }
            for gate in minimum {
                guard let after = metricsB[gate.metric.rawValue] else {
                    failed.append("\(gate.metric): not computed for run B")
                    continue
                }
                if after < gate.value { failed.append("\(gate.metric) is \(String(format: "%.4f", after)), below \(gate.value)") }
            }
            if !maxDrop.isEmpty || !minimum.isEmpty {
                lines.append("")
                lines.append(failed.isEmpty ? "gates: all passed" : "gates failed:\n" + failed.map { "  \($0)" }.joined(separator: "\n"))
                lines += notes.map { "  \($0)" }
            }
            print(lines.joined(separator: "\n"))
            if !failed.isEmpty { throw ExitCode(3) }
        }
    }
}

/// A gate of `compare`, `METRIC=NUMBER` on the command line.
struct MetricGate: Sendable, Equatable {
    var metric: Metric
    var value: Double

    init(metric: Metric, value: Double) {
        self.metric = metric
        self.value = value
    }

    /// Parses `METRIC=NUMBER`; a wrong form or name is a usage error that says what `flag` takes.
    init(parsing text: String, flag: String) throws {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let value = Double(parts[1]) else {
            throw ValidationError("Please write \(flag) as METRIC=NUMBER (for example CIDEr=0.02), not \(text).")
        }
        guard let metric = Metric(rawValue: parts[0]) else {
            throw ValidationError("Please use one of \(Metric.validNames) in \(flag), not \(parts[0]).")
        }
        self.metric = metric
        self.value = value
    }
}

extension Metric: ExpressibleByArgument {}
