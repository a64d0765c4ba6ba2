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
        // Hashing the model file for the fingerprint takes about half a second per 80 MB; it runs on
        // a second thread while this one opens the features and loads the model and the references.
        let modelDigest = BackgroundDigest(path: modelPath)
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
            settings: settings, features: features, modelDigest: try modelDigest.value(), referencesPath: referencesPath)
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

/// `SHA256.file(path)` computed on its own thread; `value()` waits for it.
final class BackgroundDigest: @unchecked Sendable {
    // `result` is written once by the thread before it signals `done`, and read only after `done`.
    private var result: Result<String, any Error> = .success("")
    private let done = DispatchSemaphore(value: 0)

    init(path: String) {
        let thread = Thread { [self] in
            result = Result { try SHA256.file(path) }
            done.signal()
        }
        thread.name = "nightcap-fingerprint"
        thread.start()
    }

    func value() throws -> String {
        done.wait()
        done.signal()  // later calls return at once
        return try result.get()
    }
}
