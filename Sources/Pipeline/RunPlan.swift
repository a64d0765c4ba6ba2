import CaptionMetrics
import Captioner
import ConcurrencyPrimitives
import Foundation
import PythonFiles
import RegionFeatures
import ResultStore

/// Everything validated before the first shard: the features, the model, the references, the
/// database and the run's fingerprint. A mismatch fails here, before any work.
final class RunPlan {
    let settings: PipelineSettings
    let features: RegionFeatureFile
    let model: any CaptioningModel
    /// Nil for a run without references (captions only, no metrics).
    let references: ReferenceIndex?
    let database: ResultDatabase
    let fingerprint: RunFingerprint
    let name: String
    let configurationJSON: String

    /// `whileLoading` runs on this thread once the features file is open, while the model, the
    /// references and the model's digest load on other threads: the pipeline reads its first
    /// shards there. Nothing it does may be a result; validation completes after it, before any.
    init(settings: PipelineSettings, whileLoading: (RegionFeatureFile) -> Void = { _ in }) throws {
        self.settings = settings
        let featuresPath = settings.featuresPath!, modelPath = settings.modelPath!, referencesPath = settings.referencesPath
        // Hashing the model file for the fingerprint takes about half a second per 80 MB, loading
        // the model about as long, tokenizing the references a fraction of that: each runs on its
        // own thread while this one opens the features and reads the first shards. The model file
        // is a separate HDF5 file on its loading thread; this HDF5 build is thread-safe (one global
        // lock), and the features file stays on this thread. Errors are reported in the order the
        // steps had when they ran one after another: features, model, model against features,
        // references.
        let modelDigest = BackgroundTask(name: "nightcap-fingerprint") { try SHA256.file(modelPath) }
        let infosPath = settings.infosPath
        let loadedModel = BackgroundTask(name: "nightcap-model") { try ModelLoader.load(path: modelPath, infos: infosPath) }
        let features: RegionFeatureFile
        do {
            features = try Self.openFeatures(settings)
        } catch {
            _ = try? loadedModel.value()
            _ = try? modelDigest.value()
            throw error
        }
        self.features = features
        let featureImageIDs = features.imageIDs
        let format = settings.referencesFormat, split = settings.referencesSplit, threads = settings.effectiveThreads
        let loadedReferences = BackgroundTask(name: "nightcap-references") { () -> ReferenceIndex? in
            guard let referencesPath else { return nil }
            let captions = try CaptionFileReader.references(at: referencesPath, format: format, split: split)
            return try ReferenceIndex(
                references: captions, featureImageIDs: featureImageIDs, featuresPath: featuresPath, parallelism: threads)
        }
        // Every background step is waited for before this returns or throws, so none outlives the plan.
        let model: Result<ModelLoader.Loaded, any Error>
        let references: Result<ReferenceIndex?, any Error>
        if features.imageCount > 0 { whileLoading(features) }
        model = Result { try loadedModel.value() }
        references = Result { try loadedReferences.value() }
        let digest = Result { try modelDigest.value() }
        guard features.imageCount > 0 else {
            throw PipelineError(.validation, "\(featuresPath): the features file holds no images")
        }
        let loaded = try model.get()
        self.model = loaded.model
        try self.model.validate(featureDimension: features.dimension, featuresFile: featuresPath)
        if let pooled = features.names.pooled, !self.model.takesPooledFeatures {
            throw PipelineError(
                .validation,
                "\(featuresPath): a pooled dataset (`\(pooled)`) is configured, but the model \(modelPath) (family \(self.model.family)) has no pooled input, which only the \(ModelFamilies.takingPooledFeatures.joined(separator: " and ")) family takes: remove `pooled` from [features] (or --pooled-dataset)")
        }
        try self.model.validate(settings: settings.decodeSettings)
        self.references = try references.get()
        database = try ResultDatabase(path: settings.effectiveDatabasePath)
        fingerprint = try RunFingerprint.compute(
            settings: settings, features: features, modelDigest: try digest.get(), referencesPath: referencesPath,
            infosDigest: try loaded.infosPath.map { try SHA256.file($0) })
        name = settings.name
            ?? settings.pipelineFile.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
            ?? URL(fileURLWithPath: modelPath).deletingPathExtension().lastPathComponent
        var resolved = settings
        resolved.featureNames = features.names
        // The infos file found beside a checkpoint is recorded, so that `nightcap merge` fingerprints
        // the same files the run used.
        resolved.infosPath = loaded.infosPath
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        configurationJSON = String(decoding: try encoder.encode(resolved), as: UTF8.self)
    }

    /// Opens the features file of `settings`, with the image ids of its id map when it has one.
    static func openFeatures(_ settings: PipelineSettings) throws -> RegionFeatureFile {
        let externalIDs = try settings.idMapPath.map { ExternalImageIDs(ids: try ImageIDMap.load(path: $0), source: $0) }
        return try RegionFeatureFile(path: settings.featuresPath!, names: settings.featureNames, externalIDs: externalIDs)
    }

    var shardCount: Int { (features.imageCount + settings.shardSize - 1) / settings.shardSize }

    func shardRange(_ index: Int) -> Range<Int> {
        let start = index * settings.shardSize
        return start..<min(start + settings.shardSize, features.imageCount)
    }
}

/// Not `Sendable`: It holds the open features file, which stays on the reader thread.
@available(*, unavailable)
extension RunPlan: Sendable {}
