import CaptionMetrics
import Foundation
import ResultStore

/// The self-contained page of a series (`nightcap report --history`): one line chart per metric
/// over the series' runs in training order, each point naming its run and checkpoint, the best
/// point marked, and each drop beyond its bootstrap noise flagged.
///
/// A drop is flagged when a run's metric is below the previous run's and the paired bootstrap
/// interval of the difference (over the images both runs scored, `RunComparison`) lies wholly
/// below zero.
public struct HistoryPage: Sendable {
    /// One point of a chart.
    public struct Point: Sendable, Hashable {
        public var run: SeriesRun
        public var value: Double
        /// The change from the previous run and its interval; nil for the first run.
        public var delta: Double?
        public var interval: DeltaInterval?
        public var isBest: Bool
        /// The drop from the previous run lies beyond its bootstrap noise.
        public var isRegression: Bool
    }

    /// One chart.
    public struct Chart: Sendable, Hashable {
        public var metric: Metric
        public var points: [Point]
    }

    public var series: RunSeries
    public var charts: [Chart]
    public var bootstrap: PairedBootstrap

    /// Reads the per-image scores of each pair of consecutive runs and computes the intervals.
    /// `metrics` empty: every metric the runs have.
    public init(database: ResultDatabase, series: RunSeries, metrics: [Metric] = [], bootstrap: PairedBootstrap) throws {
        self.series = series
        self.bootstrap = bootstrap
        var intervals: [[Metric: DeltaInterval]] = [[:]]
        for index in series.runs.indices.dropFirst() {
            let comparison = try RunComparison(
                database: database, runA: series.runs[index - 1].run, runB: series.runs[index].run, bootstrap: bootstrap)
            var byMetric: [Metric: DeltaInterval] = [:]
            for delta in comparison.metrics { byMetric[delta.metric] = delta.interval }
            intervals.append(byMetric)
        }
        let shown = metrics.isEmpty
            ? Metric.allCases.filter { metric in series.runs.contains { $0.metrics[metric.rawValue] != nil } }
            : metrics
        charts = shown.map { metric in
            let name = metric.rawValue
            let best = series.best(by: name)?.run.runID
            var points: [Point] = []
            for (index, run) in series.runs.enumerated() {
                guard let value = run.metrics[name] else { continue }
                let delta = series.delta(index, metric: name)
                let interval = index > 0 ? intervals[index][metric] : nil
                let isRegression = (delta ?? 0) < 0 && (interval.map { $0.upper < 0 } ?? false)
                points.append(
                    Point(run: run, value: value, delta: delta, interval: interval, isBest: run.run.runID == best, isRegression: isRegression))
            }
            return Chart(metric: metric, points: points)
        }
    }

    /// The page as one HTML document.
    public var html: String {
        var page = ""
        let title = "nightcap history: \(series.name)"
        page += """
            <!DOCTYPE html>
            <html lang="en" data-js="pending"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>\(ReportAssets.css)\(Self.css)</style></head><body>
            <header><h1>\(escape(title))</h1></header>
            <ul id="js-errors" hidden></ul>
            """
        let percent = bootstrap.confidence * 100
        let level = percent == percent.rounded() ? String(Int(percent)) : String(format: "%.1f", percent)
        page += "<p class=\"note\">\(series.runs.count) completed runs ordered by \(series.order.rawValue)"
        if series.order == .time && !series.runs.isEmpty { page += " (not every run's checkpoint records its training step)" }
        page += ". The best point of each chart is ringed; a red point dropped from the previous run by more than its noise: "
            + "the \(level)% paired bootstrap interval of the drop, over the images both runs scored (\(bootstrap.resamples) resamples, "
            + "seed \(bootstrap.seed)), lies below zero. Hover over a point for its run and checkpoint.</p>"
        if !series.unfinished.isEmpty {
            page += "<p class=\"note\">Not completed, not shown: "
                + escape(series.unfinished.map { "run \($0.runID) (\($0.status.rawValue))" }.joined(separator: ", ")) + ".</p>"
        }
        page += "<section class=\"charts\">"
        for chart in charts { page += svg(chart, level: level) }
        page += "</section>"

        let regressions = charts.flatMap { chart in chart.points.filter(\.isRegression).map { (chart.metric, $0) } }
        page += "<section class=\"regressions\"><h2>Drops beyond noise (\(regressions.count))</h2>"
        if regressions.isEmpty {
            page += "<p>None: no run fell below the previous one by more than its bootstrap noise.</p>"
        } else {
            page += "<ul>"
            for (metric, point) in regressions {
                page += "<li class=\"regression\">\(escape(metric.rawValue)): run \(point.run.run.runID) (\(escape(Self.checkpointName(point.run))))"
                    + " \(fixed(point.value)), \(signed(point.delta ?? 0)) from the previous run, interval "
                    + "[\(signed(point.interval?.lower ?? 0)), \(signed(point.interval?.upper ?? 0))]</li>"
            }
            page += "</ul>"
        }
        page += "</section>"

        page += "<section class=\"runs\"><h2>Runs</h2><table class=\"series\"><tr><th>run</th><th>name</th><th>checkpoint</th>"
            + "<th>step</th><th>epoch</th><th>best val score</th><th>size</th><th>modified</th><th>started</th>"
            + charts.map { "<th>\(escape($0.metric.rawValue))</th>" }.joined() + "</tr>"
        for run in series.runs {
            let checkpoint = run.checkpoint
            page += "<tr><td>\(run.run.runID)</td><td>\(escape(run.run.name))</td><td>\(escape(checkpoint?.path ?? run.run.modelPath ?? "-"))</td>"
                + "<td>\(checkpoint?.trainingStep.map(String.init) ?? "-")</td><td>\(checkpoint?.epoch.map(String.init) ?? "-")</td>"
                + "<td>\(checkpoint?.bestValidationScore.map { fixed($0, 4) } ?? "-")</td>"
                + "<td>\(checkpoint?.sizeBytes.map { String($0) } ?? "-")</td><td>\(escape(checkpoint?.modifiedAt ?? "-"))</td>"
                + "<td>\(escape(run.run.createdAt))</td>"
                + charts.map { "<td>\(run.metrics[$0.metric.rawValue].map { fixed($0) } ?? "-")</td>" }.joined() + "</tr>"
        }
        page += "</table></section>"
        page += "<footer>Written by nightcap report --history.</footer>"
        page += "<script>\(Self.script)</script></body></html>\n"
        return page
    }

