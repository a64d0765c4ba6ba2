import CaptionMetrics
import Foundation

/// Metric lines as pycocoevalcap prints them, with three decimals and the full value.
enum MetricTable {
    static func render(_ metrics: [(metric: Metric, value: Double)]) -> String {
        metrics.map { line($0.metric, $0.value) }.joined(separator: "\n")
    }

    /// `Bleu_4   0.301  (0.30123...)`.
    static func line(_ metric: Metric, _ value: Double) -> String { line(named: metric.rawValue, value) }

    /// The same line for a metric by name (METEOR, which stored runs do not have yet).
    static func line(named name: String, _ value: Double) -> String {
        "\(name.padding(toLength: 8, withPad: " ", startingAt: 0)) \(String(format: "%.3f", value))  (\(value))"
    }
}
