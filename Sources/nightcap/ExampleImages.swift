import CaptionMetrics
import ResultStore

/// A few images of a run as a reader wants to see them: caption, references, and for each word the
/// label (or number) of the region it attended most.
enum ExampleImages {
    static func render(_ run: RunRecord, count: Int, database: ResultDatabase) throws -> [String] {
        // References are read from the file the run used, when it is still there.
        let references = run.referencesPath.flatMap { try? CaptionFileReader.references(at: $0) }
        var byID: [String: [String]] = [:]
        if let references {
            for id in references.imageIDs { byID[id.value] = references.captions[id] }
        }
        var lines: [String] = []
        for caption in try database.captions(runID: run.runID).prefix(count) {
            lines.append("image \(caption.imageID)")
            lines.append("  caption     \(caption.caption)")
            for (index, reference) in (byID[caption.imageID] ?? []).enumerated() {
                lines.append((index == 0 ? "  references  " : "              ") + reference)
            }
            let regions = Dictionary(
                uniqueKeysWithValues: try database.regions(runID: run.runID, imageID: caption.imageID).map { ($0.region, $0.label) })
            let words = try database.attention(runID: run.runID, imageID: caption.imageID).map { row -> String in
                guard let region = row.topRegion else { return row.word }
                let label = (regions[region] ?? nil).map { $0.isEmpty ? "region \(region)" : $0 } ?? "region \(region)"
                return "\(row.word)→\(label)"
            }
            if !words.isEmpty { lines.append("  looked at   " + words.joined(separator: " ")) }
        }
        return lines
    }
}
