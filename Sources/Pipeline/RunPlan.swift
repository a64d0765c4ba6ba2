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
    /// What the checkpoint or its infos record of training (step, epoch, best validation score).
    let trainingProgress: TrainingProgress
    /// Nil for a run without references (captions only, no metrics).
    let references: ReferenceIndex?
    /// The rows of the features file this run decodes, ascending: every row, or with a references
    /// split only the split's images. Shards are planned over these.
    let imageRows: [Int]
    let database: ResultDatabase
    let fingerprint: RunFingerprint
    let name: String
    let configurationJSON: String

    /// `whileLoading` runs on this thread once the features file is open (with a split, once the
    /// references say which rows the run decodes), while the model, the references and the model's
    /// digest load on other threads: the pipeline reads its first shards there, given the rows the
    /// run decodes. Nothing it does may be a result; validation completes after it, before any.
    init(settings: PipelineSettings, whileLoading: (RegionFeatureFile, [Int]) -> Void = { _, _ in }) throws {
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
        let (infosPath, vocabPath, heads) = (settings.infosPath, settings.vocabPath, settings.heads)
        let loadedModel = BackgroundTask(name: "nightcap-model") {
            try ModelLoader.load(path: modelPath, infos: infosPath, vocab: vocabPath, heads: heads)
        }
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
        let loadedReferences = BackgroundTask(name: "nightcap-references") { () -> (index: ReferenceIndex, rows: [Int])? in
            guard let referencesPath else { return nil }
            return try ReferenceIndex.load(
                path: referencesPath, format: format, split: split, featureImageIDs: featureImageIDs, featuresPath: featuresPath,
                parallelism: threads)
        }
        // Every background step is waited for before this returns or throws, so none outlives the plan.
        let model: Result<ModelLoader.Loaded, any Error>
        let references: Result<(index: ReferenceIndex, rows: [Int])?, any Error>
        if split != nil {
            // A split's rows come from the references: wait for them before reading any shard, so
            // that only the split's images are read.
            references = Result { try loadedReferences.value() }
            if features.imageCount > 0, case .success(let loaded?) = references { whileLoading(features, loaded.rows) }
        } else {
            if features.imageCount > 0 { whileLoading(features, Array(0..<features.imageCount)) }
            references = Result { try loadedReferences.value() }
        }
        model = Result { try loadedModel.value() }
        let digest = Result { try modelDigest.value() }
        guard features.imageCount > 0 else {
            throw PipelineError(.validation, "\(featuresPath): the features file holds no images")
        }
        let loaded = try model.get()
        self.model = loaded.model
        trainingProgress = loaded.progress
        try self.model.validate(featureDimension: features.dimension, featuresFile: featuresPath)
        if let pooled = features.names.pooled, !self.model.takesPooledFeatures {
            throw PipelineError(
                .validation,
                "\(featuresPath): a pooled dataset (`\(pooled)`) is configured, but the model \(modelPath) (family \(self.model.family)) has no pooled input, which only the \(ModelFamilies.takingPooledFeatures.joined(separator: " and ")) \(ModelFamilies.takingPooledFeatures.count == 1 ? "family takes" : "families take"): remove `pooled` from [features] (or --pooled-dataset)")
        }
        try self.model.validate(settings: settings.decodeSettings)
        let planned = try references.get()
        self.references = planned?.index
        imageRows = planned?.rows ?? Array(0..<features.imageCount)
        database = try ResultDatabase(path: settings.effectiveDatabasePath)
        fingerprint = try RunFingerprint.compute(
            settings: settings, features: features, modelDigest: try digest.get(), referencesPath: referencesPath,
            infosDigest: try (loaded.infosPath ?? loaded.vocabPath).map { try SHA256.file($0) }, splitRows: split == nil ? nil : imageRows)
        name = settings.name ?? RunName.defaultName(modelPath: modelPath)
        var resolved = settings
        resolved.modelFamily = self.model.family
        resolved.featureNames = features.names
        // The infos file found beside a checkpoint is recorded, so that `nightcap merge` fingerprints
        // the same files the run used.
        resolved.infosPath = loaded.infosPath
        resolved.vocabPath = loaded.vocabPath
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        configurationJSON = String(decoding: try encoder.encode(resolved), as: UTF8.self)
    }

    /// Opens the features file of `settings`, with the image ids of its id map when it has one.
    static func openFeatures(_ settings: PipelineSettings) throws -> RegionFeatureFile {
        let externalIDs = try settings.idMapPath.map { ExternalImageIDs(ids: try ImageIDMap.load(path: $0), source: $0) }
        return try RegionFeatureFile(path: settings.featuresPath!, names: settings.featureNames, externalIDs: externalIDs)
    }

    var shardCount: Int { Self.shardCount(images: imageRows.count, shardSize: settings.shardSize) }

    /// The features-file rows of shard `index`.
    func shardRows(_ index: Int) -> [Int] { Array(imageRows[Self.shardPositions(index, images: imageRows.count, shardSize: settings.shardSize)]) }

    /// The number of images of shard `index`.
    func shardImageCount(_ index: Int) -> Int { Self.shardPositions(index, images: imageRows.count, shardSize: settings.shardSize).count }

    static func shardCount(images: Int, shardSize: Int) -> Int { (images + shardSize - 1) / shardSize }

    /// The positions in the run's image list (`imageRows`) of shard `index`.
    static func shardPositions(_ index: Int, images: Int, shardSize: Int) -> Range<Int> {
        let start = index * shardSize
        return start..<min(start + shardSize, images)
    }
}

/// Not `Sendable`: It holds the open features file, which stays on the reader thread.
@available(*, unavailable)
extension RunPlan: Sendable {}
