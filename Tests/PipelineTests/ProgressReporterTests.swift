import Foundation
import Pipeline
import Synchronization
import Testing

@Suite struct ProgressReporterTests {
    final class Lines: Sendable {
        let stored = Mutex<[String]>([])
        func append(_ line: String) { stored.withLock { $0.append(line) } }
        var all: [String] { stored.withLock { $0 } }
    }

    @Test func logLinesCountImagesAndShardsAndAlwaysReportTheEnd() {
        let lines = Lines()
        let reporter = ProgressReporter(style: .log(interval: 3600), totalImages: 10, totalShards: 3) { lines.append($0) }
        reporter.start(imagesDone: 4, shardsDone: 1)
        reporter.shardCommitted(images: 4)  // first line: printed (nothing printed yet)
        reporter.shardCommitted(images: 2)  // the last shard: printed whatever the interval
        reporter.finish()
        #expect(lines.all.count == 2)
        #expect(lines.all[0].contains("nightcap: 8/10 images (80.0%)"))
        #expect(lines.all[0].hasSuffix("shards 2/3\n"))
        #expect(lines.all[1].contains("nightcap: 10/10 images (100.0%)"))
        #expect(lines.all[1].contains("ETA 0s"))
    }

    @Test func barRedrawsInPlaceAndEndsItsLine() {
        let lines = Lines()
        let reporter = ProgressReporter(style: .bar, totalImages: 4, totalShards: 2) { lines.append($0) }
        reporter.start(imagesDone: 0, shardsDone: 0)
        reporter.shardCommitted(images: 2)
        reporter.shardCommitted(images: 2)
        reporter.finish()
        #expect(lines.all.first?.hasPrefix("\r[===============>") == true)
        #expect(lines.all.contains { $0.contains("4/4 images") && $0.contains("shards 2/2") })
        #expect(lines.all.last == "\n")
    }

    @Test func quietPrintsNothing() {
        let lines = Lines()
        let reporter = ProgressReporter(style: .quiet, totalImages: 4, totalShards: 1) { lines.append($0) }
        reporter.shardCommitted(images: 4)
        reporter.finish()
        #expect(lines.all.isEmpty)
    }
}
