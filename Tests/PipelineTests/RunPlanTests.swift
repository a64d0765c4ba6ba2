import Foundation
@testable import Pipeline
import RegionFeatures
import TestSupport
import Testing

/// `RunPlan`: the inputs opened and checked against each other before the first shard, the shards,
/// the run's name and its stored configuration (20 images of `PipelineInputs`).
@Suite struct RunPlanTests {
    @Test func aPlanOpensEveryInputAndCutsTheShards() throws {
        let inputs = try PipelineInputs()
        var settings = inputs.settings(database: "a.sqlite")
        settings.shardSize = 6
        var seenWhileLoading: Int?
        let plan = try RunPlan(settings: settings) { features, rows in seenWhileLoading = rows.count }
        defer { try? plan.database.close() }
        #expect(seenWhileLoading == 20)
        #expect(plan.features.imageCount == 20)
        #expect(plan.shardCount == 4)
        #expect((0..<plan.shardCount).map(plan.shardRows) == [Array(0..<6), Array(6..<12), Array(12..<18), Array(18..<20)])
        #expect(plan.references?.tokens.count == 20)
        #expect(plan.name == "in-process")
        #expect(FileManager.default.fileExists(atPath: inputs.folder.path("a.sqlite")))
        // The stored configuration resolves what the features file was found to hold.
        let stored = try JSONDecoder().decode(PipelineSettings.self, from: Data(plan.configurationJSON.utf8))
        #expect(stored.featureNames == plan.features.names)
        #expect(stored.shardSize == 6)
    }

    @Test func withoutReferencesThereIsNothingToScore() throws {
        let inputs = try PipelineInputs()
        var settings = inputs.settings(database: "a.sqlite")
        settings.referencesPath = nil
        let plan = try RunPlan(settings: settings)
        defer { try? plan.database.close() }
        #expect(plan.references == nil)
        // The fingerprint tells such a run from one with references.
        let scored = try RunPlan(settings: inputs.settings(database: "b.sqlite"))
        defer { try? scored.database.close() }
        #expect(plan.fingerprint.value != scored.fingerprint.value)
    }

    @Test func withoutANameTheRunIsNamedAfterItsModelFile() throws {
        let inputs = try PipelineInputs()
        var settings = inputs.settings(database: "a.sqlite")
        settings.name = nil
        let plan = try RunPlan(settings: settings)
        defer { try? plan.database.close() }
        // The model's folder and stem (a model outside the current folder).
        let folder = URL(fileURLWithPath: settings.modelPath!).deletingLastPathComponent().resolvingSymlinksInPath().lastPathComponent
        #expect(plan.name == folder + "/model")
    }

    @Test func aModelOfAnotherFeatureSizeFailsBeforeTheDatabaseIsMade() throws {
        let inputs = try PipelineInputs()
        let narrow = inputs.folder.path("narrow.h5")
        try TestModelFile(V: 30, E: 8, D: 8, H: 12, A: 10, seed: 11, scale: 0.6).write(to: narrow)
        var settings = inputs.settings(database: "a.sqlite")
        settings.modelPath = narrow
        let error = #expect(throws: (any Error).self) { try RunPlan(settings: settings) }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains(narrow))
        #expect(message.contains("but the features file \(inputs.features) holds D=16"))
        #expect(!FileManager.default.fileExists(atPath: inputs.folder.path("a.sqlite")))
    }
}
