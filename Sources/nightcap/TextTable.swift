import Foundation

/// A metric value as the tables print it: three decimals, or `-` when absent.
func format(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }

/// Rows as left-aligned columns two spaces apart; the first row is the header.
func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: first.count)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
