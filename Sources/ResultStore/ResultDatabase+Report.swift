import Foundation
import GRDB

/// Everything stored about one image of a run, for the HTML report.
public struct ImageDetail: Sendable, Hashable {
    public var caption: CaptionWithMetrics
    /// One row per word, in word order, weights decoded.
    public var attention: [AttentionRecord]
    /// The image's regions in region order; empty when the features file had no boxes or labels.
    public var regions: [RegionRecord]
}

extension ResultDatabase {
    /// The captions, scores, attention and regions of the given images of a run, in the order of
    /// `imageIDs`, read in one transaction. Images the run did not caption are left out.
    public func imageDetails(runID: Int64, imageIDs: [String]) throws -> [ImageDetail] {
        try read("reading the attention and regions of \(imageIDs.count) images of run \(runID)") { db in
            let captionStatement = try db.cachedStatement(
                sql: "SELECT image_index, caption, num_words, log_prob FROM captions WHERE run_id = ? AND image_id = ?")
            let metricStatement = try db.cachedStatement(
                sql: "SELECT metric, value FROM image_metrics WHERE run_id = ? AND image_id = ?")
            let attentionStatement = try db.cachedStatement(
                sql: """
                    SELECT position, word, weights, top_region, top_weight FROM attention
                    WHERE run_id = ? AND image_id = ? ORDER BY position
                    """)
            let regionStatement = try db.cachedStatement(
                sql: "SELECT region, x1, y1, x2, y2, label FROM regions WHERE run_id = ? AND image_id = ? ORDER BY region")
            var details: [ImageDetail] = []
            for imageID in imageIDs {
                guard let row = try Row.fetchOne(captionStatement, arguments: [runID, imageID]) else { continue }
                var caption = CaptionWithMetrics(
                    imageID: imageID, imageIndex: row["image_index"], caption: row["caption"],
                    numWords: row["num_words"], logProb: row["log_prob"], metrics: [:])
                for metric in try Row.fetchAll(metricStatement, arguments: [runID, imageID]) {
                    caption.metrics[metric["metric"]] = metric["value"]
                }
                let attention = try Row.fetchAll(attentionStatement, arguments: [runID, imageID]).map {
                    try attentionRecord(from: $0, runID: runID, imageID: imageID)
                }
                let regions = try Row.fetchAll(regionStatement, arguments: [runID, imageID]).map { row in
                    RegionRecord(
                        imageID: imageID, region: row["region"], x1: row["x1"], y1: row["y1"], x2: row["x2"],
                        y2: row["y2"], label: row["label"])
                }
                details.append(ImageDetail(caption: caption, attention: attention, regions: regions))
            }
            return details
        }
    }
}
