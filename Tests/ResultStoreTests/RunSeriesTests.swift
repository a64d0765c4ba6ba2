import Foundation
import TestSupport
import Testing
@testable import ResultStore

/// Series and checkpoints (`runs.series`, `run_checkpoints`) and the series' order, best and deltas.
@Suite struct RunSeriesTests {
    /// A completed run of `series` with CIDEr `cider`, evaluated from a checkpoint at `step`.
    static func addRun(_ store: ResultDatabase, series: String?, step: Int?, cider: Double, status: RunStatus = .completed) throws -> Int64 {
        let id = try store.createRun(Fixture.newRun(fingerprint: "fp-\(UUID().uuidString)"))
        if let series {
            try store.recordProvenance(
                runID: id, series: series,
                checkpoint: CheckpointRecord(path: "/ckpt/model-\(step ?? 0).pth", sizeBytes: 1024, modifiedAt: "2026-12-01T00:00:00.000Z", trainingStep: step, epoch: step.map { $0 / 1000 }))
        }
        if status == .completed {
            try store.writeCorpusMetrics(runID: id, corpus: [.cider: cider, .bleu4: cider / 4], perImage: [])
            try store.finish(runID: id)
        } else {
            try store.setStatus(runID: id, status: status, message: "stopped")
        }
        return id
    }

    @Test func seriesOrderByStepMarkTheBestAndLeaveUnfinishedRunsOut() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        // Evaluated out of training order, as a nightly job that caught up on old checkpoints.
        let late = try Self.addRun(store, series: "s", step: 3000, cider: 0.9)
        let early = try Self.addRun(store, series: "s", step: 1000, cider: 0.7)
        let middle = try Self.addRun(store, series: "s", step: 2000, cider: 1.1)
        let failed = try Self.addRun(store, series: "s", step: 4000, cider: 0, status: .failed)
        _ = try Self.addRun(store, series: "other", step: 1, cider: 5)

        let series = try #require(try store.runSeries("s"))
        #expect(series.order == .trainingStep)
        #expect(series.runs.map(\.run.runID) == [early, middle, late])
        #expect(series.unfinished.map(\.runID) == [failed])
        #expect(series.best(by: "CIDEr")?.run.runID == middle)
        #expect(series.best(by: "CIDEr", excluding: middle)?.run.runID == late)
        #expect(series.best(by: "METEOR") == nil)
        #expect([0, 1, 2].map { series.isBestSoFar($0, metric: "CIDEr") } == [true, true, false])
        #expect(series.delta(0, metric: "CIDEr") == nil)
        #expect(series.delta(2, metric: "CIDEr").map { abs($0 - (0.9 - 1.1)) < 1e-12 } == true)
        #expect(series.runs[0].checkpoint == CheckpointRecord(
            path: "/ckpt/model-1000.pth", sizeBytes: 1024, modifiedAt: "2026-12-01T00:00:00.000Z", trainingStep: 1000, epoch: 1))
        #expect(try store.runSeries("none") == nil)
        #expect(try store.listSeries().map(\.name).sorted() == ["other", "s"])
        #expect(try store.listSeries().first { $0.name == "s" }.map { ($0.completedRuns, $0.runs) }! == (3, 4))
    }

    @Test func withoutAStepForEveryRunTheSeriesIsInTimeOrderAndRunsWithoutASeriesGoByName() throws {
        let folder = TemporaryDirectory()
        let store = try ResultDatabase(path: folder.path("results.sqlite"))
        defer { try? store.close() }
        let first = try Self.addRun(store, series: "s", step: 5000, cider: 0.5)
        let second = try Self.addRun(store, series: "s", step: nil, cider: 0.6)
        let series = try #require(try store.runSeries("s"))
        #expect(series.order == .time && series.runs.map(\.run.runID) == [first, second])

        // A run recorded before schema version 4 has no series row: its name is its series.
        let old = try Self.addRun(store, series: nil, step: nil, cider: 0.4)
        #expect(try store.series(runID: old) == "nightly")
        #expect(try store.checkpoint(runID: old) == nil)
        #expect(try store.runSeries("nightly")?.runs.map(\.run.runID) == [old])
        #expect(throws: ResultStoreError.runNotFound(path: folder.path("results.sqlite"), reference: "99")) {
            try store.recordProvenance(runID: 99, series: "s", checkpoint: nil)
        }
    }
}
