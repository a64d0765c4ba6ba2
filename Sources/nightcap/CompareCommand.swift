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
                With --against best|previous and one RUN, A is the best run of RUN's series (by CIDEr unless \
                --best-by says otherwise) or the run before RUN in the series (docs/nightly.md). \
                Two runs that share no image cannot be compared: that is refused with exit code 5.
                """)

        @Argument(help: "The baseline run (id or name); with --against, the run to check (B).") var runA: String
        @Argument(help: "The run compared with it (id or name); not with --against.") var runB: String?
        @Option(help: "Compare the one RUN given with its series' best run or the run before it: best or previous.")
        var against: SeriesBaseline?
        @Option(help: "With --against: the series (default: RUN's own series).") var series: String?
        @Option(name: .customLong("best-by"), help: "With --against best: the metric that decides the best run (default CIDEr).")
        var bestBy: Metric?
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
        @Flag(help: "Print the comparison as JSON (keys: docs/database.md); the exit codes stay.") var json = false

        func validate() throws {
            try validateAgainst()
            if significant && maxDrop.isEmpty {
                throw ValidationError("Please use --significant with a --max-drop gate (it decides when a drop fails).")
            }
        }

        func run() throws {
            let results = try openResults(database)
            defer { try? results.close() }
            guard let resolved = try resolveRuns(results) else { return }
            let (a, b, baseline) = resolved
            let metricsA = try results.runMetrics(runID: a.runID), metricsB = try results.runMetrics(runID: b.runID)
            var lines = ["A = run \(a.runID) (\(a.name), \(a.status.rawValue)), B = run \(b.runID) (\(b.name), \(b.status.rawValue))", ""]
            if let baseline { lines.insert(baseline, at: 0) }
            let comparison: RunComparison
            do {
                comparison = try RunComparison(database: results, runA: a, runB: b, bootstrap: bootstrapOptions.pairedBootstrap)
            } catch let error as IncomparableRuns {
                throw refusal(error)
            }
            let intervals = Dictionary(uniqueKeysWithValues: comparison.metrics.map { ($0.metric, $0.interval) })
            let (rows, metricObjects) = metricRows(metricsA: metricsA, metricsB: metricsB, intervals: intervals)
            lines.append(table(rows))
            lines.append(comparison.methodDescription)

            let (changed, imagesB) = try changedImages(results, a: a, b: b)
            lines.append("")
            lines.append("\(changed.count) of \(imagesB.count) images changed caption or \(by); the \(min(top, changed.count)) that changed most:")
            for item in changed.prefix(top) {
                lines.append("  \(item.id)  \(by) \(format(item.a.metrics[by])) -> \(format(item.b.metrics[by])) (\(String(format: "%+.3f", item.delta)))")
                lines.append("    A: \(item.a.caption)")
                lines.append("    B: \(item.b.caption)")
            }

            let (failed, notes) = checkGates(a: a, metricsA: metricsA, b: b, metricsB: metricsB, intervals: intervals)
            if !maxDrop.isEmpty || !minimum.isEmpty {
                lines.append("")
                lines.append(failed.isEmpty ? "gates: all passed" : "gates failed:\n" + failed.map { "  \($0)" }.joined(separator: "\n"))
                lines += notes.map { "  \($0)" }
            }
            if json {
                func side(_ run: RunRecord) -> [String: Any] { ["run_id": run.runID, "name": run.name, "status": run.status.rawValue] }
                print(JSONOutput.render([
                    "a": side(a), "b": side(b), "metrics": metricObjects, "confidence": bootstrapOptions.confidence,
                    "paired_images": comparison.pairedImages, "changed_by": by.rawValue, "images_compared": imagesB.count,
                    "images_changed": changed.count,
                    "changed": changed.prefix(top).map { item -> [String: Any] in
                        [
                            "image_id": item.id, "a": JSONOutput.orNull(item.a.metrics[by]), "b": JSONOutput.orNull(item.b.metrics[by]),
                            "delta": item.delta, "caption_a": item.a.caption, "caption_b": item.b.caption,
                        ]
                    },
                    "gates": JSONOutput.orNull(maxDrop.isEmpty && minimum.isEmpty ? nil : ["passed": failed.isEmpty, "failed": failed, "notes": notes] as [String: Any]),
                ] as [String: Any]))
            } else {
                print(lines.joined(separator: "\n"))
            }
            if !failed.isEmpty { throw ExitCode(3) }
        }
    }
}

extension Nightcap.Compare {
    /// Which run lacks a gate's metric, and why: not finished (interrupted, failed, running) or not scored.
    static func missingMetric(_ metric: Metric, a: RunRecord, metricsA: [Metric: Double], b: RunRecord, metricsB: [Metric: Double]) -> String {
        func why(_ run: RunRecord) -> String {
            if run.status != .completed { return "it is \(run.status.rawValue); finish it with the same `nightcap run` command" }
            if !run.isScored { return "it is not scored; `nightcap score \(run.runID) --references FILE` scores it" }
            return "it has no \(metric)"
        }
        let lacking = [(label: "A", run: a, has: metricsA[metric] != nil), (label: "B", run: b, has: metricsB[metric] != nil)]
            .filter { !$0.has }
        return lacking.map { "not computed for run \($0.label) = \($0.run.runID) (\($0.run.name)): \(why($0.run))" }.joined(separator: "; ")
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

extension Nightcap.Compare {
    /// An image whose caption or --by score changed between the runs.
    typealias ChangedImage = (id: String, a: CaptionWithMetrics, b: CaptionWithMetrics, delta: Double)

    /// The metric table's rows (with its header) and the JSON's metric objects.
    func metricRows(metricsA: [Metric: Double], metricsB: [Metric: Double], intervals: [Metric: DeltaInterval?])
        -> (rows: [[String]], objects: [[String: Any]])
    {
        let percent = bootstrapOptions.confidence * 100
        let level = percent == percent.rounded() ? String(Int(percent)) : String(format: "%.1f", percent)
        var rows = [["metric", "A", "B", "B - A", "\(level)% interval", "verdict"]]
        var metricObjects: [[String: Any]] = []
        for metric in Metric.allCases {
            guard metricsA[metric] != nil || metricsB[metric] != nil else { continue }
            let delta = metricsA[metric].flatMap { x in metricsB[metric].map { $0 - x } }
            let interval = intervals[metric] ?? nil
            rows.append([
                metric.rawValue, format(metricsA[metric]), format(metricsB[metric]), delta.map { String(format: "%+.3f", $0) } ?? "-",
                interval.map { String(format: "[%+.3f, %+.3f]", $0.lower, $0.upper) } ?? "-",
                interval.map { $0.verdict } ?? "",
            ])
            metricObjects.append([
                "metric": metric.rawValue, "a": JSONOutput.orNull(metricsA[metric]), "b": JSONOutput.orNull(metricsB[metric]),
                "delta": JSONOutput.orNull(delta), "lower": JSONOutput.orNull(interval?.lower),
                "upper": JSONOutput.orNull(interval?.upper), "verdict": JSONOutput.orNull(interval?.verdict),
            ])
        }
        return (rows, metricObjects)
    }

    /// The images that changed caption or --by score, most changed first, and run B's images.
    func changedImages(_ results: ResultDatabase, a: RunRecord, b: RunRecord) throws
        -> (changed: [ChangedImage], imagesB: [CaptionWithMetrics])
    {
        let imagesA = Dictionary(uniqueKeysWithValues: try results.captionsWithMetrics(runID: a.runID).map { ($0.imageID, $0) })
        let imagesB = try results.captionsWithMetrics(runID: b.runID)
        let changed = imagesB.compactMap { image -> ChangedImage? in
            guard let before = imagesA[image.imageID] else { return nil }
            let delta = (image.metrics[by] ?? 0) - (before.metrics[by] ?? 0)
            guard delta != 0 || before.caption != image.caption else { return nil }
            return (image.imageID, before, image, delta)
        }.sorted { abs($0.delta) > abs($1.delta) || (abs($0.delta) == abs($1.delta) && $0.id < $1.id) }
        return (changed, imagesB)
    }

    /// The --max-drop and --min gates: the ones that failed, and notes on drops that were not significant.
    func checkGates(
        a: RunRecord, metricsA: [Metric: Double], b: RunRecord, metricsB: [Metric: Double], intervals: [Metric: DeltaInterval?]
    ) -> (failed: [String], notes: [String]) {
        var failed: [String] = [], notes: [String] = []
        for gate in maxDrop {
            guard let before = metricsA[gate.metric], let after = metricsB[gate.metric] else {
                failed.append("\(gate.metric): " + Self.missingMetric(gate.metric, a: a, metricsA: metricsA, b: b, metricsB: metricsB))
                continue
            }
            if before - after > gate.value {
                let drop = "\(gate.metric) dropped by \(String(format: "%.4f", before - after)), more than \(gate.value)"
                if significant {
                    guard let interval = intervals[gate.metric] ?? nil else {
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
            guard let after = metricsB[gate.metric] else {
                failed.append("\(gate.metric): " + Self.missingMetric(gate.metric, a: a, metricsA: metricsA, b: b, metricsB: metricsB))
                continue
            }
            if after < gate.value { failed.append("\(gate.metric) is \(String(format: "%.4f", after)), below \(gate.value)") }
        }
        return (failed, notes)
    }
}
