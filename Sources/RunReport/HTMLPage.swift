import CaptionMetrics
import Foundation
import ResultStore

/// Escapes text for HTML content and attribute values.
func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}

/// A number with `digits` decimals, without locale.
func fixed(_ value: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", value) }

func signed(_ value: Double, _ digits: Int = 3) -> String { String(format: "%+.\(digits)f", value) }

/// The page being written, piece by piece.
struct HTMLPage {
    private(set) var text = ""
    /// Per run card: the attention weights of each word in thousandths, for the script.
    private var attention: [String: [[Int]]] = [:]

    mutating func raw(_ html: String) { text += html }

    mutating func begin(title: String) {
        raw("""
            <!DOCTYPE html>
            <html lang="en" data-js="pending"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>\(ReportAssets.css)</style></head><body>
            <header><h1>\(escape(title))</h1></header>
            <ul id="js-errors" hidden></ul>
            """)
    }

    mutating func end() {
        // Weights only: numbers and keys made of digits and letters, so no "</script>" can occur.
        let keys = attention.keys.sorted()
        let json = "{" + keys.map { key in
            "\"\(key)\":[" + attention[key]!.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }.joined(separator: ",") + "]"
        }.joined(separator: ",") + "}"
        raw("<script type=\"application/json\" id=\"attention-data\">\(json)</script>")
        raw("<footer>Written by nightcap report. Hover over, tap or tab to a word of a caption to see its attention.</footer>")
        raw("<script>\(ReportAssets.script)</script></body></html>\n")
    }

    // MARK: - Summary

    mutating func summary(a: RunSide, b: RunSide?, comparison: RunComparison?) {
        raw("<section class=\"summary\"><h2>Runs</h2><table class=\"runs\"><tr><th></th>")
        let sides = [a] + (b.map { [$0] } ?? [])
        let names = b == nil ? ["run"] : ["A", "B"]
        for (name, side) in zip(names, sides) { raw("<th>\(name): run \(side.run.runID) (\(escape(side.run.name)))</th>") }
        raw("</tr>")
        func row(_ label: String, _ value: (RunSide) -> String) {
            raw("<tr><th>\(escape(label))</th>" + sides.map { "<td>\(escape(value($0)))</td>" }.joined() + "</tr>")
        }
        row("status") { $0.run.status.rawValue + ($0.run.statusMessage.map { " (\($0))" } ?? "") }
        row("created") { $0.run.createdAt }
        row("finished") { $0.run.finishedAt ?? "-" }
        row("images") { "\($0.progress.imagesDone) of \($0.progress.imageCount) captioned, \($0.progress.imagesFailed) failed" }
        row("fingerprint") { $0.run.fingerprint }
        row("model") { $0.run.modelPath ?? "-" }
        row("features") { $0.run.featuresPath ?? "-" }
        row("references") { $0.run.referencesPath ?? "-" }
        row("nightcap") { $0.run.nightcapVersion ?? "-" }
        row("decoded on") { $0.origins.isEmpty ? "-" : $0.origins.map(\.summary).joined(separator: "; ") }
        raw("<tr><th>configuration</th>")
        for side in sides {
            raw("<td><details><summary>JSON</summary><pre>\(escape(Self.prettyJSON(side.run.configJSON)))</pre></details></td>")
        }
        raw("</tr></table>")
        for side in sides where side.referencesNote != nil { raw("<p class=\"note\">run \(side.run.runID): \(escape(side.referencesNote!))</p>") }

        metricsTable(a: a, b: b, comparison: comparison)
        histograms(a: a, b: b)

        let grounded = sides.filter { $0.grounding != nil }
        if !grounded.isEmpty {
            raw("<h2>Grounding</h2><p>Of the caption words that name an object of their image (the word equals a region's label), "
                + "the share whose most-attended region has that label:</p><ul class=\"grounding\">")
            for side in grounded {
                let g = side.grounding!
                raw("<li>run \(side.run.runID) (\(escape(side.run.name))): <b>\(fixed(g.rate * 100, 1))%</b> "
                    + "(\(g.grounded) of \(g.objectWords) words)</li>")
            }
            raw("</ul>")
        }
        for side in sides where !side.failures.isEmpty {
            raw("<h2>Failed images of run \(side.run.runID) (\(side.failures.count))</h2><table class=\"failures\">"
                + "<tr><th>image</th><th>shard</th><th>reason</th></tr>")
            for failure in side.failures.prefix(200) {
                raw("<tr><td>\(escape(failure.imageID))</td><td>\(failure.shard)</td><td>\(escape(failure.reason))</td></tr>")
            }
            raw("</table>")
            if side.failures.count > 200 {
                raw("<p class=\"note\">\(side.failures.count - 200) more in the failed_images table.</p>")
            }
        }
        raw("</section>")
    }

    static func prettyJSON(_ text: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        else { return text }
        return String(decoding: data, as: UTF8.self)
    }

    mutating func metricsTable(a: RunSide, b: RunSide?, comparison: RunComparison?) {
        raw("<h2>Corpus metrics</h2><table class=\"metrics\"><tr><th>metric</th>")
        if let comparison {
            let percent = Int((comparison.bootstrap.confidence * 100).rounded())
            raw("<th>A</th><th>B</th><th>B − A</th><th>\(percent)% interval</th><th></th></tr>")
            for metric in comparison.metrics {
                let interval = metric.interval
                let verdict = interval.map { $0.verdict } ?? ""
                raw("<tr><td>\(metric.metric)</td><td>\(metric.a.map { fixed($0) } ?? "-")</td>"
                    + "<td>\(metric.b.map { fixed($0) } ?? "-")</td><td>\(metric.delta.map { signed($0) } ?? "-")</td>"
                    + "<td>\(interval.map { "[\(signed($0.lower)), \(signed($0.upper))]" } ?? "-")</td>"
                    + "<td class=\"verdict \(verdict == "better" || verdict == "worse" ? verdict : "noise")\">\(verdict)</td></tr>")
            }
            raw("</table><p class=\"note\">\(escape(comparison.methodDescription)). See docs/metrics.md.</p>")
        } else {
            raw("<th>value</th></tr>")
            for metric in Metric.allCases {
                raw("<tr><td>\(metric)</td><td>\(a.metrics[metric].map { fixed($0) } ?? "-")</td></tr>")
            }
            raw("</table>")
            if a.metrics.isEmpty { raw("<p class=\"note\">No corpus metrics: the run is not finalized.</p>") }
        }
    }

    mutating func histograms(a: RunSide, b: RunSide?) {
        raw("<h2>Per-image distributions</h2><div class=\"histograms\">")
        for metric in Metric.allCases {
            let valuesA = a.images.compactMap { $0.metrics[metric] }
            let valuesB = b?.images.compactMap { $0.metrics[metric] } ?? []
            guard !valuesA.isEmpty || !valuesB.isEmpty else { continue }
            raw(Histogram(metric: metric, a: valuesA, b: b == nil ? nil : valuesB).svg)
        }
        raw("</div>")
        if b != nil { raw("<p class=\"note\">Filled: run A; outline: run B.</p>") }
    }

    // MARK: - Images

    mutating func imageCard(
        number: Int, imageID: String, a: ImageDetail?, b: ImageDetail??, labels: (String, String?),
        references: [String]?, picture lookup: PictureLookup, originalSize: (width: Int, height: Int)?
    ) {
        let picture = lookup.picture
        raw("<article class=\"image\" id=\"image-\(number)\"><h3>image \(escape(imageID))")
        if let b, let ca = a?.caption.metrics[.cider], let cb = b?.caption.metrics[.cider] {
            raw(" <span class=\"delta\">CIDEr \(fixed(ca)) → \(fixed(cb)) (\(signed(cb - ca)))</span>")
        } else if let cider = a?.caption.metrics[.cider] {
            raw(" <span class=\"delta\">CIDEr \(fixed(cider))</span>")
        }
        raw("</h3>")
        // The boxes' coordinate system: the original image's size when the references file gives
        // it (the picture may be a scaled-down copy), else the picture's own.
        let frame = picture.map { originalSize ?? ($0.width, $0.height) }
        if let picture, let frame {
            // Defined once per card, used by each run's drawing.
            raw("<svg class=\"defs\" aria-hidden=\"true\"><defs><image id=\"picture-\(number)\" x=\"0\" y=\"0\" "
                + "width=\"\(frame.width)\" height=\"\(frame.height)\" preserveAspectRatio=\"none\" "
                + "href=\"data:\(picture.mimeType);base64,\(picture.data.base64EncodedString())\"/></defs></svg>")
        }
        if case .unreadable(let file, let reason) = lookup {
            raw("<p class=\"note picture-note\">The picture \(escape(file)) was left out: \(escape(reason)). "
                + "The boxes are drawn over a plain frame.</p>")
        }
        raw("<div class=\"sides\">")
        let sides: [(String, ImageDetail?)] = b == nil ? [("", a)] : [("A: \(labels.0)", a), ("B: \(labels.1 ?? "")", b!)]
        for (index, side) in sides.enumerated() {
            runColumn(key: "c\(number)s\(index)", title: side.0, detail: side.1, picture: frame.map { ($0, number) })
        }
        raw("</div>")
        if let references, !references.isEmpty {
            raw("<div class=\"references\"><b>references</b><ol>" + references.map { "<li>\(escape($0))</li>" }.joined() + "</ol></div>")
        }
        raw("</article>")
    }

    mutating func runColumn(key: String, title: String, detail: ImageDetail?, picture: ((width: Int, height: Int), Int)?) {
        raw("<div class=\"side\" data-key=\"\(key)\">")
        if !title.isEmpty { raw("<h4>\(escape(title))</h4>") }
        guard let detail else {
            raw("<p class=\"note\">not captioned in this run</p></div>")
            return
        }
        let regionsByIndex = Dictionary(uniqueKeysWithValues: detail.regions.map { ($0.region, $0) })
        func regionName(_ region: Int) -> String {
            guard let label = regionsByIndex[region]?.label, !label.isEmpty else { return "region \(region)" }
            return "region \(region) (\(label))"
        }
        raw("<p class=\"caption\">")
        for row in detail.attention {
            let top = row.topRegion.map { ($0, row.topWeight ?? row.weights[$0]) } ?? AttentionWeights.top(row.weights).map { ($0.region, $0.weight) }
            raw("<button type=\"button\" class=\"word\" data-p=\"\(row.position)\"")
            if let top { raw(" data-top=\"\(escape(regionName(top.0)))\" data-tw=\"\(fixed(Double(top.1)))\"") }
            raw(">\(escape(row.word))</button> ")
        }
        if detail.attention.isEmpty { raw(escape(detail.caption.caption)) }
        raw("</p><p class=\"looked\" aria-live=\"polite\"></p>")
        attention[key] = detail.attention.map { row in row.weights.map { Int((Double($0) * 1000).rounded()) } }

        let regionCount = detail.attention.map(\.weights.count).max() ?? 0
        let boxes = detail.regions.filter { $0.region < regionCount }.compactMap { r -> (Int, Double, Double, Double, Double, String?)? in
            guard let x1 = r.x1, let y1 = r.y1, let x2 = r.x2, let y2 = r.y2, x2 > x1, y2 > y1 else { return nil }
            return (r.region, x1, y1, x2, y2, r.label)
        }
        if !boxes.isEmpty {
            let width = picture.map { Double($0.0.width) } ?? max(1, boxes.map(\.3).max()!)
            let height = picture.map { Double($0.0.height) } ?? max(1, boxes.map(\.4).max()!)
            raw("<svg class=\"boxes\" viewBox=\"0 0 \(fixed(width, 1)) \(fixed(height, 1))\" role=\"img\" "
                + "aria-label=\"regions of the image, shaded by the attention of the chosen word\">")
            if let (_, number) = picture {
                raw("<use href=\"#picture-\(number)\"/>")
            } else {
                raw("<rect class=\"frame\" x=\"0\" y=\"0\" width=\"\(fixed(width, 1))\" height=\"\(fixed(height, 1))\"/>")
            }
            let fontSize = max(10, min(width, height) / 22)
            for (region, x1, y1, x2, y2, label) in boxes {
                raw("<g data-r=\"\(region)\"><rect class=\"box\" x=\"\(fixed(x1, 1))\" y=\"\(fixed(y1, 1))\" "
                    + "width=\"\(fixed(x2 - x1, 1))\" height=\"\(fixed(y2 - y1, 1))\" fill-opacity=\"0\"/>"
                    + "<text x=\"\(fixed(x1 + 3, 1))\" y=\"\(fixed(y1 + fontSize, 1))\" font-size=\"\(fixed(fontSize, 1))\">"
                    + "\(escape(label.flatMap { $0.isEmpty ? nil : $0 } ?? "\(region)"))</text>"
                    + "<title>\(escape(regionName(region)))</title></g>")
            }
            raw("</svg>")
        } else if regionCount > 0 {
            raw("<div class=\"bars\">")
            for region in 0..<regionCount {
                raw("<div class=\"bar\" data-r=\"\(region)\"><span class=\"name\">\(escape(regionName(region)))</span>"
                    + "<span class=\"track\"><span class=\"fill\"></span></span><span class=\"value\"></span></div>")
            }
            raw("</div>")
        }
        let looked = detail.attention.compactMap { row -> String? in
            guard let top = row.topRegion ?? AttentionWeights.top(row.weights)?.region else { return nil }
            return "\(row.word) → \(regionName(top))"
        }
        if !looked.isEmpty {
            raw("<details class=\"looked-all\"><summary>each word's top region</summary><p>\(escape(looked.joined(separator: "; ")))</p></details>")
        }
        raw("<table class=\"image-metrics\"><tr>" + Metric.allCases.map { "<th>\($0)</th>" }.joined() + "</tr><tr>"
            + Metric.allCases.map { "<td>\(detail.caption.metrics[$0].map { fixed($0) } ?? "-")</td>" }.joined() + "</tr></table>")
        raw("</div>")
    }
}
