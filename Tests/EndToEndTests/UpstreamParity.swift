import Foundation
import ResultStore
import Testing

/// Run 1 of the results file `database` against upstream's own decoding: as many captions, each
/// equal, as many attention rows as upstream's words, each `width(imageID)` weights long (by default
/// as long as upstream's row). Returns the largest difference of a stored weight from upstream's.
func largestAttentionDifference(
    database: String, expected: [String: (caption: String, attention: [[Double]])], width: ((String) -> Int)? = nil
) throws -> Double {
    let store = try ResultDatabase(path: database, readOnly: true)
    defer { try? store.close() }
    let captions = try store.captions(runID: 1)
    #expect(captions.count == expected.count)
    var largest = 0.0
    for caption in captions {
        let want = try #require(expected[caption.imageID])
        #expect(caption.caption == want.caption, "image \(caption.imageID)")
        let rows = try store.attention(runID: 1, imageID: caption.imageID)
        #expect(rows.count == want.attention.count, "image \(caption.imageID)")
        for (row, wantRow) in zip(rows, want.attention) {
            #expect(row.weights.count == (width?(caption.imageID) ?? wantRow.count))
            for (a, b) in zip(row.weights, wantRow) { largest = max(largest, abs(Double(a) - b)) }
        }
    }
    return largest
}