    static func checkpointName(_ run: SeriesRun) -> String {
        let file = run.checkpoint?.fileName ?? run.run.modelPath.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "no checkpoint recorded"
        return file + (run.trainingStep.map { ", step \($0)" } ?? "")
    }

    /// One line chart: x is the position in the series (labelled with the step or the run id), y
    /// spans the metric's range over the series.
    func svg(_ chart: Chart, level: String) -> String {
        let name = chart.metric.rawValue
        let width = 640.0, height = 240.0, left = 56.0, right = 16.0, top = 16.0, bottom = 40.0
        let values = chart.points.map(\.value)
        var low = values.min() ?? 0, high = values.max() ?? 1
        if high - low < 1e-9 { (low, high) = (low - 0.5 * max(abs(low), 0.01), high + 0.5 * max(abs(high), 0.01)) }
        let pad = (high - low) * 0.08
        low -= pad
        high += pad
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func x(_ index: Int) -> Double {
            chart.points.count == 1 ? left + plotWidth / 2 : left + plotWidth * Double(index) / Double(chart.points.count - 1)
        }
        func y(_ value: Double) -> Double { top + plotHeight * (1 - (value - low) / (high - low)) }
        var svg = "<figure class=\"trend\" data-metric=\"\(escape(name))\"><figcaption><h3>\(escape(name))</h3>"
            + "<span class=\"counted\"></span></figcaption>"
            + "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(name)) over the series\">"
        svg += "<line class=\"axis\" x1=\"\(fixed(left, 1))\" y1=\"\(fixed(top + plotHeight, 1))\" x2=\"\(fixed(width - right, 1))\" y2=\"\(fixed(top + plotHeight, 1))\"/>"
        svg += "<line class=\"axis\" x1=\"\(fixed(left, 1))\" y1=\"\(fixed(top, 1))\" x2=\"\(fixed(left, 1))\" y2=\"\(fixed(top + plotHeight, 1))\"/>"
        for fraction in [0.0, 0.5, 1.0] {
            let value = low + pad + (high - low - 2 * pad) * fraction
            svg += "<text class=\"tick\" x=\"\(fixed(left - 6, 1))\" y=\"\(fixed(y(value) + 4, 1))\" text-anchor=\"end\">\(fixed(value))</text>"
        }
        if chart.points.count > 1 {
            let path = chart.points.indices.map { "\($0 == 0 ? "M" : "L")\(fixed(x($0), 1)),\(fixed(y(chart.points[$0].value), 1))" }.joined(separator: " ")
            svg += "<path class=\"line\" d=\"\(path)\"/>"
        }
        for (index, point) in chart.points.enumerated() {
            let label = series.order == .trainingStep ? String(point.run.trainingStep ?? 0) : "run \(point.run.run.runID)"
            svg += "<text class=\"tick\" x=\"\(fixed(x(index), 1))\" y=\"\(fixed(top + plotHeight + 16, 1))\" text-anchor=\"middle\">\(escape(label))</text>"
            var title = "run \(point.run.run.runID) (\(point.run.run.name)), checkpoint \(Self.checkpointName(point.run)): \(name) \(fixed(point.value))"
            if let delta = point.delta {
                title += ", \(signed(delta)) from the previous run"
                if let interval = point.interval {
                    title += " (\(level)% interval [\(signed(interval.lower)), \(signed(interval.upper))])"
                }
            }
            if point.isBest { title += "; best of the series" }
            if point.isRegression { title += "; a drop beyond its bootstrap noise" }
            var classes = ["point"]
            if point.isBest { classes.append("best") }
            if point.isRegression { classes.append("regression") }
            if point.isBest {
                svg += "<circle class=\"best-ring\" cx=\"\(fixed(x(index), 1))\" cy=\"\(fixed(y(point.value), 1))\" r=\"10\"/>"
                svg += "<text class=\"best-label\" x=\"\(fixed(x(index), 1))\" y=\"\(fixed(y(point.value) - 14, 1))\" text-anchor=\"middle\">best</text>"
            }
            svg += "<circle class=\"\(classes.joined(separator: " "))\" data-run=\"\(point.run.run.runID)\" cx=\"\(fixed(x(index), 1))\" "
                + "cy=\"\(fixed(y(point.value), 1))\" r=\"5\" tabindex=\"0\"><title>\(escape(title))</title></circle>"
        }
        svg += "<text class=\"axis-label\" x=\"\(fixed(left + plotWidth / 2, 1))\" y=\"\(Int(height) - 4)\" text-anchor=\"middle\">"
            + (series.order == .trainingStep ? "training step" : "run, in the order the runs started") + "</text>"
        svg += "</svg><p class=\"detail\"></p></figure>"
        return svg
    }

