import CaptionMetrics
import Captioner
import Foundation
import RegionFeatures
import ResultStore

/// Everything validated before the first shard: the features, the model, the references, the
/// database and the run's fingerprint. A mismatch fails here, before any work.
final class RunPlan {
    let settings: PipelineSettings
    let features: RegionFeatureFile
    let model: CaptionModel
    let references: ReferenceIndex
    let database: ResultDatabase
    let fingerprint: RunFingerprint
    let name: String
    let configurationJSON: String

    init(settings: PipelineSettings) throws {
        self.settings = settings
        let featuresPath = settings.featuresPath!, modelPath = settings.modelPath!, referencesPath = settings.referencesPath!
        features = try RegionFeatureFile(path: featuresPath, names: settings.featureNames)
        guard features.imageCount > 0 else {
            throw PipelineError(.validation, "\(featuresPath): the features file holds no images")
        }
        model = try CaptionModel.load(path: modelPath)
        try model.validate(featureDimension: features.dimension, featuresFile: featuresPath)
        let captions = try CaptionFileReader.references(
            at: referencesPath, format: settings.referencesFormat, split: settings.referencesSplit)
        references = try ReferenceIndex(references: captions, featureImageIDs: features.imageIDs, featuresPath: featuresPath)
        database = try ResultDatabase(path: settings.effectiveDatabasePath)
        fingerprint = try RunFingerprint.compute(
            settings: settings, features: features, modelPath: modelPath, referencesPath: referencesPath)
        name = settings.name
            ?? settings.pipelineFile.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
            ?? URL(fileURLWithPath: modelPath).deletingPathExtension().lastPathComponent
        var resolved = settings
        resolved.featureNames = features.names
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        configurationJSON = String(decoding: try encoder.encode(resolved), as: UTF8.self)
    }

    var shardCount: Int { (features.imageCount + settings.shardSize - 1) / settings.shardSize }

    func shardRange(_ index: Int) -> Range<Int> {
        let start = index * settings.shardSize
        return start..<min(start + settings.shardSize, features.imageCount)
    }
}
