import CaptionMetrics
import Foundation
import Testing
@testable import ResultStore

/// The report's reading side: everything stored about chosen images, in one read.
@Suite struct ImageDetailsTests {
    @Test func detailsComeInTheRequestedOrderAndEqualTheStoredRows() throws {
        let populated = try PopulatedDatabase()
        let store = populated.store, run = populated.runB
        let commits = populated.commits[run]!
        // Image 9 of run B failed: it has regions but no caption, so it is left out.
        let ids = [Fixture.imageID(7), Fixture.imageID(9), Fixture.imageID(2), "no-such-image"]
        let details = try store.imageDetails(runID: run, imageIDs: ids)
        #expect(details.map(\.caption.imageID) == [Fixture.imageID(7), Fixture.imageID(2)])
        for detail in details {
            let id = detail.caption.imageID
            let caption = try #require(commits.flatMap(\.captions).first { $0.imageID == id })
            #expect(detail.caption.caption == caption.caption)
            #expect(detail.caption.imageIndex == caption.imageIndex)
            #expect(detail.caption.metrics[.cider] == populated.cider[run]![id])
            let bleu1 = commits.flatMap(\.imageMetrics).first { $0.imageID == id && $0.metric == .bleu1 }?.value
            #expect(detail.caption.metrics[.bleu1] == bleu1)
            #expect(detail.attention.map(\.weights) == commits.flatMap(\.attention).filter { $0.imageID == id }.map(\.weights))
            #expect(detail.attention == (try store.attention(runID: run, imageID: id)))
            #expect(detail.regions == (try store.regions(runID: run, imageID: id)))
            #expect(detail.regions.count == 6)
        }
        try store.close()
    }
}
