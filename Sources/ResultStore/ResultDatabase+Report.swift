import CaptionMetrics
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
            let captionStatement = try db.cachedStatement(sql: "SELECT * FROM captions WHERE run_id = ? AND image_id = ?")
            let metricStatement = try db.cachedStatement(
                sql: "SELECT * FROM image_metrics WHERE run_id = ? AND image_id = ? AND metric IN (\(databaseQuestionMarks(count: knownMetricNames.count)))")
            let attentionStatement = try db.cachedStatement(
                sql: "SELECT * FROM attention WHERE run_id = ? AND image_id = ? ORDER BY position")
            let regionStatement = try db.cachedStatement(
                sql: "SELECT * FROM regions WHERE run_id = ? AND image_id = ? ORDER BY region")
            var details: [ImageDetail] = []
            for imageID in imageIDs {
                guard let record = try CaptionRecord.fetchOne(captionStatement, arguments: [runID, imageID]) else { continue }
                var caption = CaptionWithMetrics(record)
                let metricArguments: StatementArguments = [runID, imageID] + StatementArguments(knownMetricNames)
                for metric in try ImageMetricRecord.fetchAll(metricStatement, arguments: metricArguments) {
                    caption.metrics[metric.metric] = metric.value
                }
                let attention = try Row.fetchAll(attentionStatement, arguments: [runID, imageID]).map {
                    try attentionRecord(from: $0, runID: runID, imageID: imageID)
                }
                let regions = try RegionRecord.fetchAll(regionStatement, arguments: [runID, imageID])
                details.append(ImageDetail(caption: caption, attention: attention, regions: regions))
            }
            return details
        }
    }
}