    static let css = """
        .charts{display:flex;flex-wrap:wrap;gap:16px}.trend{margin:0;flex:1 1 560px;max-width:660px}
        .trend svg{width:100%;background:#fafafa;border:1px solid #ddd}.trend h3{display:inline;margin-right:10px}
        .trend .counted{color:#555;font-size:13px}.trend .detail{min-height:1.4em;font-size:13px;color:#333;margin:2px 0}
        .trend .line{fill:none;stroke:#4a78b5;stroke-width:2}.trend .axis{stroke:#999}
        .trend .tick,.trend .axis-label{font-size:11px;fill:#555}
        .trend .point{fill:#4a78b5;stroke:#fff;stroke-width:1.5;cursor:pointer}
        .trend .point.regression{fill:#b00020}.trend .best-ring{fill:none;stroke:#046b2d;stroke-width:2.5}
        .trend .best-label{font-size:11px;fill:#046b2d;font-weight:bold}
        li.regression{color:#b00020}
        """

    /// Counts each chart's points, its best and its flagged drops into its caption, and shows a
    /// point's title under the chart when it is hovered, focused or tapped. Errors are written into
    /// the page; success sets `data-js="ok"`.
    static let script = """
        (function () {
          var root = document.documentElement;
          var errors = document.getElementById('js-errors');
          function fail(message) {
            var item = document.createElement('li');
            item.textContent = 'script error: ' + message;
            errors.appendChild(item);
            errors.hidden = false;
            root.setAttribute('data-js', 'error');
          }
          window.addEventListener('error', function (event) { fail(event.message + ' (line ' + event.lineno + ')'); });
          try {
            var figures = document.querySelectorAll('figure.trend');
            for (var i = 0; i < figures.length; i++) { wire(figures[i]); }
            if (root.getAttribute('data-js') !== 'error') { root.setAttribute('data-js', 'ok'); }
          } catch (error) {
            fail(String(error && error.stack || error));
          }

          function wire(figure) {
            var points = figure.querySelectorAll('circle.point');
            var best = figure.querySelector('circle.point.best');
            var drops = figure.querySelectorAll('circle.point.regression');
            var dropped = [];
            for (var d = 0; d < drops.length; d++) { dropped.push('run ' + drops[d].getAttribute('data-run')); }
            figure.querySelector('.counted').textContent = points.length + ' points; best: '
              + (best ? 'run ' + best.getAttribute('data-run') : 'none')
              + '; drops beyond noise: ' + (dropped.length ? dropped.join(', ') : 'none');
            var detail = figure.querySelector('.detail');
            for (var p = 0; p < points.length; p++) {
              (function (point) {
                var show = function () { detail.textContent = point.querySelector('title').textContent; };
                point.addEventListener('mouseenter', show);
                point.addEventListener('focus', show);
                point.addEventListener('click', show);
              })(points[p]);
            }
          }
        })();
        """
}
