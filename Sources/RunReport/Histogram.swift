import CaptionMetrics
import Foundation

/// A small SVG histogram of one per-image metric (run A filled, run B as an outline).
struct Histogram {
    var metric: Metric
    var a: [Double]
    var b: [Double]?
    static let bins = 20

    var svg: String {
        let all = a + (b ?? [])
        let low = min(0, all.min() ?? 0)
        var high = max(all.max() ?? 1, low + 1e-9)
        // BLEU and ROUGE-L live in [0, 1]: a fixed axis makes runs and metrics comparable.
        if metric != .cider { high = max(high, 1) }
        let width = 240.0, height = 80.0, top = 14.0, bottom = 14.0
        func counts(_ values: [Double]) -> [Int] {
            var counts = [Int](repeating: 0, count: Self.bins)
            for value in values {
                let bin = Int(((value - low) / (high - low) * Double(Self.bins)).rounded(.down))
                counts[min(max(bin, 0), Self.bins - 1)] += 1
            }
            return counts
        }
        let countsA = counts(a), countsB = b.map(counts)
        let peak = Double(max(countsA.max() ?? 1, countsB?.max() ?? 1, 1))
        let binWidth = width / Double(Self.bins)
        let plot = height - top - bottom
        var svg = "<figure class=\"histogram\"><svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" "
            + "aria-label=\"distribution of per-image \(metric)\">"
        svg += "<text x=\"0\" y=\"10\" class=\"title\">\(metric) (\(a.count) images)</text>"
        for (bin, count) in countsA.enumerated() where count > 0 {
            let h = plot * Double(count) / peak
            svg += "<rect class=\"a\" x=\"\(fixed(Double(bin) * binWidth, 1))\" y=\"\(fixed(top + plot - h, 1))\" "
                + "width=\"\(fixed(binWidth - 1, 1))\" height=\"\(fixed(h, 1))\"><title>\(count)</title></rect>"
        }
        if let countsB {
            var path = "M0,\(fixed(top + plot, 1))"
            for (bin, count) in countsB.enumerated() {
                let y = top + plot - plot * Double(count) / peak
                path += " L\(fixed(Double(bin) * binWidth, 1)),\(fixed(y, 1)) L\(fixed(Double(bin + 1) * binWidth, 1)),\(fixed(y, 1))"
            }
            path += " L\(fixed(width, 1)),\(fixed(top + plot, 1))"
            svg += "<path class=\"b\" d=\"\(path)\"/>"
        }
        svg += "<text x=\"0\" y=\"\(Int(height) - 2)\" class=\"axis\">\(fixed(low, 2))</text>"
        svg += "<text x=\"\(Int(width))\" y=\"\(Int(height) - 2)\" class=\"axis\" text-anchor=\"end\">\(fixed(high, 2))</text>"
        return svg + "</svg></figure>"
    }
}
